"""`hanbaocao holidays`: the days off that are only "dự kiến", and confirming them."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import cli_env, run_cli


def test_listing_marks_the_undecreed_days_and_confirming_clears_them(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    listed = run_cli(env, "holidays", "list", "--year", "2027")
    assert listed.returncode == 0, listed.stderr
    tet = next(line for line in listed.stdout.splitlines() if "08/02/2027" in line)
    assert "dự kiến" in tet
    assert "9 ngày nghỉ dự kiến" in listed.stdout

    done = run_cli(
        env, "holidays", "confirm", "--tet", "2027", "--source", "Quyết định của Thủ tướng (ví dụ)"
    )
    assert done.returncode == 0, done.stderr
    assert "Đã xác nhận Tết Nguyên đán năm 2027" in done.stdout
    saved = (tmp_path / "data" / "holiday-overrides.yaml").read_text(encoding="utf-8")
    assert "Quyết định của Thủ tướng (ví dụ)" in saved
    again = run_cli(env, "holidays", "list", "--year", "2027")
    tet = next(line for line in again.stdout.splitlines() if "08/02/2027" in line)
    assert "chính thức" in tet and "2 ngày nghỉ dự kiến" in again.stdout

    day = run_cli(env, "holidays", "confirm", "--day", "2027-11-24", "--source", "Luật (ví dụ)")
    assert day.returncode == 0, day.stderr
    assert "1 ngày nghỉ dự kiến" in run_cli(env, "holidays", "list", "--year", "2027").stdout


def test_bad_confirmations_are_refused_and_write_nothing(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for args, message in (
        (("--day", "2027-01-01"), "không phải ngày nghỉ dự kiến"),
        (("--day", "2027-13-01"), "không hợp lệ"),
        ((), "chọn đúng một"),
        (("--tet", "2027", "--quoc-khanh", "2027"), "chọn đúng một"),
    ):
        result = run_cli(env, "holidays", "confirm", *args, "--source", "x")
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "holiday-overrides.yaml").exists()
