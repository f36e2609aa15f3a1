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

from notifications.fake_zalo import (
    OA_CS_PATH,
    OA_PATH,
    OAUTH_PATH,
    ZNS_PATH,
    FakeZalo,
    special_phone,
    special_user,
)
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
    """A consultation text (``cs``)."""
    return {"recipient": {"user_id": user}, "message": {"text": text}}


def _tx(user: str, header: str = "Nhắc hạn", **extra: Any) -> dict[str, Any]:
    """A transaction message."""
    payload = {
        "template_type": "transaction_internal",
        "language": "VI",
        "elements": [{"type": "header", "content": header}],
        **extra,
    }
    return {
        "recipient": {"user_id": user},
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


PARAMS = {
    "ten_co_quan": "Sở Tài chính",
    "ten_bao_cao": "Báo cáo năm 2026",
    "ky_bao_cao": "Năm 2026",
    "han_nop": "15/12/2026",
    "tinh_trang": "Còn 3 ngày làm việc",
    "noi_dung": "Nhắc hạn",
    "link_bao_cao": "https://baocao.example.vn/submit/x",
}


def _zns(phone: str, template: str = "1001", **data: Any) -> dict[str, Any]:
    params = {k: v for k, v in {**PARAMS, **data}.items() if v is not None}
    return {"phone": phone, "template_id": template, "template_data": params}


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
    fake.recent_users.add("11")
    cs = _post(fake, OA_CS_PATH, _oa("11", "Hạn nộp: 15/10"), token)
    tx = _post(fake, OA_PATH, _tx("12"), token)
    zns = _post(fake, ZNS_PATH, _zns("84912345678"), token)
    assert [r.json()["error"] for r in (cs, tx, zns)] == [0, 0, 0]
    assert fake.messages[0] == {
        "schema": "zalooa",
        "kind": "cs",
        "recipient": "11",
        "message": {"text": "Hạn nộp: 15/10"},
    }
    assert fake.messages[1]["kind"] == "transaction"
    assert fake.messages[2]["template_data"] == PARAMS
    assert fake.violations == []


NO_URL_BUTTON = {"title": "x", "type": "oa.open.url", "payload": {}}
ROWS = [
    # (path, payload, expected HTTP status, expected error code or None for non-JSON,
    #  a contract violation?)
    (OA_PATH, _tx(special_user(-139)), 200, -139, False),
    (OA_PATH, _tx(special_user(-141)), 200, -141, False),
    (OA_PATH, _tx(special_user(-118)), 200, -118, False),
    (OA_PATH, _tx(special_user(-32)), 200, -32, False),
    (OA_PATH, _tx(special_user(429)), 429, -429, False),
    (OA_PATH, _tx(special_user(500)), 500, -500, False),
    (OA_PATH, _tx(special_user(999)), 200, None, False),
    (OA_CS_PATH, _oa("13"), 200, -230, False),  # not a recent user
    (OA_CS_PATH, _oa("13", "x" * 2001), 200, -201, True),
    (OA_CS_PATH, _oa("13", "a\r\nb"), 200, -201, True),
    (OA_CS_PATH, _oa("u1"), 200, -201, True),  # user ids are digits
    (OA_PATH, _oa("13"), 200, -201, True),  # transaction needs the template attachment
    (OA_PATH, _tx("13", header=""), 200, -201, True),  # empty header
    (OA_PATH, _tx("13", header="x" * 101), 200, -201, True),
    (OA_PATH, _tx("13", buttons=[NO_URL_BUTTON]), 200, -201, True),
    (OA_PATH, {"nonsense": 1}, 200, -201, True),
    (ZNS_PATH, _zns(special_phone(-108)), 200, -108, False),
    (ZNS_PATH, _zns(special_phone(-118)), 200, -118, False),
    (ZNS_PATH, _zns(special_phone(-115)), 200, -115, False),
    (ZNS_PATH, _zns(special_phone(-144)), 200, -144, False),
    (ZNS_PATH, _zns("0912345678"), 200, -108, True),
    (ZNS_PATH, _zns("84212345678"), 200, -108, True),  # a landline
    (ZNS_PATH, _zns("84912345678", "unapproved"), 200, -131, False),
    (ZNS_PATH, _zns("84912345678", "42"), 200, -109, True),
    (ZNS_PATH, _zns("84912345678", ten_co_quan=None), 200, -1122, True),
    (ZNS_PATH, _zns("84912345678", ten_co_quan=" "), 200, -111, True),
    (ZNS_PATH, _zns("84912345678", ten_co_quan="x" * 101), 200, -1121, True),
    (ZNS_PATH, _zns("84912345678", title="extra"), 200, -201, True),
    (ZNS_PATH, _zns(special_phone(999)), 200, None, False),
    ("/nowhere", {}, 404, -404, True),
]


@pytest.mark.parametrize(("path", "payload", "status", "code", "violation"), ROWS)
def test_refusals_and_contract_violations(
    fake: FakeZalo,
    path: str,
    payload: dict[str, Any],
    status: int,
    code: int | None,
    violation: bool,
) -> None:
    response = _post(fake, path, payload, fake.issue_pair()["access_token"])
    assert response.status_code == status
    if code is None:
        with pytest.raises(ValueError):
            response.json()
    else:
        assert response.json()["error"] == code
    assert fake.messages == []
    assert bool(fake.violations) is violation


def test_headers_are_part_of_the_contract(fake: FakeZalo) -> None:
    token = fake.issue_pair()["access_token"]
    as_form = httpx.post(
        fake.base_url + ZNS_PATH, data={"phone": "84912345678"}, headers={"access_token": token}
    )
    assert as_form.json()["error"] == -201
    no_token = httpx.post(fake.base_url + ZNS_PATH, json=_zns("84912345678"))
    assert no_token.json()["error"] == -124
    assert len(fake.violations) == 1  # a missing token is Zalo's ordinary refusal


def test_slow_recipient_answers_late(fake: FakeZalo) -> None:
    started = time.monotonic()
    response = _post(fake, OA_PATH, _tx(special_user(998)), fake.issue_pair()["access_token"])
    assert response.json()["error"] == 0
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize(("path", "code"), [(OA_PATH, -216), (ZNS_PATH, -124)])
def test_invalid_and_expired_tokens_are_http_200_errors(
    fake: FakeZalo, path: str, code: int
) -> None:
    payload = _tx("13") if path == OA_PATH else _zns("84912345678")
    assert _post(fake, path, payload, "made-up").json()["error"] == code
    token = fake.issue_pair()["access_token"]
    fake.expire_access_tokens()
    response = _post(fake, path, payload, token)
    assert (response.status_code, response.json()["error"]) == (200, code)


class ManualClock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_tokens_expire_after_their_ttl() -> None:
    clock = ManualClock()
    with FakeZalo(token_ttl=3600, clock=clock, lifetime=60) as fake:
        token = fake.issue_pair()["access_token"]
        assert _post(fake, OA_PATH, _tx("13"), token).json()["error"] == 0
        clock.advance(3599)
        assert _post(fake, OA_PATH, _tx("13"), token).json()["error"] == 0
        clock.advance(1)
        assert _post(fake, OA_PATH, _tx("13"), token).json()["error"] == -216


def test_http401_mode() -> None:
    with FakeZalo(token_error="http401", lifetime=10) as fake:
        assert _post(fake, OA_PATH, _tx("13"), "made-up").status_code == 401


def test_refresh_tokens_work_once(fake: FakeZalo) -> None:
    first = fake.issue_pair()
    answer = _refresh(fake, first["refresh_token"]).json()
    assert set(answer) == {"access_token", "refresh_token", "expires_in"}
    assert isinstance(answer["expires_in"], str)  # as Zalo sends it
    again = _refresh(fake, first["refresh_token"]).json()
    assert again == {"error": -14014, "error_name": "Invalid refresh token"}
    assert _refresh(fake, answer["refresh_token"], secret="wrong").json()["error"] == -14001
    assert fake.refresh_calls == 3 and fake.refresh_refused == 2
    assert fake.violations == []


def test_refresh_form_is_checked(fake: FakeZalo) -> None:
    pair = fake.issue_pair()
    as_json = httpx.post(
        fake.base_url + OAUTH_PATH,
        json={"refresh_token": pair["refresh_token"], "app_id": fake.app_id},
        headers={"secret_key": fake.secret_key},
    )
    assert as_json.json()["error"] == -14002 and len(fake.violations) == 1


def test_a_lost_refresh_answer_still_spends_the_token(fake: FakeZalo) -> None:
    pair = fake.issue_pair()
    fake.drop_refresh_answers = 1
    with pytest.raises(httpx.RemoteProtocolError):
        _refresh(fake, pair["refresh_token"])
    assert _refresh(fake, pair["refresh_token"]).json()["error"] == -14014


def test_stops_on_context_exit() -> None:
    with FakeZalo(lifetime=10) as fake:
        url = fake.base_url + OA_PATH
    with pytest.raises(httpx.ConnectError):
        httpx.post(url, json={}, timeout=2)


def test_stops_by_itself_after_its_lifetime() -> None:
    fake = FakeZalo(lifetime=0.2).start()
    deadline = time.monotonic() + 30  # generous: a busy machine may run the timer late
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
