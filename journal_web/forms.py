"""Form classes (Flask-WTF): every POST carries a CSRF token."""
from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from bot.clinic.invites import MAX_PASSPHRASE_CHARS, MIN_PASSPHRASE_CHARS
from bot.clinic.inbox import MAX_NOTE_CHARS

MAX_PLAN_ITEMS = 20
MAX_PLAN_ITEM_CHARS = 500


class LoginForm(FlaskForm):
    """A clinician's email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])

    def validate_email(self, field):
        """Looks like an address (the account lookup decides the rest)."""
        if "@" not in field.data.strip()[1:-1]:
            raise ValidationError("Enter the email address of your account.")


class PatientLoginForm(FlaskForm):
    """A patient's code (as on their passphrase page) and passphrase."""

    code = StringField("Your patient code", validators=[DataRequired(), Length(max=32)])
    passphrase = PasswordField("Passphrase", validators=[DataRequired(),
                                                         Length(max=MAX_PASSPHRASE_CHARS)])


class PassphraseForm(FlaskForm):
    """Set or change a patient's passphrase."""

    current = PasswordField("Current passphrase", validators=[Optional(),
                                                              Length(max=MAX_PASSPHRASE_CHARS)])
    passphrase = PasswordField("New passphrase", validators=[DataRequired()])
    confirm = PasswordField("New passphrase again", validators=[DataRequired()])

    def validate_passphrase(self, field):
        """Long enough to resist guessing, short enough to type."""
        if not MIN_PASSPHRASE_CHARS <= len(field.data) <= MAX_PASSPHRASE_CHARS:
            raise ValidationError(f"Use between {MIN_PASSPHRASE_CHARS} and "
                                  f"{MAX_PASSPHRASE_CHARS} characters; a few words work well.")

    def validate_confirm(self, field):
        """Both entries must match."""
        if field.data != self.passphrase.data:
            raise ValidationError("The two passphrases are not the same.")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AcknowledgeForm(FlaskForm):
    """Acknowledge an alert, with an optional note."""

    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=MAX_NOTE_CHARS)])


class ResolveForm(FlaskForm):
    """Resolve an alert: the note says what was done."""

    note = TextAreaField("What was done", validators=[DataRequired(message="Say briefly what was done."),
                                                      Length(max=MAX_NOTE_CHARS)])


class ReviewForm(FlaskForm):
    """Mark a review finding as reviewed, with an optional note."""

    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=MAX_NOTE_CHARS)])


class ChatForm(FlaskForm):
    """One chat message (the page's fallback when scripts do not run)."""

    message = TextAreaField("Message")

    def validate_message(self, field):
        """Not empty, and within the channel's limit."""
        if not (field.data or "").strip():
            raise ValidationError("Type a message first.")
        if len(field.data) > current_app.config["MAX_MESSAGE_CHARS"]:
            raise ValidationError("This message is too long to send in one go. "
                                  "Split it into shorter messages.")


