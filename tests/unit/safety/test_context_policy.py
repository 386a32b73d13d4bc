"""Context policy: ambivalence, recency, peaceful framing, company (escalation) and the pattern end anchor."""
import json
import shutil
from pathlib import Path

import pytest

from bot.safety import build_screen
from bot.safety.model import level_rank
from bot.safety.patterns import END_ANCHOR, PatternError, compile_pattern, split_end_anchor
from bot.safety.rules import DEFAULT_RULES_DIR, load_rules


def _level(screen, text):
    return screen(text).level


@pytest.mark.parametrize(
    "text",
    [
        "i dont want to kill myself but the thoughts keep coming back",
        "i promised i wouldnt cut again but i keep looking at the blade",
        "part of me doesn't want to die",
        "im not suicidal but i cant stop thinking about it",
        "i didnt cut today but i wanted to",
        "i haven't cut in months but last night i did",
    ],
)
def test_a_denial_the_writer_undercuts_is_urgent(safety_screen, text):
    assert _level(safety_screen, text) == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        ("i'm not suicidal", "none"),
        ("no thoughts of hurting myself", "none"),
        ("i promised my kids i would never kill myself", "none"),
        # A "but" about something else leaves a denial a denial; one that trails off, hedges or
        # says the writer is not well does not.
        ("im not suicidal but im exhausted", "review"),
        ("i'm not suicidal but work is busy this week", "none"),
        ("i won't kill myself, but...", "review"),
        ("i'm not going to hurt myself but idk", "review"),
    ],
)
def test_a_plain_denial_stays_low(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_denied_plan_with_persisting_thoughts_is_ideation_not_behaviour(safety_screen):
    assessment = safety_screen("i don't plan to kill myself but i think about it daily")
    assert assessment.level == "urgent"
    assert assessment.categories == ("suicidal_ideation",)


@pytest.mark.parametrize(
    "text, level",
    [
        ("years ago i tried to kill myself and again a month ago", "urgent"),
        ("when i was 16 i tried to kill myself and then again a few weeks ago", "urgent"),
        ("last week i told my therapist about the time i tried to kill myself years ago", "review"),
        ("i tried to kill myself years ago", "review"),
        ("my previous attempt was last month", "urgent"),
        ("i've been self harming since last year", "urgent"),
    ],
)
def test_the_date_nearest_the_target_decides(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        ("i haven't cut myself in 2 weeks", "urgent"),
        ("i haven't self harmed since last week", "urgent"),
        ("i haven't self harmed in 3 years", "review"),
        ("i haven't wanted to die in a week", "review"),
        ("last week i didn't self harm at all", "none"),
        ("i haven't had chest pain in 2 days", "none"),
    ],
)
def test_a_denial_dated_within_weeks(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        ("i think about death all the time", "urgent"),
        ("since the session i've been thinking about death in a peaceful way", "review"),
        ("i think about death all the time now, in a curious way", "review"),
        ("during the infusion i thought about death all the time", "review"),
    ],
)
def test_peaceful_or_experience_framing_caps_death_thoughts(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_peaceful_frame_does_not_soften_a_wish_to_die(safety_screen):
    assert _level(safety_screen, "i want to die, it feels peaceful") == "urgent"


@pytest.mark.parametrize(
    "text",
    ["during the session i realised i still want to die", "in the journey i saw that i still wanna kill myself"],
)
def test_a_wish_that_goes_on_is_not_the_experience(safety_screen, text):
    # "still want" after the experience phrase says the wish outlived the session.
    assert _level(safety_screen, text) == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        # A wish said in the past, about the session, that the writer says has passed: the experience.
        ("thought id rather be dead during the iv today, the feeling was gone within minutes", "review"),
        ("ngl for a while during the infusion i wanted to die. i dont now. just feel raw and want to talk it thru",
         "review"),
        ("for a few minutes i wanted to stop existing. scared me a bit. it hasn't come back since i left the clinic",
         "review"),
        ("the ketamine took me somewhere i wanted to die. i'm out of it now", "review"),
        ("felt trapped during the lozenge and wanted to die to get out. it eased off once i spat it out. fine now",
         "review"),
        # Said in other words: a wish quoted as it was thought, a passing that says "now", a duration.
        ("in the session i thought \"i can't do this, i'd rather die\". lasted maybe a minute", "review"),
        ("during the infusion i got scared and thought id rather die than keep going. ten min later it turned. "
         "all calm now", "review"),
        ("for a moment in the infusion i wished i was dead. today i feel totally fine", "review"),
        ("i wished for death for a moment in the session. nothing like that since", "review"),
        # Not outside the session (recent ideation, which a clinician sees today), not when it did
        # not stay gone, not when the calm looks ahead, and not when the wish is said now.
        ("for a min there i just wanted to die, it was that intense. no thoughts like that now", "urgent"),
        ("at the clinic i wanted to die. it passed", "review"),
        ("i was suicidal yesterday, it passed", "urgent"),
        ("i wished for death for a moment in the session. that feeling never left", "urgent"),
        ("i said 'i want to die' to my sister last night and i meant it", "urgent"),
        ("i keep thinking 'i want to die'", "urgent"),
        ("at the clinic i wanted to die. it passed, then it came back on the drive home", "urgent"),
        ("at the clinic i wanted to die. it passed. i still do sometimes", "urgent"),
        ("i wanted to die last night. its gone now", "urgent"),
        ("i want to die. the infusion helped for a day but its gone now", "urgent"),
        ("i wanted to die during the infusion and i want to die now. its gone now", "urgent"),
        # Only the wish: a means or an act in the same text keeps its own level.
        ("in the session i wanted to die, it passed. tonight i have the pills lined up and im doing it", "emergency"),
        ("during the infusion i wanted to die. its gone now. after i got home i cut myself", "urgent"),
    ],
)
def test_a_wish_of_the_session_that_passed_is_the_experience(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text",
    [
        "for a moment in the session i wished i was dead. now im calm because i know what im doing tonight",
        "during the infusion i wanted to die. fine now, the letters are written",
        "during the infusion i wanted to die. ill be gone tonight",
    ],
)
def test_the_calm_of_a_decision_is_not_a_wish_that_passed(safety_screen, text):
    # The learned reader leaves a passed phrase's sentence to the rules: a phrase that looks ahead,
    # gives a reason or names a goodbye or the means must not be taken for one.
    explained = safety_screen.explain(text)
    assert not any(c["category"] == "PASSED" for t in explained["targets"] for c in t["context"])


