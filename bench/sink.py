"""The benchmarks' SMTP sink: aiosmtpd on loopback in a process of its own, keeping
only what the check needs (a count and each message's Message-ID), not the messages.

Why not ``notifications.mailsink.MailSink`` (the tests' sink): it runs in the
benchmark's own process, its event loop taking the GIL from the sender it measures,
and it keeps every message (20,000 reminders of about 11.5 KB each, parsed again to
check them). Measured here (07/12/2026, load average 4 from other sessions, reminders
of 175 lines): aiosmtpd as shipped spends 1.3-1.4 ms of CPU per reminder, the smtplib
side 0.35-0.38 ms: a loop of sends measures the sink more than the sender. Reading
DATA in pieces (below) brings the sink to 0.9-1.0 ms; the rest is aiosmtpd's
commands, replies and socket calls.

``SinkProcess`` is still aiosmtpd's SMTP server on loopback, speaking the same protocol
to the same smtplib client: EHLO, MAIL, RCPT, DATA and the replies are aiosmtpd's.
Only the body of DATA is read differently (``_BulkData``): in pieces ending in
".CRLF" instead of line by line, then dot-unstuffed (RFC 5321 §4.5.2) — the same
content aiosmtpd hands its handler (checked against it), without its 1,000-character
line limit. The real dispatcher and the bare smtplib peer send to the same sink in
the same run. ``--stock-sink`` in bench_sweep.py runs aiosmtpd's own DATA instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from types import TracebackType
from typing import Any, Self

_END = b"\r\n.\r\n"
_DOT_LINE = b".\r\n"
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def _server_class() -> Any:
    from aiosmtpd.smtp import SMTP

    class _BulkData(SMTP):
        """aiosmtpd's server, its DATA body read in chunks instead of line by line."""

        async def smtp_DATA(self, arg: str) -> None:
            if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
                return
            assert self.envelope is not None
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            content = await _read_body(self._reader)
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push(status)

    return _BulkData


async def _read_body(reader: asyncio.StreamReader) -> bytes:
    """The DATA body up to the line holding a lone dot, dot-unstuffed. Read in pieces
    that end in ".CRLF" (a line ending in a dot, or the end): far fewer awaits than
    lines. The leading CRLF makes the end of an empty body look like any other."""
    data = bytearray(b"\r\n")
    while not data.endswith(_END):
        try:
            data += await reader.readuntil(_DOT_LINE)
        except asyncio.LimitOverrunError as exc:  # a long piece (an attachment)
            data += await reader.readexactly(exc.consumed)
    # Every line's leading dot is the client's transparency dot (RFC 5321 §4.5.2).
    body = bytes(data[: -len(_DOT_LINE)]).replace(b"\r\n.", b"\r\n")
    return body[2:]


class _Counting:
    """Keeps each message's Message-ID (from its header block), nothing else."""

    def __init__(self) -> None:
        self.ids: Counter[bytes] = Counter()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or b""
        head = data[: data.find(b"\r\n\r\n")]
        found = _MESSAGE_ID.search(head)
        self.ids[found.group(1) if found else b""] += 1
        self.count += 1
        return "250 Message accepted for delivery"


async def _main(bulk: bool) -> None:
    """The sink process: the port on stdout, then one reply line per command line on
    stdin ("clear", "stats"), until stdin closes."""
    from aiosmtpd.smtp import SMTP

    handler = _Counting()
    server_class = _server_class() if bulk else SMTP
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: server_class(handler, hostname="sink.invalid"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if command == "clear":
            handler.ids.clear()
            handler.count = 0
            print("ok", flush=True)
        elif command == "stats":
            repeated = sum(n - 1 for n in handler.ids.values() if n > 1)
            print(handler.count, len(handler.ids), repeated, flush=True)
    server.close()


class SinkProcess:
    """``with SinkProcess() as sink: ... sink.port ... sink.stats()``. ``bulk=False``
    runs aiosmtpd exactly as shipped (its DATA line by line), for comparison."""

    def __init__(self, *, bulk: bool = True) -> None:
        self.bulk = bulk
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        args = [sys.executable, __file__, *(["--bulk"] if self.bulk else [])]
        self._process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.port = int(self._reply())
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()  # the sink's signal to stop
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _reply(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the SMTP sink process ended")
        return line.strip()

    def _ask(self, command: str) -> str:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._reply()

    def clear(self) -> None:
        self._ask("clear")

    def stats(self) -> tuple[int, int, int]:
        """(messages received, distinct Message-IDs, copies of an id already seen)."""
        count, distinct, repeated = map(int, self._ask("stats").split())
        return count, distinct, repeated

    def cpu_seconds(self) -> float:
        """The sink process's CPU time so far (user + system), from /proc."""
        assert self._process is not None
        with open(f"/proc/{self._process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    asyncio.run(_main(bulk="--bulk" in sys.argv[1:]))
