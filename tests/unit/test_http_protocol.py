"""Each response leaves in one write; nothing written is lost or reordered."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from secplane.http_protocol import _CoalescingTransport
from secplane.testing import RunningServer


class _Recording:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else None


Pair = tuple[_CoalescingTransport, _Recording, asyncio.AbstractEventLoop]


@pytest.fixture()
def pair() -> Iterator[Pair]:
    """A coalescing transport over one that records what it is given."""
    loop = asyncio.new_event_loop()
    inner = _Recording()
    yield _CoalescingTransport(inner, loop), inner, loop  # type: ignore[arg-type]
    loop.close()


def test_writes_gather_until_flushed(pair: Pair) -> None:
    transport, inner, _ = pair
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.writelines([b"{", b"}"])
    assert inner.writes == [] and transport.get_write_buffer_size() == 21
    transport.flush()
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest passes through


def test_a_lone_write_goes_out_on_the_next_turn_of_the_loop(pair: Pair) -> None:
    """What no completed response follows (an interim 100 Continue) is not held back."""
    transport, inner, loop = pair
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    loop.run_until_complete(asyncio.sleep(0))
    assert inner.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]


def test_close_sends_what_is_pending_first(pair: Pair) -> None:
    transport, inner, _ = pair
    transport.write(b"last words")
    transport.close()
    assert inner.writes == [b"last words"] and inner.closed


def test_the_server_answers_in_one_segment_and_keeps_the_connection(api: RunningServer) -> None:
    """Two requests on one keep-alive connection: each answer arrives whole in a single read."""
    host, port = api.endpoint.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(2):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = sock.recv(65536)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert body == b'{"status":"ok"}'
