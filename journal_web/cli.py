"""`flask --app journal_web invite <patient code>`: print a sign-in link for a patient."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from bot.storage import audit
from bot.clinic.invites import create_invite
from bot.storage.models import Clinician, Patient
from journal_web import db_session


@click.command("invite")
@click.argument("code")
@click.option("--hours", type=click.IntRange(1, 30 * 24), default=None,
              help="How long the link works (default INVITE_LINK_HOURS).")
@with_appcontext
def invite_command(code: str, hours: int | None) -> None:
    """Create a single-use sign-in link for the patient with this code (e.g. P-AVA1)."""
    session = db_session()
    patient = session.scalar(select(Patient).where(Patient.pseudonym == code.strip().upper()))
    if patient is None or not patient.is_active:
        raise click.ClickException(f"no active patient with the code {code!r}")
    hours = hours or current_app.config["INVITE_LINK_HOURS"]
    therapist = session.get(Clinician, patient.therapist_id)
    new = create_invite(session, patient, therapist, hours)
    audit.record(session, "invite.created", "patient_invite", new.invite.id, actor_type="system",
                 actor_id=None, patient_id=patient.id, detail={"hours": hours, "via": "cli"})
    session.commit()
    click.echo(f"Sign-in link for {patient.pseudonym}, valid {hours} h and once:")
    click.echo(new.url(current_app.config["PUBLIC_BASE_URL"]))
