"""An operator's levers on 6966/UBND-KTN's 2026 cycle (SQLite and PostgreSQL): pause,
resume, excuse, extend, resend, retry, and an agency's requests; each changes exactly
what it says and leaves an audit row."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, func, select

from flows.demo import approve_seeds
from models.actions import (
    CANCELLED_MARK,
    ActionError,
    excuse,
    extend,
    pause,
    resend,
    resume,
    retry_failed,
)
from models.agency import Agency
from models.compliance import Cell, compliance_matrix
from models.cycle_controls import CycleAction, RequestKind, RequestState, SubmissionExtension
from models.cycles import advance, closable, store_cycle
from models.registry import import_registry, load_registry, shipped_registry
from models.requests import decide, file_request, open_requests
from models.store import save_directive
from models.tables import (
    Notification,
    NotificationState,
    Obligation,
    ReportCycle,
    Submission,
    SubmissionState,
)
from models.workdays import packaged_calendar
from notifications.mailsink import MailSink
from notifications.notices import fresh_agency_payload, queue_steps
from notifications.outbox import dispatch, enqueue, sent_payload
from tests.conftest import EXAMPLES
from tests.notifications.conftest import payload

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
CAL = packaged_calendar()


def _at(m: int, d: int, h: int = 9, mi: int = 0) -> dt.datetime:
    return dt.datetime(2026, m, d, h, mi, tzinfo=VN)


@pytest.fixture
def cycle(session: Session) -> ReportCycle:
    """6966's 2026 cycle, opened on 20/11/2026 with its opening notices queued (the
    agencies' deadline: Monday 21/12/2026)."""
    from directives.parse import parse_file

    import_registry(session, load_registry(shipped_registry()))
    save_directive(
        session,
        parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"),
        actor="t",
        issuer_province=PROVINCE,
    )
    chosen = approve_seeds(session, province=PROVINCE)
    ob = session.get(Obligation, chosen["6966-annual"])
    assert ob is not None
    opened = store_cycle(session, ob, now=_at(11, 20), province=PROVINCE, calendar=CAL)
    queue_steps(session, opened.steps, now=_at(11, 20), calendar=CAL)
    session.commit()
    return opened.cycle


def _sweep(session: Session, now: dt.datetime) -> list[tuple[str, int]]:
    moved = advance(session, now=now, calendar=CAL)
    queue_steps(session, moved.steps, now=now, calendar=CAL)
    session.commit()
    return [(s.stage, len(s.agency_ids)) for s in moved.steps]


def _agency(session: Session, code: str) -> Agency:
    found = session.exec(select(Agency).where(Agency.code == code)).one()
    return found


def _sub(session: Session, cycle: ReportCycle, code: str) -> Submission:
    session.expire_all()
    agency = _agency(session, code)
    return session.exec(
        select(Submission).where(Submission.cycle_id == cycle.id, Submission.agency_id == agency.id)
    ).one()


def _notes(session: Session, cycle: ReportCycle, *where: object) -> list[Notification]:
    session.expire_all()
    stmt = select(Notification).where(Notification.cycle_id == cycle.id, *where)  # type: ignore[arg-type]
    return list(session.exec(stmt).all())


def _actions(session: Session) -> list[tuple[str, str, str | None]]:
    rows = session.exec(select(CycleAction).order_by(col(CycleAction.id))).all()
    return [(a.action, a.actor, a.reason) for a in rows]


FINANCE = "qng-so-tai-chinh"
HEALTH = "qng-so-y-te"


def test_pause_silences_the_cycle_and_resume_skips_the_stale_reminders(
    session: Session, cycle: ReportCycle
) -> None:
    # 10/12: reminder-7 reached and queued (not sent yet), then the cycle is paused.
    assert _sweep(session, _at(12, 10)) == [("reminder-7", 110)]
    done = pause(session, cycle.id or 0, actor="vp", now=_at(12, 10, 10), reason="rà soát")
    session.commit()
    assert done.rows == 110
    # Paused: no stage is reached however late, the lead hears nothing, it never closes.
    assert _sweep(session, _at(12, 28)) == []
    assert closable(session, now=_at(12, 31) + dt.timedelta(days=60)) == []
    with pytest.raises(ActionError, match="đang tạm dừng rồi"):
        pause(session, cycle.id or 0, actor="vp", now=_at(12, 11))
    session.rollback()

    # Resumed on 17/12: each agency waits for reminder-1 (18/12); reminder-3 (16/12)
    # passed while paused and is never sent; the queued reminder-7 rows are cancelled.
    done = resume(session, cycle.id or 0, actor="vp", now=_at(12, 17), calendar=CAL)
    session.commit()
    stale = _notes(session, cycle, Notification.stage == "reminder-7")
    assert (done.rows, done.cancelled) == (110, len(stale))
    assert {s.next_action_stage for s in session.exec(select(Submission))} == {"reminder-1"}
    assert _sweep(session, _at(12, 17, 10)) == []
    assert all(n.next_attempt_at is None for n in stale)
    assert all((n.last_error or "").startswith(CANCELLED_MARK) for n in stale)
    # The opening notices were never stale: still due.
    opened = _notes(session, cycle, Notification.stage == "opened")
    assert opened and all(n.next_attempt_at is not None for n in opened)
    assert _sweep(session, _at(12, 18)) == [("reminder-1", 110)]
    assert [a[0] for a in _actions(session)] == ["pause", "resume"]


