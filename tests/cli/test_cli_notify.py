"""`hanbaocao notify test` against a real SMTP sink and the local Zalo fake."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.fake_zalo import FakeZalo
from notifications.mailsink import SINK_FROM, MailSink
from notifications.zalo_tokens import FileTokenStore, pair_from_answer
from tests.cli.conftest import cli_env, run_cli

SECRET = "s3cr3t-app-key"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[MailSink, FakeZalo, dict[str, str]]]:
    with MailSink() as sink, FakeZalo() as zalo:
        tokens = tmp_path / "zalo_tokens.json"
        FileTokenStore(tokens).put("oa1", pair_from_answer(zalo.issue_pair()))
        api = f"api={zalo.base_url}&oauth={zalo.base_url}&tokens={tokens}"
        env = cli_env(
            tmp_path,
            HANBAOCAO_SMTP_URL=f"mailto://127.0.0.1:{sink.port}?from={SINK_FROM}",
            HANBAOCAO_ZNS_URL=f"zns://app1:{SECRET}@oa1?{api}",
            HANBAOCAO_ZNS_TEMPLATE="1001",  # the fake's approved template
        )
        yield sink, zalo, env


def hb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args)


def test_each_channel_is_tried_and_reported(
    services: tuple[MailSink, FakeZalo, dict[str, str]],
) -> None:
    sink, zalo, env = services
    assert hb(env, "db", "upgrade").returncode == 0
    assert hb(env, "agencies", "import").returncode == 0

    result = hb(env, "notify", "test", "--agency", "qng-so-tai-chinh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("đã gửi tới") == 2
    assert SECRET not in result.stdout + result.stderr  # secrets only ever masked

    (mail,) = sink.messages()
    assert (
        mail["Subject"]
        == "[Thử nghiệm] Kênh nhận thông báo hạn báo cáo — Sở Tài chính tỉnh Quảng Ngãi"
    )
    assert mail["To"].endswith("so-tai-chinh@example.invalid")
    (zns,) = zalo.messages
    assert zns["template_data"]["ten_co_quan"] == "Sở Tài chính tỉnh Quảng Ngãi"
    assert zalo.violations == []


def test_unconfigured_channel_is_reported(
    services: tuple[MailSink, FakeZalo, dict[str, str]],
) -> None:
    _sink, _zalo, env = services
    env = {k: v for k, v in env.items() if k != "HANBAOCAO_ZNS_URL"}
    hb(env, "db", "upgrade")
    hb(env, "agencies", "import")
    result = hb(env, "notify", "test", "--agency", "qng-so-tai-chinh")
    assert result.returncode == 1
    assert "chưa cấu hình" in result.stdout and "HANBAOCAO_ZNS_URL" in result.stdout
    assert "đã gửi tới" in result.stdout  # the email still went out
