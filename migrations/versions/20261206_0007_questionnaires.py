"""questionnaires: PHQ-9 and GAD-7 answered in the chat

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 21:00:00
"""
from alembic import op
import sqlalchemy as sa

import bot.storage.types

UTCDateTime = bot.storage.types.UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questionnaire_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("instrument", sa.String(16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(32), nullable=True),
        sa.Column("crisis_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('in_progress', 'completed')", name="ck_questionnaire_status"),
    )
    op.create_index("ix_questionnaire_patient_time", "questionnaire_response", ["patient_id", "started_at"])


def downgrade() -> None:
    op.drop_table("questionnaire_response")