@pytest.mark.parametrize(
    "text, level",
    [
        # A next sentence dates what was told just before to years ago.
        ("i tried to hang myself. it was years ago", "review"),
        ("Long before this treatment I spent a winter wanting to die. That was 2011.", "review"),
        # Not a state that goes on, a tense that may be the present, a comparison, a recent date,
        # or a sentence with a finding of its own.
        ("ive been cutting again. started when i was 15", "urgent"),
        ("i cut myself to feel something. started when i was 13", "urgent"),
        ("tried to hang myself. same spot as in 2015", "urgent"),
        ("i cut myself last night. when i was 15 i did it too", "urgent"),
        ("i took 30 pills. that was 2019 and again last week", "emergency"),
    ],
)
def test_a_past_date_in_the_next_sentence(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # A question about the writer's risk answered with a bare no is a denial.
        ("the nurse asked if i had thoughts of harming myself and i said no, which is true, i'm doing well", "none"),
        ("you asked if i'm having thoughts of suicide: no i'm not", "none"),
        ("am i thinking about ending my life? no. two separate things for me right now", "none"),
        ("Weekly check: self-harm no, suicidal thoughts no, safety concerns no.", "none"),
        # A yes is the writer's answer, not a hypothetical.
        ("the nurse asked if i had thoughts of killing myself and i said yes", "urgent"),
        # A "no" that is part of the risk, or that what follows turns away from, is no denial.
        ("am i going to kill myself? no idea", "emergency"),
        ("am i thinking about killing myself? yes. constantly", "urgent"),
        ("asked myself if i want to die. no one would miss me", "urgent"),
        ("do i want to die? no purpose left anyway", "urgent"),
        ("i want to die, no, im not being dramatic", "urgent"),
        ("nurse asked if i was having thoughts of killing myself and i said no so theyd let me go home", "urgent"),
        ("she asked if i was suicidal and i said no. i am tho", "review"),
        ("they asked me if i was having thoughts of suicide and i said never, then i went home and wrote my note",
         "review"),
        ("im at peace now bc ive decided to end things, no more back and forth about staying alive", "urgent"),
    ],
)
def test_a_question_answered_no(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_passed_phrase_does_not_hide_a_denial(safety_screen):
    # "no thoughts of suicide since" is a denial; a passed phrase must not swallow its "no".
    assert _level(safety_screen, "checking in: still no thoughts of suicide since starting, sleeping ok") == "none"


@pytest.mark.parametrize(
    "text, level",
    [
        # An act done during a session is an act; a wish or an image during it belongs to the experience.
        ("during the infusion i cut myself", "urgent"),
        ("during the session i pictured jumping off a cliff", "review"),
        ("during the infusion i wanted to die", "review"),
    ],
)
def test_an_act_during_the_experience_is_still_an_act(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # An overdose told with no time is taken as now; a past date makes it a recent attempt,
        # history makes it review.
        ("i took an overdose", "emergency"),
        ("i od'd", "emergency"),
        ("i OD\u2019d on my sleeping pills", "emergency"),
        ("2 months ago i overdosed on my antidepressants", "urgent"),
        ("last month i took an overdose.", "urgent"),
        ("i overdosed last week", "urgent"),
        ("when i was 19 i took an overdose", "review"),
        ("my brother overdosed.", "review"),
    ],
)
def test_an_overdose_told_with_no_time_is_taken_as_now(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_recent_cap_is_a_known_caps_key(tmp_path):
    record = dict(GOOD, id="test.rule.two", caps={"RECENT": "urgent"})
    assert "test.rule.two" in {rule.id for rule in load_rules(_rules_dir(tmp_path / "good", [GOOD, record])).targets}
    bad = dict(GOOD, id="test.rule.two", caps={"SOMETIMES": "urgent"})
    with pytest.raises(ValueError, match="unknown context category"):
        load_rules(_rules_dir(tmp_path / "bad", [GOOD, bad]))


@pytest.mark.parametrize(
    "text, level",
    [
        # A pact is a plan made with someone: the other person in it does not lower it.
        ("suicide pact with my bf", "emergency"),
        ("me and my bf made a suicide pact", "emergency"),
        ("we made a pact to die together", "emergency"),
        ("we made a pact to go vegan", "none"),
        ("my sons band is called suicide pact", "none"),
    ],
)
def test_a_suicide_pact_the_writer_is_in_is_a_plan(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # Words that say the writer will not be around make a settling act a goodbye ...
        ("gave my records to my nephew. just in case", "emergency"),
        ("closed my savings account. everythings sorted now", "emergency"),
        ("closed my savings account", "review"),
        # ... and are company for goodbye acts only, not for hopelessness or a will made for a reason.
        ("i feel hopeless about the job search. packed an umbrella just in case", "review"),
        ("i feel so trapped at work. if anything happens i will call you", "review"),
    ],
)
def test_a_final_word_is_company_for_goodbye_acts_only(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_past_marker_does_not_reach_a_new_present_clause(safety_screen):
    assert _level(safety_screen, "i used to have friends and i want to die") == "urgent"
    assert _level(safety_screen, "when i was a teen i cut myself and i burned myself") == "review"


@pytest.mark.parametrize(
    "text, level",
    [
        ("i have a gun", "review"),
        ("i have a gun for hunting", "review"),
        ("i feel hopeless lately. i have a gun", "emergency"),
        ("i have the pills ready. i hate myself", "emergency"),
        ("i have my troches ready for tomorrow's session, i hate mornings", "none"),
        ("i tried again and it didn't work", "review"),
        ("i tried again and it didn't work. i hate myself", "urgent"),
        ("i can't do this anymore", "review"),
        ("i feel hopeless. i can't do this anymore", "urgent"),
        ("i feel hopeless, hopeless", "review"),
    ],
)
def test_company_raises_vague_findings(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_partner_only_findings_are_never_reported(safety_screen):
    assessment = safety_screen("i hate myself and nobody cares")
    assert assessment.level == "none"
    assert assessment.findings == ()
    explained = safety_screen.explain("i hate myself and nobody cares")
    assert {t["rule"] for t in explained["targets"]} == {"hope.cue.despair"}


def test_a_partner_only_match_never_hides_a_target(safety_screen):
    assessment = safety_screen("i feel so hopeless")
    assert [f.rule for f in assessment.findings] == ["hope.hopeless"]


@pytest.mark.parametrize(
    "text, level",
    [
        ("i want to k*ll myself", "urgent"),
        ("su1c1dal again", "urgent"),
        ("self h@rm again", "urgent"),
        ("f*ck this traffic", "none"),
        ("bp 120/80 at 10am, 24/7 support, 1st session", "none"),
    ],
)
def test_self_censored_spellings(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_punctuation_without_a_space_still_splits_words(safety_screen):
    assert _level(safety_screen, "I want to die.I can't do this") == "urgent"
    assert [t[0] for t in safety_screen.explain("see e.g. the leaflet")["tokens"]] == ["see", "e.g.", "the", "leaflet"]


def test_end_anchor_compiles_and_matches_only_at_the_end(safety_screen):
    normalizer = safety_screen.nlp.get_pipe("safety_normalizer")
    compiled = compile_pattern("want to go $", {}, normalizer.lemma_of, normalizer.check_word)
    assert all(seq[-1] == END_ANCHOR for seq in compiled)
    assert split_end_anchor(compiled[0])[1] is True
    with pytest.raises(PatternError):
        compile_pattern("want $ to go", {}, normalizer.lemma_of, normalizer.check_word)
    # Inside a group "$" would be a literal dollar sign, never the end: the rule file is refused.
    with pytest.raises(PatternError):
        compile_pattern("want to (go|leave $)", {}, normalizer.lemma_of, normalizer.check_word)
    with pytest.raises(PatternError):
        compile_pattern("want to (go|$) now $", {}, normalizer.lemma_of, normalizer.check_word)
    assert _level(safety_screen, "i dont want to be here") == "urgent"
    assert _level(safety_screen, "i dont want to be here.") == "urgent"
    assert _level(safety_screen, "i don't want to be here at 8am tomorrow") == "none"


GOOD = {
    "id": "test.rule.one",
    "category": "suicidal_ideation",
    "level": "review",
    "patterns": ["feel hopeless"],
    "examples": {"fire": ["i feel hopeless"], "near_miss": ["i feel hopeful"]},
}


def _rules_dir(tmp_path: Path, records) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir(parents=True)
    (directory / "VERSION").write_text("test-1\n")
    (directory / "targets_test.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return directory


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"escalate_with": {"rules": ["test."], "level": "urgent", "partner_context": "sometimes"}}, "partner_context"),
        ({"escalate_with": {"rules": ["test."], "level": "urgent", "partner_level": "high"}}, "partner_level"),
        ({"escalate_with": {"rules": ["test."], "level": "urgent", "except": ["nothing."]}}, "matches no rule id"),
        ({"escalate_with": {"rules": ["test."], "level": "urgent", "partner_same_rule": "yes"}}, "partner_same_rule"),
        ({"partner_only": True, "level": "urgent"}, "partner_only rule"),
        ({"partner_only": "yes"}, "partner_only must be"),
    ],
)
def test_new_schema_keys_are_checked(tmp_path, changes, problem):
    record = dict(GOOD, id="test.rule.two", **changes)
    with pytest.raises(ValueError, match=problem):
        load_rules(_rules_dir(tmp_path, [GOOD, record]))


