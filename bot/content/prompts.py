"""The journaling prompt library, loaded from prompts.yml."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml
from bot.course.phase import BEFORE_SESSION, DAYS_AFTER, ONGOING, SAME_DAY

PROMPTS_FILE = Path(__file__).with_name("prompts.yml")
PHASES = (SAME_DAY, DAYS_AFTER, BEFORE_SESSION, ONGOING)
RECENT_ENTRIES = 10


@dataclass(frozen=True)
class Prompt:
    """One journaling prompt."""

    id: str
    phase: str
    text: str
    follow_up: Optional[str] = None
    uses_intention: bool = False

    def render(self, intention: Optional[str]) -> str:
        """The prompt text, with the patient's intention filled in."""
        return self.text.replace("{intention}", (intention or "").strip())


def load_prompts(path: Path = PROMPTS_FILE) -> tuple[Prompt, ...]:
    """Load and check the prompt library."""
    data = check_record(load_yaml(path), str(path), ("version", "prompts"))
    prompts = []
    for index, raw in enumerate(data["prompts"] or []):
        where = f"{path}: prompts[{index}]"
        check_record(raw, where, ("id", "phase", "text"), ("follow_up", "uses_intention"))
        if raw["phase"] not in PHASES:
            raise ContentError(f"{where}: unknown phase {raw['phase']!r}")
        prompts.append(Prompt(**raw))
    check_unique_ids((p.id for p in prompts), str(path))
    missing = set(PHASES) - {p.phase for p in prompts}
    if missing:
        raise ContentError(f"{path}: no prompts for phase(s) {', '.join(sorted(missing))}")
    return tuple(prompts)


@lru_cache(maxsize=1)
def prompt_library() -> tuple[Prompt, ...]:
    """The packaged prompts, loaded once per process."""
    return load_prompts()


def choose_prompt(
    phase: str,
    recent_prompt_ids: Iterable[str],
    intention: Optional[str],
    skip: Iterable[str] = (),
    prompts: Optional[tuple[Prompt, ...]] = None,
) -> Prompt:
    """The first prompt for `phase` not answered recently and not just skipped.

    When every prompt of the phase was used, the least recent is offered again
    rather than none.
    """
    prompts = prompts if prompts is not None else prompt_library()
    avoid = set(recent_prompt_ids) | set(skip)
    candidates = [
        p for p in prompts if p.phase == phase and (intention or not p.uses_intention)
    ]
    for prompt in candidates:
        if prompt.id not in avoid:
            return prompt
    recent = list(recent_prompt_ids)
    return max(candidates, key=lambda p: recent.index(p.id) if p.id in recent else -1)


def prompt_by_id(prompt_id: str) -> Optional[Prompt]:
    """Look a prompt up by its stable id."""
    return next((p for p in prompt_library() if p.id == prompt_id), None)
