"""One clock for "now": every flow, the sweep and the demo ask it, never ``datetime.now``.

Real time by default. ``frozen(at)`` fixes it for a block (tests, the demo's simulated
year, a flow run given an explicit ``now`` parameter); ``HANBAOCAO_NOW`` fixes it for a
whole process (a worker replaying a day). Values are always aware; naive ones are refused
so that a wall-clock time is never mistaken for UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from models.settings import settings

_frozen: ContextVar[datetime | None] = ContextVar("hanbaocao_now", default=None)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment with its offset ("2026-12-21T08:00:00+07:00")."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        example = "2026-12-21T08:00+07:00"
        raise ValueError(f"{text!r} không phải thời điểm ISO 8601 (ví dụ {example})") from None
    if moment.utcoffset() is None:
        raise ValueError(f"{text!r} thiếu múi giờ: viết như 2026-12-21T08:00+07:00")
    return moment.astimezone(UTC)


def now() -> datetime:
    """The current moment, aware UTC: the frozen one if any, else the environment's, else
    the system clock's."""
    moment = _frozen.get()
    if moment is not None:
        return moment
    fixed = settings().now
    if fixed:
        return parse_moment(fixed)
    return datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """``now()`` returns ``at`` inside the block (this thread/task only)."""
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: give it a time zone")
    token = _frozen.set(at.astimezone(UTC))
    try:
        yield at.astimezone(UTC)
    finally:
        _frozen.reset(token)


def resolve(at: datetime | None) -> datetime:
    """A flow's ``now`` parameter when given (aware), else the clock's."""
    if at is None:
        return now()
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: give it a time zone")
    return at.astimezone(UTC)
