"""The administrator's deadline syntax (models.deadline_rule): compact rules, a clause's
own words, one-off dates, and what the calendar makes of each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from directives.parsed import Deadline
from models.deadline_rule import (
    LAST_MONTH,
    MONTH_AFTER,
    PERIOD_END,
    DeadlineSyntaxError,
    parse_deadline,
)

# --- the deadline syntax -------------------------------------------------------------------

# (rule as typed, (kind, day, month, time, offset_days, working_days, anchor))
RULES = [
    ("20/12", ("day_of_period", 20, 12, None, None, None, None)),
    ("ngày 20/12", ("day_of_period", 20, 12, None, None, None, None)),
    ("20/12 14:00", ("day_of_period", 20, 12, "14:00", None, None, None)),
    ("20/12 8h", ("day_of_period", 20, 12, "08:00", None, None, None)),
    ("15", ("day_of_period", 15, None, None, None, None, LAST_MONTH)),
    ("ngày 15", ("day_of_period", 15, None, None, None, None, LAST_MONTH)),
    ("10 next", ("day_of_period", 10, None, None, None, None, MONTH_AFTER)),
    ("+5", ("relative", None, None, None, 5, False, PERIOD_END)),
    ("+5wd", ("relative", None, None, None, 5, True, PERIOD_END)),
    ("default", ("none", None, None, None, None, None, None)),
    (
        "trước ngày 15 của tháng cuối quý",
        ("day_of_period", 15, None, None, None, None, "tháng cuối quý"),
    ),
    (
        "chậm nhất ngày 15 tháng 01 năm kế tiếp",
        ("day_of_period", 15, 1, None, None, None, "năm kế tiếp"),
    ),
    (
        "trong thời hạn 05 ngày làm việc sau khi kết thúc quý",
        ("relative", None, None, None, 5, True, "sau khi kết thúc quý"),
    ),
    ("15/12/2026", ("date", 15, 12, None, None, None, None)),  # a one-off
    ("ngày 14/11/2026 15:00", ("date", 14, 11, "15:00", None, None, None)),
]


@pytest.mark.parametrize(("typed", "expected"), RULES, ids=[r for r, _ in RULES])
def test_deadline_syntax(typed: str, expected: tuple[Any, ...]) -> None:
    d = parse_deadline(typed)
    assert (d.kind, d.day, d.month, d.time, d.offset_days, d.working_days, d.anchor) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "31/2",
        "29/2/2026",
        "32",
        "0",
        "20/13",
        "20/12 25:00",
        "sometime",
        "trước ngày 10/6 và trước ngày 10/12",
    ],
)
def test_deadline_syntax_refuses(typed: str) -> None:
    with pytest.raises(DeadlineSyntaxError):
        parse_deadline(typed)


# (rule, frequency, period, the due day the calendar gives it): the anchors mean what
# DEADLINE_RULES says they mean.
PLACED = [
    ("20/12", "annual", "2026", dt.date(2026, 12, 21)),  # 20/12/2026 is a Sunday
    ("15", "quarterly", "2026-Q2", dt.date(2026, 6, 15)),
    ("15", "monthly", "2026-09", dt.date(2026, 9, 15)),
    ("10 next", "monthly", "2026-09", dt.date(2026, 10, 12)),  # 10/10 is a Saturday
    ("+5wd", "quarterly", "2026-Q1", dt.date(2026, 4, 7)),
    ("+5", "quarterly", "2026-Q3", dt.date(2026, 10, 5)),
]


@pytest.mark.parametrize(("typed", "frequency", "key", "due"), PLACED)
def test_deadline_rules_evaluate(typed: str, frequency: str, key: str, due: dt.date) -> None:
    from models.calendar import evaluate, parse_period_key
    from models.workdays import packaged_calendar

    rule: Deadline = parse_deadline(typed)
    got = evaluate(rule, frequency, parse_period_key(key), calendar=packaged_calendar())
    assert got.day == due


def test_one_off_date_keeps_its_iso_date() -> None:
    rule = parse_deadline("14/11/2026 15:00")
    assert (rule.date, rule.time) == ("2026-11-14", "15:00")


def test_refusals_are_in_vietnamese() -> None:
    with pytest.raises(DeadlineSyntaxError, match="không thấy hạn nào"):
        parse_deadline("sometime")
    with pytest.raises(DeadlineSyntaxError, match="không có ngày này"):
        parse_deadline("31/2")
