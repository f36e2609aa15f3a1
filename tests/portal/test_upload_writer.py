"""The upload's writers on SQLite (``portal.upload.write``): what arrives while one batch
is written goes out in the next one, in one transaction and one commit; a job that fails
fails alone; a writer whose turn does not come in time gets ``WriterBusy`` and leaves
nothing queued."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from models.db import make_engine
from portal.upload import WriterBusy, _writer, write


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("HANBAOCAO_SQLITE_BUSY_SECONDS", "0.2")  # the writers' bounded wait
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
    yield engine
    engine.dispose()


def _commits(engine: Engine) -> list[int]:
    seen: list[int] = []
    event.listen(engine, "commit", lambda _conn: seen.append(1))
    return seen


Work = Callable[[Connection], int]


def _insert(x: int) -> Work:
    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": x})
        return x

    return work


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT x FROM t ORDER BY x"))]


def _queued_behind_the_lock(engine: Engine, works: list[Work]) -> dict[int, object]:
    """Each work in a thread of its own while the test holds the writers' lock; all of
    them queued; then the lock released. What each thread got."""
    writer = _writer(engine)
    got: dict[int, object] = {}

    def run(n: int, work: Work) -> None:
        try:
            got[n] = write(engine, work)
        except Exception as exc:
            got[n] = exc

    writer.lock.acquire()
    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate(works)]
    try:
        for t in threads:
            t.start()
        queued = threading.Event()
        while not queued.wait(0.01):  # until every work is queued (no timing asserted)
            with writer.queue_lock:
                if len(writer.queue) == len(works):
                    queued.set()
    finally:
        writer.lock.release()
    for t in threads:
        t.join(timeout=30)
    return got


def test_writes_queued_meanwhile_share_one_commit(db: Engine) -> None:
    commits = _commits(db)
    got = _queued_behind_the_lock(db, [_insert(1), _insert(2), _insert(3)])
    assert got == {0: 1, 1: 2, 2: 3}
    assert _rows(db) == [1, 2, 3]
    assert len(commits) == 1


def test_a_failing_write_fails_alone(db: Engine) -> None:
    got = _queued_behind_the_lock(db, [_insert(1), _insert(1), _insert(2)])
    failures = [v for v in got.values() if isinstance(v, Exception)]
    assert len(failures) == 1 and "UNIQUE" in str(failures[0])
    assert sorted(v for v in got.values() if isinstance(v, int)) == [1, 2]
    assert _rows(db) == [1, 2]


def test_a_writer_whose_turn_does_not_come_is_busy_and_leaves_nothing(db: Engine) -> None:
    writer = _writer(db)
    writer.lock.acquire()  # a batch that does not end
    try:
        with pytest.raises(WriterBusy):
            write(db, _insert(7))
        assert writer.queue == []
    finally:
        writer.lock.release()
    assert _rows(db) == []
    assert write(db, _insert(8)) == 8
    assert _rows(db) == [8]
