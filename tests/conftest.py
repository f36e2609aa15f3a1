"""Shared fixtures: the development corpus shipped under tests/data/corpus, and the
database every model test runs on.

Model tests run twice: on SQLite in a temporary file and on this machine's
PostgreSQL (127.0.0.1:5432, trust auth), in a database created for this run and
dropped after it. Set HANBAOCAO_TEST_PG_URL to point elsewhere, or to "" to skip
PostgreSQL (CI never does: the server is part of the machine).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.db import make_engine
from models.scratch_db import admin_url, scratch_database
from models.settings import settings

# Before anything imports Prefect: no telemetry from test servers.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

CORPUS = Path(__file__).parent / "data" / "corpus"
EXAMPLES = Path(__file__).parent.parent / "examples"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the settings of its own environment (``models.settings``)."""
    from models import settings

    settings.reset()
    yield
    settings.reset()


@pytest.fixture(scope="session")
def gold_clauses() -> list[dict[str, Any]]:
    return _jsonl(CORPUS / "clauses.jsonl")


@pytest.fixture(scope="session")
def gold_documents() -> list[dict[str, Any]]:
    return _jsonl(CORPUS / "documents.jsonl")


PG_ADMIN_URL = admin_url(settings().test_pg_url)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for the whole run."""
    if not PG_ADMIN_URL:
        pytest.skip("HANBAOCAO_TEST_PG_URL is empty: PostgreSQL tests skipped")
    with scratch_database(PG_ADMIN_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated database per test, on each backend."""
    from models.schema import create_schema, drop_schema

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    eng = make_engine(url)
    create_schema(eng)
    try:
        yield eng
    finally:
        drop_schema(eng)
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s
