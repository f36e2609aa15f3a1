"""Slow and greedy clients: a request must arrive at a sane pace, and uploads are few at
a time. A buffering reverse proxy in front is still required (docs/deploy.md); these
are the portal's own limits, for when one is missing or misconfigured.

- **Headers**: ``GuardedH11Protocol`` (uvicorn's h11 protocol) closes a connection whose
  request line and headers are not complete ``header_timeout`` seconds after their
  first byte (slowloris) — uvicorn itself only times out idle keep-alive connections.
- **Body**: ``BodyTimeout`` (ASGI middleware) answers 408 and closes the connection
  when no body chunk arrives for ``idle`` seconds, or when, after ``grace`` seconds,
  the body has come at less than ``min_rate`` bytes a second on average (a body sent a
  byte every second or three). Nothing is recorded: the upload handler sees the body
  end as a disconnect.
- **Concurrency**: ``UploadGate`` admits at most ``total`` uploads at once, and
  ``per_agency`` per agency; one more gets a 503 before its body is read.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from portal.pages import error_page


@dataclass(frozen=True, slots=True)
class Pace:
    """HANBAOCAO_HEADER_TIMEOUT_SECONDS, HANBAOCAO_BODY_IDLE_SECONDS,
    HANBAOCAO_BODY_GRACE_SECONDS, HANBAOCAO_BODY_MIN_RATE (bytes/s) through
    ``portal.app.PortalSettings``."""

    header_timeout: float = 15.0
    idle: float = 20.0
    grace: float = 20.0
    min_rate: float = 2048.0  # ~16 kbit/s: the slowest real link still passes


class BodyTooSlow(Exception):
    pass


class BodyTimeout:
    """See the module. Pure ASGI (it wraps ``receive``), so uploads still stream."""

    def __init__(self, app: ASGIApp, pace: Pace | None = None) -> None:
        self.app = app
        self.pace = pace or Pace()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        pace = self.pace
        started = time.monotonic()
        received = 0
        timed_out = False
        response_started = False

        async def paced_receive() -> Message:
            nonlocal received, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), timeout=pace.idle)
            except TimeoutError:
                timed_out = True
                raise BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                elapsed = time.monotonic() - started
                behind = received < pace.min_rate * elapsed
                if message.get("more_body") and elapsed > pace.grace and behind:
                    timed_out = True
                    raise BodyTooSlow
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, paced_receive, tracking_send)
        except BodyTooSlow:
            if response_started:
                raise
            response = error_page(
                408,
                "Gửi dữ liệu quá chậm",
                "Kết nối gửi tệp quá chậm nên máy chủ đã dừng nhận; chưa có tệp nào được "
                "ghi nhận. Đề nghị kiểm tra đường truyền rồi nộp lại.",
            )
            response.headers["Connection"] = "close"
            await response(scope, receive, send)


# --- upload concurrency -----------------------------------------------------------------------


@dataclass(slots=True)
class UploadGate:
    """At most ``total`` uploads at once and ``per_agency`` per agency (in this process)."""

    total: int = 20
    per_agency: int = 4
    _open: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def in_flight(self, agency_id: int | None = None) -> int:
        """Uploads admitted and not yet done: of one agency, or of all."""
        with self._lock:
            return sum(self._open.values()) if agency_id is None else self._open[agency_id]

    @contextmanager
    def admit(self, agency_id: int) -> Iterator[bool]:
        """Yields whether the upload may go on; releases its place on exit."""
        with self._lock:
            ok = sum(self._open.values()) < self.total and self._open[agency_id] < self.per_agency
            if ok:
                self._open[agency_id] += 1
        try:
            yield ok
        finally:
            if ok:
                with self._lock:
                    self._open[agency_id] -= 1
                    if not self._open[agency_id]:
                        del self._open[agency_id]


# --- uvicorn: the header timeout --------------------------------------------------------------


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's line and headers:
    ``uvicorn.Config(app, http=guarded_protocol(15))``."""

    header_timeout = Pace().header_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._stop_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(header_timeout: float) -> type[GuardedH11Protocol]:
    """The protocol class with its deadline (uvicorn instantiates the class itself)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout": header_timeout})
