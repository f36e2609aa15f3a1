"""A SQLite write lock held by someone else during an upload: a bounded wait, then a
clear Vietnamese 503 with Retry-After, no version and no stored file left behind.
Partial files that a crash left in files/.incoming are removed at start. Issue 16."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from models.db import make_engine
from tests.portal.conftest import BEFORE_DUE, Clock, Harness, make_app, pdf_bytes


@pytest.fixture
def quick(engine: Engine, seed: Any, tmp_path: Path) -> Iterator[Harness]:
    """The portal on the seed's SQLite file with a 0.3 s lock wait."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    quick_engine = make_engine(engine.url.render_as_string(), busy_seconds=0.3)
    data_dir, clock, events = tmp_path / "data", Clock(BEFORE_DUE), []
    app = make_app(quick_engine, data_dir, clock, events)
    with TestClient(app, base_url="http://portal.test") as client:
        yield Harness(app, client, quick_engine, data_dir, clock, seed, events)
    quick_engine.dispose()


def test_a_held_write_lock_gives_a_clear_503_and_leaves_nothing(quick: Harness) -> None:
    url = quick.url()
    csrf = quick.csrf(url)
    holder = sqlite3.connect(quick.engine.url.database or "", timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for as long as it likes
    try:
        response = quick.upload(url, [("bao-cao.pdf", pdf_bytes())], csrf=csrf)
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert "Hệ thống đang bận" in response.text
    assert int(response.headers["retry-after"]) > 0
    assert quick.written() == (0, 0, [])
    # Once the lock is gone the same upload goes through.
    assert quick.upload(url, [("bao-cao.pdf", pdf_bytes())]).status_code == 200
    assert quick.written()[:2] == (1, 1)


def test_stale_incoming_files_are_removed_at_start(
    engine: Engine, seed: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    incoming = data_dir / "files" / ".incoming"
    incoming.mkdir(parents=True)
    stale, fresh = incoming / "a", incoming / "b"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload in progress elsewhere")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    make_app(engine, data_dir, Clock(BEFORE_DUE), [])
    assert not stale.exists() and fresh.exists()
