"""What one sentence says about a finding in another: the context step's reach across sentences.

Helpers of the context step (context.py); see bot/safety/README.md, "Level policy". ConText
reads a sentence at a time; these read on into the next sentences of a text: a short next
sentence that says the act goes on ("I still do."), a next sentence that dates it years back
("That was 2013."), a question answered no, and a later phrase that says a wish of the session
passed ("it's gone now"). Each takes the doc, its targets and the context step's results
(`{(start, end): ((category, rule id), ...)}`), and adds to the results.
"""
from bisect import bisect_right
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from spacy.tokens import Doc, Span

# A next sentence is read as an ellipsis of the one before when it is short ("I still do
# sometimes.") or opens with the phrase ("I still do it when things get bad at work").
ELLIPSIS_TOKENS = 8
ELLIPSIS_LEAD = 3
# A wish or thought of death (the rules whose ids start so) said in the past tense (one of these words
# in the wish or at most _PAST_REACH words before it, and no present-tense wish in it: "i wanted to
# die", "i thought id rather be dead", not "i want to die now") is what a later "it passed" can date
# to a session.
WISH_RULES = "si."  # wish and thought rules
_PAST_TENSE = frozenset(
    """wanted wished thought felt was were prayed begged hoped had asked wanting wishing praying begging remember
    remembered told said wrote screamed yelled kept made""".split()
)
_PAST_REACH = 4
# The wish's own verb is in its first words ("rather die than keep going": "keep" is not the wish).
_WISH_VERB_REACH = 3
_PRESENT_WISH = frozenset("want wanna wish need keep think feel am 'm m is".split())
# The past markers that say a feeling passed ("it passed", "that's over") count as PASSED phrases too.
_PASSED_HISTORICAL = ("ctx.hist.it_passed", "ctx.hist.it_faded", "ctx.hist.thats_over")
# Words after "it passed" that say it did not stay gone ("it passed but came back tonight").
_NOT_GONE = frozenset("still again back returns returned keeps kept comes coming came".split())
_QUOTE_MARKS = frozenset({'"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "`"})
# Words after "i'm calm now" that look ahead or give a reason for the calm ("... because i know what to do").
_AHEAD = frozenset(
    """because cause cos coz bc cuz tonight tomorrow tmrw soon weekend plan planned decided ready goodbye goodbyes
    bye letters letter note notes pills""".split()
)
# carry_dated: the rules whose targets a next sentence's past date can date, the words that tell the
# sentence before in the past (not forms that are present too, such as "cut" or "hit"), the words that say
# its state goes on, the dates that are not long ago, and the words that compare rather than date
# ("same spot as in 2015").
_DATED_RULES = ("si.", "sb.", "sh.")
_TOLD_IN_PAST = frozenset(
    """was were had did used tried took attempted overdosed wanted wished thought felt spent went got asked told
    found ended stopped started hospitalised hospitalized admitted""".split()
)
_GOING_ON = frozenset("am 'm m is are been keep keeps still now again want wanna need currently lately".split())
_NOT_LONG_AGO = frozenset({"CURRENT", "CURRENT_WISH", "RECENT", "SINCE_RECENT"})
_COMPARING = frozenset("same as like again too also since".split())
# Words that, after a date, say the thing stirs again ("... and now i'm thinking about it").
_STIRS = frozenset(
    "think thinking thought want wanna wish urge urges tempt tempted crave craving miss plan back".split()
)
# carry_answer: the answers, the words after a reported "no" that turn away from it, the bare mention
# rules a checklist names, the words that open a question the writer asks of themselves, and the words
# of asking and of a reported reply.
_ANSWER_NO = frozenset("no nope nah".split())
_ANSWER_YES = frozenset("yes yeah yep yup ya yea".split())
_TURNS = frozenset(
    """but then though tho except although however lie lied lying pretended so only just because cause bc cuz
    until till unless""".split()
)
_MENTION_RULES = ("si.mention.", "sh.mention")
_SELF_QUESTION = frozenset("am do have did any".split())
_ASKED = frozenset("asked asks ask asking".split())
_ASKED_WHAT = frozenset("if whether about".split())
_REPLY_VERBS = frozenset("said say answered told tell put ticked circled".split())
_REPLY_FILLERS = frozenset("her him them the nurse doctor dr that , :".split())
ANSWER_REACH = 6


def _asked_about(doc: Doc, sent: Span, target: Span) -> bool:
    """True if someone asked about the target: "asked if", "asked whether" or "asked about"
    (with at most one word, "me", between) within eight words before it."""
    for t in doc[max(sent.start, target.start - 8) : target.start]:
        if t.norm_ in _ASKED and any(u.norm_ in _ASKED_WHAT for u in doc[t.i + 1 : min(target.start, t.i + 3)]):
            return True
    return False


def _reported_reply(doc: Doc, start: int, end: int) -> Optional[int]:
    """The index of the writer's reported reply after `start` and before `end`: the word after
    "said", "told (her)", "was like" or a colon, within ANSWER_REACH words; None if there is none."""
    for t in doc[start : min(end, start + ANSWER_REACH + 3)]:
        if t.text == ":" or t.norm_ in _REPLY_VERBS or t.norm_ == "like" and t.i > 0 and doc[t.i - 1].norm_ == "was":
            k = t.i + 1
            while k < end and doc[k].norm_ in _REPLY_FILLERS:
                k += 1
            if k < end:
                return k
    return None


def _asks_self(sent: Span, target: Span) -> bool:
    """True if the question `sent` is the writer's own about the target: it opens with "am i",
    "do i", "have i", "did i", "any", or holds nothing but the target ("self harm?")."""
    words = [t for t in sent if t.is_alpha]
    if not words:
        return False
    if all(target.start <= t.i < target.end for t in words):
        return True
    return words[0].norm_ in _SELF_QUESTION and (words[0].norm_ == "any" or len(words) > 1 and words[1].norm_ == "i")


def _before_free_sentences(doc: Doc, targets: List[Span]) -> Iterator[Tuple[Span, Span, List[Span]]]:
    """(sentence, next sentence, the sentence's targets) for each sentence with targets whose
    next sentence holds none of its own: what a carry may read on into."""
    sentences = list(doc.sents)
    starts = [sent.start for sent in sentences]
    by_sentence: Dict[int, List[Span]] = {}
    for target in targets:
        by_sentence.setdefault(bisect_right(starts, target.start) - 1, []).append(target)
    for index, members in by_sentence.items():
        if index + 1 < len(sentences) and index + 1 not in by_sentence:
            yield sentences[index], sentences[index + 1], members


def _seen_entry(doc: Doc, modifier) -> Tuple[str, str, int, int]:
    """A modifier as doc._.safety_modifiers_seen lists it: (rule id, category, start and end character)."""
    span = doc[modifier.modifier_span[0] : modifier.modifier_span[1]]
    return modifier.rule.metadata["id"], modifier.category, span.start_char, span.end_char


def carry_ellipsis(
    doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
) -> None:
    """A next sentence that says the act goes on ("I still do.") dates the one before.

    "I used to want to die. I still do sometimes." The ellipsis is a
    CURRENT_WISH phrase in a sentence that holds no target of its own, names
    no other person, and is at most ELLIPSIS_TOKENS words long or opens with
    the phrase; it applies to every target of the sentence just before it.
    `modifiers_of(span)` gives a span's ConText modifiers, read once per call.
    """
    for _, following, members in _before_free_sentences(doc, targets):
        short = len([t for t in following if not (t.is_punct or t.is_space)]) <= ELLIPSIS_TOKENS
        modifiers = modifiers_of(following)
        if any(m.category == "OTHER_PERSON" for m in modifiers):
            continue  # "I used to cut. My sister still does."
        carried = [
            m for m in modifiers
            if m.category == "CURRENT_WISH" and (short or m.modifier_span[0] - following.start < ELLIPSIS_LEAD)
        ]
        for modifier in carried[:1]:
            seen.append(_seen_entry(doc, modifier))
            for target in members:
                key = (target.start, target.end)
                results[key] = results.get(key, ()) + (("CURRENT_WISH", modifier.rule.metadata["id"]),)


def _now_after(doc: Doc, modifier, date) -> bool:
    """True for a CURRENT phrase that is a bare "now" standing after the date phrase `date`."""
    m_start, m_end = modifier.modifier_span
    return (
        modifier.category == "CURRENT"
        and m_start >= date.modifier_span[1]
        and all(t.norm_ == "now" for t in doc[m_start:m_end])
    )


def _stirs_after(doc: Doc, sent: Span, date) -> bool:
    """True if `sent` goes on after the date phrase to thoughts, wants or urges ("... and now i'm
    thinking about it")."""
    return any(t.norm_ in _STIRS or t.lemma_ in _STIRS for t in doc[date.modifier_span[1] : sent.end])


def carry_dated(
    doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
) -> None:
    """A next sentence that dates what was just told to years ago dates the one before.

    "I was hospitalised after an attempt in college. That was 2013." The next sentence
    holds no target of its own, names no other person, compares nothing ("same", "as",
    "again"), has a past date (a HISTORICAL phrase: "2013", "years ago", "when i was 12",
    "in my twenties") and nothing of now or of the last few months (CURRENT,
    CURRENT_WISH, RECENT, SINCE_RECENT; a bare "now" after the date tells the writer's
    present: "that was 2013 and i'm in a different place now"). The sentence before is
    told in the past ("was", "tried", "asked"...; not a form that is present too, such as
    "cut") and holds no word of a present or going-on state ("am", "been", "keep",
    "still", "want"...); each of its
    self-harm, suicide and behaviour targets that nothing in its own sentence dates
    takes the date: a past, resolved act or wish is `review` (CLINICAL.md).
    """
    for told, following, members in _before_free_sentences(doc, targets):
        if not any(t.norm_ in _TOLD_IN_PAST for t in told) or any(t.norm_ in _GOING_ON for t in told):
            continue
        modifiers = modifiers_of(following)
        dates = [m for m in modifiers
                 if m.category == "HISTORICAL" and m.rule.metadata["id"] not in _PASSED_HISTORICAL]
        # A bare "now" after the date tells the writer's present, not the act's: "that was 12 years
        # ago and i'm in such a different place now"; unless the thing stirs again.
        told_now = bool(dates) and not _stirs_after(doc, following, dates[0])
        categories = {m.category for m in modifiers if not (told_now and _now_after(doc, m, dates[0]))}
        if categories & _NOT_LONG_AGO or "OTHER_PERSON" in categories:
            continue
        if any(t.norm_ in _COMPARING for t in following):
            continue  # "tried to hang myself. same spot as in 2015": a comparison, not the act's date
        for modifier in dates[:1]:
            seen.append(_seen_entry(doc, modifier))
            for target in members:
                key = (target.start, target.end)
                dated = {category for category, _ in results.get(key, ())}
                if target.label_.startswith(_DATED_RULES) and not dated & (_NOT_LONG_AGO | {"HISTORICAL"}):
                    results[key] = results.get(key, ()) + (("HISTORICAL", modifier.rule.metadata["id"]),)


def carry_answer(doc: Doc, targets: List[Span], results: dict) -> None:
    """A question about the writer's risk answered with a bare "no" is a denial.

    Three forms, each strict, because a "no" in a message at risk is as often part of the
    risk ("no reason to stay", "no, i'm just done") as an answer:
    - someone asked ("asked if", "asked whether", "asked about" before the target) and the
      writer reports the answer: "i said no", "i told her no", "i was like no", or a colon
      and "no" ("you asked if i'm having thoughts of suicide: no i'm not"), and nothing in
      the rest of the sentence or the next one turns away from it ("... no so theyd let me
      go home", "... no, only passive ones", "... i said no. i am tho");
    - a checklist: a bare mention (`si.mention.`, `sh.mention`) followed by "no" and then
      punctuation or the end ("self-harm no, suicidal thoughts no");
    - the writer's own question about the target ("am i thinking about ending my life?",
      "self harm?") and a next sentence that is nothing but "no", "nope" or "nah".
    A "yes" reported the same way to a question someone asked is the writer's answer, not a
    hypothetical ("she asked if i'd thought of killing myself and i said yes").
    """
    if not targets:
        return
    sentences = list(doc.sents)
    starts = [sent.start for sent in sentences]
    for target in targets:
        key = (target.start, target.end)
        categories = {category for category, _ in results.get(key, ())}
        if not target.label_.startswith(_DATED_RULES) or "NEGATED_EXISTENCE" in categories:
            continue
        index = bisect_right(starts, target.start) - 1
        sent = sentences[index]
        asked = _asked_about(doc, sent, target)
        reply = _reported_reply(doc, target.end, sent.end) if asked else None
        denied = False
        if reply is not None and doc[reply].norm_ in _ANSWER_NO:
            # Nothing after the "no", in its sentence or the next, turns away from it ("... i said
            # no. i am tho") or looks ahead.
            rest_end = sentences[index + 1].end if index + 1 < len(sentences) else sent.end
            denied = not any(t.norm_ in _TURNS or t.norm_ in _AHEAD for t in doc[reply + 1 : rest_end])
        elif reply is not None and doc[reply].norm_ in _ANSWER_YES:
            # The writer's own answer, not a hypothetical.
            results[key] = tuple(entry for entry in results.get(key, ()) if entry[0] != "HYPOTHETICAL")
            continue
        elif target.label_.startswith(_MENTION_RULES) and target.end < sent.end:
            nxt = doc[target.end]
            denied = nxt.norm_ in _ANSWER_NO and (nxt.i + 1 >= sent.end or doc[nxt.i + 1].is_punct)
        elif index + 1 < len(sentences) and any(t.text == "?" for t in sent[-2:]) and _asks_self(sent, target):
            answer = [t for t in sentences[index + 1] if not (t.is_punct or t.is_space)]
            denied = len(answer) == 1 and answer[0].norm_ in _ANSWER_NO
        if denied:
            results[key] = results.get(key, ()) + (("NEGATED_EXISTENCE", "ctx.neg.answered_no"),)


def told_in_past(doc: Doc, sent: Span, target: Span) -> bool:
    """True if a wish is told in the past tense: a past word ("wanted", "thought", "was", "kept")
    in it or in the few words before it within its sentence, and no present wish verb ("want",
    "wish", "am") among its own first words ("i want to die now" is not)."""
    said_then = doc[max(sent.start, target.start - _PAST_REACH) : target.end]
    said_now = any(t.norm_ in _PRESENT_WISH for t in target[:_WISH_VERB_REACH])
    return not said_now and any(t.norm_ in _PAST_TENSE for t in said_then)


def _comes_back(doc: Doc, start: int) -> bool:
    """True if a word from `start` on says the feeling did not stay gone ("but it came back"),
    unless a negation just before it says it did ("and it hasn't come back")."""
    return any(
        token.norm_ in _NOT_GONE
        and not any(t.norm_ in ("not", "never") for t in doc[max(start, token.i - 2) : token.i])
        for token in doc[start:]
    )


def _quote_before(doc: Doc, sent: Span, target: Span) -> Optional[int]:
    """The index of the quote mark that opens a quotation holding `target` in its sentence, if
    one opens before it and closes after it (or the sentence ends with it open)."""
    marks = [
        t.i for t in sent
        if t.text in _QUOTE_MARKS
        # An apostrophe between letters ("don't" split oddly) opens no quotation.
        and not (t.text in ("'", "\u2019") and t.i > 0 and doc[t.i - 1].is_alpha
                 and t.i + 1 < len(doc) and doc[t.i + 1].is_alpha)
    ]
    before = [i for i in marks if i < target.start]
    after = [i for i in marks if i >= target.end]
    if len(before) % 2 == 1 and (after or len(marks) % 2 == 1):
        return before[-1]
    return None


def _goes_ahead(doc: Doc, phrase) -> bool:
    """True if the phrase or anything after it looks ahead, gives a reason or names a goodbye
    or the means ("now i'm calm because ...", "i'm fine now, tonight it ends", "... the
    letters are written"): the calm of a decision is not a wish that passed."""
    return any(t.norm_ in _AHEAD for t in doc[phrase.modifier_span[0] :])


_SESSION = ("EXPERIENCE", "SESSION")
_DATES = ("RECENT", "CURRENT", "SINCE_RECENT")


def _about_the_session(sentences: List[Span], index: int, j: int, modifiers_of: Callable[[Span], list]) -> bool:
    """True if the wish in sentence `index`, said to have passed in sentence `j`, belongs to the session.

    The wish's sentence or the phrase's names the session (an EXPERIENCE phrase or a
    SESSION word); or a sentence before the phrase's does ("The session was hard. For a
    stretch I wanted to be dead. ... it broke.") and the wish's own sentence gives it no
    date of its own ("my infusion was monday. last night i wanted to die" stays).
    """
    if any(m.category in _SESSION for k in {index, j} for m in modifiers_of(sentences[k])):
        return True
    if any(m.category in _DATES for m in modifiers_of(sentences[index])):
        return False
    return any(m.category in _SESSION for k in range(j) for m in modifiers_of(sentences[k]))


def carry_passed(
    doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
) -> List[Tuple[int, int]]:
    """A later "it passed" dates a wish said in the past tense to the session it belonged to.

    "During the iv today I thought I'd rather be dead. The feeling was gone within minutes."
    CLINICAL.md: a wish to die that belonged to the experience is `review`. A target of a
    wish or thought rule (`si.`) gets the category PASSED when the wish is said in the past
    tense ("wanted", "thought", "was", "kept" in it or just before it, and no "want" among
    its first words; a wish quoted as it was thought, "i thought 'i want to die'", takes the
    tense of the telling), a PASSED phrase ("it passed", "it's gone now", "i'm ok now",
    "fine now", "today i feel fine", "no thoughts like that now", "lasted a minute") follows
    it in the same or a later sentence, the wish's sentence or the phrase's names the
    session (an EXPERIENCE phrase or a SESSION word: the infusion, the ketamine, the nurse),
    or an earlier sentence does and the wish has no date of its own (_about_the_session),
    nothing after the wish says it goes on (CURRENT_WISH: "i still do"; or "still",
    "again", "came back" after the phrase), and nothing from the phrase on looks ahead,
    gives a reason or names a goodbye or the means ("now i'm calm because ...", "...
    tonight", "... the letters are written").

    Returns the character offsets of the phrases that did so (doc._.safety_passed): the
    learned reader leaves their sentences to the rules. `modifiers_of(span)` gives a span's
    ConText modifiers, read once per call.
    """
    carried: List[Tuple[int, int]] = []
    wishes = [t for t in targets if t.label_.startswith(WISH_RULES)]
    if not wishes:
        return carried
    sentences = list(doc.sents)
    starts = [sent.start for sent in sentences]
    for target in wishes:
        index = bisect_right(starts, target.start) - 1
        opening = _quote_before(doc, sentences[index], target)
        if opening is not None:
            # A wish quoted as it was thought ("i thought 'i want to die'", "a moment of 'i
            # want to die'"): its tense is the telling's, before the quote.
            telling = doc[sentences[index].start : opening]
            if not any(t.norm_ in _PAST_TENSE or t.norm_ == "moment" for t in telling):
                continue
        elif not told_in_past(doc, sentences[index], target):
            continue
        later = [
            (j, m)
            for j in range(index, len(sentences))
            for m in modifiers_of(sentences[j])
            if m.modifier_span[0] >= target.end
        ]
        if any(m.category == "CURRENT_WISH" for _, m in later):
            continue
        passed = next(
            (
                (j, m)
                for j, m in later
                if m.category == "PASSED" or m.rule.metadata["id"] in _PASSED_HISTORICAL
            ),
            None,
        )
        if passed is None:
            continue
        j, phrase = passed
        if _comes_back(doc, phrase.modifier_span[1]) or _goes_ahead(doc, phrase):
            continue
        if not _about_the_session(sentences, index, j, modifiers_of):
            # "i wanted to die last night. it's gone now": outside the session a wish that passed
            # is recent ideation, which a clinician sees today.
            continue
        key = (target.start, target.end)
        entry = _seen_entry(doc, phrase)
        if entry not in seen:
            seen.append(entry)
        carried.append(entry[2:])
        results[key] = results.get(key, ()) + (("PASSED", phrase.rule.metadata["id"]),)
    return carried