def test_a_paused_cycle_sends_nothing_until_resumed(session: Session, cycle: ReportCycle) -> None:
    agency = _agency(session, FINANCE)
    now = _at(11, 23, 9)
    for n in _notes(session, cycle):  # the opening notices are out: only ours is due
        n.state = NotificationState.sent
        session.add(n)
    with MailSink() as sink:
        enqueue(
            session,
            cycle_id=cycle.id or 0,
            agency_id=agency.id or 0,
            stage="manual",
            channel="email",
            payload=payload(sink.url(to="stc@quangngai.gov.vn"), 1),
            at=now,
        )
        pause(session, cycle.id or 0, actor="vp", now=now)
        session.commit()
        factory = _factory(session)
        from notifications.email import EmailTransport

        transport = EmailTransport(cooldown=0)
        try:
            kw = {"worker": "w", "transports": {"email": transport}, "calendar": CAL}
            assert dispatch(factory, now=now, **kw).sent == 0  # type: ignore[arg-type]
            resume(session, cycle.id or 0, actor="vp", now=now, calendar=CAL)
            session.commit()
            report = dispatch(factory, now=now, batch=1000, **kw)  # type: ignore[arg-type]
        finally:
            transport.close()
        assert len(sink.messages()) == 1 and report.sent == 1


def _factory(session: Session) -> object:
    engine = session.get_bind()

    def make() -> Session:
        return Session(engine, expire_on_commit=False)

    return make


def test_excuse_stops_the_agency_and_shows_everywhere(session: Session, cycle: ReportCycle) -> None:
    with pytest.raises(ActionError, match="lý do"):
        excuse(session, cycle.id or 0, FINANCE, actor="vp", now=_at(12, 1), reason=" ")
    done = excuse(session, cycle.id or 0, FINANCE, actor="vp", now=_at(12, 1), reason="sáp nhập")
    session.commit()
    finance = _agency(session, FINANCE)
    sub = _sub(session, cycle, FINANCE)
    assert (sub.state, sub.next_action_at) == (SubmissionState.excused, None)
    queued = _notes(session, cycle, Notification.agency_id == finance.id)
    assert done.cancelled == len(queued) >= 1  # its opening notice, on each channel
    assert all((n.last_error or "").startswith(CANCELLED_MARK) for n in queued)
    assert [(s, n) for s, n in _sweep(session, _at(12, 10))] == [("reminder-7", 109)]
    mine = _notes(session, cycle, Notification.agency_id == finance.id)
    assert {n.stage for n in mine} == {"opened"}  # no reminder-7 for it
    matrix = compliance_matrix(session, now=_at(12, 28), calendar=CAL)
    entry = matrix.entry(finance.id or 0, cycle.id or 0)
    assert entry is not None and entry.cell is Cell.excused
    assert _actions(session) == [("excuse", "vp", "sáp nhập")]
    with pytest.raises(ActionError, match="đã được miễn"):
        excuse(session, cycle.id or 0, FINANCE, actor="vp", now=_at(12, 1), reason="x")


def test_extend_past_the_leads_own_deadline_is_done_with_a_warning(
    session: Session, cycle: ReportCycle
) -> None:
    """Sở Xây dựng reports to UBND tỉnh by Thursday 24/12/2026 (24:00): an agency extended
    to that day still comes first; one extended to 28/12 comes after, which is allowed."""
    assert cycle.lead_due_at == dt.datetime(2026, 12, 24, 23, 59, 59, tzinfo=VN)
    kept = extend(
        session, cycle.id or 0, FINANCE, until=dt.date(2026, 12, 24), actor="vp",
        now=_at(12, 22, 10), reason="chờ số liệu",
    )  # fmt: skip
    assert kept.warning is None
    past = extend(
        session, cycle.id or 0, HEALTH, until=dt.date(2026, 12, 28), actor="vp",
        now=_at(12, 22, 10), reason="chờ số liệu",
    )  # fmt: skip
    assert past.rows == 1 and past.warning == (
        "Lưu ý: hạn mới của Sở Y tế tỉnh Quảng Ngãi (28/12/2026 24:00) muộn hơn hạn Sở Xây "
        "dựng tỉnh Quảng Ngãi phải báo cáo Ủy ban nhân dân tỉnh Quảng Ngãi (24/12/2026 24:00): "
        "Sở Xây dựng tỉnh Quảng Ngãi sẽ phải tổng hợp khi chưa có báo cáo của cơ quan này."
    )
    assert _sub(session, cycle, HEALTH).id in {
        e.submission_id for e in session.exec(select(SubmissionExtension))
    }


