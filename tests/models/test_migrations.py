"""The migrations build exactly the schema the tables declare, up and down."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from models import migrate
from models.schema import metadata


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata())
    assert diff == [], diff


def test_at_head(engine: Engine) -> None:
    assert migrate.current(engine) == migrate.head()


def test_down_and_up_again(engine: Engine) -> None:
    migrate.downgrade(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert {"agency", "directive", "obligation", "submission", "notification"} <= set(
        inspect(engine).get_table_names()
    )
