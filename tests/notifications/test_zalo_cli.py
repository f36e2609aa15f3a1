"""Done-when of the Zalo channels, as an operator runs it: `hanbaocao zalo authorize`
then `hanbaocao notify test` for an agency with a Zalo user id and a mobile number
delivers over OA and ZNS with zero contract violations of the strict fake; `zalo
status`; `outbox held|retry`; the weekly refresh."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.fake_zalo import FakeZalo
from notifications.zalo_tokens import FileTokenStore, TokenPair
from tests.cli.conftest import cli_env, run_cli

APP, SECRET, OA = "app1", "s3cr3t-app-key", "4321"
USER_ID = "1234567890123"
REGISTRY = f"""
province: quang-ngai
title: Thử nghiệm kênh Zalo
sources: [thử nghiệm]
agencies:
  - code: qng-so-thu
    name: Sở Thử nghiệm tỉnh Quảng Ngãi
    kind: department
    contacts:
      - {{channel: zalo, address: "{USER_ID}", label: Cán bộ đầu mối}}
      - {{channel: zns, address: "0912 345 678", label: Văn thư}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[FakeZalo, dict[str, str], Path]]:
    with FakeZalo(app_id=APP, secret_key=SECRET, lifetime=120) as fake:
        tokens = tmp_path / "zalo_tokens.json"
        api = f"api={fake.base_url}&oauth={fake.base_url}&tokens={tokens}"
        env = cli_env(
            tmp_path,
            HANBAOCAO_ZALO_OA_URL=f"zalooa://{APP}:{SECRET}@{OA}?{api}",
            HANBAOCAO_ZNS_URL=f"zns://{APP}:{SECRET}@{OA}?{api}",
            HANBAOCAO_ZNS_TEMPLATE="1001",
        )
        registry = tmp_path / "registry.yaml"
        registry.write_text(REGISTRY, encoding="utf-8")
        assert run_cli(env, "db", "upgrade").returncode == 0
        imported = run_cli(env, "agencies", "import", str(registry))
        assert imported.returncode == 0, imported.stdout + imported.stderr
        yield fake, env, tokens


def test_authorize_then_notify_test_delivers_over_oa_and_zns(
    setup: tuple[FakeZalo, dict[str, str], Path],
) -> None:
    fake, env, _tokens = setup
    first = fake.issue_pair()["refresh_token"]  # what Zalo's consent screen gives
    done = run_cli(env, "zalo", "authorize", "--oa", OA, "--refresh-token", "-", stdin=first)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Đã lưu token của OA {OA}" in done.stdout
    assert first not in done.stdout + done.stderr
    assert fake.refresh_calls == 1

    result = run_cli(env, "notify", "test", "--agency", "qng-so-thu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("đã gửi tới") == 2
    assert SECRET not in result.stdout + result.stderr
    oa, zns = sorted(fake.messages, key=lambda m: str(m["schema"]))
    assert (oa["schema"], oa["kind"], oa["recipient"]) == ("zalooa", "transaction", USER_ID)
    assert (zns["recipient"], zns["template_id"]) == ("84912345678", "1001")
    assert zns["template_data"]["ten_co_quan"] == "Sở Thử nghiệm tỉnh Quảng Ngãi"
    assert fake.violations == []
    assert fake.refresh_calls == 1  # the stored pair was used as it is

    # An expiry in the middle of the run costs exactly one refresh.
    fake.expire_access_tokens()
    again = run_cli(env, "notify", "test", "--agency", "qng-so-thu")
    assert again.returncode == 0, again.stdout + again.stderr
    assert fake.refresh_calls == 2 and len(fake.messages) == 4 and fake.violations == []


def test_authorize_refused_is_said_and_stores_nothing(
    setup: tuple[FakeZalo, dict[str, str], Path],
) -> None:
    _fake, env, tokens = setup
    done = run_cli(env, "zalo", "authorize", "--oa", OA, "--refresh-token", "made-up")
    assert done.returncode == 1
    assert "Zalo từ chối refresh token" in done.stderr and "Traceback" not in done.stderr
    assert not tokens.exists() or FileTokenStore(tokens).get(OA) is None
    unknown = run_cli(env, "zalo", "authorize", "--oa", "999", "--refresh-token", "x")
    assert unknown.returncode == 2 and "OA 999 không có trong cấu hình" in unknown.stderr


def test_status_shows_age_and_expiry(setup: tuple[FakeZalo, dict[str, str], Path]) -> None:
    _fake, env, tokens = setup
    missing = run_cli(env, "zalo", "status")
    assert missing.returncode == 1 and "chưa cấp quyền" in missing.stdout
    issued = 1_796_000_000.0  # 2026-11-30 07:53:20 in Vietnam
    FileTokenStore(tokens).put(OA, TokenPair("a", "r", issued + 90_000, issued))
    env = {**env, "HANBAOCAO_NOW": "2026-12-07T09:53:20+07:00"}  # 7 days 2 hours later
    shown = run_cli(env, "zalo", "status")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "7 ngày 2 giờ" in shown.stdout
    assert "07:53 28/02/2027" in shown.stdout  # the refresh token's three months
    assert "access token đã hết hạn" in shown.stdout


def test_weekly_refresh_spends_each_oa_once_and_alerts_on_refusal(
    setup: tuple[FakeZalo, dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlmodel import Session, select

    from flows import events
    from flows.zalo_refresh import refresh_all
    from models.db import get_engine
    from models.tables import AuditEvent

    fake, env, tokens = setup
    for name in ("HANBAOCAO_DATA_DIR", "HANBAOCAO_ZALO_OA_URL", "HANBAOCAO_ZNS_URL"):
        monkeypatch.setenv(name, env[name])
    sent: list[tuple[str, dict[str, object]]] = []  # the Prefect API is the outermost call
    monkeypatch.setattr(events, "emit", lambda event, **kw: sent.append((event, kw["payload"])))
    FileTokenStore(tokens).put(OA, _pair(fake))
    assert refresh_all() == {OA: "ok"}  # two URLs name the OA: refreshed once
    assert fake.refresh_calls == 1 and sent == []

    FileTokenStore(tokens).put(OA, TokenPair("a", "spent", time.time() + 9e4, time.time()))
    outcome = refresh_all()
    assert "Zalo từ chối refresh token" in outcome[OA]
    [(event, payload)] = sent
    assert event == events.ZALO_REFRESH_FAILED and payload["oa_id"] == OA
    with Session(get_engine()) as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("zalo.refresh_failed") == 1


def _pair(fake: FakeZalo) -> TokenPair:
    from notifications.zalo_tokens import pair_from_answer

    return pair_from_answer(fake.issue_pair())


def test_outbox_held_and_retry_with_nothing_held(tmp_path: Path) -> None:
    # Held rows and their release: tests/notifications/test_holds.py.
    env = cli_env(tmp_path)
    assert run_cli(env, "db", "upgrade").returncode == 0
    nothing = run_cli(env, "outbox", "held")
    assert nothing.returncode == 0 and "Không có kênh nào" in nothing.stdout
    retry = run_cli(env, "outbox", "retry", "--channel", "email")
    assert retry.returncode == 0 and "Không có tin nào đang tạm giữ ở kênh email" in retry.stdout
