"""Replacing one of Rasa's methods with ours, once, keeping Rasa's own at hand."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

_replaced: Dict[Tuple[int, str], Callable] = {}


def replace_method(owner: Any, name: str, replacement: Callable) -> Optional[Callable]:
    """Make `replacement` the `name` of `owner`; return the method it replaced (Rasa's own).

    None, and nothing changed, if `owner` has no such method. Called again, it
    changes nothing and returns Rasa's own method again.
    """
    current = getattr(owner, name, None)
    if not callable(current):
        return None
    if current is not replacement:
        _replaced[(id(owner), name)] = current
        setattr(owner, name, replacement)
    return _replaced[(id(owner), name)]
