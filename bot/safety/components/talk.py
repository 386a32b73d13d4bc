"""Talk about suicide, not risk: what ties a mention to the writer, or to a thing, a topic or a title.

Helpers of the context step (context.py); see bot/safety/README.md, "Level policy".
Each takes a sentence span, the target span and the sentence's ConText modifiers.
"""
from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span, Token

_FIRST_PERSON = frozenset({"i", "me", "my", "myself", "mine"})
# A CURRENT phrase with one of these words says a
# state goes on ("still", "again"); the others only date the talk ("today's group topic was suicide").
_STATE_WORDS = frozenset({"now", "again", "still", "lately", "recently", "currently"})
# "i" + one of these after "and", "so", a comma...: the writer's present state ("... and i keep thinking
# about it"), which ties a topic to the writer. Narrower than _PRESENT_AFTER_I: "and i think it's
# important" says nothing of the writer's state.
_STATE_AFTER_I = frozenset("want wanna feel keep can wish need hate still constantly always".split())
# Cues that the writer's thoughts of it persist ("... i can't stop thinking about it").
_PERSISTING = frozenset(
    {"ctx.ambivalence.keep_thinking", "ctx.ambivalence.think_about_it", "ctx.ambivalence.cant_stop",
     "ctx.ambivalence.on_my_mind", "ctx.ambivalence.sometimes_i_wish"}
)
# The bare words of a mention: with nobody in the sentence they can be about a thing.
_BARE_MENTIONS = frozenset({"suicide", "suicides", "suicidal", "suicidality"})
_PEOPLE = _FIRST_PERSON | frozenset({"we", "us", "our", "ours", "ourselves", "im", "ive", "id"})
# A sentence that opens with one of these has most likely dropped "I" ("been reading about suicide").
_DROPPED_SUBJECT = frozenset(
    """been keep kept can could cannot ca want wanna need feel felt think thought love hate wish just still
    gonna tryna trying tried am was started start stop stopped cant dont do did really so always constantly
    literally honestly lowkey kinda obsessed reading googling researching""".split()
)
# Words between a copula and the mention it predicates ("is basically suicide", "looks kinda suicidal").
_HEDGES = frozenset(
    """so basically literally pretty much practically just kinda kind of totally absolutely borderline
    actually honestly like a complete total pure utterly downright straight up bit little""".split()
)
_COPULAS = frozenset({"be", "look", "seem", "sound", "become"})
# A phrase in quotes in a sentence that names one of these is a title ("the song 'i want to die'").
_QUOTES = frozenset({'"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb", "`"})
_TITLE_NOUNS = frozenset(
    """song track album lyric lyrics band film movie show series episode book novel title single playlist podcast
    documentary artist singer rapper soundtrack chorus verse listen sing hum stream blast""".split()
)
# Next to these the mention is about a method or a wish, never mere talk ("painless suicide methods").
_RISK_HEADS = frozenset(
    """method methods way ways plan plans note notes letter letters pact forum forums kit bag pills spot spots site
    sites location locations vibes mode bridge rope gun""".split()
)
_RISK_ADJECTIVES = frozenset(
    """painless quick quickest easy easiest best effective peaceful successful guaranteed fast clean quiet""".split()
)
# After a denial, a "but" followed by one of these leaves the denial open or says the writer is not
# well ("i'm not suicidal, but sometimes i wonder", "... but i'm scared", "... but i'm exhausted"); a
# "but" about something else does not ("i'm not suicidal but work is busy", "... but i need to talk").
_OPENING = frozenset(
    """idk unsure sure maybe sometimes sometime might could scared afraid terrified tempting tempted close part wish
    wonder wondering thoughts urges urge unless exhausted tired drained sad low depressed struggling overwhelmed
    hopeless empty numb lonely miserable awful terrible bad rough hard broken lost down anxious stressed hurting
    worn""".split()
)
# A mention as the object of one of these is talk about a topic ("research into suicide").
_TOPIC_PREPOSITIONS = frozenset({"about", "on", "of", "regarding", "re", "around", "into", "for", "among", "to"})


def ties_writer(sent: Span, modifiers: list, target: Span, clauses: List[int]) -> bool:
    """True if the sentence ties a mention to the writer's present, so it is not mere talk.

    Anywhere in the sentence: a present-tense clause of the writer ("... and i keep
    thinking about it"), a phrase that says it goes on ("the urges never left"), or the
    writer with a state marker ("now", "again", "still"; not a date such as "today") or a
    cue that thoughts persist ("... i think about it").
    """
    if any(m.category == "CURRENT_WISH" for m in modifiers):
        return True
    doc = sent.doc
    for c in clauses:
        verbs = [t for t in doc[c + 1 : min(sent.end, c + 3)] if t.norm_ not in ("am", "'m")][:1]
        if any(t.norm_ in _STATE_AFTER_I or t.lemma_ in _STATE_AFTER_I for t in verbs):
            return True
    writer = any(t.norm_ in _FIRST_PERSON for t in sent if not (target.start <= t.i < target.end))
    persists = any(m.rule.metadata["id"] in _PERSISTING for m in modifiers)
    return writer and (persists or goes_on(sent.doc, modifiers))


def goes_on(doc: Doc, modifiers: list) -> bool:
    """True if a phrase says a state goes on: CURRENT_WISH, or "now", "again", "still" (not a date)."""
    return any(
        m.category == "CURRENT_WISH"
        or (m.category == "CURRENT" and any(t.norm_ in _STATE_WORDS for t in doc[slice(*m.modifier_span)]))
        for m in modifiers
    )


def _statement_words(sent: Span, target: Span, mentions: frozenset) -> Optional[List[Token]]:
    """The sentence's other words if the target is one word of `mentions` in a statement (not a
    question) of three other words or more."""
    if len(target) != 1 or target[0].norm_ not in mentions:
        return None
    others = [t for t in sent if t.is_alpha and not (target.start <= t.i < target.end)]
    if len(others) < 3 or any(t.text == "?" for t in sent):
        return None
    return others


def _lone_mention(sent: Span, target: Span, modifiers: list) -> Optional[List[Token]]:
    """The sentence's other words if the target is a bare one-word mention in a statement of three
    other words or more that names no person (the writer, "we", or anyone a context rule names)."""
    others = _statement_words(sent, target, _BARE_MENTIONS)
    if others is None:
        return None
    if any(t.norm_ in _PEOPLE for t in sent) or any(m.category == "OTHER_PERSON" for m in modifiers):
        return None
    return others


def _neighbours(sent: Span, target: Span) -> Tuple[Optional[Token], Optional[Token]]:
    """The words just before and just after the target within its sentence (None at either edge)."""
    doc = sent.doc
    before = doc[target.start - 1] if target.start > sent.start else None
    after = doc[target.end] if target.end < sent.end else None
    return before, after


def _method_beside(before: Optional[Token], after: Optional[Token]) -> bool:
    """True if the words beside a mention make it about a method ("suicide methods", "painless suicide")."""
    return (after is not None and after.norm_ in _RISK_HEADS) or (
        before is not None and before.norm_ in _RISK_ADJECTIVES
    )


def impersonal(sent: Span, target: Span, modifiers: list) -> bool:
    """True if a bare mention is said of a thing: the sentence names no person at all.

    The mention must be one word ("suicide", "suicidal"), in a statement (not a
    question), with at least three other words, no person (the writer, "we", or
    anyone a context rule names), nothing about a method ("painless suicide
    methods"), and attached to a thing: predicated of a subject ("the pass was
    suicidal", "going out in this storm is suicide") or the object of a topic
    preposition ("research into suicide"). A sentence that seems to have dropped
    "I" ("been reading about suicide", "looking for suicide ...") is not.
    """
    doc = sent.doc
    others = _lone_mention(sent, target, modifiers)
    if others is None:
        return False
    before, after = _neighbours(sent, target)
    if _method_beside(before, after):
        return False
    opens_with = others[0].norm_ if others[0].i < target.start else ""
    if opens_with in _DROPPED_SUBJECT:
        return False
    # Predicated of a subject: "<subject> is (basically) suicide"; the subject may be a gerund.
    k = target.start - 1
    while k > sent.start and doc[k].norm_ in _HEDGES:
        k -= 1
    if k > sent.start and doc[k].lemma_ in _COPULAS:
        return any(t.is_alpha for t in doc[sent.start : k])
    if opens_with.endswith(("ing", "ed")):
        return False
    return before is not None and before.norm_ in _TOPIC_PREPOSITIONS


# "Suicidal" as a state the writer is in, said in a fragment ("suicidal af", "woke up suicidal",
# "suicidal thoughts most of the day"): the sentence holds nothing but these words.
_STATE_MENTIONS = frozenset({"suicidal"})
_FRAGMENT_WORDS = frozenset(
    """i im me my myself am m feel feeling felt feels woke wake waking up been being getting get got going kinda kind
    of so very really super pretty fully actively passively mildly mild lowkey low key highkey bit a little tad quite
    extremely totally af asf rn atm tbh ngl honestly lol sorry sry again still today tonight this morning evening night
    all day week weekend lately recently now and just too also the most since every thoughts thought urges urge
    feelings feeling ideation stuff thing things is are was were back spiking worse stronger louder returning
    returned coming came started starting creeping right ish usual on off waves thots monday tuesday wednesday thursday
    friday saturday sunday""".split()
)
_NOT_THE_WRITERS = frozenset({"OTHER_PERSON", "TOPIC", "HYPOTHETICAL", "HISTORICAL", "EXPERIENCE", "NEGATED_EXISTENCE"})


def own_state(sent: Span, target: Span, modifiers: list) -> bool:
    """True if "suicidal" is the writer's own present state, said in a fragment.

    The mention is "suicidal" (or "suicidal thoughts"), in a statement, and the
    other words of its sentence are the writer, a state, time or degree word or
    text-speak ("suicidal af", "woke up suicidal", "suicidal thoughts most of the
    day", "the suicidal stuff is back"); or there are none, and the text says more
    in other sentences ("Struggling. Suicidal."; the word alone as the whole text
    is a bare mention, `review`). A sentence that names anyone else, a topic, a
    hypothetical, the past, the experience itself or a denial is not ("suicidal
    thoughts are common", "not suicidal").
    """
    if not len(target) or target[0].norm_ not in _STATE_MENTIONS or any(t.text == "?" for t in sent):
        return False
    if any(m.category in _NOT_THE_WRITERS for m in modifiers):
        return False
    others = [t for t in sent if not (target.start <= t.i < target.end) and not t.is_punct and not t.is_space]
    if not others:
        # "Struggling. Suicidal. Don't want to call anyone": the word alone, among the writer's other sentences.
        return any(t.is_alpha for t in sent.doc if not (sent.start <= t.i < sent.end))
    return all(t.norm_ in _FRAGMENT_WORDS or t.lemma_ in _FRAGMENT_WORDS or t.like_num for t in others)


# Words by which a writer holds "suicide" in mind rather than reporting on it ("i keep thinking
# about suicide", "suicide is tempting", "i'm scared of how close suicide feels").
_MENTAL = frozenset(
    """think thinking thought thoughts consider considering considered contemplate contemplating contemplated want
    wanted wanting wanna wish wished plan planning planned obsess obsessed obsessing obsession fantasize fantasise
    fantasizing fantasising dream dreaming crave craving tempt tempted tempting mind keep keeps kept stop google
    googling googled research researching researched searching searched scared afraid fear close closer option
    answer relief comfort jealous envy envious lucky same next feel feeling feels felt urge urges pull drawn ready
    decide decided choose chose chosen talk ask said say tell mention discuss bring share open need""".split()
)
# Someone the writer knows, or a pronoun for them: a mention near them is another person's risk (`review`).
_SOMEONE = frozenset(
    """he she him her his hers they them their theirs someone somebody friend friends mate mates buddy bestie bff
    flatmate roommate housemate partner boyfriend girlfriend husband wife ex girl guy boy man woman kid kids teen
    teenager student colleague coworker mum mom dad mother father brother sister son daughter cousin uncle aunt
    grandma grandad grandpa nan niece nephew neighbour neighbor client patient family""".split()
)


_NOUNS = frozenset({"suicide", "suicides"})
# Beside someone the writer knows, these words make the noun that person's risk, not a thing they
# named or a fact they told ("my sister keeps talking about suicide", "worried my son is considering
# suicide"; not "my mate ordered a suicide", "my dad taught me the suicide king").
_SOMEONES_RISK = (
    _MENTAL - frozenset("said say tell ask close option answer same next lucky keep keeps kept stop".split())
) | frozenset(
    """talk talks talked talking worried worry worrying scared attempt attempted attempting tried try trying
    threaten threatened threatening threatens risk mentions mentioned bringing brought search searches
    searched searching history browsing posted posting lost losing""".split()
)
# Words that open a statement without being its subject ("honestly suicide is ...").
_DISCOURSE = frozenset("honestly but and so just like tbh ngl idk maybe lol lmao ok okay well yeah yes no".split())
# A dose, a method, a time ahead or "nobody" anywhere in the text: never mere report ("how many
# tylenol for a suicide", "the bridge where the suicide happened ... going there tonight", "nobody
# would notice one more suicide").
_MEANS_OR_WHEN = frozenset(
    """how pill pills tablet tablets meds dose doses enough lethal fatal painless quick quickest method methods
    tonight tonite tomorrow tmrw soon until nobody""".split()
)


def _means_or_when_in(doc: Doc) -> bool:
    """True if a dose, a method, a time ahead or "nobody" is anywhere in the text (_MEANS_OR_WHEN)."""
    return any(t.norm_ in _MEANS_OR_WHEN or t.lemma_ in _MEANS_OR_WHEN for t in doc if t.is_alpha)


def untied_noun(sent: Span, target: Span, modifiers: list) -> bool:
    """True if the noun "suicide" is reported on, not held in the writer's mind.

    The noun alone, in a statement of three other words or more, that it does
    not open and that does not drop its "I"; no method word beside it; not "my
    suicide"; not someone the writer knows (or a pronoun for them) together with
    a word of thinking, talking, worry, an attempt, a search or a loss ("my
    sister keeps talking about suicide" is another person's risk, `review`; "my
    mate ordered a 'suicide' at the soda fountain" is not); not acting on the
    writer ("suicide haunts me"); no dose, method, time ahead or "nobody"
    anywhere in the text;
    and not the writer together with a word of thinking, wanting, planning,
    fear or feeling. "Another suicide on the northern line this morning", "i
    read that suicides went up last year", "the consent form mentions suicide"
    are news, a statistic, a form: no one's risk. "I keep thinking about
    suicide", "suicide is starting to make sense" and "reading about suicide
    all night" are not. Frames that make the noun the writer's own risk have
    rules of their own ("suicide feels like the answer", "suicide tonight").
    """
    others = _statement_words(sent, target, _NOUNS)
    if others is None:
        return False
    if any(t.norm_ in ("me", "myself") for t in others if t.i > target.start):
        # The writer as the one it acts on ("suicide haunts me").
        return False
    someone = any(m.category == "OTHER_PERSON" for m in modifiers) or any(t.norm_ in _SOMEONE for t in others)
    if someone and any(t.norm_ in _SOMEONES_RISK or t.lemma_ in _SOMEONES_RISK for t in others):
        # Someone the writer knows, thinking, talking or worried about it: another person's risk.
        return False
    before, after = _neighbours(sent, target)
    if _method_beside(before, after) or (after is not None and after.norm_ == "by"):
        return False
    if before is not None and before.norm_ in _FIRST_PERSON:
        return False
    leading = [t for t in others if t.i < target.start and t.norm_ not in _DISCOURSE]
    if not leading or leading[0].norm_ in _DROPPED_SUBJECT:
        # The noun opens the statement ("suicide is starting to make sense"), or the writer has
        # dropped "I" ("reading about suicide all night"): said of the writer's own mind.
        return False
    if _means_or_when_in(sent.doc):
        return False
    writer = any(t.norm_ in _FIRST_PERSON or t.norm_ in ("im", "ive", "id") for t in others)
    return not (writer and any(t.norm_ in _MENTAL or t.lemma_ in _MENTAL for t in others))


def quoted_title(sent: Span, target: Span) -> bool:
    """True if the target stands inside quotes, within 12 words, in a sentence that names a song, film or book."""
    doc = sent.doc
    opening = [t.i for t in doc[max(sent.start, target.start - 12) : target.start] if t.text in _QUOTES]
    closing = [t.i for t in doc[target.end : min(sent.end, target.end + 12)] if t.text in _QUOTES]
    if not opening or not closing:
        return False
    return any(t.lemma_ in _TITLE_NOUNS or t.norm_ in _TITLE_NOUNS for t in sent)


def contrast_open(sent: Span, after: int) -> bool:
    """True if the "but" clause ending at token `after` leaves a denial open.

    It trails off ("I won't kill myself, but..."; at most one word follows),
    hedges ("but sometimes", "but I'm scared", "but idk") or says the writer is
    not well ("but I'm exhausted"). A "but" about something else ("I'm not
    suicidal but work is busy") leaves the denial a denial.
    """
    words = [t for t in sent.doc[after : sent.end] if t.is_alpha]
    return len(words) <= 1 or any(t.norm_ in _OPENING or t.lemma_ in _OPENING for t in words)


# After a bare mention, these words make it a predicate, a clause or the writer's own state, never the
# first half of a name ("suicide is ...", "suicidal again", "suicidal af", "suicide by ...").
_NOT_A_HEAD = frozenset(
    """is was be been being are were am seems seem seemed feels feel felt sounds sound looks look keeps keep kept
    crosses crossed cross pops popped has had have would could will might can may should must does did do
    and or but nor so then than because cause cuz bc if when while as by in of for to at on with without from into
    about like again now tonight today lately recently rn atm af asf tbh ngl fr lol lmao honestly really still
    always constantly never just too also all every though tho anymore yet ever again already soon
    i me my myself mine im ive id you your he him his she her they them their we us our it its this that
    these those there here the a an some any no not became becomes become started starts start happened happens
    happen makes made took takes gets got left leaves runs ran run came comes come went goes go stays stayed stay
    painful painless easy easier quick quicker selfish wrong right real okay normal common rare bad good better
    worse possible legal illegal last next first second this yesterday tomorrow year years month months week
    weeks night nights morning mornings evening evenings day days most many some several half every each more
    less much mostly sometimes often daily nightly weekly everyday twice once thing things time times
    after before during over until till cos whenever idk fml smh haha ugh bruh omg istg lmfao becoming getting
    calling creeping""".split()
)
# Heads that make a compound about risk itself, or about help with it ("suicide note", "suicidal thoughts").
_RISK_COMPOUNDS = _RISK_HEADS | frozenset(
    """note notes letter letters pact pacts attempt attempts watch thoughts thought ideation ideations urge urges
    risk risks hotline hotlines line lines helpline helplines prevention crisis feelings feeling mood moods state
    states episode episodes phase phases tendencies tendency impulses impulse ideas idea fantasies fantasy
    mindset spiral thinking vest survivor survivors loss losses ward assessment screening number text chat call
    counsellor counselor plan plans method methods mode thots thot thougts thoughs tendancies tendancy ideaton
    urgs feelins date dates intent intention message messages guide guides tips tip meds despair low headspace
    depression mess tendencies""".split()
)


def names_a_thing(sent: Span, target: Span, modifiers: list) -> bool:
    """True if a bare mention is the first half of a name for a thing ("the suicide burger", "suicide squats").

    The mention is one word, the next word is an ordinary word that is neither
    a predicate, clause or time word ("suicide is", "suicidal again", "suicide
    last spring") nor a head about risk or help ("suicide note", "suicidal
    thoughts"), in a statement of three other words or more (not a question:
    "is suicide painful?"), and nothing in the text says it is the writer's:
    not "my suicide ...", not acting on the writer ("suicide haunts me"), not
    the writer (or a dropped "I") with a word of thinking, wanting or feeling
    ("been googling suicide forest"), and no dose, method, time ahead or
    "nobody" anywhere. The adjective ("suicidal
    confidence") names a thing only if nothing dates it to now ("suicidal mood
    today" is the writer's), and either the sentence names no person, or its
    head is no one and nothing of the writer's mind ("our defence plays a
    suicidal high line"; not "my suicidal friend", "my suicidal brain") and, as
    for the noun, nothing makes it the writer's own.
    """
    if len(target) != 1 or target.end >= sent.end:
        return False
    doc = sent.doc
    head = doc[target.end]
    if not head.is_alpha or len(head.text) < 3:
        return False
    if any(form in _NOT_A_HEAD or form in _RISK_COMPOUNDS for form in (head.norm_, head.lemma_)):
        return False
    if target[0].norm_ in _NOUNS:
        return _not_the_writers(sent, target, _NOUNS)
    # Nothing that dates it to now: "suicidal thots tonight" is not a name.
    if any(m.category in ("CURRENT", "CURRENT_WISH", "RECENT", "SINCE_RECENT") for m in modifiers):
        return False
    others = _lone_mention(sent, target, modifiers)
    if others is not None:
        return others[0].norm_ not in _DROPPED_SUBJECT
    # With a person in the sentence, the adjective names a thing only before a head that is no one
    # and nothing of the writer's mind ("our defence plays a suicidal high line", "a suicidal king
    # walk"; not "my suicidal friend", "my suicidal brain"), and as for the noun.
    if any(form in _SOMEONE or form in _MIND_HEADS for form in (head.norm_, head.lemma_)):
        return False
    return _not_the_writers(sent, target, _STATE_MENTIONS)


# Heads by which "suicidal" describes the writer's own mind, body or place in life ("my suicidal brain"),
# and people _SOMEONE does not name.
_MIND_HEADS = frozenset(
    """brain brains mind minds head self selves side part parts voice voices heart soul body place places space
    zone hole pit darkness dark period patch stretch energy vibe vibes streak cycle loop way ways days nights
    me myself person people patients""".split()
)


def _not_the_writers(sent: Span, target: Span, mentions: frozenset) -> bool:
    """True if nothing makes a mention the writer's own: a statement of three other words or more,
    no dose, method, time ahead or "nobody" in the text, not "my suicide ...", not acting on the
    writer ("suicide haunts me"), and not the writer (or a dropped "I") with a word of thinking,
    wanting or feeling."""
    others = _statement_words(sent, target, mentions)
    if others is None or _means_or_when_in(sent.doc):
        return False
    before, _ = _neighbours(sent, target)
    if before is not None and before.norm_ in _FIRST_PERSON or any(t.norm_ in ("me", "myself") for t in others):
        # "my suicide playlist"; the writer as the one it acts on ("suicide haunts me").
        return False
    writer = others[0].norm_ in _DROPPED_SUBJECT or any(t.norm_ in _FIRST_PERSON or t.norm_ in ("im", "ive", "id")
                                                         for t in others)
    return not (writer and any(t.norm_ in _MENTAL or t.lemma_ in _MENTAL for t in others))


# Things people give names to: a mention right after one ("the band suicide"), or right after a naming
# verb that follows one ("a song called suicide note", "his band is called suicide pact"), is the name.
_NAMED_THINGS = frozenset(
    """band bands duo trio album albums song songs book novel film movie series episode podcast documentary poem
    burger chili cocktail dish""".split()
)
_NAME_VERBS = frozenset("named titled entitled dubbed called".split())
_NAME_LINKS = frozenset("is was be 's are were".split())


def named_title(sent: Span, target: Span) -> bool:
    """True if the target is the name of a song, band, book or dish.

    The target opens with "suicide" or "suicidal" ("suicide note", "suicide")
    and follows such a noun directly ("the band suicide", "the song suicide
    note"), or a naming verb directly ("called", "named", "titled") that follows
    such a noun directly or after "is" ("heard a song called suicide note", "my
    son's band is called suicide pact"); and, as for untied_noun(), no dose,
    method, time ahead or "nobody" is anywhere in the text ("a song called
    suicide note and i wrote my own tonight" stays).
    """
    if not len(target) or target[0].norm_ not in _BARE_MENTIONS or target.start <= sent.start:
        return False
    doc = sent.doc
    if _means_or_when_in(doc):
        return False
    before = doc[target.start - 1]
    if before.norm_ in _NAMED_THINGS or before.lemma_ in _NAMED_THINGS:
        return True
    if before.lower_ not in _NAME_VERBS:
        return False
    k = before.i - 1
    if k > sent.start and doc[k].norm_ in _NAME_LINKS:
        k -= 1
    return k >= sent.start and (doc[k].norm_ in _NAMED_THINGS or doc[k].lemma_ in _NAMED_THINGS)


# Verbs by which someone gives a thing a name or a description ("my poker buddies call it the suicide
# king", "the ref called the tackle suicidal", "a drill they call suicides", "known as suicide hill").
_NAMING = frozenset(
    """call calls called calling name names named naming nickname nicknamed dub dubbed label labelled labeled
    title titled entitle entitled known aka""".split()
)
# The writer as the one named or the one naming ("they called me suicidal", "i called it suicide").
_WRITER = frozenset({"i", "me", "myself", "im", "ive", "id"})


def named(sent: Span, target: Span, modifiers: list) -> bool:
    """True if a bare mention is a name or a description someone gives a thing.

    A naming verb ("call", "named", "dubbed", "known as") comes before the
    mention, within eight words, in a statement (not a question); the writer is
    neither the one naming nor the one named ("they called me suicidal", "i'd
    call it suicide" stay); the word after the mention is not a head about risk
    or help ("she called the suicide hotline" is a call, not a name); and, as
    for untied_noun(), no dose, method, time ahead or "nobody" is anywhere in
    the text ("they call it suicide bridge. going there tonight" stays).
    """
    if len(target) != 1 or target[0].norm_ not in _BARE_MENTIONS or any(t.text == "?" for t in sent):
        return False
    doc = sent.doc
    window = doc[max(sent.start, target.start - 8) : target.start]
    if not any(t.norm_ in _NAMING or t.lower_ in _NAMING for t in window):
        return False
    if any(t.norm_ in _WRITER or t.lower_ in _WRITER for t in doc[sent.start : target.start]):
        return False
    _, after = _neighbours(sent, target)
    if after is not None and (after.norm_ in _RISK_COMPOUNDS or after.lemma_ in _RISK_COMPOUNDS):
        return False
    return not _means_or_when_in(doc)


# Words that may open a sentence before its subject ("so my sister ...", "honestly he ...").
_OPENERS = _DISCOURSE | frozenset("omg lmao ugh um hey also then anyway".split())
# A person as a subject: a pronoun, or a determiner or possessive and then someone ("my mum", "the guy").
_THIRD_PERSON = frozenset("he she they someone somebody everyone everybody people ppl".split())
_PERSON_DETERMINERS = frozenset("my his her their our the a an this that some one".split())


def opens_with_someone(sent: Span) -> bool:
    """True if the sentence opens with another person as its subject ("my sister wants to die",
    "he took all his pills", "a guy from work overdosed"), not with the writer or a dropped "I"
    ("gave my dog to my neighbour", "took my partner's troches", "wrote letters for mum")."""
    words = [t for t in sent if t.is_alpha]
    k = 0
    while k < len(words) and words[k].norm_ in _OPENERS:
        k += 1
    if k >= len(words):
        return False
    first = words[k]
    if first.norm_ in _THIRD_PERSON or first.norm_ in _SOMEONE:
        return True
    return first.norm_ in _PERSON_DETERMINERS and k + 1 < len(words) and words[k + 1].norm_ in _SOMEONE
