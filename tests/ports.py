"""Loopback ports for tests, without the "find a free port, use it later" race.

A port found free and released is anyone's until it is used: another test, another
session's server or a client's outgoing connection can take it in between, and under
load that happens. So:

- a port where *nothing* must answer is held, bound and never listening, for as long as
  the test needs it (``refusing_port``): connections are refused and no one can take it;
- a server in this process binds port 0 itself, or gets a socket bound beforehand
  (uvicorn ``sockets=[sock]``, see ``tests.portal.browser.serve``);
- a server in a child process that must be told its port on its command line
  (``hanbaocao up``, ``hanbaocao demo``) is started again on new ports when it says its
  port was taken (``port_clash``): the last resort, there is no socket to hand over.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

ATTEMPTS = 3  # a clash is rare: three in a row means something else is wrong

# What a child says when its port was taken: uvicorn's bind error (the Prefect server, the
# portal), and the checks `prefect server start`, `hanbaocao up` and `hanbaocao demo` make
# before they start one.
_CLASH = re.compile(
    r"already in use|port \d+ on 127\.0\.0\.1 is taken|cổng \d+ trên 127\.0\.0\.1 đang bận",
    re.IGNORECASE,
)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections for the block: bound (so the OS hands it
    to no one else) and never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def free_port() -> int:
    """A loopback port free right now, for a child that binds it itself: only with a
    retry on ``port_clash`` (see the module docstring)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_clash(log: str) -> bool:
    """The child's output says another process had its port."""
    return _CLASH.search(log) is not None
