"""Recovery and visibility for the outbox: rows whose worker died put back
(``reclaim_stale``, the at-least-once window), failed rows and attempts listed. Part of
the outbox (``notifications.outbox``), which re-exports these names."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.store import audit
from models.tables import Notification, NotificationAttempt, NotificationState


def reclaim_stale(
    session: Session, now: datetime, older_than: timedelta = timedelta(minutes=15)
) -> int:
    """Put rows stuck in ``sending`` (their worker died between claim and record) back
    to pending, due now. Each may already have been delivered: that is the outbox's
    at-least-once window. ``older_than`` must exceed the longest possible send of a
    claim chunk (timeouts × chunk size), or a live worker's rows are taken from it.
    The caller commits; returns the number of rows put back."""
    cutoff = now - older_than
    stale = session.exec(
        select(Notification.id)
        .where(col(Notification.state) == NotificationState.sending)
        .where(col(Notification.claimed_at) < cutoff)
    ).all()
    return sum(_reclaim_one(session, i, now, cutoff) for i in stale if i is not None)


def _reclaim_one(session: Session, notification_id: int, now: datetime, cutoff: datetime) -> bool:
    # Conditional again: the worker may have recorded its outcome since the SELECT.
    stmt = (
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .where(col(Notification.state) == NotificationState.sending)
        .where(col(Notification.claimed_at) < cutoff)
        .values(state=NotificationState.pending, next_attempt_at=now, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    if session.exec(stmt).rowcount != 1:
        return False
    error = "claim expired: worker stopped before recording the outcome (may have been sent)"
    session.add(
        NotificationAttempt(
            notification_id=notification_id, at=now, ok=False, error=error, worker="reclaim"
        )
    )
    audit(
        session,
        actor="reclaim",
        action="notification.reclaimed",
        entity="notification",
        entity_id=notification_id,
        at=now,
    )
    return True


def failed_notifications(session: Session, *, limit: int = 1000) -> list[Notification]:
    """Rows that will not be sent without a person: newest failure first."""
    stmt = (
        select(Notification)
        .where(col(Notification.state) == NotificationState.failed)
        .order_by(col(Notification.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())


def attempts_of(session: Session, notification_id: int) -> list[NotificationAttempt]:
    """A row's send attempts, oldest first."""
    stmt = (
        select(NotificationAttempt)
        .where(col(NotificationAttempt.notification_id) == notification_id)
        .order_by(col(NotificationAttempt.id))
    )
    return list(session.exec(stmt).all())
