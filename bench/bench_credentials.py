"""What the credentials cost per call: the REST channel's chat-token check and the
action server's key check, against decoding the JSON body of an action call (work
every call does anyway), measured in the same process.

Medians of 5 runs of 2,000 calls each; results in reports/bench_credentials.json.
"""
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.service.credentials import (  # noqa: E402
    ACTION_KEY_HEADER, action_server_key, check_chat_token, issue_chat_token,
)
from rasa_sdk_plugins import _key_check  # noqa: E402

RUNS, CALLS = 5, 2000
KEY = "bench-signing-key"
BODY = json.dumps({"next_action": "action_greet", "sender_id": "demo-ava", "version": "3.6.21",
                   "tracker": {"sender_id": "demo-ava", "slots": {f"slot_{i}": None for i in range(40)},
                               "events": [{"event": "user", "text": "hello there " * 5}] * 30},
                   "domain": {"responses": {f"utter_{i}": [{"text": "x" * 80}] for i in range(150)}}})


class Request:
    """The three attributes the key check reads."""

    def __init__(self, headers):
        self.path, self.method, self.headers = "/webhook", "POST", headers


def per_call_us(work) -> float:
    """Median over RUNS of the mean time of one call, in microseconds."""
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(CALLS):
            work()
        runs.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(runs)


def main() -> int:
    token = issue_chat_token(KEY, "demo-ava")
    check = _key_check(action_server_key(KEY))
    request = Request({ACTION_KEY_HEADER: action_server_key(KEY)})

    def key_check():
        coroutine = check(request)
        try:
            coroutine.send(None)
        except StopIteration as done:
            assert done.value is None

    result = {
        "chat_token_check_us": round(per_call_us(lambda: check_chat_token(KEY, token, "demo-ava")), 1),
        "action_key_check_us": round(per_call_us(key_check), 2),
        "action_body_json_decode_us": round(per_call_us(lambda: json.loads(BODY)), 1),
    }
    result["action_key_check_vs_body_decode"] = round(
        result["action_key_check_us"] / result["action_body_json_decode_us"], 4)
    out = ROOT / "reports" / "bench_credentials.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, value in result.items():
        print(f"  {name:<36} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
