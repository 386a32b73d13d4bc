"""The decision: targets and their context turned into findings and one assessment."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import re
from typing import Dict, List, Mapping, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from bot.safety.components.spans import TARGETS_GROUP, set_doc_extension
from bot.safety.model import Finding, assessment_from_findings, cap_level, level_rank
from bot.safety.rules import MODIFYING_CONTEXT, TargetRule

# Output names of the context categories, in the order they are reported.
MODIFIER_NAMES = {
    "NEGATED_EXISTENCE": "negated",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "OTHER_PERSON": "other_person",
    "EXPERIENCE": "experience",
    "PEACEFUL": "peaceful",
    "TOPIC": "topic",
    "CURRENT": "current",
    "RECENT": "recent",
}
# Modifier names that leave a finding "current" (at its rule's level, usable as an escalation partner).
_CURRENT_NAMES = frozenset({"current", "recent"})

# Categories whose denials a recent "in/for/since" date turns into recent behaviour.
_BEHAVIOUR_CATEGORIES = frozenset({"suicidal_behavior", "self_harm"})
# Rules for an act done (an attempt, self-harm, an act under way, ketamine misused): the experience does
# not make them a wish.
_ACTS = ("sb.attempt", "sh.act", "sh.in_progress", "sh.forms.in_progress", "sm.")
_BP_READING = re.compile(r"(\d{2,3})\s*(?:/|\\|over)\s*(\d{2,3})")


@Language.factory("safety_decision")
def make_safety_decision(nlp: Language, name: str) -> "SafetyDecision":
    """Factory for SafetyDecision."""
    return SafetyDecision(nlp, name)


class SafetyDecision:
    """Turns targets plus their context into Findings and one Assessment.

    Policy (bot/safety/README.md): a negated finding drops to none (to review
    if a "but ..." follows it in the sentence, "I won't kill myself, but...", or
    if it is inability rather than denial, "I couldn't kill myself"); past or
    resolved, hypothetical, another person's, and experience-bound findings are
    capped at review, unless the rule sets its own caps; a "current" marker
    ("now", "again", "since the infusion") cancels "historical" and
    "experience". Rules with escalate_with rise when a current finding of the
    named rules is present in the same text (a method at hand plus ideation; a
    very high blood pressure plus chest pain).
    """

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self._rules: Dict[str, TargetRule] = {}
        set_doc_extension("safety_assessment")

    def add_rule(self, rule: TargetRule) -> None:
        """Register the level policy of one target rule."""
        self._rules[rule.id] = rule

    def _context_level(self, rule: TargetRule, categories: Set[str]) -> Tuple[str, Tuple[str, ...], bool, bool]:
        """(level, modifier names, whether current, whether a denial the writer undercuts) for one target."""
        if "TITLE" in categories:
            # A quoted title of a song, film or book ("the song 'i want to die'"): no one's risk.
            return "none", ("topic",), False, False
        current = bool({"CURRENT", "CURRENT_WISH"} & categories)
        since_recent = "SINCE_RECENT" in categories
        recent = "RECENT" in categories or since_recent
        negated = "NEGATED_EXISTENCE" in categories
        unable = "UNABLE" in categories
        resolved = "RESOLVED" in categories
        dated_past = "HISTORICAL" in categories and not current and not recent
        # A denial the writer undercuts: "i don't want to kill myself but the thoughts keep
        # coming back", "i promised i wouldn't ... but ...", "part of me doesn't want to die".
        undercut = (negated or unable) and (
            "DIVIDED" in categories or ("AMBIVALENCE" in categories and "CONTRAST_AFTER" in categories)
        )
        # A denial that dates the act: "i haven't cut in two weeks" is self-harm two weeks ago
        # (C-SSRS question 6: behaviour within three months is urgent). For thoughts it is a
        # recent change for the better, which a therapist should still see.
        dated_denial = negated and since_recent and not resolved and not undercut
        recent_act = dated_denial and rule.category in _BEHAVIOUR_CATEGORIES
        recent_thoughts = dated_denial and rule.category == "suicidal_ideation"
        effective = set()
        ambivalent = False  # shown as "ambivalent"
        look = False  # a denial that still needs a therapist's look: review, not none
        if dated_past:
            effective.add("HISTORICAL")
        elif undercut:
            ambivalent = True
        elif recent_act:
            pass
        elif recent_thoughts:
            effective.add("NEGATED_EXISTENCE")
            look = True
        elif negated and resolved:
            effective.add("HISTORICAL")
        elif negated:
            effective.add("NEGATED_EXISTENCE")
            # "I won't kill myself, but...": a "but" that leaves the denial open needs a look.
            ambivalent = look = "CONTRAST_OPEN" in categories
        elif unable:
            # "I couldn't kill myself": inability, not a denial; a therapist should see it.
            effective.add("NEGATED_EXISTENCE")
            ambivalent = look = True
        for category in ("HYPOTHETICAL", "OTHER_PERSON", "PEACEFUL"):
            if category in categories:
                effective.add(category)
        # A wish said in the past, about the session, that the writer says has passed (the context
        # step's PASSED): the experience, even if "today" dates the session.
        passed = "PASSED" in categories and "CURRENT_WISH" not in categories
        if ("EXPERIENCE" in categories and not current or passed) and not rule.id.startswith(_ACTS):
            # A wish that belonged to the experience; an act done under it ("under the ketamine i
            # took all my pills") is still an act.
            effective.add("EXPERIENCE")
        if "TOPIC" in categories and rule.caps.get("TOPIC"):
            # Talk about suicide as a topic; the context step drops TOPIC where the sentence ties
            # the mention to the writer's present ("... and i keep thinking about it").
            effective.add("TOPIC")
        if recent and not dated_past and rule.caps.get("RECENT"):
            # An act the rule reads as under way, told with a past date ("two months ago i
            # overdosed"): a recent act, not one under way now.
            effective.add("RECENT")
        persisting = undercut or recent_act
        level = rule.level
        if persisting:
            # Thoughts present with intent denied, or an act weeks ago: urgent, not emergency.
            level = cap_level(level, "urgent")
        for category in effective:
            cap = rule.caps[category] if category in rule.caps else MODIFYING_CONTEXT[category]
            if category == "NEGATED_EXISTENCE" and look and cap == "none":
                cap = "review"
            if cap is not None:
                level = cap_level(level, cap)
        said_now = "CURRENT_WISH" in categories or "OWN_STATE" in categories
        if rule.current_level and not effective and (said_now or undercut):
            # A bare mention the writer wants again, still does, or undercuts a denial of ("i used
            # to self harm and i've been wanting to again"; "i haven't self harmed in a year but i
            # want to so badly") is current risk; a topic dated today ("we talked about self harm
            # in group today") is not. "Suicidal" said alone in a fragment ("suicidal af", "woke up
            # suicidal") is the writer's own state (OWN_STATE).
            level = cap_level(rule.current_level, "urgent") if persisting else rule.current_level
        shown = set(effective)
        if current:
            shown.add("CURRENT")
        if recent and not dated_past:
            shown.add("RECENT")
        if recent_act:
            shown.add("NEGATED_EXISTENCE")
        names = tuple(MODIFIER_NAMES[c] for c in MODIFIER_NAMES if c in shown)
        if ambivalent:
            names += ("ambivalent",)
        if persisting:
            is_current = True
        else:
            is_current = (
                level != "none" and level in (rule.level, rule.current_level) and not (set(names) - _CURRENT_NAMES)
            )
        return level, names, is_current, undercut

    @staticmethod
    def _bp_is_high(text: str, threshold: Mapping[str, int]) -> bool:
        for systolic, diastolic in _BP_READING.findall(text):
            if int(systolic) >= threshold["systolic"] or int(diastolic) >= threshold["diastolic"]:
                return True
        return False

    def __call__(self, doc: Doc) -> Doc:
        """Compute the Assessment and store it in doc._.safety_assessment."""
        context = doc._.safety_context or {}
        findings: List[Finding] = []
        current: List[bool] = []
        impersonal: List[bool] = []
        for span in doc.spans[TARGETS_GROUP] if TARGETS_GROUP in doc.spans else []:
            rule = self._rules[span.label_]
            if rule.bp_threshold and not self._bp_is_high(span.text, rule.bp_threshold):
                continue
            categories = {category for category, _ in context.get((span.start, span.end), ())}
            level, names, is_current, undercut = self._context_level(rule, categories)
            category = rule.category
            if undercut and category == "suicidal_behavior":
                # "i don't plan to kill myself but i think about it daily": thoughts, not behaviour.
                category = "suicidal_ideation"
            findings.append(
                Finding(
                    rule=rule.id,
                    category=category,
                    level=level,
                    start=span.start_char,
                    end=span.end_char,
                    text=span.text,
                    modifiers=names,
                )
            )
            current.append(is_current)
            impersonal.append("IMPERSONAL" in categories and bool(rule.caps.get("TOPIC")))
        findings, current = self._impersonal_to_none(findings, current, impersonal)
        findings = self._escalate(findings, current)
        # Partner-only findings (despair cues) only ever raise others; they are not reported.
        findings = [f for f in findings if not self._rules[f.rule].partner_only]
        doc._.safety_assessment = assessment_from_findings(findings)
        return doc

    def _impersonal_to_none(
        self, findings: List[Finding], current: List[bool], impersonal: List[bool]
    ) -> Tuple[List[Finding], List[bool]]:
        """Drop to none a bare mention said of a thing, unless it has company.

        A mention rule (one with a `TOPIC` cap) whose sentence names no person
        ("going out in this storm is suicide", "suicide rates went up": the context
        step's IMPERSONAL) concerns no one's risk. Next to a partner that would raise
        it (the writer's own despair or ideation) it stays, and rises with it.
        """
        marked = [i for i, finding in enumerate(findings) if impersonal[i] and finding.level != "none"]
        if not marked:
            return findings, current
        probe = self._escalate(findings, current)
        findings, current = list(findings), list(current)
        for i in marked:
            if "escalated" in probe[i].modifiers:
                continue
            finding = findings[i]
            findings[i] = Finding(
                rule=finding.rule,
                category=finding.category,
                level="none",
                start=finding.start,
                end=finding.end,
                text=finding.text,
                modifiers=finding.modifiers + ("topic",),
            )
            current[i] = False
        return findings, current

    def _escalate(self, findings: List[Finding], current: List[bool]) -> List[Finding]:
        """Raise findings whose rule names partners (escalate_with) found in the same text.

        A partner is another finding whose rule id starts with one of `rules` and
        not with one of `except`, at `partner_level` or above (default urgent),
        and current unless `partner_context` is "any" (then a past or negated
        partner counts too: "i used to cut ... i almost relapsed last week").
        Another finding of the same rule counts only with `partner_same_rule`,
        and only for a different phrase ("i feel hopeless ... i can't do this
        anymore"). The finding itself must be current.
        """
        result = list(findings)
        for i, finding in enumerate(findings):
            escalation = self._rules[finding.rule].escalate_with
            if not escalation or not current[i] or finding.level == "none":
                continue
            if level_rank(escalation["level"]) <= level_rank(finding.level):
                continue
            floor = level_rank(escalation.get("partner_level", "urgent"))
            any_context = escalation.get("partner_context", "current") == "any"
            same_rule = escalation.get("partner_same_rule", False)
            prefixes = tuple(escalation["rules"])
            excluded = tuple(escalation.get("except", ()))
            found = False
            for j, other in enumerate(findings):
                if j == i:
                    continue
                if other.rule == finding.rule and not (same_rule and other.text.lower() != finding.text.lower()):
                    continue
                if not other.rule.startswith(prefixes) or (excluded and other.rule.startswith(excluded)):
                    continue
                if not (current[j] or any_context):
                    continue
                if level_rank(other.level) >= floor:
                    found = True
                    break
            if found:
                result[i] = Finding(
                    rule=finding.rule,
                    category=finding.category,
                    level=escalation["level"],
                    start=finding.start,
                    end=finding.end,
                    text=finding.text,
                    modifiers=finding.modifiers + ("escalated",),
                )
        return result

