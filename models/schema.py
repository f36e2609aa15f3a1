"""Creating and dropping the schema.

Production databases are created and upgraded by Alembic (``hanbaocao db upgrade``);
``create_schema`` runs the same migrations, so tests exercise exactly what users get.
Until the first migration exists it falls back to the table metadata.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel


def _load_tables() -> None:
    # Import every table module so SQLModel.metadata knows them all.
    import importlib

    for module in ("models.agency", "models.tables"):
        importlib.import_module(module)


def metadata() -> MetaData:
    """Every table of the app (what migrations compare against)."""
    _load_tables()
    return SQLModel.metadata


def create_schema(engine: Engine) -> None:
    _load_tables()
    SQLModel.metadata.create_all(engine)


def drop_schema(engine: Engine) -> None:
    _load_tables()
    SQLModel.metadata.drop_all(engine)
