"""The outbox works in batches: one claim, one settle and two commits per batch; a worker
that dies in the middle of a batch has those of its messages already out sent again,
with the same Message-ID, and nothing else (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.links import link
from models.tables import Notification, NotificationAttempt
from models.workdays import packaged_calendar
from notifications.email import EmailTransport
from notifications.mailsink import MailSink
from notifications.outbox import CLAIM_CHUNK, DispatchReport, dispatch, enqueue, reclaim_stale
from notifications.vocabulary import Message
from tests.notifications.conftest import NOW, fill_outbox, make_cycle, payload

Factory = Callable[[], Session]
_DATE = re.compile(rb"^Date: [^\r\n]*\r?\n", re.MULTILINE)
CAL = packaged_calendar()


class WorkerDied(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


class DiesAfter:
    """The real email transport, until the ``limit``-th message has gone out."""

    channel = "email"

    def __init__(self, limit: int) -> None:
        self.inner = EmailTransport(cooldown=0)
        self.limit = limit
        self.sent = 0

    def send(self, url: str, message: Message) -> None:
        if self.sent == self.limit:
            raise WorkerDied
        self.inner.send(url, message)
        self.sent += 1

    def mask(self, url: str) -> str:
        return self.inner.mask(url)

    def close(self) -> None:
        self.inner.close()


def send_all(factory: Factory, now: datetime, worker: str) -> DispatchReport:
    transport = EmailTransport(cooldown=0)
    try:
        return dispatch(
            factory, now=now, worker=worker, transports={"email": transport}, calendar=CAL
        )
    finally:
        transport.close()


def states(session: Session) -> Counter[str]:
    session.expire_all()
    return Counter(str(r.state) for r in session.exec(select(Notification)))


def test_a_batch_costs_two_commits_not_two_per_message(
    engine: Engine, session: Session, session_factory: Factory, sink: MailSink
) -> None:
    count = CLAIM_CHUNK * 2 + 7
    fill_outbox(session, sink.url(to="a@b.vn"), count)
    commits: list[Any] = []

    def count_commit(conn: Any) -> None:
        commits.append(conn)

    event.listen(engine, "commit", count_commit)
    try:
        report = send_all(session_factory, NOW, "w")
    finally:
        event.remove(engine, "commit", count_commit)
    assert report.sent == count and len(sink.raw) == count
    batches = -(-count // CLAIM_CHUNK)
    assert len(commits) <= 2 * batches + 1, len(commits)
    assert states(session) == Counter({"sent": count})
    attempts = session.exec(select(NotificationAttempt).where(col(NotificationAttempt.ok))).all()
    assert len(attempts) == count and {a.worker for a in attempts} == {"w"}


def test_a_worker_dying_mid_batch_resends_only_that_batchs_sent_messages(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    count, dies_at = CLAIM_CHUNK * 3, CLAIM_CHUNK + 9
    fill_outbox(session, sink.url(to="a@b.vn"), count)
    dying = DiesAfter(dies_at)
    with pytest.raises(WorkerDied):
        dispatch(session_factory, now=NOW, worker="w1", transports={"email": dying}, calendar=CAL)
    dying.close()
    # The first batch was recorded; the second was claimed, 9 of it went out unrecorded.
    assert states(session) == Counter(
        {"sent": CLAIM_CHUNK, "sending": CLAIM_CHUNK, "pending": CLAIM_CHUNK}
    )
    assert len(sink.raw) == dies_at
    later = NOW + timedelta(minutes=16)
    assert reclaim_stale(session, later) == CLAIM_CHUNK
    session.commit()
    report = send_all(session_factory, later, "w2")
    assert report.sent == 2 * CLAIM_CHUNK
    assert states(session) == Counter({"sent": count})
    ids = Counter(sink.message_ids())
    assert len(ids) == count  # every message arrived
    repeated = {mid: n for mid, n in ids.items() if n > 1}
    # Only what was out before the death, each once more, under its own Message-ID.
    assert sorted(repeated.values()) == [2] * (dies_at - CLAIM_CHUNK), repeated
    # The copy is the same message: the same bytes but for its own Date header.
    copies: dict[str, list[bytes]] = {}
    for raw, message in zip(sink.raw, sink.messages(), strict=True):
        copies.setdefault(str(message["Message-ID"]), []).append(_DATE.sub(b"", raw))
    assert all(len(set(copies[mid])) == 1 for mid in repeated)


def test_a_sent_row_keeps_no_link_and_a_failed_row_keeps_its_message(
    session: Session, session_factory: Factory, sink: MailSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: once sent, a row keeps its subject, addressee and Message-ID, not the
    bodies and fields that hold the agency's live submission link; a failed row keeps
    all of its message, so that a retry can send it."""
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", "khoa-thu-nghiem")
    cycle = make_cycle(session, 3)
    tokens = []
    for n, agency_id in enumerate(cycle.agency_ids):
        url = link("submit", cycle_id=cycle.id, agency_id=agency_id, expires=NOW + timedelta(30))
        tokens.append(url.rsplit("/", 1)[1])
        body = payload(sink.url(to=f"so{n}@qn.vn") if n < 2 else "notmail://x", n)
        body["text"] += f"\nNộp báo cáo tại: {url}"
        body["html"] += f'<p><a href="{url}">Nộp báo cáo</a></p>'
        body["short"] += f" {url}"
        body["fields"] = {"link": url}
        body["agency"] = f"Sở số {n}"
        enqueue(
            session,
            cycle_id=cycle.id,
            agency_id=agency_id,
            stage="reminder-3",
            channel="email",
            payload=body,
            at=NOW,
        )
    session.commit()
    report = send_all(session_factory, NOW, "w")
    assert (report.sent, report.failed) == (2, 1)
    received = [m.get_body(("plain",)).get_content() for m in sink.messages()]  # type: ignore[union-attr]
    assert all(any(token in text for text in received) for token in tokens[:2])  # it went out
    session.expire_all()
    rows = session.exec(select(Notification).order_by(col(Notification.id))).all()
    sent, failed = rows[:2], rows[2]
    for n, row in enumerate(sent):
        stored = json.dumps(row.payload, ensure_ascii=False)
        assert str(row.state) == "sent" and not any(t in stored for t in tokens), stored
        assert row.payload["subject"].endswith(f"(#{n})") and row.payload["agency"] == f"Sở số {n}"
        assert "text" not in row.payload and "url" not in row.payload
    assert sorted(r.payload["message_id"] for r in sent) == sorted(sink.message_ids())
    assert str(failed.state) == "failed" and tokens[2] in failed.payload["text"]
    assert failed.payload["fields"] == {"link": failed.payload["short"].rsplit(" ", 1)[1]}


