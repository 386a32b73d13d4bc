"""The blind example sets are frozen: measured by `make eval-safety`, never edited to pass."""
import hashlib
import json
from pathlib import Path

from bot.safety.blind import BLIND_DIR, blind_rounds, read_round
from bot.safety.model import CATEGORIES, LEVELS

SIGNS = {
    "cssrs1_wish_dead", "cssrs2_active_thoughts", "cssrs3_method", "cssrs4_intent", "cssrs5_plan",
    "cssrs6_behavior", "plan_time", "decision", "means", "act_under_way", "goodbyes", "passive_accident",
    "self_harm", "harm_to_others", "abuse", "medical_red_flag", "substance_misuse",
}
GROUPS = {
    "psychedelic_imagery", "experience_wish", "idioms", "everyday_kap", "normal_after_effects", "suicide_talk",
    "other_person", "past_resolved", "negated", "warm_alone",
}


def test_blind_files_match_their_recorded_hashes():
    recorded = {}
    for line in (BLIND_DIR / "BLIND_SHA256").read_text(encoding="utf-8").splitlines():
        digest, name = line.split()
        recorded[name] = digest
    present = {p.name for p in BLIND_DIR.glob("blind_*.jsonl")}
    assert present == set(recorded)
    for name, digest in recorded.items():
        assert hashlib.sha256((BLIND_DIR / name).read_bytes()).hexdigest() == digest, f"{name} was edited"


def test_every_round_covers_every_sign_with_enough_lines():
    for round_name in blind_rounds():
        rows = read_round(round_name)
        per_sign = {}
        for row in rows["risk"]:
            # The writer sets each line's level from CLINICAL.md; a sign's milder lines may be `review`.
            assert row["sign"] in SIGNS and row["level"] in LEVELS[1:] and row["category"] in CATEGORIES
            per_sign[row["sign"]] = per_sign.get(row["sign"], 0) + 1
        assert set(per_sign) == SIGNS and min(per_sign.values()) >= 40, (round_name, per_sign)
        assert len(rows["benign"]) >= 600
        for row in rows["benign"]:
            assert row["sign"] in GROUPS and row["level"] in LEVELS[:2]


def test_blind_lines_are_not_in_the_training_data():
    training = BLIND_DIR.parents[1] / "bot" / "safety" / "learned" / "data" / "own_train.jsonl"
    if not training.is_file():
        return
    trained = {" ".join(json.loads(line)["text"].lower().split()) for line in training.read_text(encoding="utf-8").splitlines() if line.strip()}
    for round_name in blind_rounds():
        rows = read_round(round_name)
        overlap = [r["id"] for r in rows["risk"] + rows["benign"] if " ".join(r["text"].lower().split()) in trained]
        assert overlap == []
