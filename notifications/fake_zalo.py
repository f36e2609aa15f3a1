"""A local, real-HTTP stand-in for Zalo: the OA message endpoints, the ZNS template
endpoint and the OAuth refresh endpoint, for tests and the demo (Zalo's servers cannot
be reached from here, and must never be hit by tests).

It is strict where Zalo's published API is: every request is checked against the
contract (header names, body fields, user id and phone formats, the approved
template's parameters and their lengths, transaction message limits, the refresh
form) and each breach is answered with Zalo's error code AND recorded in
``violations`` — a test of a correct client asserts that list stays empty. Failures
are HTTP 200 with ``error != 0``; access tokens expire (after ``token_ttl`` seconds of
the injectable ``clock``, or on ``expire_access_tokens()``); refresh tokens work once;
consultation messages (``cs``) reach only ``recent_users``.

Special recipients trigger Zalo's refusals: the OA user id ``special_user(code)``
(``99`` + the code's digits, 12 digits) and the phone ``special_phone(code)``
(``849`` + 8 digits) answer ``error`` = -code for the codes in ``SPECIAL``
(e.g. 84900000139 → -139 user refused); 429 and 500 answer with that HTTP status
(429 with Retry-After: 7); 998 answers late (``slow_seconds``); 999 answers HTML.

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
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from notifications.vocabulary import ZALO_TEXT_LIMIT
from notifications.zalo_params import DEFAULT_PARAMS
from notifications.zalo_tokens import FileTokenStore, pair_from_answer

OA_PREFIX = "/v3.0/oa/message/"
OA_PATH = OA_PREFIX + "transaction"
OA_CS_PATH = OA_PREFIX + "cs"
OA_KINDS = ("cs", "transaction", "promotion")
ZNS_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"
MAX_BODY = 1 << 20
DEFAULT_TEMPLATE = "1001"

# Refusals a special recipient triggers (code -> meaning, for the table above).
SPECIAL = (-32, -108, -115, -118, -139, -141, -144, -147, -201, -213, -230, -999999)
HTTP_SPECIAL = {429: 429, 500: 500}
SLOW, GARBAGE = 998, 999
UNAPPROVED_TEMPLATE = "unapproved"

_USER = re.compile(r"^\d{1,32}$")
_PHONE = re.compile(r"^84(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])\d{7}$")
_URL = re.compile(r"^https?://\S+$")
# Transaction message limits (characters / items).
HEADER_MAX, TEXT_MAX, TABLE_ROWS, KEY_MAX, VALUE_MAX, BUTTONS_MAX, BUTTON_TITLE_MAX = (
    100, 1000, 5, 25, 100, 4, 35,
)  # fmt: skip
TRACKING_MAX = 48


def special_user(code: int) -> str:
    return f"99{abs(code):010d}"


def special_phone(code: int) -> str:
    return f"849{abs(code):08d}"


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
    request path, ``refresh_calls`` counts refresh requests (accepted or not),
    ``violations`` every breach of Zalo's contract. ``templates`` are the approved ZNS
    templates: id -> {parameter name: max length}."""

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
        clock: Callable[[], float] = time.time,
        templates: Mapping[str, Mapping[str, int]] | None = None,
        recent_users: set[str] | None = None,
    ) -> None:
        # Token expiry reads ``clock`` (epoch seconds), never the wall clock directly: a
        # test moves its own clock instead of sleeping, so a busy machine cannot make a
        # token die early or live late.
        self.clock = clock
        self.app_id, self.secret_key = app_id, secret_key
        self.token_ttl, self.slow_seconds = token_ttl, slow_seconds
        self.refresh_delay, self.lifetime, self.token_error = refresh_delay, lifetime, token_error
        default = {p.name: p.limit for p in DEFAULT_PARAMS}
        self.templates = dict(templates or {DEFAULT_TEMPLATE: default})
        self.recent_users = set(recent_users or ())
        self.messages: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.violations: list[str] = []
        self.refresh_calls = 0
        self.refresh_refused = 0
        self.drop_refresh_answers = 0  # answer the next N refreshes with nothing (lost)
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
        self._access[access] = self.clock() + self.token_ttl
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
        if path.startswith(OA_PREFIX) and path[len(OA_PREFIX) :] in OA_KINDS:
            return self._oa_message(path[len(OA_PREFIX) :], headers, body)
        if path == ZNS_PATH:
            return self._zns_message(headers, body)
        if path == OAUTH_PATH:
            return self._refresh_pair(headers, body)
        return self._violation(-404, f"unknown path {path}", status=404)

    def _violation(self, code: int, problem: str, status: int = 200) -> Reply:
        with self._lock:
            self.violations.append(problem)
        return _error(code, problem, status)

    def _json_request(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any] | str:
        if "json" not in headers.get("content-type", ""):
            return "Content-Type must be application/json"
        payload = _load(body)
        return payload if payload else "body is not a JSON object"

    def _oa_message(self, kind: str, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = self._json_request(headers, body)
        if isinstance(payload, str):
            return self._violation(-201, f"OA {kind}: {payload}")
        refused = self._token_check(headers, -216)
        if refused:
            return refused
        recipient = payload.get("recipient")
        user = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not (isinstance(user, str) and _USER.match(user)):
            return self._violation(-201, f"OA {kind}: recipient.user_id must be a digit string")
        special = self._special(user, special_user)
        if special:
            return special
        message = payload.get("message")
        problem = (
            oa_text_problem(message)
            if kind == "cs"
            else oa_template_problem(message, promotion=kind == "promotion")
        )
        if problem:
            return self._violation(-201, f"OA {kind}: {problem}")
        if kind == "cs" and user not in self.recent_users:
            return _error(-230, "User has not interacted with the OA in the last 7 days")
        assert isinstance(message, dict)
        self._record({"schema": "zalooa", "kind": kind, "recipient": user, "message": message})
        return _json({"error": 0, "message": "Success", "data": {"message_id": uuid.uuid4().hex}})

    def _zns_message(self, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = self._json_request(headers, body)
        if isinstance(payload, str):
            return self._violation(-201, f"ZNS: {payload}")
        refused = self._token_check(headers, -124)
        if refused:
            return refused
        phone, template = payload.get("phone"), payload.get("template_id")
        if not (isinstance(phone, str) and _PHONE.match(phone)):
            return self._violation(-108, f"ZNS: phone {phone!r} is not 84 + a mobile number")
        special = self._special(phone, special_phone)
        if special:
            return special
        if template == UNAPPROVED_TEMPLATE:
            return _error(-131, "Template is not approved")
        if not isinstance(template, str) or template not in self.templates:
            return self._violation(-109, f"ZNS: unknown template_id {template!r}")
        code, problem = zns_data_problem(payload, self.templates[template])
        if problem:
            return self._violation(code, f"ZNS: {problem}")
        self._record({"schema": "zns", "recipient": phone, "template_id": template,
                      "template_data": payload["template_data"],
                      "tracking_id": payload.get("tracking_id")})  # fmt: skip
        data = {"msg_id": uuid.uuid4().hex, "sent_time": str(int(self.clock() * 1000))}
        return _json({"error": 0, "message": "Success", "data": data})

    def _refresh_pair(self, headers: Mapping[str, str], body: bytes) -> Reply:
        with self._lock:
            self.refresh_calls += 1
        if self.refresh_delay:  # widens the window in which two refreshers could race
            self._stopping.wait(self.refresh_delay)
        if "x-www-form-urlencoded" not in headers.get("content-type", ""):
            return self._violation(-14002, "refresh: body must be a form")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if set(form) != {"refresh_token", "app_id", "grant_type"}:
            return self._violation(-14002, f"refresh: form fields {sorted(form)}")
        if form["grant_type"] != "refresh_token" or "access_token" in headers:
            return self._violation(-14002, "refresh: grant_type=refresh_token, no access_token")
        if headers.get("secret_key") != self.secret_key or form.get("app_id") != self.app_id:
            # Made-up code: the real one for a wrong app id / secret was not verified.
            return self._refused(-14001, "Invalid app id or secret key")
        with self._lock:
            if form["refresh_token"] not in self._refresh:
                self.refresh_refused += 1
                return _json({"error": -14014, "error_name": "Invalid refresh token"})
            self._refresh.discard(form["refresh_token"])  # single use, even if lost below
            answer = self._issue_locked()
            if self.drop_refresh_answers:
                self.drop_refresh_answers -= 1
                return Reply(-1, b"")  # the handler closes the connection unanswered
        return _json(answer)

    def _refused(self, code: int, name: str) -> Reply:
        with self._lock:
            self.refresh_refused += 1
        return _json({"error": code, "error_name": name})

    def _token_check(self, headers: Mapping[str, str], code: int) -> Reply | None:
        with self._lock:
            expiry = self._access.get(headers.get("access_token") or "")
        if expiry is not None and expiry > self.clock():
            return None
        if self.token_error == "http401":
            return _error(code, "Unauthorized", 401)
        return _error(code, "Access token is invalid")

    def _special(self, recipient: str, name: Callable[[int], str]) -> Reply | None:
        for code in SPECIAL:
            if recipient == name(code):
                return _error(code, f"special recipient {recipient}")
        for number, status in HTTP_SPECIAL.items():
            if recipient == name(number):
                return _json({"error": -status, "message": "HTTP error"}, status,
                             **{"Retry-After": "7"})  # fmt: skip
        if recipient == name(SLOW):
            self._stopping.wait(self.slow_seconds)
            return None  # then answered normally, too late for a short client timeout
        if recipient == name(GARBAGE):
            return Reply(200, b"<html>502 Bad Gateway</html>", "text/html")
        return None

    def _record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)


# -- the contract, as Zalo publishes it ------------------------------------------------


def oa_text_problem(message: object) -> str | None:
    text = message.get("text") if isinstance(message, dict) else None
    if not isinstance(text, str) or not text.strip():
        return "message.text must be a non-empty string"
    if len(text) > ZALO_TEXT_LIMIT:
        return f"message.text has {len(text)} characters (max {ZALO_TEXT_LIMIT})"
    if "\r" in text:
        return "message.text contains CR"
    return None


def oa_template_problem(message: object, *, promotion: bool) -> str | None:
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not (isinstance(attachment, dict) and attachment.get("type") == "template"):
        return "message.attachment must be a template"
    if not isinstance(payload, dict):
        return "message.attachment.payload missing"
    wanted = "promotion" if promotion else "transaction_"
    if not str(payload.get("template_type", "")).startswith(wanted):
        return f"template_type must start with {wanted}"
    if payload.get("language") not in ("VI", "EN"):
        return "language must be VI or EN"
    return _elements_problem(payload.get("elements")) or _buttons_problem(payload.get("buttons"))


def _elements_problem(elements: object) -> str | None:
    if not isinstance(elements, list) or not elements:
        return "elements must be a non-empty list"
    headers = [e for e in elements if isinstance(e, dict) and e.get("type") == "header"]
    if len(headers) != 1:
        return "exactly one header element"
    for element in elements:
        problem = _element_problem(element)
        if problem:
            return problem
    return None


def _element_problem(element: object) -> str | None:
    if not isinstance(element, dict):
        return "an element is not an object"
    kind, content = element.get("type"), element.get("content")
    if kind in ("header", "text"):
        limit = HEADER_MAX if kind == "header" else TEXT_MAX
        if not isinstance(content, str) or not content.strip():
            return f"{kind}: empty content"
        if len(content) > limit or "\r" in content:
            return f"{kind}: {len(content)} characters (max {limit}) or CR"
        return None
    if kind == "table":
        if not isinstance(content, list) or not 0 < len(content) <= TABLE_ROWS:
            return f"table: 1 to {TABLE_ROWS} rows"
        for row in content:
            key, value = (row.get("key"), row.get("value")) if isinstance(row, dict) else (0, 0)
            if not (isinstance(key, str) and isinstance(value, str) and key and value):
                return "table: each row needs key and value strings"
            if len(key) > KEY_MAX or len(value) > VALUE_MAX:
                return f"table: key ≤ {KEY_MAX}, value ≤ {VALUE_MAX} characters"
        return None
    if kind == "banner":
        return None
    return f"unknown element type {kind!r}"


def _buttons_problem(buttons: object) -> str | None:
    if buttons is None:
        return None
    if not isinstance(buttons, list) or len(buttons) > BUTTONS_MAX:
        return f"buttons: a list of at most {BUTTONS_MAX}"
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "oa.open.url":
            return "buttons: only oa.open.url is used here"
        title, url = button.get("title"), (button.get("payload") or {}).get("url")
        if not (isinstance(title, str) and 0 < len(title) <= BUTTON_TITLE_MAX):
            return f"buttons: title of 1 to {BUTTON_TITLE_MAX} characters"
        if not (isinstance(url, str) and _URL.match(url)):
            return "buttons: payload.url must be an http(s) URL"
    return None


def zns_data_problem(payload: dict[str, Any], params: Mapping[str, int]) -> tuple[int, str | None]:
    """Zalo's code and the breach, or (0, None) when the template data is right."""
    data = payload.get("template_data")
    tracking = payload.get("tracking_id")
    if tracking is not None and not (isinstance(tracking, str) and len(tracking) <= TRACKING_MAX):
        return -201, f"tracking_id must be a string of ≤ {TRACKING_MAX} characters"
    if not isinstance(data, dict):
        return -201, "template_data must be an object"
    for name in data.keys() - params.keys():
        return -201, f"parameter {name} is not in the template"
    for name, limit in params.items():
        value = data.get(name)
        if value is None:
            return -1122, f"parameter {name} is missing"
        if not isinstance(value, str) or not value.strip():
            return -111, f"parameter {name} is empty"
        if len(value) > limit:
            return -1121, f"parameter {name} has {len(value)} characters (max {limit})"
    return 0, None


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
        if reply.status < 0:  # an answer lost on the way: close without one
            self.close_connection = True
            return
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
    parser.add_argument(
        "--consent",
        action="store_true",
        help="print a refresh token, as Zalo's consent screen gives one "
        "(for `hanbaocao zalo authorize`)",
    )
    args = parser.parse_args(argv)
    fake = FakeZalo(port=args.port, token_ttl=args.token_ttl, lifetime=args.seconds).start()
    print(f"fake Zalo listening on {fake.base_url} (port {fake.port})", flush=True)
    if args.consent:
        print(f"refresh token: {fake.issue_pair()['refresh_token']}", flush=True)
    if args.tokens:
        FileTokenStore(args.tokens).put(args.oa_id, pair_from_answer(fake.issue_pair()))
        common = f"api={fake.base_url}&oauth={fake.base_url}&tokens={args.tokens}"
        auth = f"{fake.app_id}:{fake.secret_key}@{args.oa_id}"
        print(f"  zalooa://{auth}/1234567890123?{common}", flush=True)
        print(f"  zns://{auth}/84912345678?template={DEFAULT_TEMPLATE}&{common}", flush=True)
    try:
        fake.wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
