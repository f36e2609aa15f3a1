"""`hanbaocao db`, `agencies` and `calendar` as a user runs them, on a fresh data dir."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, run_cli


@pytest.fixture
def hb(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = cli_env(tmp_path)
    return lambda *args: run_cli(env, *args)


def test_registry_round_trip(hb, tmp_path: Path) -> None:
    before = hb("agencies", "list")
    assert before.returncode == 2 and "hanbaocao db upgrade" in before.stderr
    assert before.stderr.startswith("lỗi: cấu trúc cơ sở dữ liệu chưa được cập nhật")

    assert hb("db", "upgrade").returncode == 0
    again = hb("db", "upgrade")
    assert again.returncode == 0 and "đã ở phiên bản mới nhất" in again.stdout
    assert (tmp_path / "data" / "hanbaocao.db").exists()

    first = hb("agencies", "import")
    assert first.returncode == 0, first.stderr
    assert "thêm mới 174 cơ quan" in first.stdout
    second = hb("agencies", "import")
    assert "thêm mới 0 cơ quan, cập nhật 0" in second.stdout

    listed = hb("agencies", "list", "--on", "2026-01-01", "--group", "departments")
    assert listed.returncode == 0
    assert "Sở Tài chính tỉnh Quảng Ngãi" in listed.stdout
    assert "Sở Kế hoạch và Đầu tư" not in listed.stdout  # merged into Tài chính in 2025

    ics = tmp_path / "finance.ics"
    feed = hb("calendar", "--agency", "qng-so-tai-chinh", "-o", str(ics))
    assert feed.returncode == 0, feed.stderr
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    unknown = hb("calendar", "--agency", "no-such-code")
    assert unknown.returncode == 2 and "không có cơ quan mã 'no-such-code'" in unknown.stderr


def test_bad_registry_is_reported_whole_and_not_imported(hb, tmp_path: Path) -> None:
    hb("db", "upgrade")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "province: quang-ngai\nagencies:\n"
        "  - code: a\n    name: Sở A\n    kind: department\n"
        "  - code: a\n    name: Sở B\n    kind: spaceship\n",
        encoding="utf-8",
    )
    result = hb("agencies", "import", str(bad))
    assert result.returncode == 2
    assert "chưa nhập gì" in result.stderr
    assert "dòng 6" in result.stderr and "dòng 8" in result.stderr
    assert "Traceback" not in result.stderr
    listed = hb("agencies", "list")
    assert "0 cơ quan" in listed.stdout
