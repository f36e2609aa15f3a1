"""The review page's live preview of the next cycles, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from portal.review_form import preview_data
from tests.models.test_review import VN, _annual, _review


@pytest.fixture
def seeded(session: Session) -> Session:
    from models.registry import import_registry, load_registry, shipped_registry

    import_registry(session, load_registry(shipped_registry()))
    return session


def test_the_review_page_preview_marks_provisional_deadlines(seeded: Session) -> None:
    """The form's live preview says dự kiến beside a date that rests on a day off no decree
    fixes (24/11: the holidays package only), and nothing beside one that does not."""
    ob = _annual(seeded)
    rv = _review(seeded, dt.datetime(2026, 1, 10, 9, 0, tzinfo=VN))
    resting = preview_data(rv, ob, "annual", "25/11")
    assert resting["ok"], resting
    assert all("(dự kiến)" in c["lead_due"] for c in resting["cycles"])
    plain = preview_data(rv, ob, "annual", "15/12")
    assert plain["ok"], plain
    assert not any("dự kiến" in c["due"] + c["lead_due"] for c in plain["cycles"])
