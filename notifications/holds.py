"""Holding a channel: when the channel itself cannot send (``ChannelFault``: an SMTP
login refused with 535, a certificate that does not verify, a Zalo balance used up,
the OA's tokens refused), its rows wait instead of failing one by one, the operator
is told once, and they all go out — each once — when the channel works again.

A held row is ``pending`` with no ``next_attempt_at`` (the dispatcher's due query never
matches NULL) and a ``last_error`` starting with ``HELD_MARK`` (its reason);
``claimed_at`` is when it was last held or tried. No schema change: the states stay
pending/sending/sent/failed, so nothing that reads them needs to learn a new one.

A channel comes back either by hand (``release``: ``hanbaocao outbox retry`` after
the fix) or by itself: every ``PROBE_EVERY`` the dispatcher sends the oldest held row
as a probe, and if that goes through, releases the rest (due at once). Between probes,
rows of a held channel that fall due are held without being tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models.store import audit
from models.tables import Notification, NotificationState

HELD_MARK = "[kênh tạm giữ] "
PROBE_EVERY = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Hold:
    """A held channel: how many rows wait, why, and when it was last tried."""

    channel: str
    rows: int
    reason: str
    last_try: datetime | None

    def probe_due(self, now: datetime, every: timedelta = PROBE_EVERY) -> bool:
        return self.last_try is None or now - self.last_try >= every


def _held(channel: str | None = None) -> list[Any]:
    where = [
        col(Notification.state) == NotificationState.pending,
        col(Notification.next_attempt_at).is_(None),
        col(Notification.last_error).startswith(HELD_MARK),
    ]
    if channel is not None:
        where.append(col(Notification.channel) == channel)
    return where


def holds(session: Session, channels: list[str] | None = None) -> list[Hold]:
    """The held channels (of ``channels``, else all), for the dispatcher and operators."""
    stmt = (
        select(Notification.channel, func.count(), func.max(Notification.claimed_at))
        .where(*_held())
        .group_by(col(Notification.channel))
        .order_by(col(Notification.channel))
    )
    if channels is not None:
        stmt = stmt.where(col(Notification.channel).in_(channels))
    found = []
    for channel, count, last_try in session.exec(stmt).all():
        found.append(Hold(channel, int(count), _reason(session, channel), last_try))
    return found


def _reason(session: Session, channel: str) -> str:
    latest = session.exec(
        select(Notification.last_error)
        .where(*_held(channel))
        .order_by(col(Notification.claimed_at).desc(), col(Notification.id).desc())
        .limit(1)
    ).first()
    return (latest or "")[len(HELD_MARK) :]


def hold_claimed(
    session: Session, ids: list[int], *, reason: str, now: datetime, worker: str
) -> int:
    """Put rows this worker claimed on hold, undoing the claim's attempt count: waiting
    for a fix must not spend a row's retry budget (each try is still an attempt row)."""
    stmt = (
        update(Notification)
        .where(col(Notification.id).in_(ids))
        .where(col(Notification.state) == NotificationState.sending)
        .where(col(Notification.claimed_by) == worker)
        .values(
            state=NotificationState.pending,
            next_attempt_at=None,
            last_error=HELD_MARK + reason,
            claimed_by=None,
            claimed_at=now,
            attempts=col(Notification.attempts) - 1,
        )
        .execution_options(synchronize_session=False)
    )
    return int(session.connection().execute(stmt).rowcount)


def hold_due(session: Session, channel: str, *, reason: str, now: datetime) -> int:
    """Hold the channel's rows that are due now, without trying them."""
    stmt = (
        update(Notification)
        .where(col(Notification.channel) == channel)
        .where(col(Notification.state) == NotificationState.pending)
        .where(col(Notification.next_attempt_at) <= now)
        .values(next_attempt_at=None, last_error=HELD_MARK + reason, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.connection().execute(stmt).rowcount)


def oldest_held(session: Session, channel: str) -> int | None:
    return session.exec(
        select(Notification.id).where(*_held(channel)).order_by(col(Notification.id)).limit(1)
    ).first()


def claim_probe(session: Session, notification_id: int, *, worker: str, now: datetime) -> bool:
    """Claim one held row to try it (conditional, like every claim: another worker's
    probe may have taken it first)."""
    stmt = (
        update(Notification)
        .where(col(Notification.id) == notification_id, *_held())
        .values(
            state=NotificationState.sending,
            claimed_by=worker,
            claimed_at=now,
            attempts=col(Notification.attempts) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(session.connection().execute(stmt).rowcount == 1)


def release(
    session: Session, *, now: datetime, actor: str, channel: str | None = None
) -> dict[str, int]:
    """Make the held rows (of ``channel``, else of every channel) due at ``now``; the
    number released per channel. The caller commits."""
    released: dict[str, int] = {}
    for hold in holds(session, None if channel is None else [channel]):
        stmt = (
            update(Notification)
            .where(*_held(hold.channel))
            .values(next_attempt_at=now, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        released[hold.channel] = int(session.connection().execute(stmt).rowcount)
        audit(
            session,
            actor=actor,
            action="channel.released",
            entity="channel",
            entity_id=None,
            data={"channel": hold.channel, "rows": released[hold.channel]},
            at=now,
        )
    return released


def record_hold(session: Session, *, channel: str, reason: str, now: datetime, actor: str) -> None:
    audit(
        session,
        actor=actor,
        action="channel.held",
        entity="channel",
        entity_id=None,
        data={"channel": channel, "reason": reason},
        at=now,
    )
