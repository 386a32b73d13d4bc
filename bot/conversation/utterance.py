"""A reply as the core decides it: a domain response name and its variables."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Utterance:
    """A domain response to send, with its template variables."""

    response: str
    variables: dict = field(default_factory=dict)
