"""Measure the screen: `python -m bot.safety.evaluate [--shared-dir DIR] [--out DIR] [--examples-dir DIR]`.

Runs the screen over the shared public evaluation text (public_*.jsonl, for
measurement only; it is never copied into this repository) and over the
project's own example sets in tests/safety_examples/ (or --examples-dir). Prints the report,
writes it as Markdown and JSON, and exits 1 if a target is missed.

The shared directory is --shared-dir, else the safety_eval_dir setting
(SAFETY_EVAL_DIR, read in bot.config.settings like every environment variable), else
<repository>/../shared/eval.

The report also measures the blind rounds (blind_* in the same directory),
an ablation (rules alone, the learned reader alone, both), and policy
alternatives that are not in force (what a clinic would gain and lose by
paging on bare mentions, or on lifetime behaviour), each on a rewritten copy
of the rules in a temporary directory, rules alone.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bot.safety.blind import judge, read_jsonl
from bot.safety.model import LEVELS, level_rank

REPO_ROOT = Path(__file__).resolve().parents[2]
OWN_EXAMPLES = REPO_ROOT / "tests" / "safety_examples"
URGENT = level_rank("urgent")
REVIEW = level_rank("review")

TARGETS = {
    "public crisis recall at review+": (">=", 0.97),
    "public crisis recall at urgent+": (">=", 0.90),
    "public benign false alarms (review+)": ("<=", 0.05),
    "public benign false alarms (urgent+)": ("<=", 0.05),
    "own psychedelic false alarms (urgent+)": ("<=", 0.05),
    "own idiom false alarms (urgent+)": ("<=", 0.05),
    "own medical red flags caught (medical/substance_misuse at urgent+)": (">=", 1.0),
    "own normal after-effects left at none": (">=", 1.0),
}


def _recall(ranks: List[int]) -> Dict[str, Any]:
    """How many crisis lines reached review+ and urgent+."""
    return {
        "n": len(ranks),
        "recall_review_plus": _rate(sum(r >= REVIEW for r in ranks), len(ranks)),
        "recall_urgent_plus": _rate(sum(r >= URGENT for r in ranks), len(ranks)),
    }


def _alarms(ranks: List[int]) -> Dict[str, Any]:
    """How many benign lines paged someone (urgent+) or were highlighted (review+)."""
    return {
        "n": len(ranks),
        "false_alarm_urgent_plus": _rate(sum(r >= URGENT for r in ranks), len(ranks)),
        "flagged_review_plus": _rate(sum(r >= REVIEW for r in ranks), len(ranks)),
    }


def _rate(hits: int, total: int) -> Optional[float]:
    return round(hits / total, 4) if total else None


def _source(row: dict) -> str:
    return row.get("source", "unknown").split(":", 1)[0]


def _expectation_met(row: dict, assessment) -> bool:
    rank = level_rank(assessment.level)
    if "expect_level" in row and assessment.level != row["expect_level"]:
        return False
    if "expect_min_level" in row and rank < level_rank(row["expect_min_level"]):
        return False
    if "expect_max_level" in row and rank > level_rank(row["expect_max_level"]):
        return False
    wanted = row.get("expect_categories")
    return not wanted or bool(set(wanted) & set(assessment.categories))


def _reason(assessment) -> str:
    """Why a text stayed below urgent: the context that lowered its top finding, or none found."""
    flagged = [f for f in assessment.findings if f.level == assessment.level]
    if not assessment.findings:
        return "nothing matched"
    if assessment.level == "none":
        return "negated"
    modifiers = {m for f in flagged for m in f.modifiers}
    for name in ("historical", "ambivalent", "hypothetical", "other_person", "experience", "peaceful", "negated"):
        if name in modifiers:
            return name
    return "review-level rule (e.g. means alone, death mentioned, hopelessness)"


def _top_rule(assessment) -> str:
    """The rule of the highest finding of a text (counted, never shown with the text)."""
    flagged = [f for f in assessment.findings if f.level == assessment.level]
    return flagged[0].rule if flagged else "(none)"


def evaluate_public(screen, shared_dir: Path) -> Optional[dict]:
    """Figures for public_crisis, public_benign and public_ambiguous; None if the dir is missing."""
    if not shared_dir.is_dir():
        return None
    result: dict = {"directory": str(shared_dir), "levels": {}}
    crisis_path = shared_dir / "public_crisis.jsonl"
    if crisis_path.is_file():
        by_sub: Dict[str, List[int]] = defaultdict(list)
        below_urgent: Counter = Counter()
        below_urgent_rules: Counter = Counter()
        artifact_ranks: List[int] = []
        for row in read_jsonl(crisis_path):
            assessment = screen(row["text"])
            rank = level_rank(assessment.level)
            by_sub[row.get("sub", "unknown")].append(rank)
            if not row.get("artifact"):
                artifact_ranks.append(rank)
            if rank < URGENT:
                below_urgent[_reason(assessment)] += 1
                below_urgent_rules[_top_rule(assessment)] += 1
        ranks = [r for values in by_sub.values() for r in values]
        result["crisis"] = {
            **_recall(ranks),
            "by_sub": {sub: _recall(values) for sub, values in sorted(by_sub.items())},
            "without_artifact_lines": _recall(artifact_ranks),
            "below_urgent_by_reason": dict(below_urgent.most_common()),
            "below_urgent_by_top_rule": dict(below_urgent_rules.most_common()),
        }
        result["levels"]["public_crisis"] = Counter(LEVELS[r] for r in ranks)
    benign_path = shared_dir / "public_benign.jsonl"
    if benign_path.is_file():
        by_source: Dict[str, List[int]] = defaultdict(list)
        for row in read_jsonl(benign_path):
            by_source[_source(row)].append(level_rank(screen(row["text"]).level))
        ranks = [r for values in by_source.values() for r in values]
        result["benign"] = {
            **_alarms(ranks),
            "by_source": {source: _alarms(values) for source, values in sorted(by_source.items())},
        }
        result["levels"]["public_benign"] = Counter(LEVELS[r] for r in ranks)
    ambiguous_path = shared_dir / "public_ambiguous.jsonl"
    if ambiguous_path.is_file():
        levels = Counter(screen(row["text"]).level for row in read_jsonl(ambiguous_path))
        result["ambiguous"] = {"n": sum(levels.values()), "levels": dict(levels)}
        result["levels"]["public_ambiguous"] = levels
    result["levels"] = {name: {lv: counts.get(lv, 0) for lv in LEVELS} for name, counts in result["levels"].items()}
    return result


def evaluate_own(screen, examples_dir: Path = OWN_EXAMPLES) -> dict:
    """Figures for the project's own example sets (tests/safety_examples/*.jsonl)."""
    rows = []
    for path in sorted(p for p in examples_dir.glob("*.jsonl") if not p.name.startswith("blind_")):
        for row in read_jsonl(path):
            row["_file"] = path.name
            rows.append(row)
    by_set: Dict[str, list] = defaultdict(list)
    failures = []
    for row in rows:
        assessment = screen(row["text"])
        by_set[row.get("set", "other")].append((row, assessment))
        if not _expectation_met(row, assessment):
            failures.append({"file": row["_file"], "text": row["text"], "got": assessment.level})

    def false_alarms(name: str) -> dict:
        """Share of a set's examples screened at urgent or above."""
        items = by_set.get(name, [])
        hits = sum(level_rank(a.level) >= URGENT for _, a in items)
        return {"n": len(items), "urgent_plus": hits, "false_alarm_urgent_plus": _rate(hits, len(items))}

    medical = by_set.get("medical", [])
    caught = sum(
        level_rank(a.level) >= URGENT and bool({"medical", "substance_misuse"} & set(a.categories))
        for _, a in medical
    )
    after = by_set.get("after_effects", [])
    levels = {
        name: {lv: Counter(a.level for _, a in items).get(lv, 0) for lv in LEVELS}
        for name, items in sorted(by_set.items())
    }
    return {
        "n": len(rows),
        "expectations_met": _rate(len(rows) - len(failures), len(rows)),
        "failures": failures,
        "psychedelic": false_alarms("psychedelic"),
        "idiom": false_alarms("idiom"),
        "medical": {"n": len(medical), "caught_urgent_plus": _rate(caught, len(medical))},
        "after_effects": {
            "n": len(after),
            "left_at_none": _rate(sum(a.level == "none" for _, a in after), len(after)),
        },
        "levels": levels,
    }