def test_partner_only_and_escalation_keys_work_in_a_minimal_rule_set(tmp_path):
    cue = dict(GOOD, id="test.cue.alone", patterns=["so alone"], partner_only=True,
               examples={"fire": ["so alone"], "near_miss": ["alone time"]})
    rule = dict(GOOD, escalate_with={"rules": ["test.cue."], "level": "urgent", "partner_level": "review"})
    screen = build_screen(_rules_dir(tmp_path, [rule, cue]))
    assert screen("i feel hopeless").level == "review"
    assert screen("so alone").level == "none"
    assert screen("i feel hopeless and so alone").level == "urgent"


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"current_level": "sometimes"}, "current_level"),
        ({"current_level": "review"}, "above the rule's level"),
        ({"current_level": "urgent", "partner_only": True}, "partner_only rule|current_level"),
    ],
)
def test_current_level_is_checked(tmp_path, changes, problem):
    record = dict(GOOD, id="test.rule.two", **changes)
    with pytest.raises(ValueError, match=problem):
        load_rules(_rules_dir(tmp_path, [GOOD, record]))


def test_a_bare_mention_the_writer_wants_again_or_still_does_is_urgent(safety_screen):
    # sh.mention is review alone and takes current_level urgent; a group session's topic is none.
    assert _level(safety_screen, "my therapist asked about self harm") == "review"
    assert _level(safety_screen, "we talked about self harm in group today") == "none"
    assert _level(safety_screen, "i used to self harm and i've been wanting to again") == "urgent"
    assert _level(safety_screen, "i haven't self harmed in a year but tonight i want to so badly") == "urgent"
    assert _level(safety_screen, "my sister used to self harm and she wants to again") == "review"


