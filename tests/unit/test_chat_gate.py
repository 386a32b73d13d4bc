"""Validation of chat requests before the assistant sees them."""
import json

import pytest

from bot.service.chat_gate import (
    ACTIVE_STATUS_SECONDS, NOT_ENROLLED, EnrolmentLookup, RejectedRequest, as_screenable_text, enrolment_status,
    parse_webhook_body,
)
from bot.storage.db import make_engine, make_session_factory


def body(**fields) -> bytes:
    return json.dumps(fields).encode("utf-8")


def test_a_good_request_passes():
    incoming = parse_webhook_body(body(sender="demo-ava", message="hi 👋"), 100)
    assert (incoming.sender, incoming.text) == ("demo-ava", "hi 👋")


@pytest.mark.parametrize(
    "raw, status, message",
    [
        (b"\xff\xfe{}", 400, "not valid UTF-8"),
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (body(message="hi"), 400, "'sender' must be a non-empty string"),
        (body(sender="a" * 200, message="hi"), 400, "longer than 128"),
        (body(sender="demo-ava", message=5), 400, "'message' must be a string"),
        (body(sender="demo-ava", message="   "), 400, "'message' is empty"),
        (body(sender="demo-ava", message="x" * 101), 413, "the limit is 100"),
        (b"x" * 5000, 413, "the limit is 100"),
    ],
)
def test_bad_requests_get_a_clear_status_and_reason(raw, status, message):
    with pytest.raises(RejectedRequest, match=message) as caught:
        parse_webhook_body(raw, 100)
    assert caught.value.status == status


@pytest.mark.parametrize(
    "text, expected",
    [
        ("/start_journal", "/start_journal"),
        ('/inform_rating{"rating": 7}', '/inform_rating{"rating": 7}'),
        ("/greet i want to die", "greet i want to die"),
        ('/inform{"journal_text": "i want to die"}', 'inform{"journal_text": "i want to die"}'),
        ("//", "//"),
        ("just words", "just words"),
    ],
)
def test_only_button_payloads_bypass_the_screen(text, expected):
    assert as_screenable_text(text) == expected


def test_enrollment_is_true_false_or_unknown(demo, tmp_path):
    assert enrolment_status(demo, "demo-ava") == "active"
    assert enrolment_status(demo, "someone-else") == NOT_ENROLLED
    unreachable = make_session_factory(make_engine(f"sqlite:///{tmp_path}/no/such/dir/../x.db"))
    assert enrolment_status(unreachable, "demo-ava") is None


def test_an_active_patient_is_remembered_for_a_while_and_nothing_else_is(demo):
    from sqlalchemy import select

    from bot.storage.models import Patient

    now = [1000.0]
    lookup = EnrolmentLookup(demo, clock=lambda: now[0])
    assert lookup.remembered("demo-ava") is None
    assert lookup("demo-ava") == "active" and lookup.remembered("demo-ava") == "active"
    assert lookup("someone-else") == NOT_ENROLLED and lookup.remembered("someone-else") is None

    with demo.begin() as session:
        session.scalar(select(Patient).where(Patient.sender_id == "demo-ava")).status = "discharged"
    now[0] += ACTIVE_STATUS_SECONDS / 2
    assert lookup("demo-ava") == "active", "within the window, from memory"
    now[0] += ACTIVE_STATUS_SECONDS
    assert lookup.remembered("demo-ava") is None
    assert lookup("demo-ava") == "discharged" and lookup.remembered("demo-ava") is None
