"""crisis screening: C-SSRS screener answers from the crisis protocol

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 07:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crisis_screening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('trigger_level', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('started_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('none', 'review', 'urgent', 'emergency')", name='ck_screening_level'),
    sa.CheckConstraint("status IN ('in_progress', 'completed', 'stopped')", name='ck_screening_status'),
    sa.CheckConstraint("trigger_level IN ('none', 'review', 'urgent', 'emergency')", name='ck_screening_trigger_level'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('crisis_screening', schema=None) as batch_op:
        batch_op.create_index('ix_screening_patient_time', ['patient_id', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crisis_screening', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_patient_time')

    op.drop_table('crisis_screening')
