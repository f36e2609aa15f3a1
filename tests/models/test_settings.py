"""The one settings object: read from the environment, re-read when it changes, the only
reader of HANBAOCAO_* variables, and listed in the README."""

from __future__ import annotations

import re
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
