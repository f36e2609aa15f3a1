"""Persistence rules on both backends: directive versions and carried decisions,
status transitions, the sweep's indexed query and the outbox claim."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from directives.parse import parse_file
from directives.parsed import ParsedDirective
from models.store import (
    IllegalTransition,
    SaveResult,
    claim_notification,
    due_actions,
    due_query,
    explain,
    save_directive,
    set_status,
)
from models.tables import (
    AuditEvent,
    Directive,
    Notification,
    NotificationState,
    Obligation,
    ObligationParty,
    ObligationStatus,
    PartyRole,
    Submission,
    SubmissionState,
)
from models.vocabulary import STATUS_VI
from tests.models.test_tables import UTC, add_agencies, add_cycle, add_world

SEED = Path(__file__).parents[2] / "examples" / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
NOW = dt.datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
S = ObligationStatus


def parse_edited(tmp_path: Path, old: str, new: str) -> ParsedDirective:
    """The seed with one edit, read from a file like a reissued directive."""
    text = SEED.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    copy = tmp_path / "edited.txt"
    copy.write_text(text.replace(old, new), encoding="utf-8")
    return parse_file(copy)


def save(session: Session, parsed: ParsedDirective) -> SaveResult:
    result = save_directive(session, parsed, actor="admin", issuer_province="quang-ngai")
    session.commit()
    return result


def count(session: Session, model: type[Directive | Obligation | AuditEvent]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all())


# --- save_directive ------------------------------------------------------------------------


def test_seed_is_stored_with_its_obligations(session: Session) -> None:
    result = save(session, parse_file(SEED))
    directive = result.directive
    assert result.outcome == "created"
    assert (directive.number, directive.version, directive.previous_id) == (
        "6966/UBND-KTN",
        1,
        None,
    )
    assert directive.date == dt.date(2024, 12, 24)
    assert directive.issuer_province == "quang-ngai"
    session.expire_all()
    stored = session.exec(select(Obligation).order_by(col(Obligation.id))).all()
    assert [(o.clause_index, o.frequency, o.status) for o in stored] == [
        (4, "event", S.proposed),  # "phối hợp với Sở Xây dựng … để báo cáo … các khó khăn"
        (7, "annual", S.proposed),
        (8, "on_request", S.proposed),
        (9, "annual", S.proposed),
    ]
    last = stored[-1]
    assert last.via_phrase == "Sở Xây dựng" and last.recipient_phrase == "UBND tỉnh"
    assert last.deadline["kind"] == "none"
    assert last.evidence["frequency"][0]["text"] == "hàng năm"
    assert directive.source_text[last.clause_start : last.clause_end].startswith("Yêu cầu")
    assert actions(session) == ["directive.created"] + ["obligation.proposed"] * 4


def test_same_file_twice_writes_nothing(session: Session) -> None:
    first = save(session, parse_file(SEED))
    events = count(session, AuditEvent)
    second = save(session, parse_file(SEED))
    assert second.unchanged and second.outcome == "unchanged"
    assert second.directive.id == first.directive.id
    assert [o.id for o in second.obligations] == [o.id for o in first.obligations]
    assert (count(session, Directive), count(session, Obligation)) == (1, 4)
    assert count(session, AuditEvent) == events


def decide_all(session: Session, result: SaveResult, statuses: list[ObligationStatus]) -> None:
    for ob, status in zip(result.obligations, statuses, strict=True):
        assert ob.id is not None
        set_status(session, ob.id, status=status, actor="reviewer", now=NOW)
    session.commit()


def test_changed_clause_makes_a_new_version(session: Session, tmp_path: Path) -> None:
    v1 = save(session, parse_file(SEED))
    decide_all(session, v1, [S.rejected, S.approved, S.rejected, S.approved])
    first = v1.obligations[1]
    first.ladder = [{"stage": "reminder-3", "days_before": 3}]
    session.add(first)
    session.add(ObligationParty(obligation_id=first.id, role=PartyRole.via, phrase="Sở Tài chính"))
    session.commit()

    v2 = save(session, parse_edited(tmp_path, "định kỳ hàng năm", "định kỳ hằng quý"))

    assert v2.outcome == "new_version"
    assert (v2.directive.version, v2.directive.previous_id) == (2, v1.directive.id)
    assert (v2.carried, v2.withdrawn) == (3, 4)
    session.expire_all()
    new = {o.clause_index: o for o in v2.obligations}
    assert {i: (o.frequency, o.status) for i, o in new.items()} == {
        4: ("event", S.rejected),
        7: ("annual", S.approved),  # unchanged: decision carried
        8: ("on_request", S.rejected),  # unchanged: rejection carried too
        9: ("quarterly", S.proposed),  # the edited clause is reviewed again
    }
    assert (new[7].approved_by, new[7].approved_at) == ("reviewer", NOW)
    assert new[7].ladder == [{"stage": "reminder-3", "days_before": 3}]
    assert new[9].approved_by is None
    parties = session.exec(
        select(ObligationParty).where(ObligationParty.obligation_id == new[7].id)
    )
    assert [p.phrase for p in parties] == ["Sở Tài chính"]
    old = session.exec(select(Obligation).where(Obligation.directive_id == v1.directive.id)).all()
    assert {o.status for o in old} == {S.withdrawn}


def test_new_version_audit_trail(session: Session, tmp_path: Path) -> None:
    v1 = save(session, parse_file(SEED))
    decide_all(session, v1, [S.approved] * 4)
    before = len(actions(session))
    save(session, parse_edited(tmp_path, "định kỳ hàng năm", "định kỳ hằng quý"))
    assert actions(session)[before:] == [
        "directive.created",
        *["obligation.carried"] * 3,
        "obligation.proposed",
        *["obligation.withdrawn"] * 4,
    ]
    withdrawn = session.exec(
        select(AuditEvent).where(AuditEvent.action == "obligation.withdrawn")
    ).first()
    assert withdrawn is not None and withdrawn.data["from"] == "approved"


def test_edit_elsewhere_keeps_every_decision(session: Session, tmp_path: Path) -> None:
    # An edit in an earlier clause shifts every later offset: the clauses with
    # obligations did not change, so all their decisions carry over.
    v1 = save(session, parse_file(SEED))
    decide_all(session, v1, [S.rejected, S.approved, S.rejected, S.approved])
    v2 = save(session, parse_edited(tmp_path, "Tiếp tục bám sát", "Tiếp tục bám sát và cụ thể hóa"))
    assert v2.outcome == "new_version"
    assert [o.status for o in v2.obligations] == [S.rejected, S.approved, S.rejected, S.approved]
    assert v2.obligations[0].clause_start > v1.obligations[0].clause_start


def test_proposed_obligations_are_not_carried(session: Session, tmp_path: Path) -> None:
    save(session, parse_file(SEED))  # never reviewed
    v2 = save(session, parse_edited(tmp_path, "Tiếp tục bám sát", "Tiếp tục bám sát và cụ thể hóa"))
    assert v2.carried == 0 and {o.status for o in v2.obligations} == {S.proposed}


def test_reverted_text_is_a_new_version_not_the_old_one(session: Session, tmp_path: Path) -> None:
    save(session, parse_file(SEED))
    save(session, parse_edited(tmp_path, "định kỳ hàng năm", "định kỳ hằng quý"))
    v3 = save(session, parse_file(SEED))
    assert v3.outcome == "new_version" and v3.directive.version == 3
    assert count(session, Directive) == 3
    assert save(session, parse_file(SEED)).unchanged


# --- set_status ----------------------------------------------------------------------------

ALLOWED = {
    (S.proposed, S.approved),
    (S.proposed, S.rejected),
    (S.proposed, S.withdrawn),
    (S.approved, S.rejected),
    (S.approved, S.withdrawn),
    (S.rejected, S.approved),
    (S.rejected, S.withdrawn),
}


@pytest.mark.parametrize("before", list(S))
@pytest.mark.parametrize("after", list(S))
def test_status_transitions(session: Session, before: S, after: S) -> None:
    ob = save(session, parse_file(SEED)).obligations[0]
    assert ob.id is not None
    ob.status = before
    session.add(ob)
    session.commit()
    events = count(session, AuditEvent)
    if (before, after) not in ALLOWED:
        with pytest.raises(
            IllegalTransition,
            match=f"“{STATUS_VI[before]}”: không chuyển sang “{STATUS_VI[after]}”",
        ):
            set_status(session, ob.id, status=after, actor="reviewer")
        session.rollback()
        assert count(session, AuditEvent) == events
        return
    set_status(session, ob.id, status=after, actor="reviewer", note="ok", now=NOW)
    session.commit()
    session.expire_all()
    stored = session.get(Obligation, ob.id)
    assert stored is not None and stored.status == after
    event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert (event.action, event.actor, event.entity, event.entity_id) == (
        f"obligation.{after}",
        "reviewer",
        "obligation",
        ob.id,
    )
    assert event.data == {"from": before, "to": after, "note": "ok"}
    assert event.at == NOW


def test_approving_a_withdrawn_obligation_is_refused(session: Session, tmp_path: Path) -> None:
    v1 = save(session, parse_file(SEED))
    save(session, parse_edited(tmp_path, "định kỳ hàng năm", "định kỳ hằng quý"))
    old = v1.obligations[0].id
    assert old is not None
    with pytest.raises(IllegalTransition, match="“đã thay thế”: không chuyển sang “đã duyệt” được"):
        set_status(session, old, status=S.approved, actor="reviewer")


def test_missing_obligation(session: Session) -> None:
    with pytest.raises(LookupError):
        set_status(session, 12345, status=S.approved, actor="reviewer")


# --- due_actions -------------------------------------------------------------------------


def test_due_actions_returns_exactly_the_due_rows_in_order(session: Session) -> None:
    cycle, agencies = add_world(session, agencies=8)
    hour = dt.timedelta(hours=1)
    ict = dt.timezone(dt.timedelta(hours=7))
    plan: list[tuple[dt.datetime | None, SubmissionState, bool]] = [
        (NOW - 3 * hour, SubmissionState.pending, True),
        (NOW - 5 * hour, SubmissionState.late, True),
        (NOW, SubmissionState.pending, True),  # due exactly now
        (NOW.astimezone(ict) - hour, SubmissionState.late, True),  # local time, same instant
        (NOW + dt.timedelta(seconds=1), SubmissionState.pending, False),
        (NOW - 9 * hour, SubmissionState.submitted, False),  # settled
        (NOW - 9 * hour, SubmissionState.excused, False),
        (None, SubmissionState.pending, False),  # nothing scheduled
    ]
    rows = [
        Submission(cycle_id=cycle.id, agency_id=agency, state=state, next_action_at=at)
        for agency, (at, state, _) in zip(agencies, plan, strict=True)
    ]
    session.add_all(rows)
    session.commit()
    due = sorted((at, row.id) for row, (at, _, ok) in zip(rows, plan, strict=True) if at and ok)
    expected = [row_id for _, row_id in due]
    assert [s.id for s in due_actions(session, now=NOW)] == expected
    assert [s.id for s in due_actions(session, now=NOW, limit=2)] == expected[:2]


def add_bulk_submissions(session: Session, *, cycles: int, agencies: int, due_every: int) -> int:
    """cycles × agencies pending submissions over the next year, every ``due_every``-th
    one due in the last hour; returns how many are due."""
    world, _ = add_world(session, agencies=0)
    cycle_ids = [world.id] + [
        add_cycle(session, world.obligation_id, f"2026-{key}").id for key in range(1, cycles)
    ]
    agency_ids = add_agencies(session, agencies, prefix="bulk")
    rows, due = [], 0
    for n, (c, a) in enumerate((c, a) for c in cycle_ids for a in agency_ids):
        is_due = n % due_every == 0
        due += is_due
        minutes = -(n % 60) - 1 if is_due else n % 525_600 + 1
        rows.append(
            {"cycle_id": c, "agency_id": a, "next_action_at": NOW + dt.timedelta(minutes=minutes)}
        )
    session.exec(sa.insert(Submission), params=rows)
    session.commit()
    return due


def test_due_actions_uses_the_index(session: Session) -> None:
    due = add_bulk_submissions(session, cycles=50, agencies=100, due_every=50)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, as autovacuum would have them in production.
        session.connection().execute(sa.text("ANALYZE submission"))
    plan = explain(session, due_query(now=NOW, limit=1000))
    assert "ix_submission_next_action" in plan, plan
    if session.get_bind().dialect.name == "sqlite":
        assert "USING INDEX ix_submission_next_action" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order
    assert len(due_actions(session, now=NOW, limit=5000)) == due


# --- claim_notification ----------------------------------------------------------------------


def add_notification(session: Session, **values: object) -> int:
    cycle, (agency, _) = add_world(session)
    note = Notification(cycle_id=cycle.id, agency_id=agency, stage="open", channel="email")
    for name, value in values.items():
        setattr(note, name, value)
    session.add(note)
    session.commit()
    assert note.id is not None
    return note.id


def test_claim_once(session: Session) -> None:
    note_id = add_notification(session)
    assert claim_notification(session, note_id, worker="w1", now=NOW) is True
    assert claim_notification(session, note_id, worker="w2", now=NOW) is False
    session.commit()
    session.expire_all()
    note = session.get(Notification, note_id)
    assert note is not None
    assert (note.state, note.claimed_by, note.claimed_at, note.attempts) == (
        NotificationState.sending,
        "w1",
        NOW,
        1,
    )


@pytest.mark.parametrize(
    "values",
    [
        {"next_attempt_at": NOW + dt.timedelta(minutes=5)},  # backing off after an error
        {"state": NotificationState.sent},
        {"state": NotificationState.failed},
    ],
)
def test_claim_refuses_rows_not_ready(session: Session, values: dict[str, object]) -> None:
    note_id = add_notification(session, **values)
    assert claim_notification(session, note_id, worker="w1", now=NOW) is False


def test_claim_a_retry_that_is_due(session: Session) -> None:
    note_id = add_notification(session, next_attempt_at=NOW, attempts=2)
    assert claim_notification(session, note_id, worker="w1", now=NOW) is True
    session.commit()
    session.expire_all()
    note = session.get(Notification, note_id)
    assert note is not None and note.attempts == 3


def test_two_workers_claim_at_once_one_wins(engine: Engine, session: Session) -> None:
    """Two threads, two connections, a barrier so both UPDATEs run together; each holds
    its transaction open a moment after claiming, so the other's UPDATE has to wait on
    the row (PostgreSQL) or the write lock (SQLite) and then re-check the state."""
    note_id = add_notification(session)
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def worker(name: str) -> None:
        with Session(engine) as own:
            barrier.wait(timeout=10)
            results[name] = claim_notification(own, note_id, worker=name, now=NOW)
            threading.Event().wait(0.3)
            own.commit()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == [False, True], results
    winner = next(name for name, won in results.items() if won)
    session.expire_all()
    note = session.get(Notification, note_id)
    assert note is not None and (note.claimed_by, note.attempts) == (winner, 1)