def test_extend_moves_that_agencys_ladder_and_cell(session: Session, cycle: ReportCycle) -> None:
    for day in ((12, 10), (12, 16), (12, 18), (12, 21), (12, 22)):
        _sweep(session, _at(*day))
    health = _agency(session, HEALTH)
    before = compliance_matrix(session, now=_at(12, 22, 10), calendar=CAL)
    assert before.entry(health.id or 0, cycle.id or 0).cell is Cell.missing  # type: ignore[union-attr]
    assert _sub(session, cycle, HEALTH).state == SubmissionState.late

    with pytest.raises(ActionError, match="ngày nghỉ"):
        extend(
            session, cycle.id or 0, HEALTH, until=dt.date(2026, 12, 26), actor="vp",
            now=_at(12, 22, 10), reason="thiếu số liệu",
        )  # fmt: skip
    done = extend(
        session, cycle.id or 0, HEALTH, until=dt.date(2026, 12, 30), actor="vp",
        now=_at(12, 22, 10), reason="thiếu số liệu",
    )  # fmt: skip
    session.commit()
    sub = _sub(session, cycle, HEALTH)
    # Its own ladder on 30/12 (Wednesday): reminder-3 on 25/12 is next; pending again.
    assert (sub.state, sub.next_action_stage) == (SubmissionState.pending, "reminder-3")
    assert done.rows == 1
    after = compliance_matrix(session, now=_at(12, 22, 10), calendar=CAL)
    assert after.entry(health.id or 0, cycle.id or 0).cell is Cell.not_yet_due  # type: ignore[union-attr]
    other = _agency(session, FINANCE)
    assert after.entry(other.id or 0, cycle.id or 0).cell is Cell.missing  # type: ignore[union-attr]
    session.refresh(cycle)
    assert cycle.closes_at is not None and cycle.closes_at > _at(12, 30)

    steps = _sweep(session, _at(12, 25, 10))
    assert ("reminder-3", 1) in steps
    mine = _notes(
        session, cycle, Notification.agency_id == health.id, col(Notification.stage).like("rem%")
    )
    stages = {n.stage for n in mine}
    assert "reminder-3~20261230" in stages
    note = next(n for n in mine if n.stage == "reminder-3~20261230")
    assert "30/12/2026" in note.payload["text"]
    # Still missing after its own deadline: late on its own ladder.
    _sweep(session, _at(12, 31, 10))
    assert _sub(session, cycle, HEALTH).state == SubmissionState.late


def test_resend_requeues_the_latest_reminder(session: Session, cycle: ReportCycle) -> None:
    _sweep(session, _at(12, 10))
    finance = _agency(session, FINANCE)
    for n in _notes(session, cycle, Notification.agency_id == finance.id):
        n.state, n.sent_at, n.attempts = NotificationState.sent, _at(12, 10), 1
        n.payload = sent_payload(n.payload, "<sent@example.invalid>")  # as dispatch keeps it
        session.add(n)
    session.commit()
    done = resend(
        session, cycle.id or 0, FINANCE, actor="vp", now=_at(12, 11), rerender=fresh_agency_payload
    )
    session.commit()
    again = _notes(session, cycle, Notification.agency_id == finance.id)
    seen = {(n.stage, n.state, n.next_attempt_at) for n in again}
    assert done.requeued == sum(n.stage == "reminder-7" for n in again)
    # The sent row kept no body: the reminder is rendered again, with its link.
    for n in again:
        if n.stage == "reminder-7":
            assert "/submit/" in n.payload["text"] and n.payload["subject"]
    # Only the latest (each channel) is due again; the opening notice stays sent.
    assert seen == {
        ("reminder-7", NotificationState.pending, _at(12, 11)),
        ("opened", NotificationState.sent, seen and _opened_at(again)),
    }
    with pytest.raises(ActionError, match="không phải nộp báo cáo"):
        resend(
            session, cycle.id or 0, "qng-vp-ubnd-tinh", actor="vp", now=_at(12, 11),
            rerender=fresh_agency_payload,
        )  # fmt: skip
    with pytest.raises(ActionError, match="Không có cơ quan"):
        resend(
            session, cycle.id or 0, "khong-co", actor="vp", now=_at(12, 11),
            rerender=fresh_agency_payload,
        )  # fmt: skip


