"""Our processes do not print other libraries' deprecation warnings.

Rasa's dependencies (Sanic, SQLAlchemy, pkg_resources, pyparsing, Click, jax)
warn about their own deprecated calls at import, about fifty lines per start
that no one here can act on. PYTHONWARNINGS cannot hide them: Sanic installs a
"once" filter for DeprecationWarning when it is imported, ahead of any filter
set before. So this is a `warnings.showwarning` hook (the stdlib's documented
place for it), which later filters do not undo. It drops only deprecation and
future warnings raised from code under site-packages: our own code's warnings,
and every other kind of warning, are shown as before.
"""
from __future__ import annotations

import os
import site
import sysconfig
import warnings

_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def silence_library_deprecations() -> None:
    """Install the hook in this process (once; call it before importing Rasa)."""
    if getattr(warnings.showwarning, "silences_library_deprecations", False):
        return
    libraries = _library_dirs()
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, _DEPRECATIONS) and is_library_file(filename, libraries):
            return
        show(message, category, filename, lineno, file, line)

    showwarning.silences_library_deprecations = True
    warnings.showwarning = showwarning


def is_library_file(filename: str, libraries: tuple[str, ...] = ()) -> bool:
    """True for a file of an installed package (or the import machinery acting for one)."""
    if filename.startswith("<frozen importlib"):
        return True
    path = os.path.realpath(filename)
    return any(path.startswith(directory + os.sep) for directory in libraries or _library_dirs())


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths["purelib"], paths["platlib"], *site.getsitepackages()}
    return tuple(sorted(os.path.realpath(p) for p in found))
