"""The one settings object: read from the environment, re-read when it changes, the only
reader of HANBAOCAO_* variables, and listed in the README."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from pydantic import ValidationError

from models import settings as config
from models.settings import Settings, markdown_table, settings

ROOT = Path(__file__).parents[2]
PACKAGES = ("directives", "models", "notifications", "portal", "flows", "cli", "bench")
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
# A read of a HANBAOCAO_* variable: getenv, environ.get, or environ[...] not assigned to.
READ = re.compile(
    r"""(getenv|environ\.get|environ\.setdefault)\(\s*["']HANBAOCAO_"""
    r"""|environ\[\s*["']HANBAOCAO_\w+["']\s*\](?!\s*=[^=])"""
)


def test_settings_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANBAOCAO_PROVINCE", "kon-tum")
    first = settings()
    assert first.province == "kon-tum"
    assert settings() is first  # one object while the environment stays
    monkeypatch.setenv("HANBAOCAO_PROVINCE", "quang-ngai")
    assert settings().province == "quang-ngai"


def test_other_variables_keep_the_object(monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings()
    monkeypatch.setenv("SOME_OTHER_PROGRAM_VARIABLE", "1")  # re-checked, same settings
    assert settings() is first
    monkeypatch.setenv("HANBAOCAO_PROVINCE", "kon-tum")
    assert settings() is not first and settings().province == "kon-tum"
    monkeypatch.delenv("HANBAOCAO_PROVINCE")
    assert settings().province == first.province


def test_reset_forgets_the_object() -> None:
    first = settings()
    config.reset()
    assert settings() is not first


def test_prefect_variables_keep_their_own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_UI_URL", "http://ui.example:4200/")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert settings().ui == "http://ui.example:4200"
    assert settings().api == "http://ui.example:4200/api"
    assert Settings(prefect_api_url="http://api.example/api/").api == "http://api.example/api"


def test_bad_trusted_proxies_are_named() -> None:
    with pytest.raises(ValidationError, match="HANBAOCAO_TRUSTED_PROXIES"):
        Settings(trusted_proxies="127.0.0.1, nginx")


def test_the_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert BEGIN in readme and END in readme
    shown = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert shown == markdown_table(), (
        "the README's settings table is stale: paste `python -m models.settings` between "
        f"{BEGIN} and {END}"
    )


def test_only_the_settings_module_reads_the_variables() -> None:
    readers = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "models" / "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            for found in READ.finditer(text):
                number = text.count("\n", 0, found.start()) + 1
                readers.append(f"{path.relative_to(ROOT)}:{number}: {found.group(0)}")
    assert readers == []


def test_the_reader_pattern_can_fail() -> None:
    assert READ.search('os.environ.get("HANBAOCAO_NOW")')
    assert READ.search('os.environ.get(\n    "HANBAOCAO_BENCH_PG_URL", "x"\n)')
    assert READ.search("x = os.environ['HANBAOCAO_SMTP_URL']")
    assert not READ.search('os.environ["HANBAOCAO_SMTP_URL"] = url')


def test_a_bad_variable_is_told_in_vietnamese(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.output import settings_problem

    monkeypatch.setenv("HANBAOCAO_UPLOAD_MAX_MB", "nhiều")
    with pytest.raises(ValidationError) as caught:
        settings()
    problem = settings_problem(caught.value)
    assert problem is not None
    assert problem.startswith("biến môi trường không hợp lệ (HANBAOCAO_UPLOAD_MAX_MB: ")
    assert settings_problem(ValueError("other")) is None


# (variable, value given, what the refusal says is expected)
REFUSED = [
    ("HANBAOCAO_UPLOAD_MAX_MB", "nhiều", "cần một số MB lớn hơn 0"),
    ("HANBAOCAO_UPLOAD_MAX_MB", "0", "cần một số MB lớn hơn 0"),
    ("HANBAOCAO_UPLOAD_MAX_FILES", "2.5", "cần một số nguyên lớn hơn 0"),
    ("HANBAOCAO_UPLOAD_CONCURRENCY", "-1", "cần một số nguyên lớn hơn 0"),
    ("HANBAOCAO_SMTP_TIMEOUT", "mười", "cần một số giây lớn hơn 0"),
    ("HANBAOCAO_BODY_GRACE_SECONDS", "-5", "cần một số giây từ 0 trở lên"),
    ("HANBAOCAO_ADMIN_SESSION_HOURS", "0", "cần một số giờ lớn hơn 0"),
    ("HANBAOCAO_ADMIN_LOGIN_WINDOW_MINUTES", "abc", "cần một số phút lớn hơn 0"),
    ("HANBAOCAO_SQLITE_BUSY_SECONDS", "0", "cần một số giây lớn hơn 0"),
    ("HANBAOCAO_NOW", "2026-12-21T08:00", "cần một thời điểm ISO 8601 có múi giờ"),
    ("HANBAOCAO_NOW", "thứ hai", "cần một thời điểm ISO 8601 có múi giờ"),
    ("HANBAOCAO_PUBLIC_URL", "baocao.example.vn", "bắt đầu bằng http:// hoặc https://"),
    ("PREFECT_UI_URL", "127.0.0.1:4200", "bắt đầu bằng http:// hoặc https://"),
    ("HANBAOCAO_SMTP_URL", "smtp://mail.example.vn", "mailto:// hoặc mailtos://"),
    ("HANBAOCAO_ZALO_OA_URL", "zalo://app:secret@1", "zalooa://APP_ID:SECRET@OA_ID"),
    ("HANBAOCAO_ZNS_URL", "https://zalo.example", "zns://APP_ID:SECRET@OA_ID"),
    ("HANBAOCAO_SENDER", "chủ tịch", "office (Văn phòng UBND tỉnh ký) hoặc lead"),
    ("HANBAOCAO_PROVINCE", "Quảng Ngãi", "ví dụ quang-ngai"),
    ("HANBAOCAO_DATABASE_URL", "hanbaocao.db", "một URL cơ sở dữ liệu"),
    ("HANBAOCAO_DATA_DIR", "", "một đường dẫn thư mục"),
    ("HANBAOCAO_TRUSTED_PROXIES", "127.0.0.1, nginx", "các địa chỉ IP hoặc mạng"),
]


@pytest.mark.parametrize(("variable", "given", "expected"), REFUSED)
def test_a_refused_value_names_the_variable_the_value_and_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, variable: str, given: str, expected: str
) -> None:
    monkeypatch.setenv(variable, given)
    with pytest.raises(ValidationError) as caught:
        settings()
    [error] = caught.value.errors()
    message = error["msg"].removeprefix("Value error, ")
    assert message.startswith(f"{variable}: giá trị {given!r} không dùng được, cần ")
    assert expected in message
    assert unicodedata.is_normalized("NFC", message)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HANBAOCAO_UPLOAD_MAX_MB", "0.5"),
        ("HANBAOCAO_BODY_GRACE_SECONDS", "0"),
        ("HANBAOCAO_NOW", "2026-12-21T08:00+07:00"),
        ("HANBAOCAO_NOW", ""),
        ("HANBAOCAO_PUBLIC_URL", "HTTPS://baocao.example.vn"),
        ("HANBAOCAO_SMTP_URL", "mailtos://u:p@mail.example.vn:465"),
        ("HANBAOCAO_SMTP_URL", ""),
        ("HANBAOCAO_SENDER", "lead"),
        ("HANBAOCAO_PROVINCE", "kon-tum"),
        ("HANBAOCAO_DATABASE_URL", "postgresql+psycopg://u@db:5432/hb"),
        ("HANBAOCAO_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
    ],
)
def test_good_values_pass_their_rules(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert settings() is not None


def test_the_defaults_pass_every_rule() -> None:
    assert Settings().sender == "office"
