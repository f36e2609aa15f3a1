"""Receipt messages, a batch at a time: what waits together is queued together, each
cycle's facts read once per batch, and one receipt's failure is that receipt's only."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from models.submissions import Received
from models.tables import Notification, Submission, SubmissionVersion
from portal import upload
from portal.upload import receipt_facts
from tests.portal.conftest import BEFORE_DUE, Harness


def _received(portal: Harness, agency_id: int, version: int) -> Received:
    """What recording version ``version`` of the seed cycle's report by ``agency_id``
    would have returned (the receipt reads nothing else from it)."""
    with Session(portal.engine) as s:
        sub = s.exec(
            select(Submission).where(
                Submission.cycle_id == portal.seed.cycle_id, Submission.agency_id == agency_id
            )
        ).one()
    sid = sub.id or 0
    kept = SubmissionVersion(
        submission_id=sid,
        version=version,
        file_name="bao-cao.pdf",
        file_size=12,
        sha256="0" * 64,
        stored_path="files/00/00/" + "0" * 64,
    )
    return Received(
        submission_id=sid,
        agency_id=agency_id,
        cycle_id=portal.seed.cycle_id,
        due_at=portal.seed.due_at,
        versions=(kept,),
        first=True,
        late=False,
        at=BEFORE_DUE,
    )


def _receipts(portal: Harness) -> list[tuple[int, str]]:
    with Session(portal.engine) as s:
        rows = s.exec(
            select(Notification.agency_id, Notification.stage)
            .where(col(Notification.stage).startswith("receipt"))
            .order_by(col(Notification.agency_id), col(Notification.stage))
        ).all()
    return [(a, stage) for a, stage in rows]


def test_a_batch_reads_its_cycle_once(portal: Harness) -> None:
    seed = portal.seed
    uploads = [_received(portal, a, 1) for a in (seed.agency_id, seed.other_agency_id)]
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(portal.engine, "before_cursor_execute", seen)
    try:
        with Session(portal.engine) as s:
            found = receipt_facts(s, uploads)
    finally:
        event.remove(portal.engine, "before_cursor_execute", seen)
    # The cycle's facts, the two agencies, their and the signer's contacts.
    assert len(statements) == 3, statements
    assert [who.id for _, who, _ in found] == [seed.agency_id, seed.other_agency_id]
    first, second = found[0][0], found[1][0]
    assert first is second and first.cycle.id == seed.cycle_id  # one CycleFacts per cycle
    assert first.obligation.directive_id == first.directive.id
    assert all(channels == ["email"] for _, _, channels in found)


Followed = list[tuple[int, int, str | None]]


def _burst(portal: Harness, gots: list[Received]) -> Followed:
    """``after_upload`` for each of ``gots`` while a batch is in flight (the batch lock
    held until all of them wait), then every one to its end; what each one's event was
    given: (agency, version, the report's name)."""
    followed: Followed = []
    app = portal.app.state.portal
    box = upload._receipts(portal.engine)

    def follow(got: Received) -> Any:
        return lambda name: followed.append((got.agency_id, got.last_version, name))

    async def burst() -> None:
        tasks = [asyncio.create_task(upload.after_upload(app, g, follow(g))) for g in gots]
        cap = time.monotonic() + 60  # bounds a hang only
        while len(box.queue) < len(gots):  # the first one's thread waits for the lock
            assert time.monotonic() < cap, "the receipts never queued up"
            await asyncio.sleep(0.005)
        box.lock.release()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

    box.lock.acquire()
    try:
        asyncio.run(burst())
    finally:
        if box.lock.locked():
            box.lock.release()
    assert not box.draining and not box.queue
    return sorted(followed)


def test_one_failing_receipt_is_that_receipts_only(
    portal: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed = portal.seed
    gots = [_received(portal, a, 7) for a in (seed.agency_id, seed.other_agency_id)]
    sizes: list[int] = []
    real_message, real_queue = upload._receipt_message, upload._queue_receipts

    def broken_for_the_other(p: Any, facts: Any, agency: Any, got: Received) -> Any:
        if got.agency_id == seed.other_agency_id:
            raise RuntimeError("mẫu thư hỏng")
        return real_message(p, facts, agency, got)

    def counted(p: Any, batch: list[Any]) -> None:
        sizes.append(len(batch))
        real_queue(p, batch)

    monkeypatch.setattr(upload, "_receipt_message", broken_for_the_other)
    monkeypatch.setattr(upload, "_queue_receipts", counted)
    (mine, theirs) = _burst(portal, gots)

    assert sizes == [2, 1, 1]  # the batch failed, then each alone
    assert mine[2] is not None and seed.agency_name in mine[2]
    assert theirs[:2] == (seed.other_agency_id, 7) and theirs[2] is None  # still followed
    assert _receipts(portal) == [(seed.agency_id, "receipt-v7")]
    assert "not queued: RuntimeError: mẫu thư hỏng" in caplog.text


def test_uploads_waiting_for_their_receipts_hold_no_worker_thread(
    portal: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After their answers, four uploads' receipts: the first takes a worker thread and
    queues the four as one batch, the others wait on the event loop; each one's event
    follows with its name."""
    seed = portal.seed
    gots = [_received(portal, a, v) for a in (seed.agency_id, seed.other_agency_id) for v in (5, 6)]
    drains: list[int] = []
    sizes: list[int] = []
    real_drain, real_queue = upload._drain, upload._queue_receipts

    def drain(p: Any, box: Any) -> None:
        drains.append(threading.get_ident())
        real_drain(p, box)

    def counted(p: Any, batch: list[Any]) -> None:
        sizes.append(len(batch))
        real_queue(p, batch)

    inserts: list[str] = []  # the statements into the outbox

    def seen(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("INSERT INTO NOTIFICATION"):
            inserts.append(sql)

    monkeypatch.setattr(upload, "_drain", drain)
    monkeypatch.setattr(upload, "_queue_receipts", counted)
    event.listen(portal.engine, "before_cursor_execute", seen)
    try:
        followed = _burst(portal, gots)
    finally:
        event.remove(portal.engine, "before_cursor_execute", seen)

    assert len(drains) == 1 and sizes == [4]
    assert len(inserts) == 1  # the batch's four rows in one statement, not one each
    assert [(a, v) for a, v, _ in followed] == sorted((g.agency_id, g.last_version) for g in gots)
    assert all(name is not None for _, _, name in followed)
    assert all(seed.agency_name in str(name) for a, _, name in followed if a == seed.agency_id)
    assert _receipts(portal) == sorted((g.agency_id, f"receipt-v{g.last_version}") for g in gots)