def _opened_at(rows: list[Notification]) -> dt.datetime | None:
    return next(n.next_attempt_at for n in rows if n.stage == "opened")


def test_retry_requeues_failed_messages_but_not_an_excused_agencys(
    session: Session, cycle: ReportCycle
) -> None:
    for n in _notes(session, cycle):
        n.state, n.attempts, n.last_error = NotificationState.failed, 6, "550 no such user"
        n.claimed_at = _at(11, 20, 10)
        session.add(n)
    session.commit()
    excuse(session, cycle.id or 0, HEALTH, actor="vp", now=_at(11, 21), reason="miễn")
    assert retry_failed(session, actor="cli", now=_at(11, 22), since=_at(11, 21)).requeued == 0
    done = retry_failed(session, actor="cli", now=_at(11, 22), since=_at(11, 20))
    session.commit()
    health = _agency(session, HEALTH)
    theirs = len(_notes(session, cycle, Notification.agency_id == health.id))
    assert done.requeued == len(_notes(session, cycle)) - theirs
    states = {
        (n.agency_id == health.id, n.state, n.attempts)
        for n in _notes(session, cycle, Notification.stage == "opened")
    }
    assert states == {(True, NotificationState.failed, 6), (False, NotificationState.pending, 0)}


def test_an_agency_asks_for_more_time_and_is_answered(session: Session, cycle: ReportCycle) -> None:
    health, finance = _agency(session, HEALTH), _agency(session, FINANCE)
    now = _at(12, 15)
    with pytest.raises(ActionError, match="sau hạn hiện tại"):
        file_request(
            session, cycle=cycle, agency=health, kind=RequestKind.extension,
            reason="thiếu số liệu", proposed_due=dt.date(2026, 12, 18), now=now,
        )  # fmt: skip
    asked = file_request(
        session, cycle=cycle, agency=health, kind=RequestKind.extension,
        reason="thiếu số liệu quý IV", proposed_due=dt.date(2026, 12, 29), now=now,
    )  # fmt: skip
    told = file_request(
        session, cycle=cycle, agency=finance, kind=RequestKind.explanation,
        reason="hệ thống mạng gián đoạn", proposed_due=None, now=now,
    )  # fmt: skip
    session.commit()
    assert [r.id for r, _ in open_requests(session)] == [asked.id, told.id]
    with pytest.raises(ActionError, match="lý do không chấp thuận"):
        decide(session, told.id or 0, approve=False, answer="", actor="vp", now=now)
    decide(session, asked.id or 0, approve=True, answer=None, actor="vp", now=now, calendar=CAL)
    decide(session, told.id or 0, approve=False, answer="không xác đáng", actor="vp", now=now)
    session.commit()
    assert open_requests(session) == []
    session.refresh(asked)
    assert asked.state == RequestState.approved
    matrix = compliance_matrix(session, now=_at(12, 22, 10), calendar=CAL)
    assert matrix.entry(health.id or 0, cycle.id or 0).cell is Cell.not_yet_due  # type: ignore[union-attr]
    assert matrix.entry(finance.id or 0, cycle.id or 0).cell is Cell.missing  # type: ignore[union-attr]
    kinds = [a[0] for a in _actions(session)]
    assert kinds == [
        "request.extension",
        "request.explanation",
        "extend",
        "request.approved",
        "request.refused",
    ]
    count = session.exec(select(func.count()).select_from(CycleAction)).one()
    assert count == 5


def test_an_extension_while_paused_waits_for_resume(session: Session, cycle: ReportCycle) -> None:
    pause(session, cycle.id or 0, actor="vp", now=_at(12, 15))
    extend(
        session, cycle.id or 0, HEALTH, until=dt.date(2026, 12, 30), actor="vp",
        now=_at(12, 16), reason="chờ số liệu", calendar=CAL,
    )  # fmt: skip
    session.commit()
    sub = _sub(session, cycle, HEALTH)
    assert (sub.next_action_at, sub.state) == (None, SubmissionState.pending)  # still silent
    assert _sweep(session, _at(12, 28)) == []
    resume(session, cycle.id or 0, actor="vp", now=_at(12, 28), calendar=CAL)
    session.commit()
    # On its own ladder (30/12): reminder-1 on 29/12; the others, past 21/12, are late.
    assert _sub(session, cycle, HEALTH).next_action_stage == "reminder-1"
    assert _sub(session, cycle, FINANCE).state == SubmissionState.late