def blind_alarms_by_rule(screen, rounds: Dict[str, Dict[str, List[dict]]], top: int = 15) -> Dict[str, Any]:
    """Benign blind lines flagged above their right level, counted by the rule of their top finding.

    Over every round together, per benign group and in all (counts only, never the text): where
    the false alarms come from, the rules (a rule id) or the learned reader (`learned.*`).
    """
    by_group: Dict[str, Counter] = defaultdict(Counter)
    for rows in rounds.values():
        for row in rows["benign"]:
            assessment = screen(row["text"])
            if level_rank(assessment.level) > level_rank(row["level"]):
                by_group[row["sign"]][_top_rule(assessment)] += 1
    everything: Counter = Counter()
    for counts in by_group.values():
        everything.update(counts)
    return {
        "all": dict(everything.most_common(top)),
        "by_group": {group: dict(counts.most_common(5)) for group, counts in sorted(by_group.items())},
    }


def _bare_mentions_urgent(record: dict) -> dict:
    """Policy alternative: a bare mention of death, suicide or self-harm pages like current risk."""
    if ".mention." in f".{record['id']}." and record["level"] == "review":
        record = {k: v for k, v in record.items() if k not in ("current_level", "escalate_with")}
        record["level"] = "urgent"
    return record


def _lifetime_behaviour_uncapped(record: dict) -> dict:
    """Policy alternative: past attempts and self-harm (C-SSRS lifetime) are not capped at review."""
    if record["category"] in ("suicidal_behavior", "self_harm") and record["level"] != "none":
        record = dict(record, caps=dict(record.get("caps", {}), HISTORICAL=None))
    return record


