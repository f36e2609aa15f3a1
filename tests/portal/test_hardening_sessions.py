"""Server-side sessions (logout ends them: a replayed cookie is refused), the login
throttle per (user, client) with an atomic counter in the database, and
X-Forwarded-For only from trusted proxies. On SQLite and PostgreSQL. Issue 16."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.requests import Request

from portal.auth import (
    _SESSION_SALT,
    AdminAuth,
    AdminSettings,
    credentials_path,
    hash_password,
    save_credentials,
    verify_session_token,
)
from portal.auth import _sign as session_sign
from portal.dashboard import dashboard_router
from portal.security import client_address

KEY = b"session-tests-key-0123456789abcdef"
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
USER, PASSWORD = "vanphong", "mật khẩu đủ dài 2026"
HUGE = 10**30


@pytest.fixture
def auth(engine: Engine, tmp_path: Path) -> AdminAuth:
    save_credentials(credentials_path(tmp_path), USER, hash_password(PASSWORD))
    return AdminAuth(AdminSettings(), data_dir=tmp_path, key=KEY, engine=engine)


def _client(auth: AdminAuth, engine: Engine) -> TestClient:
    app = FastAPI()
    app.include_router(dashboard_router(engine=engine, auth=auth, clock=lambda: NOW))
    return TestClient(app, follow_redirects=False)


def _csrf(client: TestClient, path: str = "/admin/login") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


# --- sessions ---------------------------------------------------------------------------------


def test_a_cookie_replayed_after_logout_is_refused(auth: AdminAuth, engine: Engine) -> None:
    client = _client(auth, engine)
    form = {"csrf": _csrf(client), "user": USER, "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 303
    cookie = client.cookies.get("hbc_admin")
    assert cookie
    replay = TestClient(client.app, follow_redirects=False)  # an attacker's copy
    assert replay.get("/admin/", headers={"cookie": f"hbc_admin={cookie}"}).status_code == 200
    out = client.post("/admin/logout", data={"csrf": _csrf(client, "/admin/")})
    assert out.status_code == 303
    again = replay.get("/admin/", headers={"cookie": f"hbc_admin={cookie}"})
    assert again.status_code == 303 and again.headers["location"].startswith("/admin/login")
    assert auth.session_user(cookie, now=NOW) is None


def test_logout_ends_only_that_session(auth: AdminAuth) -> None:
    first = auth.session_token(USER, now=NOW)
    second = auth.session_token(USER, now=NOW)
    auth.logout(first, now=NOW)
    assert auth.session_user(first, now=NOW) is None
    assert auth.session_user(second, now=NOW) == USER


def test_a_password_change_ends_every_session(auth: AdminAuth, tmp_path: Path) -> None:
    token = auth.session_token(USER, now=NOW)
    save_credentials(credentials_path(tmp_path), USER, hash_password("một mật khẩu mới 2027"))
    assert auth.session_user(token, now=NOW) is None


def test_a_session_of_another_database_is_no_session(auth: AdminAuth, tmp_path: Path) -> None:
    from models.db import make_engine
    from models.schema import create_schema

    token = auth.session_token(USER, now=NOW)
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    create_schema(elsewhere)
    assert auth.session_user(token, now=NOW, engine=elsewhere) is None
    elsewhere.dispose()


@pytest.mark.parametrize(
    "claims",
    [
        {"u": USER, "f": "x", "e": HUGE, "s": "a"},
        {"u": USER, "f": "x", "e": -HUGE, "s": "a"},
        {"u": USER, "f": "x", "e": 1e300, "s": "a"},
        {"u": [USER], "f": "x", "e": 4102444800, "s": "a"},
        {"u": USER, "f": {"a": 1}, "e": 4102444800, "s": "a"},
        {"u": USER, "f": "x", "e": 4102444800, "s": ["a"]},
        {"u": USER, "f": "x", "e": 4102444800},  # a cookie from before server-side sessions
        [USER, "x", 4102444800],
    ],
)
def test_session_tokens_with_odd_claims_are_no_session(claims: Any) -> None:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = f"{body}.{session_sign(KEY, _SESSION_SALT, body)}"
    assert verify_session_token(token, now=NOW, key=KEY) is None


# --- the throttle -----------------------------------------------------------------------------


def test_forty_parallel_wrong_passwords_get_five_tries(auth: AdminAuth) -> None:
    def attempt(_: int) -> str:
        got = auth.login(USER, "sai mật khẩu", client="203.0.113.7", now=NOW)
        return "locked" if got.locked_for is not None else "tried"

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count("tried") == 5, outcomes
    assert auth.login(USER, PASSWORD, client="203.0.113.7", now=NOW).user is None


def test_a_stranger_cannot_lock_the_administrator_out(auth: AdminAuth) -> None:
    for _ in range(10):
        auth.login(USER, "đoán bừa", client="198.51.100.9", now=NOW)
    assert auth.login(USER, PASSWORD, client="198.51.100.9", now=NOW).locked_for is not None
    assert auth.login(USER, PASSWORD, client="10.0.0.5", now=NOW).user == USER


def test_the_delay_grows_with_each_lockout_and_a_quiet_window_forgives(auth: AdminAuth) -> None:
    client, at = "203.0.113.8", NOW
    for _ in range(5):
        assert auth.login(USER, "sai", client=client, now=at).locked_for is None
    first = auth.login(USER, "sai", client=client, now=at).locked_for
    assert first == dt.timedelta(seconds=30)
    at += first
    assert auth.login(USER, "sai", client=client, now=at).locked_for is None  # one more try
    second = auth.login(USER, PASSWORD, client=client, now=at).locked_for
    assert second == dt.timedelta(seconds=60)
    at += dt.timedelta(minutes=16)  # a quiet window
    assert auth.login(USER, PASSWORD, client=client, now=at).user == USER


def test_two_portal_processes_share_the_counter(auth: AdminAuth, engine: Engine) -> None:
    other = AdminAuth(auth.settings, data_dir=auth.data_dir, key=KEY, engine=engine)
    for one in (auth, other, auth, other, auth):
        assert one.login(USER, "sai", client="192.0.2.1", now=NOW).locked_for is None
    assert other.login(USER, PASSWORD, client="192.0.2.1", now=NOW).locked_for is not None


# --- the budget of one client across all user names ------------------------------------------

BUDGET = AdminSettings().admin_login_client_attempts


def test_one_client_trying_many_names_is_stopped_not_the_administrator(auth: AdminAuth) -> None:
    guesser = "198.51.100.20"
    for n in range(BUDGET):  # one wrong password for each of many names: no pair is locked
        assert auth.login(f"ten{n}", "đoán bừa", client=guesser, now=NOW).locked_for is None
    held = auth.login(USER, PASSWORD, client=guesser, now=NOW)
    assert held.user is None and held.locked_for == dt.timedelta(seconds=30)
    assert auth.login("ten-moi", "đoán bừa", client=guesser, now=NOW).locked_for is not None
    assert auth.login(USER, PASSWORD, client="10.0.0.5", now=NOW).user == USER  # elsewhere


def test_parallel_guesses_under_many_names_get_the_budget_exactly(auth: AdminAuth) -> None:
    def attempt(n: int) -> str:
        got = auth.login(f"ten{n}", "đoán bừa", client="203.0.113.70", now=NOW)
        return "locked" if got.locked_for is not None else "tried"

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(BUDGET + 20)))
    assert outcomes.count("tried") == BUDGET, outcomes


def test_the_client_delay_grows_and_a_success_does_not_wipe_it(auth: AdminAuth) -> None:
    client, at = "203.0.113.71", NOW
    for n in range(BUDGET - 1):
        assert auth.login(f"ten{n}", "sai", client=client, now=at).locked_for is None
    assert auth.login(USER, PASSWORD, client=client, now=at).user == USER  # not a failure…
    assert auth.login("ten-cuoi", "sai", client=client, now=at).locked_for is None
    first = auth.login("ten-khac", "sai", client=client, now=at).locked_for  # …nor a reset
    assert first == dt.timedelta(seconds=30)
    at += first
    assert auth.login("ten-sau", "sai", client=client, now=at).locked_for is None  # one more
    second = auth.login(USER, PASSWORD, client=client, now=at).locked_for
    assert second == dt.timedelta(seconds=60)
    at += dt.timedelta(minutes=16)  # a quiet window forgives
    assert auth.login(USER, PASSWORD, client=client, now=at).user == USER


def test_a_locked_pair_does_not_spend_the_client_budget(auth: AdminAuth) -> None:
    client = "203.0.113.72"
    for _ in range(BUDGET + 5):  # five tries, then refused before any password is checked
        auth.login(USER, "sai", client=client, now=NOW)
    assert auth.login("nguoi-khac", "sai", client=client, now=NOW).locked_for is None


def test_the_client_budget_is_a_vietnamese_429_on_the_login_page(
    auth: AdminAuth, engine: Engine
) -> None:
    client = _client(auth, engine)
    for n in range(BUDGET):
        form = {"csrf": _csrf(client), "user": f"ten{n}", "password": "đoán bừa"}
        assert client.post("/admin/login", data=form).status_code == 401
    form = {"csrf": _csrf(client), "user": USER, "password": PASSWORD}
    refused = client.post("/admin/login", data=form)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "31"
    assert "Đăng nhập sai quá nhiều lần" in refused.text
    assert "hbc_admin" not in refused.cookies


# --- the client's address ---------------------------------------------------------------------


def _request(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 50000), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "seen"),
    [
        ("203.0.113.5", "1.2.3.4", "", "203.0.113.5"),  # nobody trusted: header ignored
        ("203.0.113.5", "1.2.3.4", "127.0.0.1", "203.0.113.5"),  # not from the proxy
        ("127.0.0.1", "198.51.100.4", "127.0.0.1", "198.51.100.4"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.4", "127.0.0.1", "198.51.100.4"),  # spoofed left
        ("10.0.0.2", "198.51.100.4, 10.0.0.3", "10.0.0.0/8", "198.51.100.4"),  # two proxies
        ("127.0.0.1", None, "127.0.0.1", "127.0.0.1"),
        ("::1", "2001:db8::7", "::1", "2001:db8::7"),
    ],
)
def test_x_forwarded_for_counts_only_from_trusted_proxies(
    peer: str, forwarded: str | None, trusted: str, seen: str
) -> None:
    assert client_address(_request(peer, forwarded), trusted) == seen


def test_a_bad_trusted_proxy_setting_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="HANBAOCAO_TRUSTED_PROXIES"):
        AdminSettings(trusted_proxies="127.0.0.1, nginx")
