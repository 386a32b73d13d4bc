"""Importing spaCy for the screen without paying for TensorFlow."""
from __future__ import annotations

import importlib.abc
import sys
from contextlib import contextmanager
from typing import Iterator


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes `import tensorflow` fail while it is on sys.meta_path."""

    def find_spec(self, name, path, target=None):
        """Refuse tensorflow and its submodules; leave every other import alone."""
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@contextmanager
def _tensorflow_hidden() -> Iterator[None]:
    finder = _NoTensorFlow()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def import_spacy() -> None:
    """Import spaCy; if nothing has loaded TensorFlow or spaCy yet, keep TensorFlow out.

    thinc (under spaCy) imports TensorFlow whenever it is installed, and Rasa
    installs it, only to offer TensorFlow model wrappers that the screen never
    uses. That import costs about two seconds. It is skipped only while spaCy
    itself is first imported; TensorFlow stays importable afterwards. In a
    process that has already loaded TensorFlow or spaCy (the Rasa server)
    nothing changes.
    """
    if "spacy" in sys.modules or "thinc" in sys.modules or "tensorflow" in sys.modules:
        import spacy  # noqa: F401
        return
    with _tensorflow_hidden():
        import spacy  # noqa: F401
