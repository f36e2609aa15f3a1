"""A local, real-HTTP stand-in for Zalo: the OA message endpoint, the ZNS template
endpoint and the OAuth refresh endpoint, for tests and the demo (Zalo's servers cannot
be reached from here, and must never be hit by tests).

It behaves like Zalo where it matters to us: failures are HTTP 200 with ``error != 0``;
access tokens expire (after ``token_ttl`` seconds or on ``expire_access_tokens()``);
refresh tokens work once. Special recipients trigger the failures:

=====================  ====================  ========================================
OA user id             ZNS phone             answer
=====================  ====================  ========================================
``refused``            ``84900000139``       error -139 (user refused)
``blocked``            ``84900000141``       error -141 (user refused the OA)
``noaccount``          ``84900000118``       error -118 (no Zalo account)
``badparam``           ``84900000201``       error -201 (invalid parameter)
``quota``              ``84900000032``       error -32 (rate limit)
—                      ``84900000108``       error -108 (invalid phone)
``ratelimited``        ``84900000429``       HTTP 429 with Retry-After: 7
``error500``           ``84900000500``       HTTP 500
``slow``               ``84900000998``       sleeps ``slow_seconds`` before answering
``garbage``            ``84900000999``       HTTP 200 with an HTML body
=====================  ====================  ========================================

ZNS template ``unapproved`` answers -131. Texts over 2,000 characters answer -201.

Run ``python -m notifications.fake_zalo --port 8765 --tokens /tmp/zalo_tokens.json``
for the demo: it seeds the token file and prints ready-to-use URLs. It listens on
127.0.0.1 only and stops by itself after ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from notifications.model import ZALO_TEXT_LIMIT
from notifications.zalo_tokens import FileTokenStore, pair_from_answer

OA_PATH = "/v3.0/oa/message/cs"
ZNS_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"
MAX_BODY = 1 << 20

_CODES = {"refused": -139, "blocked": -141, "noaccount": -118, "badparam": -201, "quota": -32}
SPECIAL_CODES: dict[str, int] = {
    **_CODES,
    **{f"84900000{abs(code):03d}": code for code in [*_CODES.values(), -108]},
}
SPECIAL_STATUS = {"ratelimited": 429, "84900000429": 429, "error500": 500, "84900000500": 500}
SLOW = frozenset({"slow", "84900000998"})
GARBAGE = frozenset({"garbage", "84900000999"})
UNAPPROVED_TEMPLATE = "unapproved"
_PHONE = re.compile(r"^84\d{9}$")


class Reply(NamedTuple):
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json(data: dict[str, Any], status: int = 200, **headers: str) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, body, headers=tuple(headers.items()))


def _error(code: int, message: str, status: int = 200) -> Reply:
    return _json({"error": code, "message": message}, status)


class FakeZalo:
    """The fake server. ``messages`` holds every accepted message, ``calls`` every
    request path, ``refresh_calls`` counts refresh requests (accepted or not)."""

    def __init__(
        self,
        *,
        port: int = 0,
        app_id: str = "fake-app",
        secret_key: str = "fake-secret",
        token_ttl: float = 90_000.0,
        slow_seconds: float = 5.0,
        refresh_delay: float = 0.0,
        lifetime: float | None = 600.0,
        token_error: str = "code",  # "code": -216/-124 with HTTP 200; "http401"
    ) -> None:
        self.app_id, self.secret_key = app_id, secret_key
        self.token_ttl, self.slow_seconds = token_ttl, slow_seconds
        self.refresh_delay, self.lifetime, self.token_error = refresh_delay, lifetime, token_error
        self.messages: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.refresh_calls = 0
        self._access: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._refresh: set[str] = set()  # refresh tokens not yet spent
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", port), _Handler, self)
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeZalo:
        # A short poll interval: stop() waits for the serving loop to notice it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        if self.lifetime is not None:  # never outlive a forgotten test or demo
            self._timer = threading.Timer(self.lifetime, self.stop)
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()  # wakes the "slow" handlers
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()

    def wait(self) -> None:
        """Block until stopped (by ``stop`` or the lifetime timer)."""
        self._stopping.wait()

    def __enter__(self) -> FakeZalo:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control -----------------------------------------------------------------------

    def issue_pair(self) -> dict[str, Any]:
        """A fresh token pair, as the OAuth endpoint would answer it."""
        with self._lock:
            return self._issue_locked()

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    def _issue_locked(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_urlsafe(16), "rt-" + secrets.token_urlsafe(16)
        self._access[access] = time.time() + self.token_ttl
        self._refresh.add(refresh)
        # Zalo sends expires_in as a string.
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": f"{self.token_ttl:g}",
        }

    # -- requests ----------------------------------------------------------------------

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.split("?", 1)[0]
        with self._lock:
            self.calls.append(path)
        routes = {
            OA_PATH: self._oa_message,
            ZNS_PATH: self._zns_message,
            OAUTH_PATH: self._refresh_pair,
        }
        route = routes.get(path)
        return route(headers, body) if route else _error(-404, "not found", 404)

    def _oa_message(self, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = _load(body)
        user = payload.get("recipient", {}).get("user_id")
        text = payload.get("message", {}).get("text")
        refused = self._token_check(headers, -216) or self._special(user)
        if refused:
            return refused
        if not (isinstance(user, str) and isinstance(text, str)):
            return _error(-201, "Parameters are invalid")
        if len(text) > ZALO_TEXT_LIMIT:
            return _error(-201, "Text is too long")
        self._record({"schema": "zalooa", "recipient": user, "text": text})
        return _json({"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex}})

    def _zns_message(self, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = _load(body)
        phone, template = payload.get("phone"), payload.get("template_id")
        refused = self._token_check(headers, -124) or self._special(phone)
        if refused:
            return refused
        if not (isinstance(phone, str) and _PHONE.match(phone)):
            return _error(-108, "Phone number is invalid")
        if template == UNAPPROVED_TEMPLATE:
            return _error(-131, "Template is not approved")
        if not isinstance(payload.get("template_data"), dict):
            return _error(-201, "Parameters are invalid")
        self._record({"schema": "zns", "recipient": phone, "template_id": template,
                      "template_data": payload["template_data"],
                      "tracking_id": payload.get("tracking_id")})  # fmt: skip
        data = {"msg_id": uuid.uuid4().hex, "sent_time": str(int(time.time() * 1000))}
        return _json({"error": 0, "message": "Success", "data": data})

    def _refresh_pair(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self._lock:
            self.refresh_calls += 1
        if self.refresh_delay:  # widens the window in which two refreshers could race
            self._stopping.wait(self.refresh_delay)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if headers.get("secret_key") != self.secret_key or form.get("app_id") != self.app_id:
            # Made-up code: the real one for a wrong app id / secret was not verified.
            return _json({"error": -14001, "error_name": "Invalid app id or secret key"})
        with self._lock:
            if form.get("refresh_token") not in self._refresh:
                return _json({"error": -14014, "error_name": "Invalid refresh token"})
            self._refresh.discard(form["refresh_token"])
            return _json(self._issue_locked())

    def _token_check(self, headers: Mapping[str, str], code: int) -> Reply | None:
        with self._lock:
            expiry = self._access.get(headers.get("access_token") or "")
        if expiry is not None and expiry > time.time():
            return None
        if self.token_error == "http401":
            return _error(code, "Unauthorized", 401)
        return _error(code, "Access token is invalid")

    def _special(self, recipient: object) -> Reply | None:
        if not isinstance(recipient, str):
            return None
        if recipient in SPECIAL_CODES:
            return _error(SPECIAL_CODES[recipient], f"special recipient {recipient}")
        if recipient in SPECIAL_STATUS:
            status = SPECIAL_STATUS[recipient]
            return _json(
                {"error": -status, "message": "HTTP error"}, status, **{"Retry-After": "7"}
            )
        if recipient in SLOW:
            self._stopping.wait(self.slow_seconds)
            return None  # then answered normally, too late for a short client timeout
        if recipient in GARBAGE:
            return Reply(200, b"<html>502 Bad Gateway</html>", "text/html")
        return None

    def _record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a "slow" handler must not hold up stop()
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeZalo) -> None:
        super().__init__(address, handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake.handle(self.path, headers, self.rfile.read(length))
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to tell it

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local fake of Zalo's OA, ZNS and OAuth APIs.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    parser.add_argument("--token-ttl", type=float, default=90_000.0)
    parser.add_argument("--tokens", help="seed this token file with a fresh pair")
    parser.add_argument("--oa-id", default="1234567890")
    args = parser.parse_args(argv)
    fake = FakeZalo(port=args.port, token_ttl=args.token_ttl, lifetime=args.seconds).start()
    print(f"fake Zalo listening on {fake.base_url} (port {fake.port})", flush=True)
    if args.tokens:
        FileTokenStore(args.tokens).put(args.oa_id, pair_from_answer(fake.issue_pair()))
        common = f"api={fake.base_url}&oauth={fake.base_url}&tokens={args.tokens}"
        auth = f"{fake.app_id}:{fake.secret_key}@{args.oa_id}"
        print(f"  zalooa://{auth}/some-user-id?{common}", flush=True)
        print(f"  zns://{auth}/84912345678?template=12345&{common}", flush=True)
    try:
        fake.wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
