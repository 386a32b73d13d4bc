"""preparation: intentions with their history, the readiness checklist, questionnaire offers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 00:00:00
"""
from alembic import op
import sqlalchemy as sa

import bot.storage.types

UTCDateTime = bot.storage.types.UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("preparation_checklist", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("questionnaire_offers", sa.JSON(), nullable=True))
    op.create_table(
        "intention",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reflections", sa.JSON(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), sa.ForeignKey("infusion_session.id"), nullable=True),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("clinician_id", sa.Integer(), sa.ForeignKey("clinician.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('chat', 'clinician')", name="ck_intention_source"),
    )
    op.create_index("ix_intention_patient_time", "intention", ["patient_id", "created_at"])
    op.create_table(
        "preparation_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("infusion_id", sa.Integer(), sa.ForeignKey("infusion_session.id"), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('confirmed', 'not_yet')", name="ck_preparation_status"),
        sa.UniqueConstraint("infusion_id", "item_id", name="uq_preparation_infusion_item"),
    )
    op.create_index("ix_preparation_answer_patient_id", "preparation_answer", ["patient_id"])
    # An intention entered before this revision becomes the first of its history.
    op.execute(
        "INSERT INTO intention (key, patient_id, text, reflections, source, created_at) "
        "SELECT 'migrated-' || id, id, intention, '[]', 'clinician', created_at "
        "FROM patient WHERE intention IS NOT NULL AND intention <> ''"
    )


def downgrade() -> None:
    op.drop_table("preparation_answer")
    op.drop_table("intention")
    with op.batch_alter_table("clinic") as batch:
        batch.drop_column("questionnaire_offers")
        batch.drop_column("preparation_checklist")
