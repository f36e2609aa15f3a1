"""The run state a cycle's outcome gives (flows.outcome), for an agency given more time:
it is missing only once its own deadline has passed (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from flows.outcome import OVERDUE, cycle_outcome
from models.actions import extend
from models.tables import ReportCycle
from tests.models.test_actions import HEALTH, _at, _sweep, cycle  # noqa: F401 (the fixture)


def test_an_extended_agency_is_missing_only_after_its_own_deadline(
    session: Session,
    cycle: ReportCycle,  # noqa: F811 (the fixture imported above)
) -> None:
    for day in ((12, 10), (12, 16), (12, 18), (12, 21), (12, 22)):
        _sweep(session, _at(*day))
    before = cycle_outcome(session, cycle.id or 0, now=_at(12, 22, 10))
    assert before is not None and before.name == OVERDUE
    extend(
        session, cycle.id or 0, HEALTH, until=dt.date(2026, 12, 30), actor="vp",
        now=_at(12, 22, 10), reason="thiếu số liệu",
    )  # fmt: skip
    session.commit()
    waiting = cycle_outcome(session, cycle.id or 0, now=_at(12, 23, 10))
    after = cycle_outcome(session, cycle.id or 0, now=_at(12, 31, 10))
    assert waiting is not None and after is not None
    assert _missing(waiting.message) == _missing(before.message) - 1
    assert _missing(after.message) == _missing(before.message)


def _missing(message: str) -> int:
    """ "68/109 cơ quan chưa nộp báo cáo …" -> 68"""
    return int(message.split("/", 1)[0])
