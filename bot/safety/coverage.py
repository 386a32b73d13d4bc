"""The coverage map: each warning sign of CLINICAL.md, the rules that cover it, their examples.

`python -m bot.safety.coverage` prints the map as the Markdown table kept in
bot/safety/README.md; a test checks that the README holds the current table
and that no sign is left without a rule. Rule ids are matched as shell-style
patterns ("sh.forms.*").
"""
from __future__ import annotations

import sys
from fnmatch import fnmatch
from typing import Dict, List, Optional, Tuple

from bot.safety.rules import RuleSet, load_rules

# (warning sign, the usual level, rule id patterns); target rules and context rules alike.
SIGNS: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("C-SSRS 1: wish to be dead, to sleep and not wake up", "urgent",
     ("si.passive.wish_dead", "si.passive.wish_death", "si.passive.not_alive", "si.passive.rather_die_than*",
      "si.passive.death_relief", "si.passive.go_away_to_die", "si.passive.wish_gone", "si.passive.preoccupation",
      "si.passive.want_it_over", "si.passive.reunion*", "si.passive.wish_forms", "si.cue.bereaved")),
    ("C-SSRS 2: active thoughts of killing oneself, of ending things", "urgent",
     ("si.explicit.suicidal", "si.active.*", "si.thoughts.*", "si.implicit.escape_life", "si.implicit.no_way_out",
      "si.command_hallucination", "si.ambivalent.*", "si.implicit.returning", "si.vague.doing_it",
      "si.implicit.suicide_answer")),
    ("C-SSRS 3: a method thought of or pictured", "urgent; emergency with the means at hand",
     ("sb.method.*", "sb.means.rehearsal", "si.passive.picture_fall")),
    ("C-SSRS 4: intent to act", "emergency", ("sb.intent", "sb.intent.vague", "sb.intent.composed")),
    ("C-SSRS 5: a plan worked out", "emergency",
     ("sb.plan", "sb.plan.bare", "sb.plan.details", "sb.plan.have_a_plan", "sb.plan.whole_thing", "sb.plan.pact",
      "sb.cue.plan")),
    ("C-SSRS 6: an attempt, aborted or interrupted, or preparations", "urgent; emergency under way",
     ("sb.attempt", "sb.attempt.failed", "sb.attempt.aborted*", "sb.attempt.interrupted", "sb.prep.before_act")),
    ("A plan tied to a time or an occasion", "emergency",
     ("sb.intent.timed", "sb.intent.vague_timed", "sb.intent.suicide_timed", "sb.intent.reunion", "si.implicit.final_days")),
    ("A stated decision, even with no death word", "emergency", ("sb.intent.decided",)),
    ("Means acquired, held or asked about (lethality, doses)", "emergency",
     ("sb.prep.stockpile*", "sb.means.access", "sb.means.method_at_hand", "sb.means.way_out_at_hand",
      "sb.plan.lethality_question", "sh.prep.blades")),
    ("An act under way (overdose taken, car in a closed garage, cutting now)", "emergency",
     ("sb.attempt.under_way", "sb.attempt.in_progress", "sb.attempt.overdose_told", "sb.attempt.taken_said",
      "sh.in_progress*", "sh.forms.in_progress", "cue.under_way")),
    ("Goodbyes: notes, final thanks or apologies, last entry, affairs, pets, possessions", "urgent or emergency",
     ("sb.goodbye.*", "cue.finality", "sb.prep.farewell", "sb.prep.giving_away", "sb.prep.possessions",
      "sb.prep.last_contact", "sb.prep.letters", "sb.prep.will", "sb.prep.affairs", "sb.prep.rehoming_pet",
      "sb.prep.pet_rehoming")),
    ("Passive wishes and accident ideas; being a burden", "urgent",
     ("si.passive.accident_*", "si.passive.burden*", "si.implicit.not_*")),
    ("Self-harm in every form: cutting, burning, hitting, head banging, scratching, hair pulling, swallowing, "
     "restricting food", "urgent; emergency in progress",
     ("sh.act*", "sh.relapse*", "sh.means.*", "sh.hiding", "sh.urges_persist", "sh.recent_clean",
      "sh.self_punishment", "sh.head_banging", "sh.forms.*", "sh.mention", "sh.cue.*")),
    ("Harm to others: thoughts, threats, a weapon with a target", "urgent; emergency with means and target",
     ("ho.*",)),
    ("Abuse: hit, threatened, controlled, forced; threats that silence; a child in danger", "urgent",
     ("ab.*",)),
    ("Ketamine medical red flags", "urgent; emergency for breathing or chest pain with very high BP",
     ("med.*",)),
    ("Ketamine misuse: extra doses, outside the prescription, craving, driving after a session; other substances: "
     "relapse, daily use, drinking or using more", "urgent; review for using more alone",
     ("sm.*",)),
    ("IS PATH WARM signs alone (hopelessness, trapped, purposeless)", "review; raise ideation with it",
     ("hope.*", "si.passive.live_like_this")),
    ("Talk about suicide that is no one's own risk: news, statistics, titles, hyperbole", "none",
     ("ex.talk.*", "ex.idiom.suicide_compound", "si.mention.*", "ctx.topic.*")),
    ("Another person's risk, supporting a friend", "review", ("si.other.*", "ctx.other.*")),
    ("The psychedelic trap: death and dissolution imagery, a wish that belonged to the experience", "none or review",
     ("ex.idiom.ego_death", "ctx.experience.*", "ctx.passed.*", "ctx.session.*")),
    ("Idioms and everyday words that look like risk (\"dying to\", \"cut the cord\", \"last session\")", "none",
     ("ex.*",)),
)


def _examples(rule) -> Tuple[int, int]:
    return len(rule.fire), len(rule.near_miss)


def coverage(rules: Optional[RuleSet] = None) -> List[dict]:
    """One row per sign: the rules found and how many fire and near-miss examples they have."""
    rules = rules or load_rules()
    every = [(r.id, r) for r in rules.targets] + [(r.id, r) for r in rules.context]
    rows = []
    for sign, level, patterns in SIGNS:
        matched: Dict[str, object] = {}
        for rule_id, rule in every:
            if any(fnmatch(rule_id, p) for p in patterns):
                matched.setdefault(rule_id, rule)
        fire = sum(_examples(r)[0] for r in matched.values())
        near = sum(_examples(r)[1] for r in matched.values())
        rows.append({"sign": sign, "level": level, "rules": sorted(matched), "fire": fire, "near_miss": near})
    return rows


def render(rows: List[dict]) -> str:
    """The map as a Markdown table."""
    out = ["| warning sign | usual level | rules | fire | near miss |", "|---|---|---|---:|---:|"]
    for row in rows:
        rules = ", ".join(f"`{r}`" for r in row["rules"]) or "**none: a gap**"
        out.append(f"| {row['sign']} | {row['level']} | {rules} | {row['fire']} | {row['near_miss']} |")
    return "\n".join(out) + "\n"


def main() -> int:
    """Print the map."""
    sys.stdout.write(render(coverage()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
