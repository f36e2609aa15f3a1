"""The fake Zalo server: it must behave like Zalo where the plugin relies on it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from notifications.fake_zalo import OA_PATH, OAUTH_PATH, ZNS_PATH, FakeZalo
from notifications.zalo_tokens import FileTokenStore


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    with FakeZalo(slow_seconds=0.2, lifetime=60) as server:
        yield server


def _post(fake: FakeZalo, path: str, payload: dict[str, Any], token: str) -> httpx.Response:
    return httpx.post(
        fake.base_url + path, json=payload, headers={"access_token": token}, timeout=5
    )


def _oa(user: str, text: str = "Xin chào") -> dict[str, Any]:
    return {"recipient": {"user_id": user}, "message": {"text": text}}


def _zns(phone: str, template: str = "1001") -> dict[str, Any]:
    return {"phone": phone, "template_id": template, "template_data": {"title": "t"}}


def _refresh(fake: FakeZalo, refresh_token: str, secret: str | None = None) -> httpx.Response:
    return httpx.post(
        fake.base_url + OAUTH_PATH,
        data={"refresh_token": refresh_token, "app_id": fake.app_id, "grant_type": "refresh_token"},
        headers={"secret_key": secret or fake.secret_key},
        timeout=5,
    )


def test_listens_on_loopback_with_a_reported_port(fake: FakeZalo) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"


def test_accepts_and_records_messages(fake: FakeZalo) -> None:
    token = fake.issue_pair()["access_token"]
    oa = _post(fake, OA_PATH, _oa("u1", "Hạn nộp: 15/10"), token)
    zns = _post(fake, ZNS_PATH, _zns("84912345678"), token)
    assert (oa.status_code, oa.json()["error"]) == (200, 0)
    assert (zns.status_code, zns.json()["error"]) == (200, 0)
    assert fake.messages[0] == {"schema": "zalooa", "recipient": "u1", "text": "Hạn nộp: 15/10"}
    assert fake.messages[1]["template_data"] == {"title": "t"}


ROWS = [
    # (path, payload, expected HTTP status, expected error code or None for non-JSON)
    (OA_PATH, _oa("refused"), 200, -139),
    (OA_PATH, _oa("blocked"), 200, -141),
    (OA_PATH, _oa("noaccount"), 200, -118),
    (OA_PATH, _oa("badparam"), 200, -201),
    (OA_PATH, _oa("quota"), 200, -32),
    (OA_PATH, _oa("ratelimited"), 429, -429),
    (OA_PATH, _oa("error500"), 500, -500),
    (OA_PATH, _oa("garbage"), 200, None),
    (OA_PATH, _oa("u", "x" * 2001), 200, -201),
    (OA_PATH, {"nonsense": 1}, 200, -201),
    (ZNS_PATH, _zns("84900000108"), 200, -108),
    (ZNS_PATH, _zns("84900000118"), 200, -118),
    (ZNS_PATH, _zns("84900000139"), 200, -139),
    (ZNS_PATH, _zns("84900000141"), 200, -141),
    (ZNS_PATH, _zns("84900000032"), 200, -32),
    (ZNS_PATH, _zns("0912345678"), 200, -108),
    (ZNS_PATH, _zns("84912345678", "unapproved"), 200, -131),
    (ZNS_PATH, _zns("84900000999"), 200, None),
    ("/nowhere", {}, 404, -404),
]


@pytest.mark.parametrize(("path", "payload", "status", "code"), ROWS)
def test_special_recipients(
    fake: FakeZalo, path: str, payload: dict[str, Any], status: int, code: int | None
) -> None:
    response = _post(fake, path, payload, fake.issue_pair()["access_token"])
    assert response.status_code == status
    if code is None:
        with pytest.raises(ValueError):
            response.json()
    else:
        assert response.json()["error"] == code
    assert fake.messages == []


def test_slow_recipient_answers_late(fake: FakeZalo) -> None:
    started = time.monotonic()
    response = _post(fake, OA_PATH, _oa("slow"), fake.issue_pair()["access_token"])
    assert response.json()["error"] == 0
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize(("path", "code"), [(OA_PATH, -216), (ZNS_PATH, -124)])
def test_invalid_and_expired_tokens_are_http_200_errors(
    fake: FakeZalo, path: str, code: int
) -> None:
    payload = _oa("u") if path == OA_PATH else _zns("84912345678")
    assert _post(fake, path, payload, "made-up").json()["error"] == code
    token = fake.issue_pair()["access_token"]
    fake.expire_access_tokens()
    response = _post(fake, path, payload, token)
    assert (response.status_code, response.json()["error"]) == (200, code)


def test_tokens_expire_after_their_ttl() -> None:
    with FakeZalo(token_ttl=0.2, lifetime=10) as fake:
        token = fake.issue_pair()["access_token"]
        assert _post(fake, OA_PATH, _oa("u"), token).json()["error"] == 0
        time.sleep(0.3)
        assert _post(fake, OA_PATH, _oa("u"), token).json()["error"] == -216


def test_http401_mode() -> None:
    with FakeZalo(token_error="http401", lifetime=10) as fake:
        assert _post(fake, OA_PATH, _oa("u"), "made-up").status_code == 401


def test_refresh_tokens_work_once(fake: FakeZalo) -> None:
    first = fake.issue_pair()
    answer = _refresh(fake, first["refresh_token"]).json()
    assert set(answer) == {"access_token", "refresh_token", "expires_in"}
    assert isinstance(answer["expires_in"], str)  # as Zalo sends it
    again = _refresh(fake, first["refresh_token"]).json()
    assert again == {"error": -14014, "error_name": "Invalid refresh token"}
    assert _refresh(fake, answer["refresh_token"], secret="wrong").json()["error"] == -14001
    assert fake.refresh_calls == 3


def test_stops_on_context_exit() -> None:
    with FakeZalo(lifetime=10) as fake:
        url = fake.base_url + OA_PATH
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, json={}, timeout=2)


def test_stops_by_itself_after_its_lifetime() -> None:
    fake = FakeZalo(lifetime=0.2).start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            httpx.post(fake.base_url + OA_PATH, json={}, timeout=1)
        except httpx.TransportError:  # refused, or reset while shutting down
            return
        time.sleep(0.1)
    fake.stop()
    pytest.fail("the fake did not stop after its lifetime")


def test_command_line_seeds_tokens_and_stops_by_itself(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    command = [sys.executable, "-m", "notifications.fake_zalo", "--port", "0", "--seconds", "1"]
    done = subprocess.run(
        [*command, "--tokens", str(tokens), "--oa-id", "42"],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "listening on http://127.0.0.1:" in done.stdout
    assert "zalooa://" in done.stdout and "zns://" in done.stdout
    assert FileTokenStore(tokens).get("42") is not None
