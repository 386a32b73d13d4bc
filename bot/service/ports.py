"""A free TCP port for a server this process is about to start.

Binding port 0 and closing the socket hands back a port from the kernel's
ephemeral range, the range it also gives to outgoing connections: in the
seconds before the server binds it, a client socket (to a database, to
another server) can take that very port, and the server fails with "address
already in use". So the port is drawn from below the ephemeral range, where
the kernel never puts an outgoing connection, and checked free by binding it.
"""
from __future__ import annotations

import random
import socket
from pathlib import Path
from typing import Tuple

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10000  # below this lie the ports services are configured on
ATTEMPTS = 200


def ephemeral_range(path: Path = EPHEMERAL_RANGE) -> Tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default if it cannot be read)."""
    try:
        low, high = (int(part) for part in path.read_text(encoding="ascii").split()[:2])
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _is_free(port: int, host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", path: Path = EPHEMERAL_RANGE) -> int:
    """A port on `host` that nothing listens on now and no outgoing connection will be given."""
    low, _ = ephemeral_range(path)
    if low - LOWEST >= 1000:
        draw = random.SystemRandom()
        for _ in range(ATTEMPTS):
            port = draw.randrange(LOWEST, low)
            if _is_free(port, host):
                return port
    with socket.socket() as probe:  # no room below the ephemeral range: let the kernel choose
        probe.bind((host, 0))
        return probe.getsockname()[1]