@pytest.mark.parametrize(
    "text, level",
    [
        ("when i was 13 i started cutting, i'm 19 now and still do", "urgent"),
        ("i used to cut, i still have scars", "review"),
        ("back in high school i tried to overdose, the urges never left", "urgent"),
        ("i tried to kill myself when i was 15 and i've tried twice since", "urgent"),
        ("i used to cut, i miss it so much", "urgent"),
        ("i used to cut and i don't miss it", "review"),
        ("i've attempted 3 times, the first when i was 16", "urgent"),
        ("i attempted once, the first and only time when i was 16", "review"),
    ],
)
def test_an_ellipsis_that_carries_a_past_act_into_the_present(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_trying_not_to_is_not_a_denial(safety_screen):
    assert _level(safety_screen, "i'm trying not to kill myself") == "urgent"
    assert _level(safety_screen, "i'm not going to kill myself") == "none"


@pytest.mark.parametrize(
    "text, level",
    [
        ("i used to want to die. i still do sometimes.", "urgent"),
        ("i used to cut. still do.", "urgent"),
        ("during the session i wanted to die. i still do.", "urgent"),
        ("i used to cut. i miss it.", "urgent"),
        ("i used to cut. i still do yoga.", "review"),
        ("i used to cut. i still have the scars.", "review"),
        ("i used to want to die. i don't anymore.", "review"),
        ("my brother used to cut. he still does.", "review"),
        ("i used to cut. i still do yoga every morning and it helps with everything.", "review"),
    ],
)
def test_a_short_next_sentence_can_carry_a_past_act_into_the_present(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_followed_by_is_checked(tmp_path):
    directory = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, directory)
    with (directory / "context.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "ctx.test.bad", "literal": "still", "category": "CURRENT",
                                 "direction": "BACKWARD", "followed_by": "$",
                                 "examples": {"fire": ["i still do"]}}) + "\n")
    with pytest.raises(ValueError, match="followed_by"):
        load_rules(directory)


