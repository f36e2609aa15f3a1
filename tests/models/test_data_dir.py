"""The data directory is private: 0700, the SQLite database (and its WAL files), the
stored reports, the secret key and the credentials 0600, whatever the umask; a
world-readable directory left by an older version is closed at start. Issue 16."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine, private_dir
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
