"""Slow and greedy clients against a real uvicorn on 127.0.0.1 (a free port): 50
connections sending one byte a second — half dripping their headers, half their body
— are closed by the server by itself well within 60 s, while a normal page still
answers beside them (its time printed: a figure, not an assertion, on a shared
machine); nothing is recorded. Uploads beyond the concurrency caps
get a 503 before their body is read. Issue 16."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine

from portal.app import PortalSettings, server_config
from tests.portal.conftest import (
    BEFORE_DUE,
    LIMIT_MB,
    Clock,
    Harness,
    make_app,
    multipart,
    pdf_bytes,
    settle,
)

SLOW = PortalSettings(
    upload_max_mb=LIMIT_MB,
    upload_max_files=5,
    upload_concurrency=100,
    upload_concurrency_per_agency=100,
    header_timeout_seconds=3,
    body_idle_seconds=5,
    body_grace_seconds=5,
    body_min_rate=64,
)
DEADLINE = 60.0  # seconds: the whole test gives up after this


@dataclass
class Live:
    base: str
    port: int
    portal: Harness
    server: uvicorn.Server


@pytest.fixture
def live_slow(engine: Engine, seed: Any, tmp_path: Any) -> Iterator[Live]:
    if engine.dialect.name != "sqlite":
        pytest.skip("the server's timing, not the database's: once is enough")
    from fastapi.testclient import TestClient

    data_dir, clock, events = tmp_path / "data", Clock(BEFORE_DUE), []
    app = make_app(engine, data_dir, clock, events, settings=SLOW)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(  # as the portal is served, with a shorter keep-alive
        app, SLOW, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = time.monotonic()
    while not server.started:
        assert time.monotonic() - started < 20, "uvicorn did not start"
        time.sleep(0.02)
    client = TestClient(app, base_url="http://portal.test")
    try:
        yield Live(
            f"http://127.0.0.1:{port}",
            port,
            Harness(app, client, engine, data_dir, clock, seed, events),
            server,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _drip(
    port: int,
    head: bytes,
    drip: bytes,
    closed: dict[int, float],
    n: int,
    dripping: threading.Semaphore,
) -> None:
    """Send ``head`` at once, then ``drip`` one byte a second until the server closes;
    ``dripping`` is released once the first byte is out."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        for sent, byte in enumerate(drip):
            if time.monotonic() - start > DEADLINE:
                return
            try:
                s.sendall(bytes([byte]))
            except OSError:  # reset or broken pipe: the server hung up
                break
            finally:
                if not sent:
                    dripping.release()
            ready, _, _ = select.select([s], [], [], 1.0)
            if ready:
                break  # an answer (the 408 page) or the end of the connection
        closed[n] = time.monotonic() - start


@pytest.mark.slow
def test_fifty_one_byte_a_second_clients_are_cut_off_and_pages_still_answer(
    live_slow: Live,
) -> None:
    portal = live_slow.portal
    url = portal.url()
    body, content_type = multipart([("csrf", None, b"x"), ("files", "a.pdf", pdf_bytes())])
    upload_head = (
        f"POST {url} HTTP/1.1\r\nHost: portal.test\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    slow_head = f"GET {url} HTTP/1.1\r\nHost: portal.test\r\nX-Padding: {'x' * 200}\r\n\r\n"
    closed: dict[int, float] = {}
    dripping = threading.Semaphore(0)
    threads = []
    for n in range(50):
        if n % 2:
            args = (live_slow.port, upload_head, body, closed, n, dripping)  # slow body
        else:
            args = (live_slow.port, b"", slow_head.encode(), closed, n, dripping)  # slowloris
        threads.append(threading.Thread(target=_drip, args=args, daemon=True))
    for t in threads:
        t.start()
    for _ in threads:  # every slow client connected and dripping (the cap only stops a hang)
        assert dripping.acquire(timeout=DEADLINE), "a slow client could not connect"
    timings = []
    with httpx.Client(base_url=live_slow.base, timeout=DEADLINE) as client:
        for _ in range(3):
            began = time.monotonic()
            page = client.get(url)
            timings.append(time.monotonic() - began)
            assert page.status_code == 200
    # Answered while slow uploads still held their connections: they do not block the
    # server. (Its speed is a figure, printed, not asserted: a busy machine varies it.)
    uploads_open = [n for n in range(1, 50, 2) if n not in closed]
    print(f"pages beside 50 slow clients: {[round(t * 1000) for t in timings]} ms")
    for t in threads:
        t.join(timeout=DEADLINE)
    assert sorted(closed) == list(range(50)), "some slow clients were never cut off"
    assert max(closed.values()) < DEADLINE
    # Each by its own limit: headers by the header deadline, bodies by the pace rule.
    headers_cut = [closed[n] for n in range(0, 50, 2)]
    bodies_cut = [closed[n] for n in range(1, 50, 2)]
    assert min(headers_cut) >= SLOW.header_timeout_seconds
    assert min(bodies_cut) >= SLOW.body_grace_seconds
    assert uploads_open, "every slow upload was cut before the pages answered"
    assert portal.written() == (0, 0, [])


def test_uploads_beyond_the_per_agency_cap_get_503_before_the_body(live_slow: Live) -> None:
    """Two uploads of one agency in flight (its cap, once lowered to 1): the second is
    refused at once, while the first is still sending."""
    portal = live_slow.portal
    portal.app.state.portal.gate.per_agency = 1
    url = portal.url()
    body, content_type = multipart(
        [("csrf", None, portal.csrf(url).encode()), ("files", "a.pdf", pdf_bytes())]
    )
    head = (
        f"POST {url} HTTP/1.1\r\nHost: portal.test\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", live_slow.port), timeout=10) as first:
        first.sendall(head + body[:100])  # in flight: holds the agency's place
        gate, began = portal.app.state.portal.gate, time.monotonic()
        while not gate.in_flight(portal.seed.agency_id):
            assert time.monotonic() - began < DEADLINE, "the first upload never began"
            time.sleep(0.02)
        with httpx.Client(base_url=live_slow.base, timeout=10) as client:
            second = client.post(url, content=body, headers={"content-type": content_type})
        assert second.status_code == 503
        assert "quá nhiều lượt nộp" in second.text
        assert int(second.headers["retry-after"]) > 0
        first.sendall(body[100:])
        answer = first.recv(4096)
    assert answer.startswith(b"HTTP/1.1 303"), answer[:80]
    settle(live_slow.server)  # the receipt message is queued after the answer
    assert portal.written()[:2] == (1, 1)
