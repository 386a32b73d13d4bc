"""escalation: alert outbox, lease and revision columns; clinic medical contact email

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:05:18.288636
"""
from alembic import op
import sqlalchemy as sa
import bot.storage.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('medical_contact_email', sa.String(length=254), server_default='', nullable=False))

    with op.batch_alter_table('crisis_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('stage_started_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_due_at', bot.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delivery_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', bot.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_alert_delivery_due', ['delivery_due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('crisis_alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_delivery_due')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('delivery_attempts')
        batch_op.drop_column('delivery_due_at')
        batch_op.drop_column('stage_started_at')
        batch_op.drop_column('revision')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('medical_contact_email')

    with op.batch_alter_table('alert_delivery', schema=None) as batch_op:
        batch_op.drop_column('revision')

