"""The engine and sessions, and the UTC datetime column type (``Settings`` and
``settings`` are re-exported from ``models.settings``, where they live).

SQLite in the data directory by default; ``HANBAOCAO_DATABASE_URL`` selects another
database (PostgreSQL in production: ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from models.formats import TIMEZONE as TIMEZONE
from models.formats import TZ as TZ
from models.settings import Settings as Settings
from models.settings import default_data_dir as default_data_dir
from models.settings import settings as settings

# Named constraints: Alembic's SQLite batch mode can only alter what has a name, and
# SQLModel's Field(foreign_key=…) cannot name its foreign keys. Set before any table
# module is imported (they all import this module first).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def str_enum(cls: type[StrEnum], column: str) -> sa.Enum:
    """A state/kind column: VARCHAR + CHECK storing the member values, not a native
    PostgreSQL ENUM (adding a member is then a CHECK change, not an ALTER TYPE). The
    naming convention names the constraint ck_<table>_<column>."""
    return sa.Enum(
        cls,
        name=column,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored in UTC.

    SQLite keeps no offset, so values come back naive: they were written in UTC, so
    UTC is attached on the way out. A naive value on the way in is a bug upstream
    (whose local time would it be?) and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def private_dir(path: Path) -> Path:
    """``path`` created if need be, mode 0700 (the data directory holds the secret key,
    the database with every live link, and the reports): only its owner may look in.
    A directory we do not own is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def _private_database(path: Path) -> None:
    """The SQLite file and its companions mode 0600, created so before SQLite opens
    them (SQLite gives its -wal and -shm files the database file's mode)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists() and name.stat().st_uid == os.getuid() and name.stat().st_mode & 0o077:
            name.chmod(0o600)


# A SQLite connection is a file handle and a page cache: the pool keeps one for each of
# anyio's worker threads (40, the portal's sync routes and its ``to_thread`` calls). With
# SQLAlchemy's default (5 kept, 10 more opened when needed and closed when returned), a
# burst of uploads (``bench/bench_portal.py``) opened and closed about 40 connections,
# pragmas and all, and queued its threads on the pool for the 15 it allowed.
SQLITE_POOL_SIZE = 40
SQLITE_POOL_OVERFLOW = 10  # threads beyond those (Prefect's own, a script's): opened, closed


def make_engine(url: str, *, busy_seconds: float | None = None) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout, so two
    processes (two Prefect workers) can share the file (waiting ``busy_seconds``, by
    default ``HANBAOCAO_SQLITE_BUSY_SECONDS``, for the other's write lock), a private
    file in a private directory (``private_dir``), and a connection kept per worker
    thread (``SQLITE_POOL_SIZE``)."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database  # None or "" for "sqlite://" (in memory)
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_database(Path(path))
        busy = settings().sqlite_busy_seconds if busy_seconds is None else busy_seconds
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy},
            **_sqlite_pool(url),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pool(url: str) -> dict[str, Any]:
    """A file's pool: ``SQLITE_POOL_SIZE`` kept. A database in memory keeps the pool
    SQLAlchemy gives it (its data lives in its one connection)."""
    parsed = sa.engine.make_url(url)
    dialect: Any = parsed.get_dialect()  # pysqlite's: QueuePool for a file
    if dialect.get_pool_class(parsed) is not sa.pool.QueuePool:
        return {}
    return {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_OVERFLOW}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL for the process: engines own connection pools."""
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(settings().url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
