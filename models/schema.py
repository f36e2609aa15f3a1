"""The schema: every table's metadata, and creating/dropping it through the migrations.

Databases are created and upgraded by Alembic (``hanbaocao db upgrade``);
``create_schema`` runs the same migrations, so tests exercise exactly what users get.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

_TABLE_MODULES = ("models.agency", "models.tables", "models.guards", "models.cycle_controls")


def metadata() -> MetaData:
    """Every table of the app (what migrations compare against)."""
    for module in _TABLE_MODULES:
        importlib.import_module(module)
    return SQLModel.metadata


def create_schema(engine: Engine) -> None:
    from models.migrate import upgrade

    upgrade(engine)


def drop_schema(engine: Engine) -> None:
    from models.migrate import downgrade

    downgrade(engine)
