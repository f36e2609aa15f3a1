"""The outbox dispatcher on SQLite and PostgreSQL, sending to real SMTP servers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.db import make_engine
from models.store import claim_notification
from models.tables import AuditEvent, Notification, NotificationState
from models.workdays import packaged_calendar
from notifications.email import EmailTransport
from notifications.mailsink import HungServer, MailSink
from notifications.outbox import (
    DispatchReport,
    OfficeHours,
    attempts_of,
    dispatch,
    enqueue,
    failed_notifications,
    reclaim_stale,
)
from notifications.vocabulary import Message
from tests.notifications.conftest import NOW, fill_outbox, make_cycle, payload

Factory = Callable[[], Session]
CAL = packaged_calendar()


def run(factory: Factory, now: datetime = NOW, **kw: object) -> DispatchReport:
    transport = EmailTransport(cooldown=0)
    try:
        return dispatch(
            factory,
            now=now,
            worker=str(kw.pop("worker", "w1")),
            transports={"email": transport},
            calendar=CAL,
            **kw,  # type: ignore[arg-type]
        )
    finally:
        transport.close()


def rows(session: Session) -> list[Notification]:
    session.expire_all()
    return list(session.exec(select(Notification).order_by(col(Notification.id))).all())


def test_enqueue_is_idempotent(session: Session) -> None:
    cycle = make_cycle(session, 1)
    key = {"cycle_id": cycle.id, "agency_id": cycle.agency_ids[0], "stage": "open"}
    assert enqueue(session, **key, channel="email", payload=payload("u", 1), at=NOW)
    assert not enqueue(session, **key, channel="email", payload=payload("u", 2), at=NOW)
    assert enqueue(session, **key, channel="zns", payload=payload("u", 3), at=NOW)
    session.commit()
    [email, zns] = rows(session)
    assert email.payload["subject"].endswith("(#1)")  # the first one stays as it was
    assert zns.channel == "zns"


def test_due_rows_are_sent_once(session: Session, session_factory: Factory, sink: MailSink) -> None:
    fill_outbox(session, sink.url(to="stc@quangngai.gov.vn"), 6)
    other = make_cycle(session, 1)
    enqueue(
        session,
        cycle_id=other.id,
        agency_id=other.agency_ids[0],
        stage="later",
        channel="email",
        payload=payload(sink.url(to="x@y.vn"), 99),
        at=NOW + timedelta(hours=1),
    )
    session.commit()
    report = run(session_factory)
    assert (report.sent, report.retried, report.failed) == (6, 0, 0)
    assert len(sink.messages()) == 6
    states = Counter(r.state for r in rows(session))
    assert states == {NotificationState.sent: 6, NotificationState.pending: 1}
    sent = rows(session)[0]
    assert sent.sent_at == NOW and sent.attempts == 1 and sent.last_error is None
    assert [a.ok for a in attempts_of(session, sent.id or 0)] == [True]
    assert run(session_factory).sent == 0  # nothing twice


def test_rows_go_out_in_queue_order(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    fill_outbox(session, sink.url(to="a@b.vn"), 5)
    run(session_factory, batch=2)
    assert [m["Subject"][-3:] for m in sink.messages()] == ["#0)", "#1)"]


def test_smtp_down_then_up_delivers_everything_exactly_once(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    fill_outbox(session, sink.url(to="a@b.vn"), 30)
    sink.stop()
    down = run(session_factory)
    assert (down.sent, down.retried) == (0, 30)
    for row in rows(session):
        assert row.state == NotificationState.pending
        assert row.attempts == 1 and row.last_error
        assert row.next_attempt_at == NOW + timedelta(seconds=60)
        assert not attempts_of(session, row.id or 0)[0].permanent
    assert run(session_factory, NOW + timedelta(seconds=30)).sent == 0  # backing off
    sink.start()
    up = run(session_factory, NOW + timedelta(seconds=61))
    assert up.sent == 30
    assert run(session_factory, NOW + timedelta(hours=1)).sent == 0
    ids = sink.message_ids()
    assert len(ids) == 30 and len(set(ids)) == 30
    assert all(r.state == NotificationState.sent for r in rows(session))


def test_hung_server_is_retried_not_waited_for(session: Session, session_factory: Factory) -> None:
    with HungServer() as hung:
        fill_outbox(session, hung.url(to="a@b.vn", cto="1"), 1)
        report = run(session_factory)
    assert report.retried == 1
    assert "timed out" in (rows(session)[0].last_error or "")


def test_permanent_error_fails_at_once_and_is_visible(
    session: Session, session_factory: Factory
) -> None:
    with MailSink(reply="550 5.1.1 No such user") as sink:
        fill_outbox(session, sink.url(to="khong-co@quangngai.gov.vn"), 2)
        report = run(session_factory)
    assert (report.sent, report.retried, report.failed) == (0, 0, 2)
    failed = failed_notifications(session)
    assert len(failed) == 2 and all("550" in (r.last_error or "") for r in failed)
    [attempt] = attempts_of(session, failed[0].id or 0)
    assert attempt.permanent and not attempt.ok and attempt.worker == "w1"
    audits = session.exec(select(AuditEvent).where(AuditEvent.action == "notification.failed"))
    assert len(audits.all()) == 2


def test_transient_errors_back_off_then_fail_after_max_attempts(
    session: Session, session_factory: Factory
) -> None:
    backoff = [60, 300, 900]
    now = NOW
    with MailSink(reply="450 4.2.1 try later") as sink:
        fill_outbox(session, sink.url(to="a@b.vn"), 1)
        for expected in backoff:
            assert run(session_factory, now, max_attempts=4, backoff=backoff).retried == 1
            [row] = rows(session)
            assert row.next_attempt_at == now + timedelta(seconds=expected)
            now = row.next_attempt_at
        assert run(session_factory, now, max_attempts=4, backoff=backoff).failed == 1
    [row] = rows(session)
    assert row.state == NotificationState.failed and row.attempts == 4
    errors = [a.error for a in attempts_of(session, row.id or 0)]
    assert len(errors) == 4 and all(e and "450" in e for e in errors)


@pytest.mark.parametrize(
    ("local", "opens"),
    [
        # Saturday 21/11/2026 10:00 → Monday 23/11 07:30
        (datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 23, 7, 30)),
        # Monday 23/11 17:30 → Wednesday 25/11 07:30 (24/11: Ngày Văn hóa Việt Nam)
        (datetime(2026, 11, 23, 17, 30), datetime(2026, 11, 25, 7, 30)),
        # Wednesday 25/11 06:00 → the same morning
        (datetime(2026, 11, 25, 6, 0), datetime(2026, 11, 25, 7, 30)),
    ],
)
def test_nothing_goes_out_outside_office_hours(
    session: Session, session_factory: Factory, sink: MailSink, local: datetime, opens: datetime
) -> None:
    now = (local - timedelta(hours=7)).replace(tzinfo=UTC)
    fill_outbox(session, sink.url(to="a@b.vn"), 3, at=now - timedelta(minutes=1))
    report = run(session_factory, now)
    assert (report.sent, report.skipped_outside_hours) == (0, 3)
    assert report.next_open_at == (opens - timedelta(hours=7)).replace(tzinfo=UTC)
    assert sink.raw == []
    assert run(session_factory, report.next_open_at).sent == 3


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)))
def test_next_open_is_open_and_not_early(naive: datetime) -> None:
    hours = OfficeHours(CAL, time(7, 30), time(17, 0))
    now = naive.replace(tzinfo=UTC)
    opens = hours.next_open(now)
    assert opens >= now and hours.is_open(opens)
    if opens > now:  # one minute before the opening is still closed
        assert not hours.is_open(max(now, opens - timedelta(minutes=1)))


def test_stale_claims_are_reclaimed_and_sent(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    fill_outbox(session, sink.url(to="a@b.vn"), 2)
    [first, _] = rows(session)
    # A worker claims, commits, then dies before sending or recording.
    assert claim_notification(session, first.id or 0, worker="dead", now=NOW)
    session.commit()
    assert run(session_factory).sent == 1  # the claimed row is not someone else's to send
    assert reclaim_stale(session, NOW + timedelta(minutes=10)) == 0
    assert reclaim_stale(session, NOW + timedelta(minutes=16)) == 1
    session.commit()
    row = rows(session)[0]
    assert row.state == NotificationState.pending and row.claimed_by is None
    assert "claim expired" in (attempts_of(session, row.id or 0)[0].error or "")
    assert run(session_factory, NOW + timedelta(minutes=16)).sent == 1
    assert rows(session)[0].attempts == 2


def test_rows_of_channels_without_transport_wait(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    fill_outbox(session, "zns://token@84905123456", 2, channel="zns")
    assert run(session_factory).sent == 0
    assert all(r.state == NotificationState.pending and r.attempts == 0 for r in rows(session))


def test_transport_bug_does_not_strand_the_row(session: Session, session_factory: Factory) -> None:
    class Broken:
        channel = "email"

        def send(self, url: str, message: Message) -> None:
            raise KeyError("bug")

        def mask(self, url: str) -> str:
            return "masked"

        def close(self) -> None:
            pass

    fill_outbox(session, "mailto://x", 1)
    report = dispatch(
        session_factory, now=NOW, worker="w", transports={"email": Broken()}, calendar=CAL
    )
    assert report.retried == 1 and rows(session)[0].state == NotificationState.pending


def test_two_dispatchers_at_once_send_every_row_exactly_once(
    engine: Engine, session: Session, sink: MailSink
) -> None:
    fill_outbox(session, sink.url(to="a@b.vn"), 200)
    url = engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(2)
    reports: list[DispatchReport] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        own = make_engine(url)  # each worker its own engine, pool and connections
        try:
            barrier.wait()
            reports.append(run(lambda: Session(own, expire_on_commit=False), worker=name))
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    ids = sink.message_ids()
    assert len(ids) == 200
    assert len(set(ids)) == 200, Counter(ids).most_common(3)
    assert sum(r.sent for r in reports) == 200
    assert all(r.state == NotificationState.sent and r.attempts == 1 for r in rows(session))
    workers = Counter(r.claimed_by for r in rows(session))
    assert sum(workers.values()) == 200