POLICY_ALTERNATIVES: Dict[str, Callable[[dict], dict]] = {
    "bare mentions of death, suicide or self-harm at urgent": _bare_mentions_urgent,
    "past attempts and self-harm not capped at review": _lifetime_behaviour_uncapped,
}


def _rewritten_rules(source: Path, target: Path, change: Callable[[dict], dict]) -> Path:
    """A copy of the rules directory with `change` applied to every target rule."""
    shutil.copytree(source, target)
    for path in sorted(target.glob("targets_*.jsonl")):
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                line = json.dumps(change(json.loads(line)), ensure_ascii=False)
            lines.append(line)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def evaluate_alternatives(
    shared_dir: Path, rules_dir: Optional[Path] = None, examples_dir: Path = OWN_EXAMPLES
) -> List[dict]:
    """Key figures under each policy alternative (POLICY_ALTERNATIVES); [] without the shared data."""
    from bot.safety import build_screen
    from bot.safety.rules import DEFAULT_RULES_DIR

    if not (shared_dir / "public_crisis.jsonl").is_file():
        return []
    results = []
    with tempfile.TemporaryDirectory(prefix="safety-policy-") as tmp:
        for i, (name, change) in enumerate(POLICY_ALTERNATIVES.items()):
            directory = _rewritten_rules(rules_dir or DEFAULT_RULES_DIR, Path(tmp) / str(i), change)
            screen = build_screen(directory, reader=False)
            public = evaluate_public(screen, shared_dir) or {}
            own = evaluate_own(screen, examples_dir)
            imagery = own["psychedelic"]["n"] + own["idiom"]["n"]
            imagery_alarms = own["psychedelic"]["urgent_plus"] + own["idiom"]["urgent_plus"]
            results.append(
                {
                    "name": name,
                    "crisis_recall_urgent_plus": public.get("crisis", {}).get("recall_urgent_plus"),
                    "benign_false_alarm_urgent_plus": public.get("benign", {}).get("false_alarm_urgent_plus"),
                    "own_imagery_idiom_false_alarms": _rate(imagery_alarms, imagery),
                    "own_expectations_broken": len(own["failures"]),
                }
            )
    return results


