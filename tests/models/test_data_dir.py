"""The data directory is private: 0700, the SQLite database (and its WAL files), the
stored reports, the secret key and the credentials 0600, whatever the umask; a
world-readable directory left by an older version is closed at start. Issue 16."""

from __future__ import annotations

import io
import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event, text

from models.db import SQLITE_POOL_SIZE, make_engine, private_dir
from models.links import LinkSettings, secret_key
from models.submissions import store_file


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what most servers run with: files 0644, directories 0755
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_directory_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'hanbaocao.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        files = sorted(data.glob("hanbaocao.db*"))
    assert _mode(data) == 0o700
    assert [p.name for p in files][:2] == ["hanbaocao.db", "hanbaocao.db-shm"]
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    engine.dispose()


def test_an_old_world_readable_data_dir_is_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    db = data / "hanbaocao.db"
    db.touch(mode=0o644)
    make_engine(f"sqlite:///{db}").dispose()
    assert (_mode(data), _mode(db)) == (0o700, 0o600)


def test_stored_reports_and_their_folders_are_private(tmp_path: Path) -> None:
    stored = store_file(tmp_path, io.BytesIO(b"%PDF-1.7 bao cao"))
    path = tmp_path / stored.path
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(tmp_path / "files" / ".incoming") == 0o700


def test_the_secret_key_and_credentials_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.auth import credentials_path, hash_password, save_credentials

    data = tmp_path / "data"
    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(data))
    secret_key(LinkSettings(secret_key=None))
    save_credentials(credentials_path(data), "vanphong", hash_password("mật khẩu đủ dài"))
    assert _mode(data) == 0o700
    assert _mode(data / "secret.key") == 0o600 and _mode(credentials_path(data)) == 0o600


def test_private_dir_is_idempotent(tmp_path: Path) -> None:
    assert private_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert _mode(private_dir(tmp_path / "a" / "b")) == 0o700


def test_a_sqlite_file_keeps_a_connection_per_worker_thread(tmp_path: Path) -> None:
    """A burst of as many threads as anyio runs opens each connection once and keeps it:
    the default pool (5 kept) opened and closed the others, pragmas and all, at every
    burst (issue 18)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hanbaocao.db'}")
    opened: list[object] = []
    event.listen(engine, "connect", lambda conn, _record: opened.append(conn))
    everyone = threading.Barrier(SQLITE_POOL_SIZE)

    def work(_: int) -> int:
        with engine.connect() as conn:
            everyone.wait(timeout=10)  # every thread holds a connection at once
            return int(conn.execute(text("SELECT 1")).scalar_one())

    try:
        for _burst in range(2):
            with ThreadPoolExecutor(SQLITE_POOL_SIZE) as pool:
                assert sum(pool.map(work, range(SQLITE_POOL_SIZE))) == SQLITE_POOL_SIZE
        assert len(opened) == SQLITE_POOL_SIZE  # the second burst opened none
        assert engine.pool.checkedin() == SQLITE_POOL_SIZE  # type: ignore[attr-defined]
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_database_in_memory_makes_no_directory(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite://`` was read as the path "sqlite:" and made a directory of that name."""
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
    assert list(tmp_path.iterdir()) == []
