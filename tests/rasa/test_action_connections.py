"""Rasa's calls to an endpoint share open connections: one TCP connection serves many calls,
with the same headers and answers, and the sessions close when the server stops."""
import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rasa.utils.endpoints import EndpointConfig

import components  # noqa: F401  (installs the shared sessions, as Rasa's import of a component does)
from components import action_connections


class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    timeout = 1.0  # an idle connection is closed after a second, as Sanic closes one after five
    connections = 0
    seen = []

    def setup(self):
        type(self).connections += 1
        super().setup()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.headers.get("X-KAP-Action-Key"), body))
        reply = json.dumps({"echo": body["n"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Counting.connections, _Counting.seen = 0, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _run(coroutine):
    """On its own thread: the session's browser fixture keeps an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_many_calls_share_one_connection_and_close_with_the_server(server):
    endpoint = EndpointConfig(f"{server}/webhook", headers={"X-KAP-Action-Key": "k"})

    async def calls():
        answers = [await endpoint.request(json={"n": n}) for n in range(5)]
        answers += await asyncio.gather(*(endpoint.request(json={"n": n}) for n in range(5, 8)))
        opened = [session for loop, session in action_connections._sessions.values()
                  if loop is asyncio.get_running_loop()]
        await action_connections.close()
        return answers, opened

    answers, opened = _run(calls())
    assert [a["echo"] for a in answers] == list(range(8))
    assert [key for key, _ in _Counting.seen] == ["k"] * 8
    assert _Counting.connections <= 3, "five calls in turn used one connection; three at once, three at most"
    assert len(opened) == 1 and opened[0].closed


def test_an_endpoint_with_basic_auth_keeps_rasas_own_sessions(server):
    endpoint = EndpointConfig(f"{server}/webhook", basic_auth={"username": "u", "password": "p"})

    async def calls():
        return [await endpoint.request(json={"n": n}) for n in range(3)]

    assert [a["echo"] for a in _run(calls())] == [0, 1, 2]
    assert _Counting.connections == 3


def test_an_idle_connection_is_dropped_before_the_server_closes_it(server, monkeypatch):
    """The server closes idle connections after 1 s; the client drops them after 0.5 s. A call after
    the event loop was busy for 1.5 s (the server's close not yet read) opens a new connection
    rather than writing to the closed one."""
    monkeypatch.setattr(action_connections, "CLIENT_KEEPALIVE_SECONDS", 0.5)
    endpoint = EndpointConfig(f"{server}/webhook")

    async def calls():
        first = await endpoint.request(json={"n": 1})
        time.sleep(1.5)  # busy, as when NLU and the policies run on the loop
        second = await endpoint.request(json={"n": 2})
        await action_connections.close()
        return first, second

    assert [a["echo"] for a in _run(calls())] == [1, 2]
    assert _Counting.connections == 2


def test_the_client_keeps_connections_for_less_time_than_the_action_server():
    from sanic.config import DEFAULT_CONFIG

    assert action_connections.CLIENT_KEEPALIVE_SECONDS < DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"]
