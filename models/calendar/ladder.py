"""The reminder ladder: the escalation policy as data (``Ladder``), and ``schedule``,
which places its stages on working days."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from models.calendar.deadlines import Due, _local
from models.calendar.period import DEFAULT_SEND_AT
from models.db import TZ
from models.workdays import WorkCalendar

E = TypeVar("E", bound=StrEnum)

# == Reminder ladder ========================================================================


class Audience(StrEnum):
    AGENCY = "agency"
    LEAD = "lead"
    RECIPIENT = "recipient"


class StageAnchor(StrEnum):
    OPEN = "open"  # the day the cycle opens
    DUE = "due"  # the agencies' deadline
    LEAD_DUE = "lead_due"  # the lead Sở's own deadline to the recipient


_STAGE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True, slots=True)
class LadderStage:
    name: str  # stable slug: part of the outbox's unique key
    anchor: StageAnchor
    offset: int  # working days from the anchor (negative: before it)
    audience: Audience

    @property
    def is_opening(self) -> bool:
        return self.anchor is StageAnchor.OPEN and self.offset == 0


@dataclass(frozen=True, slots=True)
class Ladder:
    """An ordered escalation policy, like an on-call one; data, so that an obligation
    can carry its own (``from_data`` / ``to_data`` round-trip through JSON)."""

    stages: tuple[LadderStage, ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Ladder:
        rows = data.get("stages", []) if isinstance(data, Mapping) else data
        stages = tuple(_stage(row) for row in rows)
        for s in stages:
            if s.anchor is StageAnchor.LEAD_DUE and s.audience is not Audience.LEAD:
                raise ValueError(
                    f"bước {s.name}: mốc lead_due (hạn của Sở chủ trì) chỉ dùng với audience lead"
                )
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"tên các bước phải khác nhau: {names}")
        return cls(stages)

    def to_data(self) -> dict[str, Any]:
        return {
            "stages": [
                {
                    "name": s.name,
                    "anchor": str(s.anchor),
                    "offset": s.offset,
                    "audience": str(s.audience),
                }
                for s in self.stages
            ]
        }


def _stage(row: Mapping[str, Any]) -> LadderStage:
    name, offset = str(row.get("name", "")), row.get("offset")
    if not _STAGE_NAME.fullmatch(name):
        raise ValueError(f"tên bước {name!r} không hợp lệ: dùng chữ thường không dấu, số và “-”")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise ValueError(f"bước {name}: offset phải là một số nguyên (số ngày làm việc)")
    anchor = _choice(name, "anchor", row.get("anchor"), StageAnchor)
    return LadderStage(
        name, anchor, offset, _choice(name, "audience", row.get("audience"), Audience)
    )


def _choice(stage: str, key: str, value: Any, enum: type[E]) -> E:
    try:
        return enum(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(
            f"bước {stage}: {key} {value!r} không hợp lệ (chọn một trong: {allowed})"
        ) from None


DEFAULT_LADDER = Ladder(
    (
        LadderStage("opened", StageAnchor.OPEN, 0, Audience.AGENCY),
        LadderStage("reminder-7", StageAnchor.DUE, -7, Audience.AGENCY),
        LadderStage("reminder-3", StageAnchor.DUE, -3, Audience.AGENCY),
        LadderStage("reminder-1", StageAnchor.DUE, -1, Audience.AGENCY),
        LadderStage("due-day", StageAnchor.DUE, 0, Audience.AGENCY),
        LadderStage("overdue", StageAnchor.DUE, 1, Audience.AGENCY),
        # The lead hears of the late agencies the working day after their deadline, so that
        # it can still chase them before its own deadline, of which it is reminded too.
        LadderStage("lead-reminder-3", StageAnchor.LEAD_DUE, -3, Audience.LEAD),
        LadderStage("escalation-lead", StageAnchor.DUE, 1, Audience.LEAD),
        LadderStage("lead-reminder-1", StageAnchor.LEAD_DUE, -1, Audience.LEAD),
        LadderStage("lead-due-day", StageAnchor.LEAD_DUE, 0, Audience.LEAD),
        LadderStage("escalation-recipient", StageAnchor.DUE, 7, Audience.RECIPIENT),
    )
)


@dataclass(frozen=True, slots=True)
class ScheduledStage:
    stage: LadderStage
    at: datetime  # aware, local office time on a working day
    also: tuple[str, ...] = ()  # stages folded into this one (same day, same audience)

    @property
    def name(self) -> str:
        return self.stage.name


def schedule(
    ladder: Ladder,
    opened_at: datetime,
    due: Due | datetime,
    calendar: WorkCalendar,
    send_at: time = DEFAULT_SEND_AT,
    *,
    lead_due: Due | datetime | None = None,
) -> list[ScheduledStage]:
    """When each stage of the ladder goes out, at ``send_at`` on working days.

    A cycle opened late skips the stages already past, never its opening notice. At most
    one message per audience per day: stages that meet on a day fold into one, the later
    stage winning, except that the opening notice always wins (it carries the link and is
    the agency's first word of the cycle); ``also`` names the folded ones. On the opening
    day, ``at`` may precede ``opened_at``: send at once. Stages anchored on the lead's
    deadline are left out when there is none (``lead_due``).
    """
    open_day = calendar.roll_forward(_local_day(opened_at))
    due_day = calendar.roll_forward(_local_day(due))
    lead_day = calendar.roll_forward(_local_day(lead_due)) if lead_due is not None else None
    return list(_schedule(ladder, open_day, due_day, lead_day, calendar, send_at))


@lru_cache(maxsize=1 << 14)  # cycles of one frequency share their open and due days
def _schedule(
    ladder: Ladder,
    open_day: date,
    due_day: date,
    lead_day: date | None,
    calendar: WorkCalendar,
    send_at: time,
) -> tuple[ScheduledStage, ...]:
    groups: dict[tuple[date, Audience], list[int]] = {}
    bases = {StageAnchor.OPEN: open_day, StageAnchor.DUE: due_day, StageAnchor.LEAD_DUE: lead_day}
    for position, stage in enumerate(ladder.stages):
        base = bases[stage.anchor]
        if base is None:
            continue  # no lead deadline: no lead reminders
        day = calendar.add_working_days(base, stage.offset)
        if day < open_day:
            if not stage.is_opening:
                continue  # already past when the cycle opened
            day = open_day
        groups.setdefault((day, stage.audience), []).append(position)
    folded = sorted(
        (day, *_fold_stages(ladder, positions)) for (day, _), positions in groups.items()
    )
    return tuple(
        ScheduledStage(ladder.stages[winner], _local(day, send_at), also)
        for day, winner, also in folded
    )


def _fold_stages(ladder: Ladder, positions: list[int]) -> tuple[int, tuple[str, ...]]:
    """The stage that speaks for one day and audience, and the names folded into it."""
    if len(positions) == 1:
        return positions[0], ()
    openings = [p for p in positions if ladder.stages[p].is_opening]
    winner = openings[0] if openings else positions[-1]  # positions ascend
    return winner, tuple(ladder.stages[p].name for p in positions if p != winner)


def _local_day(moment: Due | datetime) -> date:
    if isinstance(moment, Due):
        return moment.day
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give it a time zone")
    return moment.astimezone(TZ).date()
