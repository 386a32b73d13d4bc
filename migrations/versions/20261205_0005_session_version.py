"""web sessions: a session version per clinician and patient, raised to end all their sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("clinician", "patient"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("patient", "clinician"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("session_version")