def plan_items(text: str) -> list[str]:
    """One item per non-empty line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _check_items(field) -> None:
    items = plan_items(field.data)
    if len(items) > MAX_PLAN_ITEMS:
        raise ValidationError(f"At most {MAX_PLAN_ITEMS} lines in one section.")
    if any(len(item) > MAX_PLAN_ITEM_CHARS for item in items):
        raise ValidationError(f"Keep each line under {MAX_PLAN_ITEM_CHARS} characters.")


class SafetyPlanForm(FlaskForm):
    """The six Stanley-Brown sections, one item per line."""

    warning_signs = TextAreaField("1. Warning signs")
    internal_coping = TextAreaField("2. Things I can do on my own")
    social_distractions = TextAreaField("3. People and places that take my mind off things")
    people_to_ask = TextAreaField("4. People I can ask for help")
    professionals = TextAreaField("5. Professionals and services I can contact")
    environment_safety = TextAreaField("6. Making my surroundings safe")

    def validate_warning_signs(self, field):
        """At most 20 short lines."""
        _check_items(field)

    def validate_internal_coping(self, field):
        """At most 20 short lines."""
        _check_items(field)

    def validate_social_distractions(self, field):
        """At most 20 short lines."""
        _check_items(field)

    def validate_people_to_ask(self, field):
        """At most 20 short lines."""
        _check_items(field)

    def validate_professionals(self, field):
        """At most 20 short lines."""
        _check_items(field)

    def validate_environment_safety(self, field):
        """At most 20 short lines."""
        _check_items(field)


# -- clinic operations ----------------------------------------------------------

TIMEZONE_HINT = "An IANA time zone, such as America/Denver or Europe/London."
STATUS_CHOICES = [("scheduled", "Scheduled"), ("completed", "Completed"), ("cancelled", "Cancelled")]
ROUTE_CHOICES = [("IV", "IV"), ("IM", "IM"), ("sublingual", "Sublingual"), ("nasal", "Nasal")]
ROLE_CHOICES = [("therapist", "Therapist"), ("on_call", "On call"), ("admin", "Admin")]
PATIENT_STATUS_CHOICES = [("active", "Active"), ("paused", "Paused"), ("discharged", "Discharged")]


class EnrolForm(FlaskForm):
    """A new patient."""

    display_name = StringField("Display name", validators=[DataRequired(), Length(max=200)])
    code = StringField("Patient code", validators=[DataRequired(), Length(max=32)])
    therapist_id = SelectField("Therapist", coerce=int, validate_choice=False)
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])
    locale = StringField("Locale", validators=[DataRequired(), Length(max=20)])


class PatientDetailsForm(FlaskForm):
    """A patient's name, time zone and locale."""

    display_name = StringField("Display name", validators=[DataRequired(), Length(max=200)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])
    locale = StringField("Locale", validators=[DataRequired(), Length(max=20)])


class PatientStatusForm(FlaskForm):
    """Active, paused or discharged."""

    status = SelectField("Status", choices=PATIENT_STATUS_CHOICES)


class ReassignForm(FlaskForm):
    """Another therapist for the patient."""

    therapist_id = SelectField("Therapist", coerce=int, validate_choice=False)


class InfusionForm(FlaskForm):
    """An infusion, in the patient's time zone."""

    day = DateField("Date", validators=[DataRequired()])
    at = TimeField("Time", validators=[DataRequired()])
    route = SelectField("Route", choices=ROUTE_CHOICES)
    status = SelectField("Status", choices=STATUS_CHOICES)
    dose_mg = StringField("Dose (mg, optional)", validators=[Length(max=12)])
    notes = TextAreaField("Notes (optional)", validators=[Length(max=2000)])


class IntegrationForm(FlaskForm):
    """An integration session, in the patient's time zone."""

    day = DateField("Date", validators=[DataRequired()])
    at = TimeField("Time", validators=[DataRequired()])
    status = SelectField("Status", choices=STATUS_CHOICES)
    notes = TextAreaField("Notes (optional)", validators=[Length(max=2000)])


class ItemStatusForm(FlaskForm):
    """A new status for an infusion or integration session."""

    status = SelectField("Status", choices=STATUS_CHOICES)


class ClinicForm(FlaskForm):
    """The clinic's settings."""

    name = StringField("Clinic name", validators=[DataRequired(), Length(max=200)])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])
    locale = StringField("Locale", validators=[DataRequired(), Length(max=20)])
    crisis_resource_set = SelectField("Crisis lines shown to patients")
    medical_contact = StringField("Medical contact (name and phone)", validators=[Length(max=200)])
    medical_contact_email = StringField("Medical contact email", validators=[Length(max=254)])


class InviteClinicianForm(FlaskForm):
    """A new clinician, invited by email."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    display_name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES)


class RoleForm(FlaskForm):
    """A clinician's role."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class ShiftForm(FlaskForm):
    """An on-call shift, in the clinic's time zone."""

    clinician_id = SelectField("Clinician", coerce=int, validate_choice=False)
    start_day = DateField("From (date)", validators=[DataRequired()])
    start_at = TimeField("From (time)", validators=[DataRequired()])
    end_day = DateField("Until (date)", validators=[DataRequired()])
    end_at = TimeField("Until (time)", validators=[DataRequired()])


class ImportForm(FlaskForm):
    """A CSV file of patients and their schedule."""

    file = FileField("CSV file", validators=[FileRequired()])


class SetPasswordForm(FlaskForm):
    """A clinician's new password."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField("New password again", validators=[DataRequired(), Length(max=200)])

    def validate_confirm(self, field):
        """Both entries must match."""
        if field.data != self.password.data:
            raise ValidationError("The two passwords are not the same.")
