"""What the assistant says in a crisis, assembled from the clinic's data."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.content.crisis_resources import ResourceSet, resources_for
from bot.storage.models import SafetyPlan
from bot.storage.patients import clinic_of, find_patient_by_sender
from bot.conversation.utterance import Utterance

__all__ = ["Utterance", "crisis_reply", "crisis_close_reply", "medical_reply", "load_crisis_context"]

logger = logging.getLogger(__name__)

PLAN_HEADINGS = {
    "warning_signs": "Warning signs",
    "internal_coping": "Things I can do on my own",
    "social_distractions": "People and places that help me take my mind off things",
    "people_to_ask": "People I can ask for help",
    "professionals": "Professionals I can contact",
    "environment_safety": "Making my surroundings safe",
}
# The plan shown in a crisis leads with what to do now.
CRISIS_PLAN_SECTIONS = ("internal_coping", "people_to_ask", "professionals", "environment_safety")


def format_resources(resources: ResourceSet) -> str:
    """One line per crisis line, then the emergency number."""
    lines = [f"• {line.name}: {line.contact}" for line in resources.lines]
    lines.append(f"• Emergency services: {resources.emergency}")
    return "\n".join(lines)


def safety_plan_for(session: Session, patient_id: int, clinic_id: int) -> Optional[SafetyPlan]:
    """The patient's own safety plan, or else the clinic's default plan."""
    own = session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id == patient_id))
    if own is not None:
        return own
    return session.scalar(
        select(SafetyPlan).where(
            SafetyPlan.clinic_id == clinic_id, SafetyPlan.patient_id.is_(None)
        )
    )


def format_plan(plan: SafetyPlan, sections: tuple[str, ...] = CRISIS_PLAN_SECTIONS) -> str:
    """The plan's sections as short headed lists, in the patient's own words."""
    parts = []
    for name in sections:
        items = [item for item in (getattr(plan, name) or []) if str(item).strip()]
        if items:
            parts.append(PLAN_HEADINGS[name] + ":\n" + "\n".join(f"• {item}" for item in items))
    return "\n".join(parts)


def crisis_reply(level: str, resources: ResourceSet) -> list[Utterance]:
    """The opening turn of the crisis protocol, in order.

    Resources come first, at once, then the care team is said to be notified;
    an emergency adds the call-now instruction. The screener questions follow
    (the form asks them), so the turn ends by saying what comes next.
    """
    reply = [
        Utterance("utter_crisis_opening"),
        Utterance("utter_crisis_resources", {"resources": format_resources(resources)}),
        Utterance("utter_crisis_therapist_notified"),
    ]
    if level == "emergency":
        reply.append(Utterance("utter_crisis_emergency", {"emergency": resources.emergency}))
    reply.append(Utterance("utter_cssrs_intro"))
    return reply


def crisis_close_reply(
    completed: bool, resources: ResourceSet, plan_text: Optional[str]
) -> list[Utterance]:
    """The calm close of the crisis protocol: thanks, then the safety plan.

    Without a plan (none on file, or the database is down) the crisis lines
    are shown again instead, so the patient always leaves with somewhere to turn.
    """
    reply = [Utterance("utter_cssrs_thanks" if completed else "utter_cssrs_stopped")]
    if plan_text:
        reply.append(Utterance("utter_crisis_safety_plan", {"plan": plan_text}))
    else:
        reply.append(
            Utterance("utter_crisis_resources_again", {"resources": format_resources(resources)})
        )
    return reply


def medical_reply(level: str, resources: ResourceSet, medical_contact: str) -> list[Utterance]:
    """The medical red-flag protocol: clinic contact, emergency guidance if needed."""
    reply = [
        Utterance("utter_medical_opening"),
        Utterance("utter_medical_contact", {"contact": medical_contact}),
    ]
    if level == "emergency":
        reply.append(Utterance("utter_medical_emergency", {"emergency": resources.emergency}))
    reply.append(Utterance("utter_medical_team_notified"))
    return reply


@dataclass(frozen=True)
class CrisisContext:
    """What the crisis and medical protocols need to know about a patient."""

    resources: ResourceSet
    plan_text: Optional[str]
    medical_contact: str


def load_crisis_context(session_factory, sender_id: str, fallback_set: str) -> CrisisContext:
    """The patient's clinic resources, safety plan and medical contact.

    Fail safe: if the database cannot answer, the patient still gets the
    resources of `fallback_set` (the clinic set remembered in the conversation,
    or the deployment's default).
    """
    try:
        with session_factory() as session:
            patient = find_patient_by_sender(session, sender_id)
            if patient is not None:
                clinic = clinic_of(session, patient)
                plan = safety_plan_for(session, patient.id, clinic.id)
                return CrisisContext(
                    resources=resources_for(clinic.crisis_resource_set),
                    plan_text=format_plan(plan) if plan is not None else None,
                    medical_contact=clinic.medical_contact or "your clinic",
                )
    except SQLAlchemyError:
        logger.warning("database unavailable in a crisis; using fallback resources")
    return CrisisContext(resources_for(fallback_set), None, "your clinic")
