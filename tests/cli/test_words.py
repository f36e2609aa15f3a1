"""Typer's own words (usage, panels, the help option, parameter errors) reach the
administrator in Vietnamese: a real subprocess, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.words import translate, type_label
from tests.cli.conftest import cli_env, run_cli

ENV = cli_env(Path("/nonexistent-home"))
ENGLISH = (
    "Usage:",
    "Options",
    "Commands",
    "Show this message",
    "Missing",
    "No such",
    "Invalid",
    "Value error",
    "is not one of",
    "[OPTIONS]",
    "COMMAND",
    "[ARGS]",
    "<str>",
    "<int>",
    "<bool>",
    "list[",
)


def test_help_is_vietnamese_throughout() -> None:
    result = run_cli(ENV, "--help")
    assert result.returncode == 0, result.stderr
    assert "Cách dùng:" in result.stdout and "Tuỳ chọn" in result.stdout and "Lệnh" in result.stdout
    assert " [TUỲ CHỌN] LỆNH [ĐỐI SỐ]..." in result.stdout
    assert "Hiện trợ giúp này và thoát." in result.stdout
    assert not [word for word in ENGLISH if word in result.stdout]
    # a docstring's wrapped lines are joined: no line of the listing breaks mid-sentence
    assert "PREFECT_API_URL đã có máy chủ), cơ sở dữ liệu" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("ingest",), "Thiếu đối số 'files'."),
        (("parse", "--bogus", "x"), "Không có tuỳ chọn --bogus."),
        (("cycles", "show", "abc"), "Giá trị không hợp lệ cho 'cycle_id': cần là một số nguyên"),
        (("khong-co",), "Không có lệnh 'khong-co'."),
        (
            ("obligations", "edit", "1", "--frequency", "sometimes"),
            "Giá trị không hợp lệ cho '--frequency': 'sometimes' không phải một trong các giá trị",
        ),
    ],
)
def test_a_usage_error_says_what_is_wrong_in_vietnamese(args: tuple[str, ...], said: str) -> None:
    result = run_cli(ENV, *args)
    assert result.returncode == 2
    text = " ".join(result.stderr.split())
    assert said in text, result.stderr
    assert "Lỗi" in text and not [word for word in ENGLISH if word in text]


def test_an_unknown_message_is_left_as_written() -> None:
    assert translate("Something new happened.") == "Something new happened."


def test_the_values_parameters_take_are_said_in_vietnamese() -> None:
    result = run_cli(ENV, "obligations", "edit", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "<số nguyên>" in text  # the obligation's number
    assert "<văn bản, nhiều lần>" in text  # --add-submitter, which may be repeated
    assert "<open|next>" in text  # a choice shows its values
    assert not [word for word in ENGLISH if word in result.stdout]
    # a flag takes no value: nothing stands between it and its help
    assert "--accept-suggestion Nhận nhóm kế thừa" in text


@pytest.mark.parametrize(
    ("typer", "said"),
    [
        ("<float>", "<số>"),
        ("<list[Path]>", "<đường dẫn, nhiều lần>"),
        ("<int range>", "<số nguyên trong khoảng>"),
        ("<directory>", "<thư mục>"),
        ("<a|b>", "<a|b>"),
    ],
)
def test_type_labels(typer: str, said: str) -> None:
    assert type_label(typer) == said
