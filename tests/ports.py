"""Loopback ports for tests that need an address where no engine answers."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
