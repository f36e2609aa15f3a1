"""Opening cycles: ``cycle_open_date`` is the exact opening day; ``opening_rrule`` the
calendar-only schedule that starts the flow, which then recomputes the exact days;
``period_for_opening`` tells which period a firing is for. How a province opens its
cycles is one ``OpeningPolicy``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial

from directives.parsed import Deadline
from models.calendar.deadlines import Due, _period_end_anchor, _place
from models.calendar.period import (
    _RECUR,
    DEFAULT_OPEN_LEAD,
    DEFAULT_SEND_AT,
    Period,
    UnsupportedDeadline,
    _periodic,
    period_containing,
)
from models.db import TIMEZONE
from models.deadline_rules import (
    DEFAULT_PROVINCE,
    DeadlineDefaults,
    packaged_defaults,
)
from models.workdays import WorkCalendar


@dataclass(frozen=True, slots=True)
class OpeningPolicy:
    """How a province opens its cycles: its default deadlines (for a clause that states
    none), the working days between the agencies' deadline and the lead's (``lead_days``)
    and between the opening notice and the agencies' deadline (``lead_time_days``, per
    frequency)."""

    province: str = DEFAULT_PROVINCE
    defaults: DeadlineDefaults | None = None
    lead_days: int = 3
    lead_time_days: Mapping[str, int] = field(default_factory=lambda: DEFAULT_OPEN_LEAD)


DEFAULT_POLICY = OpeningPolicy()


def cycle_open_date(
    period: Period,
    due: Due | date,
    *,
    calendar: WorkCalendar,
    lead_time_days: Mapping[str, int] = DEFAULT_OPEN_LEAD,
) -> date:
    """The working day a cycle opens: ``lead_time_days[frequency]`` working days before
    the agencies' deadline ``due``, but never before the period starts (nor after
    ``due``)."""
    due_day = due.day if isinstance(due, Due) else due
    wanted = calendar.add_working_days(due_day, -lead_time_days[period.frequency])
    opened = max(wanted, calendar.roll_forward(period.start))
    return min(opened, calendar.roll_backward(due_day))


def _nominal_shift(frequency: str, day: date, n: int) -> date:
    """``day`` moved ``n`` working days as a calendar-only schedule can: weekends counted,
    public holidays not (RRULE knows neither). Weekly periods meet the same weekdays every
    time, so the count is exact. Month-based periods meet other weekdays every year, so the
    shift leans early: the most calendar days ``n`` working days can take going back (a run
    of five crosses at most one weekend), the fewest going forward."""
    if frequency == "weekly":
        return _add_weekdays(day, n)
    if n >= 0:
        return day + timedelta(days=n + 2 * ((n - 1) // 5) if n else 0)
    return day - timedelta(days=-n + 2 * math.ceil(-n / 5))


def _add_weekdays(day: date, n: int) -> date:
    step = 1 if n > 0 else -1
    while n:
        day += timedelta(days=step)
        if day.weekday() < 5:
            n -= step
    return day


def nominal_open_day(
    frequency: str,
    rule: Deadline,
    period: Period,
    *,
    policy: OpeningPolicy = DEFAULT_POLICY,
) -> date:
    """The calendar-only opening day ``opening_rrule`` fires on: the agencies' nominal
    deadline less the opening lead (see ``_nominal_shift``), never before the period
    starts. It is not later than ``cycle_open_date`` unless public holidays intervene."""
    lead_days = policy.lead_days
    if rule.kind == "none":
        default = (policy.defaults or packaged_defaults()).lookup(policy.province, frequency)
        rule, lead_days = default.lead, default.lead_days
    agency = _nominal_shift(frequency, _calendar_nominal(rule, frequency, period), -lead_days)
    opened = _nominal_shift(frequency, agency, -policy.lead_time_days[frequency])
    return max(opened, period.start)


def _calendar_nominal(rule: Deadline, frequency: str, period: Period) -> date:
    if rule.kind == "day_of_period":
        return _place(rule, frequency, period)
    if rule.kind == "relative" and _period_end_anchor(rule.anchor, frequency):
        days = rule.offset_days or 0
        if rule.working_days:
            return _nominal_shift(frequency, period.end, days)
        return period.end + timedelta(days=days)
    raise UnsupportedDeadline(f"hạn loại {rule.kind} không có ngày mở kỳ lặp lại", rule)


_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def opening_rrule(
    frequency: str,
    rule: Deadline,
    *,
    start: date,
    policy: OpeningPolicy = DEFAULT_POLICY,
    send_at: time = DEFAULT_SEND_AT,
) -> str:
    """An RFC 5545 schedule firing on each period's nominal opening day, from ``start``:
    a ``DTSTART;TZID=Asia/Ho_Chi_Minh`` line (the first firing) and an ``RRULE`` line.

    RRULE cannot count working days or follow holidays: it fires on ``nominal_open_day``
    (days of month past the 28th are brought back to the 28th so that every month has
    one), and the flow it starts recomputes the exact dates with ``cycle_open_date`` and
    ``evaluate``. Use ``period_for_opening`` to find which period a firing is for.
    """
    _periodic(frequency)
    nominal = partial(nominal_open_day, frequency, rule, policy=policy)
    # A report due well after its period (annual, due 30/4 of the next year) opens in a
    # later period's span: start two periods back and take the first opening from start.
    period = period_containing(frequency, start).previous().previous()
    while (first := _rule_day(nominal(period))) < start:
        period = period.next()
    when = datetime.combine(first, send_at)
    return (
        f"DTSTART;TZID={TIMEZONE}:{when:%Y%m%dT%H%M%S}\nRRULE:{_rrule(frequency, first, send_at)}"
    )


def _rule_day(day: date) -> date:
    return day.replace(day=min(day.day, 28))


def _rrule(frequency: str, first: date, send_at: time) -> str:
    at = f"BYHOUR={send_at.hour};BYMINUTE={send_at.minute}"
    if frequency == "weekly":
        return f"FREQ=WEEKLY;BYDAY={_WEEKDAYS[first.weekday()]};{at}"
    if frequency == "monthly":
        return f"FREQ=MONTHLY;BYMONTHDAY={first.day};{at}"
    step = _RECUR[frequency]
    months = ",".join(str((first.month - 1) % step + 1 + k) for k in range(0, 12, step))
    return f"FREQ=YEARLY;BYMONTH={months};BYMONTHDAY={first.day};{at}"


def period_for_opening(
    frequency: str,
    rule: Deadline,
    fired_on: date,
    *,
    policy: OpeningPolicy = DEFAULT_POLICY,
) -> Period:
    """The period whose nominal opening day is nearest ``fired_on``: the one a firing of
    ``opening_rrule`` opens. Not simply the period containing it: an annual report due
    30/4 of the following year opens in the following year."""
    nominal = partial(nominal_open_day, frequency, rule, policy=policy)
    here = period_containing(frequency, fired_on)
    candidates = [here.previous().previous(), here.previous(), here, here.next()]
    return min(candidates, key=lambda p: abs((_rule_day(nominal(p)) - fired_on).days))
