"""Screen JSON Lines from stdin: `python -m bot.safety < messages.jsonl`.

Each input line is an object with a string "text". Each output line is either
{"level", "categories", "findings": [{"rule", "category", "start", "end",
"text", "modifiers"}]} or, for a line that cannot be read, {"error": "..."}.
Output order follows input order, one line out per line in, flushed at once.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from typing import BinaryIO, Optional, TextIO

FINDING_KEYS = ("rule", "category", "start", "end", "text", "modifiers")


class _OneLineFormatter(logging.Formatter):
    """Log records as one line: the CLI promises never to print a traceback."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging API)
        """Only the exception's type and message."""
        kind, value = ei[0], ei[1]
        return f"{kind.__name__ if kind else 'Error'}: {value}"

    def format(self, record: logging.LogRecord) -> str:
        """The record, joined onto one line."""
        text = super().format(record)
        return " | ".join(line for line in text.splitlines() if line.strip())


def _error(message: str) -> str:
    return json.dumps({"error": message})


def _parse(raw: bytes) -> tuple:
    """(text, None) for a good line, (None, error message) otherwise."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "The line is not valid UTF-8."
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None, "The line is not valid JSON."
    if not isinstance(record, dict):
        return None, "The line must be a JSON object with a string field \"text\"."
    text = record.get("text")
    if not isinstance(text, str):
        return None, "The JSON object has no string field \"text\"."
    return text, None


def _result(assessment) -> str:
    findings = [{key: value for key, value in f.to_dict().items() if key in FINDING_KEYS} for f in assessment.findings]
    return json.dumps({"level": assessment.level, "categories": list(assessment.categories), "findings": findings})


def run(stdin: BinaryIO, stdout: TextIO, screen=None) -> int:
    """Screen every line of `stdin`, writing one JSON line per input line to `stdout`."""
    if screen is None:
        from bot.safety import build_screen

        screen = build_screen()
    for raw in stdin:
        raw = raw.rstrip(b"\r\n")
        text, problem = _parse(raw)
        stdout.write((_error(problem) if problem else _result(screen(text))) + "\n")
        stdout.flush()
    return 0


def main(argv: Optional[list] = None) -> int:
    """Entry point for `python -m bot.safety`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    try:
        return run(sys.stdin.buffer, sys.stdout)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, without a shutdown warning.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the screen never raises; this is start-up (e.g. a bad rule file)
        sys.stderr.write(f"error: the safety screen could not start: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
