"""The reporting calendar: periods, deadlines, levels, reminders and cycle opening
(``models.calendar.deadlines`` for now; everything public is importable from here)."""

from models.calendar.deadlines import *  # noqa: F403
from models.calendar.deadlines import __all__ as _all
from models.calendar.deadlines import local_text as local_text
from models.calendar.deadlines import period_label as period_label

__all__ = [*_all, "local_text", "period_label"]