class DatabaseBusy(Exception):
    pass


def test_a_failed_claim_still_records_the_batch_before(
    engine: Engine, session: Session, session_factory: Factory, sink: MailSink
) -> None:
    """The batch before is recorded in the next claim's commit; when that claim fails
    (a database too busy), it is recorded alone: it went out and must not go again."""
    count = CLAIM_CHUNK + 5
    fill_outbox(session, sink.url(to="a@b.vn"), count)
    claims: list[str] = []

    def busy_on_second_claim(
        conn: Any, cursor: Any, statement: str, *args: Any, **kwargs: Any
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE NOTIFICATION") and "RETURNING" in (
            statement.upper()
        ):
            claims.append(statement)
            if len(claims) == 2:
                raise DatabaseBusy

    event.listen(engine, "before_cursor_execute", busy_on_second_claim)
    try:
        with pytest.raises(DatabaseBusy):
            send_all(session_factory, NOW, "w")
    finally:
        event.remove(engine, "before_cursor_execute", busy_on_second_claim)
    assert len(sink.raw) == CLAIM_CHUNK
    assert states(session) == Counter({"sent": CLAIM_CHUNK, "pending": 5})
    ok = session.exec(select(NotificationAttempt).where(col(NotificationAttempt.ok))).all()
    assert len(ok) == CLAIM_CHUNK
