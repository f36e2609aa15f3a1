"""``unrevoked_submission``: the upload's one query before it reads the body — the
submission of (agency, cycle), unless links for it issued at that time were revoked
since; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.guards import link_revoked, revoke_links, unrevoked_submission
from models.tables import Submission
from tests.notifications.conftest import NOW, make_cycle

HOUR = dt.timedelta(hours=1)


def _seed(engine: Engine) -> tuple[int, list[int], dict[int, int]]:
    """A cycle, three agencies, a submission for the first two only."""
    with Session(engine, expire_on_commit=False) as s:
        cycle = make_cycle(s, 3)
        subs = {a: Submission(cycle_id=cycle.id, agency_id=a) for a in cycle.agency_ids[:2]}
        s.add_all(subs.values())
        s.commit()
        return cycle.id, cycle.agency_ids, {a: sub.id or 0 for a, sub in subs.items()}


def _found(engine: Engine, cycle_id: int, agency_id: int, issued: dt.datetime) -> int | None:
    with engine.connect() as conn:
        return unrevoked_submission(conn, agency_id=agency_id, cycle_id=cycle_id, issued=issued)


def _revoke(engine: Engine, at: dt.datetime, **ids: int) -> None:
    with Session(engine) as s:
        revoke_links(s, now=at, actor="test", **ids)
        s.commit()


def test_the_submission_until_its_links_are_revoked(engine: Engine) -> None:
    cycle_id, (first, second, none), subs = _seed(engine)
    old, new = NOW - HOUR, NOW + HOUR
    assert _found(engine, cycle_id, first, old) == subs[first]
    assert _found(engine, cycle_id, none, old) is None  # no submission: not a duty
    assert _found(engine, cycle_id + 1, first, old) is None  # another cycle's link

    _revoke(engine, NOW, agency_id=first)
    assert _found(engine, cycle_id, first, old) is None  # the agency's older links
    assert _found(engine, cycle_id, first, new) == subs[first]  # issued afterwards
    assert _found(engine, cycle_id, second, old) == subs[second]  # another agency

    _revoke(engine, NOW, cycle_id=cycle_id)
    assert _found(engine, cycle_id, second, old) is None  # every agency of the cycle
    assert _found(engine, cycle_id, second, new) == subs[second]


def test_it_agrees_with_link_revoked(engine: Engine) -> None:
    """Where the submission exists, "revoked" is exactly ``link_revoked``'s answer."""
    cycle_id, (first, second, _), subs = _seed(engine)
    _revoke(engine, NOW, agency_id=first, cycle_id=cycle_id)
    _revoke(engine, NOW + 2 * HOUR, agency_id=second)
    for agency_id in (first, second):
        for issued in (NOW - HOUR, NOW + HOUR, NOW + 3 * HOUR):
            with Session(engine) as s:
                revoked = link_revoked(s, agency_id=agency_id, cycle_id=cycle_id, issued=issued)
            expected = None if revoked else subs[agency_id]
            assert _found(engine, cycle_id, agency_id, issued) == expected, (agency_id, issued)
