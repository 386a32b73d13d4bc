#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or one clear line on stderr and exit 1.
# Rasa Open Source 3.6 runs on Python 3.8-3.10 only; this project pins 3.10.
set -u
is_310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a Python 3.10 interpreter." >&2; exit 1
fi
if command -v python3.10 >/dev/null 2>&1 && is_310 "$(command -v python3.10)"; then
  command -v python3.10; exit 0
fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -t. -k3 -n -r); do
  if is_310 "$dir/bin/python"; then echo "$dir/bin/python"; exit 0; fi
done
echo "error: Python 3.10 not found (Rasa 3.6 needs 3.8-3.10). Install it with 'pyenv install 3.10' or your package manager, or set PYTHON=/path/to/python3.10." >&2
exit 1
