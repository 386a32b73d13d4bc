"""Rasa's calls to the action server over connections that are kept open.

Rasa 3.6 opens a new aiohttp ClientSession, and with it a new TCP connection,
for every call to an endpoint (`EndpointConfig.request` enters
`async with self.session()`), and a journaling message makes two such calls.
`install()` makes `EndpointConfig.session` hand out one open session per event
loop, URL and headers, which `async with` does not close, so its connections
are reused: the same headers, the same timeout, the same requests. An endpoint
with basic auth keeps Rasa's own behaviour. `close()` closes the sessions when
the server stops (a listener of the patient channel). Installed with the
response check when Rasa imports any of our components (components/__init__.py),
and only if EndpointConfig has the method it replaces.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Tuple

import aiohttp

from components.patching import replace_method

# Below the action server's keep-alive (Sanic's default, 5 s).
CLIENT_KEEPALIVE_SECONDS = 2.0

_sessions: Dict[Tuple[int, str, Tuple[Tuple[str, str], ...]], Tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}
_rasa_session = None


class _KeptOpen:
    """`async with` over a shared session: enters it, never closes it."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def shared_session(self: Any) -> Any:
    """EndpointConfig.session, kept open and shared per event loop, URL and headers."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    if self.basic_auth:
        return _rasa_session(self)
    loop = asyncio.get_running_loop()
    key = (id(loop), str(self.url), tuple(sorted((str(k), str(v)) for k, v in (self.headers or {}).items())))
    known = _sessions.get(key)
    if known is None or known[0] is not loop or known[1].closed:
        session = aiohttp.ClientSession(
            headers=self.headers,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            # An idle connection is dropped here well before the action server (Sanic, 5 s)
            # closes it, so a call never goes out on a socket the server has just closed:
            # aiohttp does not retry a POST. No cap on connections, as with Rasa's own
            # sessions, and no cookies kept between patients' calls.
            connector=aiohttp.TCPConnector(keepalive_timeout=CLIENT_KEEPALIVE_SECONDS, limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        _sessions[key] = known = (loop, session)
    return _KeptOpen(known[1])


async def close() -> None:
    """Close the sessions opened on the running event loop."""
    loop = asyncio.get_running_loop()
    for key, (owner, session) in list(_sessions.items()):
        if owner is loop:
            del _sessions[key]
            await session.close()


def install() -> bool:
    """Replace EndpointConfig.session with the shared one; False if this Rasa has no such method."""
    global _rasa_session
    from rasa.utils.endpoints import EndpointConfig

    _rasa_session = replace_method(EndpointConfig, "session", shared_session)
    return _rasa_session is not None
