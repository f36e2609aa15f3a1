"""What the models refuse reaches the administrator through the real CLI in Vietnamese: a bad
registry file, a bad HANBAOCAO_* value, a deadline the calendar cannot place. One line
each (the registry adds its heading), the CLI's exit code, no English, no traceback."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, cli_env, run_cli

SEED = ROOT / "examples" / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
# Words of the English messages these replaced; field names and codes (kind, code) stay.
ENGLISH = re.compile(
    r"\b(line|unknown|problems?|cannot|must|needs|should|not a|is not|input|valid)\b",
    re.IGNORECASE,
)


def lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_vietnamese(text: str) -> None:
    assert not ENGLISH.search(text), text
    assert unicodedata.is_normalized("NFC", text)
    assert "Traceback" not in text


def test_the_english_detector_can_fail() -> None:
    with pytest.raises(AssertionError):
        assert_vietnamese("line 7: unknown kind 'sở'")
    with pytest.raises(AssertionError):
        assert_vietnamese("Input should be a valid number")


def test_a_bad_registry_file(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    assert run_cli(env, "db", "upgrade").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "province: quang-ngai\nagencies:\n  - code: qng-a\n    name: Sở A\n    kind: sở\n",
        encoding="utf-8",
    )

    result = run_cli(env, "agencies", "import", str(bad))

    assert result.returncode == 2
    heading, problem = lines(result.stderr)
    assert heading == f"{bad}: 1 lỗi, chưa nhập gì"
    assert problem.strip().startswith("dòng 5: kind 'sở' không hợp lệ (chọn một trong: department")
    assert_vietnamese(result.stderr)


def test_a_bad_settings_value(tmp_path: Path) -> None:
    env = cli_env(tmp_path, HANBAOCAO_UPLOAD_MAX_MB="nhiều")

    result = run_cli(env, "agencies", "list")

    assert result.returncode == 2
    [line] = lines(result.stderr)
    assert line.startswith("lỗi cấu hình: biến môi trường không hợp lệ (HANBAOCAO_UPLOAD_MAX_MB: ")
    assert "giá trị 'nhiều' không dùng được, cần một số MB lớn hơn 0" in line
    assert_vietnamese(result.stderr)


def test_a_refused_deadline(tmp_path: Path) -> None:
    env = cli_env(tmp_path, COLUMNS="400")
    for args in (("db", "upgrade"), ("agencies", "import"), ("ingest", str(SEED))):
        done = run_cli(env, *args)
        assert done.returncode == 0, done.stderr

    result = run_cli(
        env, "obligations", "edit", "1", "--frequency", "monthly", "--deadline", "20/12"
    )

    # Bad input typed on the command line: code 2, as for the CLI's other bad input; the
    # refusal, then "nothing was kept".
    assert result.returncode == 2
    refusal, kept = lines(result.stderr)
    assert refusal.startswith("lỗi: nghĩa vụ 1: hạn “trước ngày 20/12” không dùng được cho ")
    assert "báo cáo hằng tháng chỉ ghi ngày trong tháng" in refusal
    assert kept == "Không có thay đổi nào được lưu."
    assert_vietnamese(result.stderr)
    shown = run_cli(env, "obligations", "show", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"monthly"' not in shown.stdout  # the frequency typed with it was not kept


def test_an_unreadable_deadline(tmp_path: Path) -> None:
    env = cli_env(tmp_path, COLUMNS="400")
    for args in (("db", "upgrade"), ("agencies", "import"), ("ingest", str(SEED))):
        done = run_cli(env, *args)
        assert done.returncode == 0, done.stderr

    result = run_cli(env, "obligations", "edit", "1", "--deadline", "31/2")

    assert result.returncode == 2
    [line] = lines(result.stderr)
    assert line == "lỗi: --deadline: không có ngày này: “31/2”"
    assert_vietnamese(result.stderr)
