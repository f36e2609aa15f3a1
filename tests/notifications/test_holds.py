"""A channel that cannot send (535 from the SMTP server, a Zalo balance used up) holds
its rows instead of failing them, and they all go out, each once, after the fix: by
``release`` (``hanbaocao outbox retry``) or by the dispatcher's own probe. On SQLite
and PostgreSQL, against a real SMTP server on loopback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from models.tables import AuditEvent, Notification, NotificationAttempt, NotificationState
from notifications import holds
from notifications.fake_zalo import FakeZalo, special_phone
from notifications.mailsink import MailSink
from notifications.outbox import enqueue, payload_of
from notifications.zalo import ZaloTransport
from notifications.zalo_tokens import FileTokenStore, pair_from_answer
from tests.notifications.conftest import NOW, fill_outbox, make_cycle
from tests.notifications.test_outbox import CAL, run
from tests.notifications.test_zalo import MESSAGE as ZALO_MESSAGE

Factory = Callable[[], Session]
ROWS = 12


@pytest.fixture
def locked_sink() -> Iterator[MailSink]:
    """An SMTP server whose account password is not the one configured."""
    with MailSink(logins={"vp": "mật-khẩu-mới"}) as sink:
        yield sink


def _url(sink: MailSink) -> str:
    return sink.url(to="stc@quangngai.gov.vn", user="vp", password="mật-khẩu-cũ")


def _fix(sink: MailSink) -> None:
    assert sink.logins is not None
    sink.logins["vp"] = "mật-khẩu-cũ"  # the administrator sets the account right


def _rows(session: Session) -> list[Notification]:
    session.expire_all()
    return list(session.exec(select(Notification).order_by(col(Notification.id))).all())


def _attempts(session: Session) -> list[NotificationAttempt]:
    return list(session.exec(select(NotificationAttempt)).all())


def test_535_holds_every_row_without_failing_any(
    session: Session, session_factory: Factory, locked_sink: MailSink
) -> None:
    fill_outbox(session, _url(locked_sink), ROWS)
    report = run(session_factory)
    assert (report.sent, report.failed, report.retried, report.held) == (0, 0, 0, ROWS)
    assert list(report.channels_held) == ["email"] and "535" in report.channels_held["email"]
    found = _rows(session)
    assert {r.state for r in found} == {NotificationState.pending}
    assert all(r.next_attempt_at is None for r in found)
    assert all((r.last_error or "").startswith(holds.HELD_MARK) for r in found)
    assert sum(r.attempts for r in found) == 0  # waiting spends no retry budget
    assert len(_attempts(session)) == 1  # one login tried, not twelve
    [hold] = holds.holds(session)
    assert (hold.channel, hold.rows) == ("email", ROWS) and "535" in hold.reason
    actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert actions.count("channel.held") == 1

    # Before the probe is due, a dispatch does not even try.
    again = run(session_factory, now=NOW + timedelta(minutes=5))
    assert (again.sent, again.held, again.channels_held) == (0, 0, {})
    assert len(_attempts(session)) == 1 and locked_sink.raw == []


def test_rows_go_out_each_once_after_the_fix_and_a_retry(
    session: Session, session_factory: Factory, locked_sink: MailSink
) -> None:
    fill_outbox(session, _url(locked_sink), ROWS)
    run(session_factory)
    _fix(locked_sink)
    released = holds.release(session, now=NOW + timedelta(minutes=1), actor="operator")
    session.commit()
    assert released == {"email": ROWS}
    report = run(session_factory, now=NOW + timedelta(minutes=1))
    assert (report.sent, report.held, report.failed) == (ROWS, 0, 0)
    ids = Counter(locked_sink.message_ids())
    assert len(ids) == ROWS and set(ids.values()) == {1}  # each once
    assert {r.state for r in _rows(session)} == {NotificationState.sent}
    assert holds.holds(session) == []


def test_a_probe_releases_the_channel_by_itself(
    session: Session, session_factory: Factory, locked_sink: MailSink
) -> None:
    fill_outbox(session, _url(locked_sink), ROWS)
    run(session_factory)
    # Still broken at the first probe: held again, one more attempt.
    probe = run(session_factory, now=NOW + holds.PROBE_EVERY)
    assert (probe.sent, probe.channels_released) == (0, [])
    assert len(_attempts(session)) == 2
    _fix(locked_sink)
    later = NOW + 2 * holds.PROBE_EVERY
    report = run(session_factory, now=later)
    assert report.channels_released == ["email"]
    assert report.sent == ROWS and len(set(locked_sink.message_ids())) == ROWS
    assert len(locked_sink.raw) == ROWS


def test_rows_due_while_held_are_held_untried(
    session: Session, session_factory: Factory, locked_sink: MailSink
) -> None:
    cycle = fill_outbox(session, _url(locked_sink), 2)
    run(session_factory)
    enqueue(
        session,
        cycle_id=cycle.id,
        agency_id=cycle.agency_ids[0],
        stage="reminder-1",
        channel="email",
        payload={**_rows(session)[0].payload, "subject": "later"},
        at=NOW + timedelta(minutes=2),
    )
    session.commit()
    report = run(session_factory, now=NOW + timedelta(minutes=3))
    assert report.held == 1 and report.sent == 0
    assert len(_attempts(session)) == 1
    assert holds.holds(session)[0].rows == 3


def test_other_channels_keep_going(
    session: Session, session_factory: Factory, locked_sink: MailSink, sink: MailSink
) -> None:
    fill_outbox(session, _url(locked_sink), 2)
    fill_outbox(session, sink.url(to="ok@quangngai.gov.vn"), 2, channel="zalo-test")
    from notifications.email import EmailTransport

    email, other = EmailTransport(cooldown=0), EmailTransport(cooldown=0)
    from notifications.outbox import dispatch

    try:
        report = dispatch(
            session_factory,
            now=NOW,
            worker="w1",
            transports={"email": email, "zalo-test": other},
            calendar=CAL,
        )
    finally:
        email.close()
        other.close()
    assert (report.sent, report.held) == (2, 2)


def test_zns_out_of_balance_holds_the_zalo_channel(
    session: Session, session_factory: Factory, tmp_path: Path
) -> None:
    with FakeZalo(app_id="app", secret_key="s", lifetime=60) as fake:
        tokens = tmp_path / "tokens.json"
        FileTokenStore(tokens).put("42", pair_from_answer(fake.issue_pair()))
        common = f"api={fake.base_url}&oauth={fake.base_url}&tokens={tokens}&template=1001"
        broke = f"zns://app:s@42/{special_phone(-115)}?{common}"
        cycle = make_cycle(session, 3)
        for agency in cycle.agency_ids:
            enqueue(
                session,
                cycle_id=cycle.id,
                agency_id=agency,
                stage="reminder-3",
                channel="zalo",
                payload=payload_of(ZALO_MESSAGE, url=broke),
                at=NOW,
            )
        session.commit()
        transport = ZaloTransport()
        try:
            from notifications.outbox import dispatch

            report = dispatch(
                session_factory,
                now=NOW,
                worker="w1",
                transports={"zalo": transport},
                calendar=CAL,
            )
        finally:
            transport.close()
        assert report.held == 3 and report.failed == 0
        assert "-115" in report.channels_held["zalo"]
        assert len(fake.calls) == 1 and fake.violations == []