def check_targets(public: Optional[dict], own: dict) -> Dict[str, dict]:
    """Each target with its value and whether it is met (None: not measured)."""
    values = {
        "public crisis recall at review+": public and public.get("crisis", {}).get("recall_review_plus"),
        "public crisis recall at urgent+": public and public.get("crisis", {}).get("recall_urgent_plus"),
        "public benign false alarms (review+)": public and public.get("benign", {}).get("flagged_review_plus"),
        "public benign false alarms (urgent+)": public and public.get("benign", {}).get("false_alarm_urgent_plus"),
        "own psychedelic false alarms (urgent+)": own["psychedelic"]["false_alarm_urgent_plus"],
        "own idiom false alarms (urgent+)": own["idiom"]["false_alarm_urgent_plus"],
        "own medical red flags caught (medical/substance_misuse at urgent+)": own["medical"]["caught_urgent_plus"],
        "own normal after-effects left at none": own["after_effects"]["left_at_none"],
    }
    return judge(values, TARGETS)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def render_markdown(report: dict, history: Optional[Path] = None) -> str:
    """The report as Markdown (also printed to the terminal)."""
    out = [f"# Safety screen evaluation (rules {report['rules_version']})", ""]
    public = report["public"]
    if public is None:
        out += [f"Shared evaluation directory not found ({report['shared_dir']}); public figures skipped.", ""]
    else:
        crisis = public.get("crisis")
        if crisis:
            out += ["## Public crisis set: recall", "", "| sub-label | n | review+ | urgent+ |", "|---|---:|---:|---:|"]
            for sub, row in crisis["by_sub"].items():
                out.append(f"| {sub} | {row['n']} | {_fmt(row['recall_review_plus'])} | {_fmt(row['recall_urgent_plus'])} |")
            plain = crisis["without_artifact_lines"]
            out += [
                f"| **all** | {crisis['n']} | {_fmt(crisis['recall_review_plus'])} | {_fmt(crisis['recall_urgent_plus'])} |",
                f"| all without `artifact` lines | {plain['n']} | {_fmt(plain['recall_review_plus'])} | {_fmt(plain['recall_urgent_plus'])} |",
                "",
                "Crisis lines below urgent, by reason: "
                + ", ".join(f"{reason} {count}" for reason, count in crisis["below_urgent_by_reason"].items()),
                "",
                "Crisis lines below urgent, by the rule of their top finding: "
                + ", ".join(f"{rule} {count}" for rule, count in crisis["below_urgent_by_top_rule"].items()),
                "",
            ]
        benign = public.get("benign")
        if benign:
            out += ["## Public benign set: false alarms", "", "| source | n | urgent+ (false alarm) | review+ |", "|---|---:|---:|---:|"]
            for source, row in benign["by_source"].items():
                out.append(f"| {source} | {row['n']} | {_fmt(row['false_alarm_urgent_plus'])} | {_fmt(row['flagged_review_plus'])} |")
            out += [f"| **all** | {benign['n']} | {_fmt(benign['false_alarm_urgent_plus'])} | {_fmt(benign['flagged_review_plus'])} |", ""]
        if public.get("ambiguous"):
            amb = public["ambiguous"]
            dist = ", ".join(f"{lv} {amb['levels'].get(lv, 0)}" for lv in LEVELS)
            out += ["## Public ambiguous set (reported on its own; the right level is a policy question)", "", f"n={amb['n']}: {dist}", ""]
    own = report["own"]
    out += [
        "## Project's own example sets",
        "",
        f"- examples: {own['n']}, expectations met: {_fmt(own['expectations_met'])}",
        f"- psychedelic imagery false alarms (urgent+): {_fmt(own['psychedelic']['false_alarm_urgent_plus'])} (n={own['psychedelic']['n']})",
        f"- idiom false alarms (urgent+): {_fmt(own['idiom']['false_alarm_urgent_plus'])} (n={own['idiom']['n']})",
        f"- medical red flags caught as medical/substance_misuse at urgent+: {_fmt(own['medical']['caught_urgent_plus'])} (n={own['medical']['n']})",
        f"- normal after-effects left at none: {_fmt(own['after_effects']['left_at_none'])} (n={own['after_effects']['n']})",
        "",
    ]
    for failure in own["failures"]:
        out.append(f"  - expectation not met in {failure['file']}: {failure['text']!r} -> {failure['got']}")
    if own["failures"]:
        out.append("")
    out += ["## Levels", "", "| set | " + " | ".join(LEVELS) + " |", "|---|" + "---:|" * len(LEVELS)]
    tables = dict((public or {}).get("levels", {}))
    tables.update({f"own:{name}": counts for name, counts in own["levels"].items()})
    for name, counts in tables.items():
        out.append(f"| {name} | " + " | ".join(str(counts.get(lv, 0)) for lv in LEVELS) + " |")
    alternatives = report.get("alternatives") or []
    if alternatives:
        out += [
            "",
            "## Policy alternatives (measured, not in force)",
            "",
            "| alternative | crisis urgent+ | benign urgent+ | own imagery and idiom urgent+ | own examples broken |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in alternatives:
            out.append(
                f"| {row['name']} | {_fmt(row['crisis_recall_urgent_plus'])} | {_fmt(row['benign_false_alarm_urgent_plus'])}"
                f" | {_fmt(row['own_imagery_idiom_false_alarms'])} | {row['own_expectations_broken']} |"
            )
    out += render_history(report.get("ablation") or {}, history)
    out += render_blind(report.get("blind") or {})
    out += render_blind_alarms(report.get("blind_alarms") or {})
    out += render_ablation(report.get("ablation") or {})
    out += ["", "## Targets", "", "| target | value | goal | met |", "|---|---:|---|---|"]
    for name, row in report["targets"].items():
        met = "n/a" if row["met"] is None else ("yes" if row["met"] else "**NO**")
        out.append(f"| {name} | {_fmt(row['value'])} | {row['target']} | {met} |")
    return "\n".join(out) + "\n"


def render_blind(blind: dict) -> List[str]:
    """The blind rounds: recall per warning sign, false alarms per group (production screen)."""
    out: List[str] = []
    for name, result in blind.items():
        out += [
            "",
            f"## Blind round {name} (written from CLINICAL.md by writers who never saw the rules)",
            "",
            f"Risk recall at the right level or above: {_fmt(result['risk']['recall'])} (n={result['risk']['n']});"
            f" benign false alarms: {_fmt(result['benign']['false_alarms'])} (n={result['benign']['n']});"
            f" psychedelic imagery: {_fmt(result['psychedelic']['false_alarms'])} (n={result['psychedelic']['n']}).",
            "",
            "| warning sign | n | recall |",
            "|---|---:|---:|",
        ]
        out += [f"| {sign} | {row['n']} | {_fmt(row['recall'])} |" for sign, row in result["by_sign"].items()]
        out += ["", "| benign group | n | false alarms |", "|---|---:|---:|"]
        out += [f"| {group} | {row['n']} | {_fmt(row['false_alarms'])} |" for group, row in result["by_group"].items()]
    return out


def render_blind_alarms(alarms: dict) -> List[str]:
    """The blind rounds' benign false alarms by the rule that raised them (all rounds together)."""
    if not alarms.get("all"):
        return []
    out = ["", "## Blind rounds: benign false alarms by the rule that raised them", "",
           "All rounds together; the rule of each flagged line's top finding (`learned.*`: the learned reader).", "",
           "| rule | false alarms |", "|---|---:|"]
    out += [f"| `{rule}` | {count} |" for rule, count in alarms["all"].items()]
    out += ["", "| benign group | rules that raised most |", "|---|---|"]
    out += [f"| {group} | " + ", ".join(f"`{rule}` {count}" for rule, count in counts.items()) + " |"
            for group, counts in alarms["by_group"].items()]
    return out


HISTORY = OWN_EXAMPLES / "blind_history.json"


def render_history(ablation: dict, history: Optional[Path] = None) -> List[str]:
    """Each blind round before this version's changes (`history`, a blind_history.json) and now."""
    history = history or HISTORY
    if not history.is_file() or not ablation:
        return []
    before = json.loads(history.read_text(encoding="utf-8"))["before"]
    out = ["", "## Blind rounds: before and after", "",
           "Before: each round measured when it was frozen, with the version it was written to check.", "",
           "| round | measure | before | version before | now, rules alone | now, rules and reader |",
           "|---|---|---:|---|---:|---:|"]
    keys = {"risk recall": "risk recall", "benign false alarms": "benign false alarms",
            "psychedelic imagery false alarms": "psychedelic false alarms"}
    for name, figures in before.items():
        for measure, key in keys.items():
            now = f"blind {name} {key}"
            out.append(f"| {name} | {measure} | {_fmt(figures.get(measure))} | {figures.get('version', '')} | "
                       f"{_fmt(ablation.get('rules alone', {}).get(now))} | {_fmt(ablation.get('both', {}).get(now))} |")
    return out


def render_ablation(ablation: dict) -> List[str]:
    """Rules alone, the learned reader alone and both, on every set."""
    if not ablation:
        return []
    names = list(ablation)
    measures = list(dict.fromkeys(m for row in ablation.values() for m in row))
    out = ["", "## Ablation: rules alone, learned reader alone, both", "", "| measure | " + " | ".join(names) + " |",
           "|---|" + "---:|" * len(names)]
    for measure in measures:
        out.append(f"| {measure} | " + " | ".join(_fmt(ablation[n].get(measure)) for n in names) + " |")
    return out


def default_shared_dir(settings=None) -> Path:
    """--shared-dir default: the safety_eval_dir setting, else <repo>/../shared/eval.

    `settings` defaults to bot.config.settings.load_settings(); a ConfigError from it propagates.
    """
    if settings is None:
        from bot.config.settings import load_settings

        settings = load_settings()
    configured = settings.safety_eval_dir
    return Path(configured) if configured else (REPO_ROOT.parent / "shared" / "eval").resolve()


def main(argv: Optional[List[str]] = None) -> int:
    """Run the evaluation; 0 if every measured target is met, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m bot.safety.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--shared-dir", type=Path, default=None, help="directory with public_*.jsonl")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports", help="where to write the report")
    parser.add_argument("--examples-dir", type=Path, default=OWN_EXAMPLES,
                        help="the project's own example sets and blind rounds (default: tests/safety_examples)")
    args = parser.parse_args(argv)
    if args.shared_dir is not None:
        shared_dir = args.shared_dir.resolve()
    else:
        from bot.config.settings import ConfigError

        try:
            shared_dir = default_shared_dir().resolve()
        except ConfigError as exc:
            print(f"Configuration error: {exc} (or pass --shared-dir)")
            return 2

    from bot.safety import build_screen
    from bot.safety.ablation import Remembered, ablation, readers
    from bot.safety.blind import blind_rounds, evaluate_round, read_round
    from bot.safety.blind import check as check_blind

    examples = args.examples_dir.resolve()
    if not examples.is_dir():
        print(f"Examples directory not found (or not a directory): {examples}")
        return 2
    if not any(examples.glob("*.jsonl")):
        print(f"No example sets (*.jsonl) in {examples}")
        return 2
    with Remembered(build_screen()) as screen:
        public = evaluate_public(screen, shared_dir)
        if public is None:
            print(f"Shared evaluation directory not found: {shared_dir} (evaluating the project's own sets only).")
        own = evaluate_own(screen, examples)
        report = {
            "rules_version": screen.version,
            "shared_dir": str(shared_dir),
            "public": public,
            "own": own,
            "targets": check_targets(public, own),
            "alternatives": evaluate_alternatives(shared_dir, examples_dir=examples) if public is not None else [],
            "blind": {
                name: evaluate_round(lambda t: screen(t).level, read_round(name, examples))
                for name in blind_rounds(examples)
            },
            "ablation": ablation(readers(screen), shared_dir, examples),
            "blind_alarms": blind_alarms_by_rule(
                screen, {name: read_round(name, examples) for name in blind_rounds(examples)}),
        }
    for name, result in report["blind"].items():
        for target, row in check_blind(result).items():
            report["targets"][f"blind {name}: {target}"] = row
    markdown = render_markdown(report, examples / HISTORY.name)
    print(markdown)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "safety_eval.md").write_text(markdown, encoding="utf-8")
    (args.out / "safety_eval.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    missed = [name for name, row in report["targets"].items() if row["met"] is False]
    for name in missed:
        row = report["targets"][name]
        print(f"TARGET MISSED: {name}: {_fmt(row['value'])} (goal {row['target']})")
    print(f"Report written to {args.out / 'safety_eval.md'} and {args.out / 'safety_eval.json'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
