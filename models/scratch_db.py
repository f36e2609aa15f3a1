"""A throw-away PostgreSQL database: created on a server for one test run or one
benchmark and dropped (``WITH (FORCE)``: a leaked connection must not keep it alive)
on the way out. The tests' fixtures and the benchmarks share it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from models.db import make_engine

# The PostgreSQL server of a development machine and of CI (trust auth).
LOCAL_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def admin_url(configured: str | None) -> str:
    """``configured`` (a setting, possibly empty: PostgreSQL off), else the local server."""
    return LOCAL_ADMIN_URL if configured is None else configured


def sibling_url(admin: str, name: str) -> str:
    """The URL of database ``name`` on ``admin``'s server."""
    return admin.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def scratch_databases(admin: str, *names: str) -> Iterator[list[str]]:
    """The databases ``names`` (prefixes: each gets a random suffix) on ``admin``'s
    server, yielded as URLs and dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    full = [f"{name}_{suffix}" for name in names]
    engine = make_engine(admin).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in full:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield [sibling_url(admin, name) for name in full]
    finally:
        with engine.connect() as conn:
            for name in full:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def scratch_database(admin: str, prefix: str = "hanbaocao_test") -> Iterator[str]:
    """One throw-away database (see ``scratch_databases``)."""
    with scratch_databases(admin, prefix) as (url,):
        yield url
