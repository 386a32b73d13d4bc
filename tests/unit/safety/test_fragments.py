"""A sentence typed in pieces is screened across the join with the previous message."""
import pytest

from bot.safety.fragments import CONTINUED, FRAGMENT_SECONDS, RecentMessages, screen_with_previous


def test_a_phrase_split_over_two_messages_is_found_in_the_second(safety_screen):
    assessment = screen_with_previous(safety_screen, "i want to", "  die")
    assert assessment.level == "urgent"
    finding = assessment.findings[0]
    assert finding.rule == "si.passive.wish_dead"
    assert CONTINUED in finding.modifiers
    assert (finding.start, finding.end, finding.text) == (2, 5, "die")


@pytest.mark.parametrize(
    "previous, text",
    [
        ("i want to die", "yes"),  # the earlier crisis is not repeated on the next reply
        ("i want to.", "die"),  # a closed sentence is read on its own
        ("/checkin", "die"),  # a button payload is not text
        (None, "die"),
        ("i'm not going to", "go to work today"),
    ],
)
def test_nothing_is_added_when_no_finding_spans_the_join(safety_screen, previous, text):
    assert screen_with_previous(safety_screen, previous, text) == safety_screen(text)


def test_a_denial_read_across_the_join_lowers_nothing(safety_screen):
    # "kill myself" alone is urgent; reading "i'm not going to" before it must not hide that.
    assessment = screen_with_previous(safety_screen, "i'm not going to", "kill myself")
    assert assessment.level == "urgent"
    assert all(CONTINUED not in f.modifiers for f in assessment.findings if f.level == "none")


def test_the_previous_message_keeps_its_own_level(safety_screen):
    assert screen_with_previous(safety_screen, "the movie was about", "suicide").level == "review"


def test_recent_messages_forget_after_the_window_and_beyond_the_bound():
    now = [1000.0]
    recent = RecentMessages(max_senders=2, clock=lambda: now[0])
    assert recent.swap("a", "i want to") is None
    now[0] += 5
    assert recent.swap("a", "die") == "i want to"
    now[0] += FRAGMENT_SECONDS + 1
    assert recent.swap("a", "hello") is None
    recent.swap("b", "one")
    recent.swap("c", "two")  # "a" is the least recently heard and is forgotten
    assert recent.swap("a", "again") is None


def test_a_failure_across_the_join_leaves_the_message_s_own_assessment(safety_screen, caplog):
    def flaky(text):
        if text == "die":
            return safety_screen(text)
        raise RuntimeError("boom")

    with caplog.at_level("ERROR"):
        assessment = screen_with_previous(flaky, "i want to", "die")
    assert assessment == safety_screen("die")
    assert "screening across the previous message failed" in caplog.text


def test_a_taken_text_is_read_once():
    now = [0.0]
    recent = RecentMessages(clock=lambda: now[0], ttl=10.0)
    recent.put("a", "question")
    assert recent.take("a") == "question" and recent.take("a") is None
    recent.put("a", "question")
    now[0] = 11.0
    assert recent.get("a") is None and recent.take("a") is None