@pytest.mark.parametrize(
    "text, level",
    [
        ("i used to cut. i still do it when things get bad at work", "urgent"),
        ("i used to cut. work has been really hard this month and honestly i still do.", "review"),
    ],
)
def test_a_longer_next_sentence_carries_only_when_it_opens_with_the_ellipsis(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize("text", ["i used to cut. my sister still does.", "i used to cut. she still wants to."])
def test_an_ellipsis_about_someone_else_carries_nothing(safety_screen, text):
    assert _level(safety_screen, text) == "review"


@pytest.mark.parametrize(
    "text, level",
    [
        # A plan or intent said in the present outlives the session it came up in.
        ("mid infusion i have a plan to kill myself", "emergency"),
        ("in the k hole im going to kill myself", "emergency"),
        # Told of the experience, in the past, it is the experience's.
        ("mid infusion i had a plan to kill myself", "review"),
        ("during the trip i was going to kill myself, it felt so real. fine now", "review"),
    ],
)
def test_a_plan_said_now_is_not_the_experience(safety_screen, text, level):
    assert _level(safety_screen, text) == level



@pytest.mark.parametrize(
    "text, level",
    [
        # "today" beside an experience phrase and a wish told in the past dates the session.
        ("i wished for death at one point today, in the infusion", "review"),
        ("this morning in the session i thought about killing myself", "review"),
        # Not a wish that goes on, and not a wish said now.
        ("today during the infusion i wanted to die and i still do", "urgent"),
        ("i want to die today, the infusion did nothing", "urgent"),
    ],
)
def test_the_day_of_the_session_does_not_make_a_past_wish_current(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # A bare "now" after the date tells the writer's present, not the act's.
        ("back in uni i was suicidal for a whole winter. that was 12 years ago and i'm in a different place now",
         "review"),
        # Unless the sentence goes on to say the thing stirs again.
        ("i overdosed. that was 5 years ago and now i'm thinking about it", "emergency"),
        ("i was suicidal in 2015. that was years ago and now i want to die again", "urgent"),
    ],
)
def test_a_bare_now_after_a_date_tells_the_writers_present(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # "himself", "herself" in the target: another person's act.
        ("husband's been starving himself as a punishment since he lost his job", "review"),
        ("i keep starving myself as punishment", "urgent"),
        # A relation named at the start of a sentence with "my" dropped.
        ("roommate has new cuts on her arm again", "review"),
        ("best friend overdosed on purpose last spring. shes so much better now", "review"),
        ("mum, i want to die", "urgent"),
    ],
)
def test_another_persons_act_in_other_words(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # Not even a trace of a thought of it: a denial.
        ("honestly not even a flicker of wanting to die, i just feel meh", "none"),
        ("totally safe, not a single thought of harming myself, just tired", "none"),
        # A phrase of the same words about something else negates nothing.
        ("i want to die, not a moment of peace", "urgent"),
    ],
)
def test_not_a_trace_of_a_thought_is_a_denial(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # Another person's wish not to wake up is their ideation, not a medical emergency.
        ("my dad says he wishes he wouldn't wake up some mornings", "review"),
        ("coworker said she wishes she just wouldnt wake up some days", "review"),
        ("my husband just won't wake up, he took something", "emergency"),
    ],
)
def test_a_wish_not_to_wake_up_is_not_someone_who_cannot_be_woken(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_the_experience_does_not_make_misuse_a_wish(safety_screen):
    # "the k" reads as the experience; ketamine from a friend is misuse all the same.
    assert _level(safety_screen, "the k from my friend is better than the clinic dose tbh") == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        # The session named in an earlier sentence than the wish: the text is about the session.
        ("the lozenge session was awful. at one stage i wanted to be dead. then the nurse came over and it "
         "lifted. fine now", "review"),
        # The session named in other words: a route ("the IM"), a drug, a minute of the session.
        ("the IM was intense and i wished i was dead for a bit. it's over and i feel safe", "review"),
        ("during the troche session i wanted to die. back now and want to live", "review"),
        ("around minute 25 i wished i was dead. it passed and i feel totally normal", "review"),
        # "me included" is part of the wish, not "me too".
        ("at the peak i wanted everything to end, me included. it faded before i left", "review"),
        # A wish with a date of its own, after the session was named, is not the session's.
        ("my infusion was on monday. last night i wanted to die. it's gone now", "urgent"),
        # No session anywhere: recent ideation.
        ("for a bit i wished i was dead. it's over now, i feel fine", "urgent"),
    ],
)
def test_the_session_named_anywhere_before_the_wish_passed(safety_screen, text, level):
    assert _level(safety_screen, text) == level
