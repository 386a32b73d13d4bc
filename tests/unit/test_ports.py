"""Servers started by the tests, the benchmarks and `python -m bot shell` get a port no client socket can take."""
import socket

from bot.service.ports import LOWEST, ephemeral_range, free_port


def test_a_free_port_lies_below_the_ephemeral_range_and_can_be_bound():
    low, _ = ephemeral_range()
    for _ in range(20):
        port = free_port()
        assert LOWEST <= port < low
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_in_use_is_never_given(tmp_path):
    # A range file that leaves only a narrow band below it: every port of the band but one is taken.
    band = tmp_path / "range"
    band.write_text(f"{LOWEST + 1003} 60999\n")
    taken = []
    try:
        for port in range(LOWEST, LOWEST + 1002):
            holder = socket.socket()
            try:
                holder.bind(("127.0.0.1", port))
            except OSError:
                holder.close()
                continue
            taken.append(holder)
        free = {free_port(path=band) for _ in range(5)}
        assert not free & {s.getsockname()[1] for s in taken}
    finally:
        for holder in taken:
            holder.close()


def test_without_room_below_the_range_or_a_readable_range_the_kernel_chooses(tmp_path):
    narrow = tmp_path / "range"
    narrow.write_text(f"{LOWEST + 10} 60999\n")
    port = free_port(path=narrow)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
    assert ephemeral_range(tmp_path / "missing") == (32768, 60999)
    (tmp_path / "bad").write_text("not numbers")
    assert ephemeral_range(tmp_path / "bad") == (32768, 60999)
