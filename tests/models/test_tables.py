"""The tables themselves: UTC datetimes, constraints and ON DELETE rules, on SQLite and
PostgreSQL (the ``session`` fixture runs each test on both).

The builders at the top are shared with test_store.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, select

from models.agency import Agency, AgencyKind
from models.db import UTCDateTime
from models.tables import (
    AuditEvent,
    Directive,
    Notification,
    Obligation,
    ObligationParty,
    PartyRole,
    ReportCycle,
    Submission,
    SubmissionVersion,
)

UTC = dt.UTC
ICT = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh, no DST


def add_agencies(session: Session, count: int, *, prefix: str = "so") -> list[int]:
    agencies = [
        Agency(
            code=f"{prefix}-{i}",
            name=f"Sở thử {i}",
            kind=AgencyKind.department,
            province="quang-ngai",
        )
        for i in range(count)
    ]
    session.add_all(agencies)
    session.flush()
    return [a.id for a in agencies if a.id is not None]


def add_directive(session: Session, *, number: str = "1/UBND-KTN", version: int = 1) -> Directive:
    directive = Directive(
        number=number,
        issuer="UBND tỉnh Quảng Ngãi",
        source_name="test.txt",
        source_text="…",
        source_sha256=f"{number}-{version}".ljust(64, "0"),
        version=version,
    )
    session.add(directive)
    session.flush()
    return directive


def add_obligation(session: Session, directive_id: int) -> Obligation:
    obligation = Obligation(
        directive_id=directive_id,
        clause_index=0,
        clause_text="định kỳ hằng năm báo cáo UBND tỉnh",
        clause_start=0,
        clause_end=34,
        clause_hash="0" * 64,
        frequency="annual",
    )
    session.add(obligation)
    session.flush()
    return obligation


def add_cycle(session: Session, obligation_id: int, period_key: str = "2026") -> ReportCycle:
    cycle = ReportCycle(
        obligation_id=obligation_id,
        period_key=period_key,
        window_start=dt.date(2025, 12, 15),
        window_end=dt.date(2026, 12, 14),
        opens_at=dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        due_at=dt.datetime(2026, 12, 15, 10, 0, tzinfo=UTC),
    )
    session.add(cycle)
    session.flush()
    return cycle


def add_world(session: Session, agencies: int = 2) -> tuple[ReportCycle, list[int]]:
    """A directive with one obligation, one cycle and ``agencies`` agencies."""
    directive = add_directive(session)
    assert directive.id is not None
    obligation = add_obligation(session, directive.id)
    assert obligation.id is not None
    return add_cycle(session, obligation.id), add_agencies(session, agencies)


def run(session: Session, sql: str) -> None:
    session.connection().execute(sa.text(sql))


def reload(session: Session, model: type[Any], pk: int | None) -> Any:
    """The row as the database has it, not as the session remembers it."""
    session.expire_all()
    return session.get(model, pk)


# --- datetimes -------------------------------------------------------------------------


def test_datetimes_come_back_aware_in_utc(session: Session) -> None:
    local = dt.datetime(2026, 12, 15, 17, 0, 30, 123456, tzinfo=ICT)
    event = AuditEvent(at=local, actor="t", action="x", entity="t", entity_id=None)
    session.add(event)
    session.commit()
    back = reload(session, AuditEvent, event.id)
    assert back.at == local
    assert back.at.utcoffset() == dt.timedelta(0)
    assert back.at.replace(tzinfo=None) == dt.datetime(2026, 12, 15, 10, 0, 30, 123456)


def test_datetime_comparisons_happen_in_utc(session: Session) -> None:
    # SQLite compares stored text: only a single offset makes the order right.
    early = dt.datetime(2026, 1, 1, 6, 0, tzinfo=ICT)  # 2025-12-31 23:00 UTC
    late = dt.datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    for at, action in ((late, "late"), (early, "early")):
        session.add(AuditEvent(at=at, actor="t", action=action, entity="t", entity_id=None))
    session.commit()
    cutoff = dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    found = session.exec(select(AuditEvent.action).where(AuditEvent.at < cutoff)).all()
    assert found == ["early"]


def test_naive_datetime_is_refused(session: Session) -> None:
    session.add(AuditEvent(at=dt.datetime(2026, 1, 1), actor="t", action="x", entity="t"))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


MY_TABLES = (
    Directive,
    Obligation,
    ObligationParty,
    ReportCycle,
    Submission,
    SubmissionVersion,
    Notification,
    AuditEvent,
)


@pytest.mark.parametrize("model", MY_TABLES, ids=lambda m: m.__name__)
def test_every_datetime_column_is_utc_aware(model: type[SQLModel]) -> None:
    # SQLModel sets __table__ on table classes at runtime; its stubs do not declare it.
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    datetimes = [c for c in table.columns if isinstance(c.type, sa.DateTime | UTCDateTime)]
    assert all(isinstance(c.type, UTCDateTime) for c in datetimes), datetimes


def test_cycle_dates_and_times_round_trip(session: Session) -> None:
    cycle, _ = add_world(session)
    session.commit()
    back = reload(session, ReportCycle, cycle.id)
    assert back.window_start == dt.date(2025, 12, 15)
    assert back.due_at == dt.datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    assert back.due_at.tzinfo is not None


# --- constraints -------------------------------------------------------------------------


def assert_refused(session: Session, make: Callable[[], Any]) -> None:
    """``make()`` must hit a constraint; the savepoint keeps the session usable."""
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(make())
        session.flush()


def test_duplicate_outbox_row_is_refused(session: Session) -> None:
    cycle, (agency, _) = add_world(session)

    def message(channel: str = "email") -> Notification:
        return Notification(
            cycle_id=cycle.id, agency_id=agency, stage="reminder-3", channel=channel
        )

    session.add(message())
    session.flush()
    assert_refused(session, message)
    session.add(message("zalooa"))  # another channel is another message
    session.flush()
    assert len(session.exec(select(Notification)).all()) == 2


def test_unique_keys(session: Session) -> None:
    cycle, (agency, _) = add_world(session)
    assert cycle.id is not None
    submission = Submission(cycle_id=cycle.id, agency_id=agency)
    session.add(submission)
    session.flush()
    assert_refused(session, lambda: Submission(cycle_id=cycle.id, agency_id=agency))
    assert_refused(session, lambda: add_cycle_row(cycle.obligation_id, cycle.period_key))
    assert_refused(session, lambda: directive_row(version=1))
    session.add(directive_row(version=2))  # the next version of the same number is fine
    version = dict(submission_id=submission.id, file_name="a.pdf", file_size=1, sha256="0" * 64)
    session.add(SubmissionVersion(version=1, stored_path="x", **version))
    session.flush()
    assert_refused(session, lambda: SubmissionVersion(version=1, stored_path="y", **version))


def add_cycle_row(obligation_id: int, period_key: str) -> ReportCycle:
    when = dt.datetime(2026, 1, 1, tzinfo=UTC)
    return ReportCycle(
        obligation_id=obligation_id,
        period_key=period_key,
        window_start=when.date(),
        window_end=when.date(),
        opens_at=when,
        due_at=when,
    )


def directive_row(*, version: int) -> Directive:
    return Directive(
        number="1/UBND-KTN",
        issuer="UBND tỉnh Quảng Ngãi",
        source_name="x",
        source_text="x",
        source_sha256=str(version) * 64,
        version=version,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE obligation SET status = 'maybe'",
        "UPDATE submission SET state = 'lost'",
        "UPDATE notification SET state = 'queued'",
        "UPDATE report_cycle SET state = 'paused'",
    ],
)
def test_states_are_checked_by_the_database(session: Session, sql: str) -> None:
    cycle, (agency, _) = add_world(session)
    session.add(Submission(cycle_id=cycle.id, agency_id=agency))
    session.add(Notification(cycle_id=cycle.id, agency_id=agency, stage="open", channel="email"))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        run(session, sql)


# --- ON DELETE ---------------------------------------------------------------------------


def test_deleting_a_directive_takes_its_unrun_obligations_and_parties(session: Session) -> None:
    directive = add_directive(session)
    assert directive.id is not None
    obligation = add_obligation(session, directive.id)
    session.add(ObligationParty(obligation_id=obligation.id, role=PartyRole.via, phrase="Sở XD"))
    session.commit()
    run(session, f"DELETE FROM directive WHERE id = {directive.id}")
    session.commit()
    assert session.exec(select(Obligation)).all() == []
    assert session.exec(select(ObligationParty)).all() == []


def test_history_protects_obligations_and_agencies(session: Session) -> None:
    cycle, (agency, _) = add_world(session)
    session.add(Submission(cycle_id=cycle.id, agency_id=agency))
    session.commit()
    for sql in (
        f"DELETE FROM obligation WHERE id = {cycle.obligation_id}",  # it has a cycle
        f"DELETE FROM agency WHERE id = {agency}",  # it has a submission
    ):
        with pytest.raises(IntegrityError), session.begin_nested():
            run(session, sql)


def test_deleting_a_cycle_takes_its_submissions_and_outbox(session: Session) -> None:
    cycle, (agency, _) = add_world(session)
    session.add(Submission(cycle_id=cycle.id, agency_id=agency))
    session.add(Notification(cycle_id=cycle.id, agency_id=agency, stage="open", channel="email"))
    session.commit()
    run(session, f"DELETE FROM report_cycle WHERE id = {cycle.id}")
    session.commit()
    assert session.exec(select(Submission)).all() == []
    assert session.exec(select(Notification)).all() == []
