"""A real SMTP server on loopback that keeps what it receives: for tests, the bench and
the demo (aiosmtpd, a development dependency). Not for production use.

``MailSink`` accepts everything unless told otherwise: ``reply`` makes it answer
RCPT with a fixed reply (``"450 4.2.0 try later"``, ``"550 5.1.1 no such user"``);
``logins`` turns on AUTH (plain text over loopback, for the 535 case).
``folder`` also saves each message there as an ``.eml`` file (the local mail of
``hanbaocao up``); ``delay`` holds the reply to DATA back for that many seconds after
the message is kept, widening the moment a sender may die between "the server has it"
and "I recorded it" (the restart tests kill a sweep inside it).
``HungServer`` accepts TCP connections and never says a word.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SINK_FROM = "nhac-han@hanbaocao.test"


class _EphemeralController(Controller):
    """aiosmtpd's controller checks the server by connecting to ``self.port``; with
    port 0 it must first learn which port the OS gave it."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        if server is not None and self.port == 0:
            self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.sink.reply is not None:
            return self.sink.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode()
        with self.sink.lock:
            self.sink.raw.append(data)
            self.sink.peers.append(session.peer)
        if self.sink.folder is not None:
            self.sink.save(data)
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        return "250 Message accepted for delivery"


class MailSink:
    """``with MailSink() as sink: ... sink.url(to=...) ... sink.messages()``.
    ``stop()`` then ``start()`` brings it back on the same port (server down, then up)."""

    def __init__(
        self,
        *,
        port: int = 0,
        reply: str | None = None,
        logins: dict[str, str] | None = None,
        folder: Path | None = None,
        delay: float = 0.0,
    ) -> None:
        self.port = port
        self.reply = reply
        self.logins = logins
        self.folder = folder
        self.delay = delay
        self.raw: list[bytes] = []
        self.peers: list[Any] = []  # the client (host, port) of each message: its connection
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> Self:
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if self.logins is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_require_tls": False,
                "auth_required": True,
            }
        controller = _EphemeralController(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.logins is not None
        if ok:
            user, password = auth_data.login.decode(), auth_data.password.decode()
            ok = self.logins is not None and self.logins.get(user) == password
        return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 235 or 535

    def url(
        self, *, to: str, user: str | None = None, password: str | None = None, **params: str
    ) -> str:
        """An Apprise URL for this sink (plain SMTP on its port)."""
        return sink_url(self.port, to=to, user=user, password=password, **params)

    def smtp_url(self) -> str:
        """This sink as ``HANBAOCAO_SMTP_URL`` (no recipient: the contacts add theirs)."""
        return f"mailto://127.0.0.1:{self.port}?from={quote(SINK_FROM, safe='')}"

    def save(self, data: bytes) -> Path:
        """``data`` as ``<folder>/<UTC time>-<random>.eml``, LF line ends (as a mail
        client saves it), written beside and renamed: a reader never sees half a file."""
        assert self.folder is not None
        name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
        path = self.folder / name
        part = path.with_name(name + ".part")
        part.write_bytes(data.replace(b"\r\n", b"\n"))
        part.replace(path)
        return path

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [_parse(data) for data in raw]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages()]

    def clear(self) -> None:
        with self.lock:
            self.raw.clear()
            self.peers.clear()


def _parse(data: bytes) -> EmailMessage:
    # Line ends as a mail store keeps them (LF): CRLF is the wire's, not the content's.
    parsed = message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class HungServer:
    """Accepts connections and never answers: what a wedged SMTP server looks like.
    Each connection is held open until ``stop()``."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._sock.close()

    def url(self, *, to: str, **params: str) -> str:
        return sink_url(self.port, to=to, **params)


def sink_url(
    port: int, *, to: str, user: str | None = None, password: str | None = None, **params: str
) -> str:
    """An Apprise URL for a sink on loopback ``port`` (plain SMTP), from ``SINK_FROM``."""
    auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
    query = "&".join(
        f"{k}={quote(v, safe='')}" for k, v in {"from": SINK_FROM, "to": to, **params}.items()
    )
    return f"mailto://{auth}127.0.0.1:{port}?{query}"


def free_port() -> int:
    """A port nothing listens on (bound, then released): a "refused" server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
