"""Real headless Chromium for the portal's end-to-end tests, driven by Playwright.

The browser is Debian's ``chromium`` (the one on PATH), never one Playwright downloads:
``playwright install`` is not run anywhere. Without it (or without the ``playwright``
package) the tests are skipped, unless HANBAOCAO_REQUIRE_BROWSER is set (CI sets it):
then they fail, so a CI image that lost its browser cannot pass by skipping.

Screenshots go to HANBAOCAO_TEST_ARTIFACTS, else ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TESTS = Path(__file__).resolve().parent.parent
ARGS = ["--no-sandbox", "--disable-gpu"]
TIMEOUT_MS = 15_000  # every Playwright wait: a hung page fails the test, never the run
LAUNCH_TIMEOUT_MS = 60_000


def _unavailable(why: str) -> None:
    if os.environ.get("HANBAOCAO_REQUIRE_BROWSER"):
        pytest.fail(f"HANBAOCAO_REQUIRE_BROWSER is set but {why}")
    pytest.skip(why)


def chromium_path() -> str:
    """The system's Chromium; skips (or fails, see the module) when there is none."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    _unavailable("no chromium on PATH (apt-get install chromium)")
    raise AssertionError("unreachable")


def artifacts_dir(name: str) -> Path:
    base = os.environ.get("HANBAOCAO_TEST_ARTIFACTS")
    folder = (Path(base) if base else TESTS / "artifacts") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def require_browser() -> str:
    """The Chromium to launch, once Playwright is known to be importable; call it before
    any costly set-up so a machine without a browser skips at once."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    return chromium_path()


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Chromium, closed whatever happens inside."""
    executable = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=executable, args=ARGS, headless=True, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            launched.close()


def loopback_socket() -> socket.socket:
    """A bound loopback socket: its port is known before the server (and the links in
    the messages queued before it starts) exist."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: FastAPI, sock: socket.socket, *, timeout: float = 20) -> Iterator[str]:
    """``app`` under a real uvicorn on ``sock`` in a thread; its base URL. Stopped (and
    the socket closed) on the way out, whatever happened inside."""
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        host, port = sock.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
