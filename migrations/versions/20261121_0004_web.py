"""web: patient invite links, patient passphrases, failed sign-ins; flagged-findings index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 06:16:43.302274
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('occurred_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_key_time', ['key', 'occurred_at'], unique=False)

    op.create_table('patient_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['clinician.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('patient_invite', schema=None) as batch_op:
        batch_op.create_index('ix_invite_patient_time', ['patient_id', 'created_at'], unique=False)

    with op.batch_alter_table('safety_assessment', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_patient_level', ['patient_id', 'level'], unique=False)

    op.create_table('patient_login',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('passphrase_hash', sa.String(length=255), nullable=False),
    sa.Column('updated_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('patient_id')
    )


def downgrade() -> None:
    with op.batch_alter_table('safety_assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_patient_level')

    op.drop_table('patient_login')
    with op.batch_alter_table('patient_invite', schema=None) as batch_op:
        batch_op.drop_index('ix_invite_patient_time')

    op.drop_table('patient_invite')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_key_time')

    op.drop_table('login_failure')
