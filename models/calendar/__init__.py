"""The reporting calendar: periods, deadlines, levels, reminders and cycle opening.

Pure functions over dates; working days come from ``models.workdays``. Times are aware
datetimes in Asia/Ho_Chi_Minh (UTC+7 all year: no daylight saving), which is what users
read; ``Due.at_utc`` is what gets stored and compared.

A package along the calendar's sections, everything public importable from here:

- ``period``: periods of Nghị định 09/2019/NĐ-CP, Điều 12 (spans, cut-off windows, keys);
- ``deadlines``: a clause's deadline placed in a period (``evaluate``) and split into the
  agencies' and the lead's levels (``levels``);
- ``ladder``: the escalation policy as data (``Ladder``) and its stages on working days;
- ``opening``: the exact opening day, the calendar-only RRULE that starts the flow, and
  the ``OpeningPolicy`` both follow.
"""

from __future__ import annotations

from directives.parsed import PERIODIC
from models.calendar.deadlines import Due, LevelledDue, earliest_deadline, evaluate, levels
from models.calendar.ladder import (
    DEFAULT_LADDER,
    Audience,
    Ladder,
    LadderStage,
    ScheduledStage,
    StageAnchor,
    schedule,
)
from models.calendar.opening import (
    DEFAULT_POLICY,
    OpeningPolicy,
    cycle_open_date,
    nominal_open_day,
    opening_rrule,
    period_for_opening,
)
from models.calendar.period import (
    DEFAULT_DUE_TIME,
    DEFAULT_OPEN_LEAD,
    DEFAULT_SEND_AT,
    Period,
    UnsupportedDeadline,
    cutoff_period,
    once_period,
    parse_period_key,
    period_containing,
    period_label,
    periods,
)
from models.deadline_rules import (
    DEFAULT_PROVINCE,
    DeadlineDefaults,
    DefaultDeadline,
    packaged_defaults,
)
from models.formats import TZ, local_text
from models.workdays import RollPolicy

__all__ = [
    "DEFAULT_DUE_TIME",
    "DEFAULT_LADDER",
    "DEFAULT_OPEN_LEAD",
    "DEFAULT_POLICY",
    "DEFAULT_PROVINCE",
    "DEFAULT_SEND_AT",
    "PERIODIC",
    "TZ",
    "Audience",
    "DeadlineDefaults",
    "DefaultDeadline",
    "Due",
    "Ladder",
    "LadderStage",
    "LevelledDue",
    "OpeningPolicy",
    "Period",
    "RollPolicy",
    "ScheduledStage",
    "StageAnchor",
    "UnsupportedDeadline",
    "cutoff_period",
    "cycle_open_date",
    "earliest_deadline",
    "evaluate",
    "levels",
    "local_text",
    "nominal_open_day",
    "once_period",
    "opening_rrule",
    "packaged_defaults",
    "parse_period_key",
    "period_containing",
    "period_for_opening",
    "period_label",
    "periods",
    "schedule",
]
