"""Alembic environment: the app's own schema, for SQLite and PostgreSQL.

Run through ``hanbaocao db upgrade`` (``models.migrate``), which passes the engine's
connection in ``config.attributes["connection"]``; plain ``alembic`` with the repo's
alembic.ini works too and takes the URL from the settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from models.db import get_engine
from models.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        # SQLite cannot ALTER most things in place: batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use hanbaocao db upgrade")
run_migrations_online()
