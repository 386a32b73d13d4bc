"""Talk about suicide is not risk: topics, things, titles; and the writer's present still counts."""
import pytest

from bot.safety.model import level_rank


def _level(screen, text):
    return screen(text).level


@pytest.mark.parametrize(
    "text",
    [
        "we talked about suicide in group today",
        "today's group topic was suicide and how to ask directly",
        "i read a study on ketamine for suicidal depression",
        "the paper ran a story on the suicide rate in rural areas",
        "apparently men are three times more likely to die by suicide than women",
        "going out in this storm is suicide",
        "the squirrel that ran across the road looked suicidal",
        "coach made us do suicide sprints until we nearly threw up",
        'the song "i want to die" by that band is so catchy',
        "the bbc piece on male suicide was really good",
        # The first half of a name for a thing.
        "the diner's suicide burger challenge is undefeated",
        "suicide squats at the gym are brutal",
        "parking a van on that hill takes suicidal confidence",
    ],
)
def test_talk_about_suicide_is_none(safety_screen, text):
    assert _level(safety_screen, text) == "none"


@pytest.mark.parametrize(
    "text, level",
    [
        # A topic the writer ties to their present is not mere talk.
        ("i read an article about suicide and i keep thinking about it", "urgent"),
        ("we talked about suicide in group and i realised i still think about it", "review"),
        # A method searched for, or suicide weighed as easy, is the writer's own ideation.
        ("suicide would be so easy", "urgent"),
        ("best suicide method for a quick death", "urgent"),
        ("looking for suicide methods", "urgent"),
        # No thing to attach it to: a bare mention stays review.
        ("reading about suicide all night again", "review"),
        ("suicidal thoughts are common after loss", "review"),
        ("suicide runs in my family", "review"),
        ("i need the suicide hotline number", "review"),
        # A name's first half only when nothing ties it to the writer and it is not a question.
        ("suicide haunts me every night", "review"),
        ("is suicide painful?", "review"),
        ("i wrote a suicide note", "emergency"),
        ("lost my dad to suicide last spring", "review"),
        # A person anywhere, a time, a typo of a risk word: not a name for a thing.
        ("im in a suicidal headspace", "review"),
        ("suicidal after the infusion yesterday", "review"),
    ],
)
def test_a_mention_tied_to_the_writer_or_a_method_stays(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_mention_said_of_a_thing_rises_with_company(safety_screen):
    assert _level(safety_screen, "going out in this storm is suicide") == "none"
    assert _level(safety_screen, "i feel hopeless. going out in this storm is suicide") == "urgent"


@pytest.mark.parametrize(
    "text",
    [
        "i'm suicidal",
        "feeling suicidal again",
        "suicidal af rn",
        "the only way out left is suicide",
        "my friend is suicidal and honestly so am i",
        "suicidal thoughts are common after loss, and i've been having them every night",
        "after watching that documentary about suicide i want to die",
        "i used to want to die, it passed, but now it's back",
        "i want to kill myself to make it stop",
        "i tried to kill myself at 19 and i want to try again",
    ],
)
def test_the_writers_present_risk_stays_urgent(safety_screen, text):
    assert _level(safety_screen, text) == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        ("the infusion didn't make me suicidal at all", "none"),
        ("zero suicidal thoughts this week, which feels like a win", "none"),
        ("suicide is not on my mind at all", "none"),
        ("my therapist asked if i was suicidal and honestly no, i'm not", "none"),
        ("i don't feel like dying, i feel like sleeping for a week", "none"),
        ("i was suicidal in my twenties but that's long behind me", "review"),
        ("it's been three years since my attempt", "review"),
        ("in the middle of the infusion i wished i was dead, it faded fast", "review"),
        ("the infusion was rough, i wanted to die at one point", "review"),
        ("the infusion was a week ago and i've wanted to die every day since", "urgent"),
        ("my dad keeps saying everyone would be better off without him", "review"),
    ],
)
def test_denials_the_past_the_experience_and_others(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text",
    [
        "suicidal af",
        "woke up suicidal",
        "suicidal most days",
        "suicidal thots tonight",
        "suicidal thoughts most of the day. work was hell",
        "struggling. suicidal. dont want to call anyone",
        "just suicidal again",
    ],
)
def test_suicidal_in_a_fragment_of_the_writers_own_state_is_urgent(safety_screen, text):
    assert _level(safety_screen, text) == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        # The word alone as the whole message, a question, a denial, someone else, a generality.
        ("suicidal", "review"),
        ("suicidal?", "review"),
        ("not suicidal af", "none"),
        ("my friend is suicidal af", "review"),
        ("suicidal thoughts are common", "review"),
    ],
)
def test_suicidal_with_more_than_the_writers_state_keeps_its_level(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text",
    [
        "another suicide on the northern line this morning, trains delayed",
        "the stats say suicides went up again last year",
        "the consent form mentions suicide in the risks section",
        "there was a suicide on the tracks this morning",
    ],
)
def test_the_noun_reported_on_is_none(safety_screen, text):
    assert _level(safety_screen, text) == "none"


