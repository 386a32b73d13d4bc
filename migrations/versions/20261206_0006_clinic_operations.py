"""clinic operations: patient codes and status, infusion status and dose, integration sessions,
the on-call rota and clinicians' password links

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:15:00
"""
from alembic import op
import sqlalchemy as sa

import bot.storage.types
UTCDateTime = bot.storage.types.UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'completed', 'cancelled')", name="ck_integration_status"),
    )
    op.create_index("ix_integration_patient_time", "integration_session", ["patient_id", "scheduled_at"])
    op.create_table(
        "on_call_shift",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinic.id"), nullable=False),
        sa.Column("clinician_id", sa.Integer(), sa.ForeignKey("clinician.id"), nullable=False),
        sa.Column("starts_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("clinician.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_shift_order"),
    )
    op.create_index("ix_shift_clinic_time", "on_call_shift", ["clinic_id", "starts_at", "ends_at"])
    op.create_table(
        "clinician_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinician_id", sa.Integer(), sa.ForeignKey("clinician.id"), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("clinician.id"), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name="ck_clinician_token_purpose"),
    )
    op.create_index("ix_clinician_token_clinician_id", "clinician_token", ["clinician_id"])

    # A patient's next integration session becomes a scheduled session row.
    op.execute(
        "INSERT INTO integration_session (patient_id, scheduled_at, status, created_at) "
        "SELECT id, next_integration_at, 'scheduled', created_at FROM patient "
        "WHERE next_integration_at IS NOT NULL"
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(12), nullable=False, server_default="active"))
    op.execute("UPDATE patient SET code = pseudonym")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(32), nullable=False)
        batch_op.create_unique_constraint("uq_patient_clinic_code", ["clinic_id", "code"])
        batch_op.create_check_constraint("ck_patient_status", "status IN ('active', 'paused', 'discharged')")
        batch_op.drop_column("next_integration_at")

    with op.batch_alter_table("infusion_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(12), nullable=False, server_default="completed"))
        batch_op.add_column(sa.Column("dose_mg", sa.Numeric(7, 2), nullable=True))
    # A past infusion never marked completed did not count before; as "cancelled" it still does not.
    op.execute("UPDATE infusion_session SET status = CASE WHEN completed THEN 'completed' "
               "WHEN occurred_at < CURRENT_TIMESTAMP THEN 'cancelled' ELSE 'scheduled' END")
    with op.batch_alter_table("infusion_session", schema=None) as batch_op:
        batch_op.drop_column("completed")
        batch_op.create_check_constraint("ck_infusion_status",
                                         "status IN ('scheduled', 'completed', 'cancelled')")


def downgrade() -> None:
    with op.batch_alter_table("infusion_session", schema=None) as batch_op:
        batch_op.drop_constraint("ck_infusion_status", type_="check")
        batch_op.add_column(sa.Column("completed", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE infusion_session SET completed = (status = 'completed')")
    with op.batch_alter_table("infusion_session", schema=None) as batch_op:
        batch_op.drop_column("dose_mg")
        batch_op.drop_column("status")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_integration_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint("ck_patient_status", type_="check")
        batch_op.drop_constraint("uq_patient_clinic_code", type_="unique")
        batch_op.drop_column("status")
        batch_op.drop_column("code")
    op.drop_table("clinician_token")
    op.drop_table("on_call_shift")
    op.drop_table("integration_session")