@pytest.mark.parametrize(
    "text, level",
    [
        # The writer's own mind, someone they know, a question, "my suicide": not a report.
        ("i keep thinking about suicide at night", "urgent"),
        ("my flatmate keeps bringing up suicide", "review"),
        ("i need to talk about suicide at some point", "review"),
        ("is suicide painful?", "review"),
        # Suicide as the answer, on the mind, or with a time: the writer's own ideation or plan.
        ("suicide feels like the only answer lately", "urgent"),
        ("suicide keeps crossing my mind", "urgent"),
        ("suicide tonight after everyone is asleep", "emergency"),
        ("decided on suicide", "emergency"),
        # A programme on tonight is a topic.
        ("the documentary about suicide is on tonight", "none"),
    ],
)
def test_the_noun_held_in_the_writers_mind_or_with_a_time_is_risk(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text",
    [
        # The noun opening the statement, a dropped "I", a dose, a method or a time ahead: not a report.
        "suicide is always in the back of my head",
        "suicide would solve it",
        "reading about suicide all night",
        "suicide by cop sounds about right",
        "nobody would notice one more suicide",
        "the bridge where the suicide happened is 10 min from my house. going there tonight",
    ],
)
def test_the_noun_is_not_lowered_where_it_may_be_the_writers_risk(safety_screen, text):
    assert level_rank(_level(safety_screen, text)) >= level_rank("review")


@pytest.mark.parametrize(
    "text, level",
    [
        ("suicide is starting to make sense", "urgent"),
        ("how many sertraline for a suicide", "emergency"),
        ("suicide after the holidays", "emergency"),
        # Work talk is not a plan the writer holds; a quiz's answer is talk about a topic.
        ("im a nurse, had a suicide on the ward tonight", "review"),
        ("suicide was the correct answer on the trivia night", "none"),
    ],
)
def test_frames_of_the_noun(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # A name or a description someone gives a thing is none; the writer named, a call to a
        # helpline, or a time ahead in the text is not a name.
        ("the ref called the tackle suicidal bc the guy was twice his size", "none"),
        ("my sons basketball coach calls them suicides and the parents complained", "none"),
        ("everyone calls it suicide hill. its where the kids sled", "none"),
        ("they called me suicidal at school", "review"),
        ("my mom called the suicide hotline for me", "review"),
        ("they call it the suicide bridge. im going there tonight", "review"),
    ],
)
def test_a_name_someone_gives_a_thing_is_none(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text",
    [
        # The name of a song, a band, a dish or a game, whoever is in the sentence.
        "heard a song called suicide note at the open mic, kinda cringe honestly",
        "my friends band is called Suicide Notes From The Mall. terrible name, told them",
        "tried the suicide burger challenge at the diner, 4 patties and ghost pepper sauce. did not finish",
        "played suicide chess with my son, the variant where you try to lose all your pieces",
        # A thesis, a panel, a training on the topic.
        "my cousin presented her thesis on suicide among veterans",
        "doing the ASIST training next month for my youth work job, 2 days on suicide intervention",
    ],
)
def test_names_and_topics_are_no_ones_risk(safety_screen, text):
    assert _level(safety_screen, text) == "none"


@pytest.mark.parametrize(
    "text",
    [
        "making my suicide playlist tonight",
        "suicide haunts me every night",
        "i keep googling suicide forest",
        "my suicidal brain wont shut up",
        "a woman in my support group tried to overdose",
        "one last drink suicide tonight",
        "heard a song called suicide note and wrote my own tonight",
        "maxed out my credit card suicide is the only way out",
    ],
)
def test_a_name_frame_does_not_take_the_writers_own(safety_screen, text):
    assert level_rank(_level(safety_screen, text)) >= level_rank("review")


@pytest.mark.parametrize(
    "text, level",
    [
        # With people in the sentence, "suicidal" before a head that is no one and nothing of the
        # writer's mind names a thing.
        ("our defence is playing a suicidal high line, we're gonna get torched", "none"),
        ("the dog trainer says our husky has a suicidal lack of fear around cars", "none"),
        ("my chess opponent made a suicidal queen sac and somehow won lol", "none"),
        # Before a person or the writer's mind, or dated to now, it is no thing's name.
        ("my suicidal friend called me last night", "review"),
        ("my suicidal brain wont shut up", "review"),
        ("i keep having suicidal dreams", "review"),
        ("in chess club tonight my opponent did a suicidal king walk", "review"),
    ],
)
def test_the_adjective_before_a_thing_names_it_whoever_is_in_the_sentence(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # Someone the writer knows who names a thing, orders a drink or tells a fact: talk.
        ("my brother ordered a 'suicide' at the cinema soda machine, gross", "none"),
        ("my nan calls driving in snow without chains suicide", "none"),
        ("my son's class had a talk about suicide prevention and he said it was good", "none"),
        # Someone the writer knows who thinks, talks, searches or is worried about it: their risk.
        ("my sister keeps talking about suicide and i don't know what to say", "review"),
        ("found suicide in my daughter's search history last night", "review"),
    ],
)
def test_someone_the_writer_knows_and_the_noun(safety_screen, text, level):
    assert _level(safety_screen, text) == level
