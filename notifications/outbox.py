"""The outbox dispatcher: queue a message once, send it once, never lose it.

Life of a row: ``pending`` (due at ``next_attempt_at``) → ``sending`` (claimed by one
worker) → ``sent``, or back to ``pending`` later (transient error, with backoff), or
``failed`` (permanent error, or attempts exhausted; see ``failed_notifications``).
Every send attempt is a ``NotificationAttempt`` row with its error.

Exactly-once among workers: rows are claimed in batches of ``CLAIM_CHUNK`` with one
conditional ``UPDATE … RETURNING`` (the WHERE of ``store.claim_statement``: still
pending, still due) that returns the rows themselves, COMMITTED before anything is
sent, so two dispatchers running at once (two Prefect workers, an overlapping sweep)
cannot both send a row: the second one's UPDATE no longer matches it.
``tests/notifications/test_outbox.py`` runs two dispatchers in parallel over 200 rows on
SQLite and PostgreSQL.

Recording: once the batch has gone out on the kept-open connection, its sent rows are
marked in one UPDATE statement (only those still ``sending`` and ours) and its attempts
inserted in one INSERT, in the same transaction as the next batch's claim: one commit
per batch (a failure's own retry time is one UPDATE of that row, in the same commit).
Per message that was two commits; on SQLite a commit costs more than the SMTP exchange
(bench/bench_notify.py). A sent row keeps only what the audit needs (``sent_payload``:
subject, addressee, sender, file names, Message-ID), not its bodies and live links;
a pending or failed row keeps its whole message for the next try.

At-least-once window: a worker that dies after the SMTP server accepted messages and
before its batch's commit leaves those rows in ``sending``; ``reclaim_stale`` puts them
back to pending and they are sent again — at most the messages of the batch in flight
(``CLAIM_CHUNK``), each with the same Message-ID (the email transport derives it, and
the whole message, from the content: a mail system that de-duplicates by Message-ID
drops the copy). Every other row is sent exactly once. The same holds for a timeout
while waiting for the server's reply to DATA. ``tests/notifications/
test_outbox_batches.py`` kills a dispatcher mid-batch and counts the copies.
``reclaim_stale``'s threshold (15 min) must exceed the time a batch can take (a dead
server costs one connect timeout, then fails fast for the transport's cooldown), or a
live worker's rows would be taken from it.

Time: ``now`` is aware UTC (the dispatch's clock; tests pass it). Office hours are
wall-clock times in Asia/Ho_Chi_Minh on working days of the ``WorkCalendar``.

Why over 600 lines: claiming, sending and recording a batch share one transaction
story (the exactly-once argument above) that is easier to check in one place; what a
row keeps and crash recovery are in outbox_payload.py and outbox_recovery.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.cycle_controls import CyclePause
from models.db import utcnow
from models.store import audit, claim_statement
from models.tables import Notification, NotificationAttempt, NotificationState
from models.workdays import WorkCalendar
from notifications import holds
from notifications.outbox_payload import (
    KEPT_WHEN_SENT,
    MESSAGE_KEYS,
    message_of,
    payload_of,
    sent_payload,
)
from notifications.outbox_recovery import attempts_of, failed_notifications, reclaim_stale
from notifications.vocabulary import ChannelFault, DeliveryError, Message, Transport

# Re-exported: the outbox's payload and recovery halves live in their own modules.
__all__ = [
    "BACKOFF",
    "CLAIM_CHUNK",
    "KEPT_WHEN_SENT",
    "MESSAGE_KEYS",
    "OFFICE_HOURS",
    "Claimed",
    "DispatchReport",
    "OfficeHours",
    "RetryPolicy",
    "attempts_of",
    "dispatch",
    "enqueue",
    "enqueue_many",
    "failed_notifications",
    "message_of",
    "payload_of",
    "payload_url",
    "reclaim_stale",
    "sent_payload",
]

log = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICE_HOURS = (time(7, 30), time(17, 0))
BACKOFF = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)  # seconds, by attempt number
# Rows claimed per statement, and settled per statement and commit once sent: the batch.
# Claimed rows wait in ``sending`` only while the rows before them in the batch go out,
# far below ``reclaim_stale``'s threshold; a worker that dies mid-batch leaves at most
# this many rows that may have gone out already (resent, with the same Message-ID).
CLAIM_CHUNK = 50

SessionFactory = Callable[[], AbstractContextManager[Session]]
# Turns a row (a ``Claimed``, or a ``Notification`` from elsewhere: both have
# ``agency_id``, ``channel`` and ``payload``) into its contact's Apprise URL.
UrlResolver = Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed outbox row: what sending and recording it need, read from the claim's
    RETURNING as plain values (an ORM object per message cost more than its commit)."""

    id: int
    agency_id: int
    channel: str
    attempts: int
    payload: dict[str, Any]


_CLAIMED = tuple(
    Notification.__table__.c[name]  # type: ignore[attr-defined]
    for name in ("id", "agency_id", "channel", "attempts", "payload")
)


@dataclass(slots=True)
class DispatchReport:
    """What one dispatch did, for logs and the cycle's artifacts."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped_outside_hours: int = 0
    taken_by_others: int = 0  # claims lost to a concurrent dispatcher
    held: int = 0  # rows put on hold (their channel cannot send: see notifications.holds)
    next_open_at: datetime | None = None
    channels_held: dict[str, str] = field(default_factory=dict)  # newly held: reason
    channels_released: list[str] = field(default_factory=list)  # came back by a probe

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_open_at"] = self.next_open_at.isoformat() if self.next_open_at else None
        return data


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff: Sequence[int] = BACKOFF

    def delay(self, attempts: int, retry_after: float | None) -> timedelta:
        """The wait after the ``attempts``-th failure; a service's Retry-After wins when
        longer (sending earlier would only be refused again)."""
        step = self.backoff[min(attempts, len(self.backoff)) - 1] if self.backoff else 0
        return timedelta(seconds=max(step, retry_after or 0))


# --- queueing ------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    cycle_id: int,
    agency_id: int,
    stage: str,
    channel: str,
    payload: dict[str, Any],
    at: datetime,
) -> bool:
    """Queue one message, due at ``at``. Idempotent on (cycle, agency, stage, channel):
    an existing row is left exactly as it is (a re-run sweep must not reset a sent or
    failed row). True when a row was inserted. The caller commits."""
    row = {
        "cycle_id": cycle_id,
        "agency_id": agency_id,
        "stage": stage,
        "channel": channel,
        "next_attempt_at": at,
        "payload": payload,
        "created_at": utcnow(),
        "state": NotificationState.pending,
        "attempts": 0,
    }
    return session.connection().execute(_enqueue_one(), row).first() is not None


def enqueue_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``enqueue`` for many rows (each with ``cycle_id``, ``agency_id``, ``stage``,
    ``channel``, ``next_attempt_at``, ``payload``) in one statement: (stage, channel)
    of each row inserted. The dialects' INSERT … ON CONFLICT is not in SQLAlchemy's
    statement cache, so it is compiled on every execution: once per row cost more than
    rendering the reminder; once per step costs nothing."""
    if not rows:
        return []
    created = utcnow()
    params = [{**row, "created_at": created} for row in rows]
    stmt = _enqueue_statement(session.get_bind().dialect.name)
    return [(stage, channel) for stage, channel in session.connection().execute(stmt, params)]


_ENQUEUED = (
    "cycle_id",
    "agency_id",
    "stage",
    "channel",
    "next_attempt_at",
    "payload",
    "created_at",
    "state",
    "attempts",
)


@lru_cache(maxsize=1)
def _enqueue_one() -> Any:
    """``enqueue``'s statement, the same on both dialects (INSERT … ON CONFLICT DO NOTHING
    RETURNING: SQLite 3.35 and PostgreSQL). Text, with the columns' types on its values:
    SQLAlchemy compiles its dialect INSERT … ON CONFLICT again on every execution, which
    was a sixth of queueing an upload's receipt; a text statement is compiled once."""
    table = Notification.__table__  # type: ignore[attr-defined]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(_ENQUEUED)}) "
        f"VALUES ({', '.join(':' + name for name in _ENQUEUED)}) "
        "ON CONFLICT (cycle_id, agency_id, stage, channel) DO NOTHING RETURNING id"
    )
    types = (bindparam(name, type_=table.c[name].type) for name in _ENQUEUED)
    return text(sql).bindparams(*types)


@lru_cache(maxsize=4)
def _enqueue_statement(dialect: str) -> Any:
    """One statement per dialect, its values bound at execution."""
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = Notification.__table__.c  # type: ignore[attr-defined]
    fixed = {"state": NotificationState.pending, "attempts": 0}
    bound = {
        name: bindparam(name, type_=columns[name].type) for name in _ENQUEUED if name not in fixed
    }
    return (
        dialect_insert(Notification)
        .values(**fixed, **bound)
        .on_conflict_do_nothing(index_elements=["cycle_id", "agency_id", "stage", "channel"])
        # RETURNING says which rows went in on both backends (rowcount does not, for
        # inserts through psycopg).
        .returning(col(Notification.stage), col(Notification.channel))
    )


# --- office hours --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Messages go out on working days between ``opens`` and ``closes``, local time."""

    calendar: WorkCalendar
    opens: time = OFFICE_HOURS[0]
    closes: time = OFFICE_HOURS[1]

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(LOCAL_TZ)
        return (
            self.calendar.is_working_day(local.date()) and self.opens <= local.time() < self.closes
        )

    def next_open(self, now: datetime) -> datetime:
        """The next opening at or after ``now`` (``now`` itself when open), in UTC."""
        if self.is_open(now):
            return now
        local = now.astimezone(LOCAL_TZ)
        day = local.date()
        if not (self.calendar.is_working_day(day) and local.time() < self.opens):
            day = self.calendar.next_working_day(day)
        return datetime.combine(day, self.opens, tzinfo=LOCAL_TZ).astimezone(now.tzinfo)


# --- dispatching ---------------------------------------------------------------------


def payload_url(row: Claimed) -> str:
    """The default resolver: the contact's Apprise URL stored in the payload."""
    return str(row.payload["url"])


def dispatch(
    session_factory: SessionFactory,
    *,
    now: datetime,
    worker: str,
    transports: Mapping[str, Transport],
    calendar: WorkCalendar,
    office_hours: tuple[time, time] = OFFICE_HOURS,
    batch: int = 500,
    max_attempts: int = 6,
    backoff: Sequence[int] = BACKOFF,
    resolve_url: UrlResolver = payload_url,
) -> DispatchReport:
    """Send the due rows of the channels in ``transports``, oldest first; at most
    ``batch`` of them. Outside office hours nothing is sent and the report says when
    the office opens. Rows of channels without a transport are left for a dispatcher
    that has one. ``resolve_url`` turns a row into its contact's Apprise URL (default:
    ``payload["url"]``); pass one that builds it from settings and the agency's
    contact to keep SMTP passwords and Zalo tokens out of the database."""
    hours = OfficeHours(calendar, *office_hours)
    report = DispatchReport()
    if not hours.is_open(now):
        with session_factory() as session:
            report.skipped_outside_hours = _count_due(session, now, transports)
        report.next_open_at = hours.next_open(now)
        return report
    policy = RetryPolicy(max_attempts, backoff)
    # One session for the whole dispatch: a session (and pool checkout) per message
    # would cost more than the message's own commit.
    with session_factory() as session:
        run = _Run(session, now, worker, transports, policy)
        run.check_holds(resolve_url, report)
        groups = _due_groups(session, now, transports, batch)
        for chunk in _chunks(groups, CLAIM_CHUNK):
            # The claim's commit also records the batch before: one commit per batch.
            claimed = run.claim(chunk)
            report.taken_by_others += len(chunk) - len(claimed)
            for rows in _by_addressee(claimed):
                run.send(rows, resolve_url, report)
        run.settle()
    return report


def _by_addressee(rows: list[Claimed]) -> list[list[Claimed]]:
    """Several messages due to one agency over one channel: one send (a digest)."""
    groups: dict[tuple[int, str], list[Claimed]] = {}
    for row in rows:
        groups.setdefault((row.agency_id, row.channel), []).append(row)
    return list(groups.values())


def _due_filter(now: datetime, transports: Mapping[str, Transport]) -> list[Any]:
    return [
        col(Notification.state) == NotificationState.pending,
        col(Notification.next_attempt_at) <= now,
        col(Notification.channel).in_(list(transports)),
        # A paused cycle's messages wait (models.actions.pause).
        col(Notification.cycle_id).not_in(select(CyclePause.cycle_id)),
    ]


def _due_groups(
    session: Session, now: datetime, transports: Mapping[str, Transport], batch: int
) -> list[list[int]]:
    """The due rows (oldest ``batch`` first, on ix_notification_due), grouped by
    (agency, channel): the rows of one group go out as one digest."""
    stmt = (
        select(Notification.id, Notification.agency_id, Notification.channel)
        .where(*_due_filter(now, transports))
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(batch)
    )
    groups: dict[tuple[int, str], list[int]] = {}
    for nid, agency_id, channel in session.exec(stmt).all():
        if nid is not None:
            groups.setdefault((agency_id, channel), []).append(nid)
    return list(groups.values())


def _count_due(session: Session, now: datetime, transports: Mapping[str, Transport]) -> int:
    stmt = select(func.count()).select_from(Notification).where(*_due_filter(now, transports))
    return int(session.exec(stmt).one())


def _chunks(groups: list[list[int]], size: int) -> Iterator[list[int]]:
    """Claim chunks of about ``size`` ids that never split a group (a digest)."""
    chunk: list[int] = []
    for group in groups:
        if chunk and len(chunk) + len(group) > size:
            yield chunk
            chunk = []
        chunk.extend(group)
    if chunk:
        yield chunk


# Recording outcomes: the sent rows of a batch in one UPDATE (executed for all of them at
# once), every attempt of the batch in one INSERT, in the commit of the next claim or the
# last ``settle``; a failure's own UPDATE per row (its retry time is its own). Built once,
# as Core statements: building them (and the ORM's unit of work) per message cost more
# than sending in the bench.
_OURS = (
    col(Notification.state) == NotificationState.sending,
    col(Notification.claimed_by) == bindparam("worker"),
)
# A sent row keeps what the audit needs (``sent_payload``): its rendered bodies and live
# links go in the same statement that marks it sent.
_SETTLE_SENT = (
    update(Notification)
    .where(col(Notification.id) == bindparam("nid"), *_OURS)
    .values(
        state=NotificationState.sent, sent_at=bindparam("sent_at"), payload=bindparam("payload")
    )
)
_SETTLE_FAILED = (
    update(Notification)
    .where(col(Notification.id) == bindparam("nid"), *_OURS)
    .values(
        state=bindparam("state"),
        next_attempt_at=bindparam("next_attempt_at"),
        last_error=bindparam("last_error"),
    )
)
_INSERT_ATTEMPT = insert(NotificationAttempt)


class _Run:
    """One dispatch's state: its session, clock, worker name, transports and policy."""

    def __init__(
        self,
        session: Session,
        now: datetime,
        worker: str,
        transports: Mapping[str, Transport],
        policy: RetryPolicy,
    ) -> None:
        self.session = session
        self.now = now
        self.worker = worker
        self.transports = transports
        self.policy = policy
        self.held: dict[str, str] = {}  # channel -> why it cannot send (this dispatch)
        self.sent: list[dict[str, Any]] = []  # sent rows not yet recorded (_SETTLE_SENT's)
        self.attempts: list[dict[str, Any]] = []  # attempt rows not yet inserted

    def check_holds(self, resolve_url: UrlResolver, report: DispatchReport) -> None:
        """Before the due rows: try each held channel again once its probe is due (a
        success releases its rows, due now); hold the due rows of those still held."""
        session, now = self.session, self.now
        for hold in holds.holds(session, list(self.transports)):
            if hold.probe_due(now) and self._probe(hold.channel, resolve_url, report):
                holds.release(session, now=now, actor=self.worker, channel=hold.channel)
                report.channels_released.append(hold.channel)
            else:
                self.held.setdefault(hold.channel, hold.reason)
                report.held += holds.hold_due(session, hold.channel, reason=hold.reason, now=now)
            session.commit()

    def _probe(self, channel: str, resolve_url: UrlResolver, report: DispatchReport) -> bool:
        """Send the channel's oldest held row; True unless the channel is still stuck."""
        nid = holds.oldest_held(self.session, channel)
        if nid is None or not holds.claim_probe(
            self.session, nid, worker=self.worker, now=self.now
        ):
            self.session.commit()
            return False  # another worker's probe took it: let that one decide
        self.session.commit()
        found = self.session.exec(select(*_CLAIMED).where(col(Notification.id) == nid)).one()
        self.send([Claimed(*found)], resolve_url, report)
        self.settle()
        return channel not in self.held

    def claim(self, ids: list[int]) -> list[Claimed]:
        """Claim what is still claimable and COMMIT before returning: only then is it
        safe to send. Rows missing from the result were taken by another process
        first (or changed since they were selected): leave them alone.

        One statement per batch, ``UPDATE … RETURNING`` what sending needs
        (``store.claim_statement``): nothing is read again before sending. The same
        commit records the batch before (``_record``), so a batch costs one commit;
        a batch's rows are recorded before the next batch's first message goes out.
        Should the claim fail (a busy database), the batch before is still recorded,
        alone, before the error goes up: it went out, it must not go out again."""
        sent, attempts = self._take()
        try:
            self._record(sent, attempts)
            stmt = claim_statement(ids, worker=self.worker, now=self.now).returning(*_CLAIMED)
            rows = self.session.connection().execute(stmt).all()
            self.session.commit()
        except Exception:
            self.session.rollback()
            self._record(sent, attempts)
            self.session.commit()
            raise
        by_id = {row[0]: Claimed(*row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def settle(self) -> None:
        """Record what is left to record and COMMIT: the commit that ends the last
        batch's at-least-once window."""
        self._record(*self._take())
        self.session.commit()

    def _take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        taken = self.sent, self.attempts
        self.sent, self.attempts = [], []
        return taken

    def _record(self, sent: list[dict[str, Any]], attempts: list[dict[str, Any]]) -> None:
        """The batch's sent rows in one UPDATE (only those still ours: ``reclaim_stale``
        may have taken some back from a worker presumed dead), its attempts in one
        INSERT; the caller commits."""
        connection = self.session.connection()
        if sent:
            changed = connection.execute(_SETTLE_SENT, sent).rowcount
            if connection.dialect.supports_sane_multi_rowcount and changed != len(sent):
                log.warning(
                    "%d notification(s) were reclaimed while being sent", len(sent) - changed
                )
        if attempts:
            connection.execute(_INSERT_ATTEMPT, attempts)

    def send(self, rows: list[Claimed], resolve_url: UrlResolver, report: DispatchReport) -> None:
        """Send one row's message, or several rows to one addressee as one digest; every
        row then records the outcome (its own attempt row, its own retry schedule)."""
        first = rows[0]
        transport = self.transports[first.channel]
        if first.channel in self.held:  # held earlier in this dispatch: do not try
            self._hold(rows, self.held[first.channel], report=report)
            return
        try:
            message_id = transport.send(resolve_url(first), _message_of(rows))
        except ChannelFault as exc:
            self._channel_fault(rows, exc, report)
        except DeliveryError as exc:
            for row in rows:
                self._record_failure(row, exc, transport, report)
        except Exception as exc:  # a bug in a transport must not strand a claimed row
            log.exception("notification %s: unexpected error from %s", first.id, first.channel)
            for row in rows:
                error = DeliveryError(repr(exc), permanent=False)
                self._record_failure(row, error, transport, report)
        else:
            for row in rows:
                self._record_sent(row, message_id, report)

    def _channel_fault(
        self, rows: list[Claimed], exc: ChannelFault, report: DispatchReport
    ) -> None:
        """The channel cannot send: hold these rows (their attempt recorded) and every
        due row of the channel, and say so once (audit + the report, which the sweep
        turns into a Prefect event for the operator)."""
        channel, reason = rows[0].channel, str(exc)
        for row in rows:
            self._attempt(self.session, row, ok=False, error=reason, permanent=False)
        self._hold(rows, reason, report=report)
        self.held[channel] = reason
        report.channels_held[channel] = reason
        report.held += holds.hold_due(self.session, channel, reason=reason, now=self.now)
        holds.record_hold(
            self.session, channel=channel, reason=reason, now=self.now, actor=self.worker
        )
        self.session.commit()
        log.warning("channel %s held: %s", channel, reason)

    def _hold(self, rows: list[Claimed], reason: str, *, report: DispatchReport) -> None:
        ids = [row.id for row in rows]
        report.held += holds.hold_claimed(
            self.session, ids, reason=reason, now=self.now, worker=self.worker
        )
        self.session.commit()

    def _record_sent(self, row: Claimed, message_id: str | None, report: DispatchReport) -> None:
        # Recorded with the rest of the batch by ``_record``.
        payload = sent_payload(row.payload, message_id)
        self.sent.append(
            {"nid": row.id, "worker": self.worker, "sent_at": self.now, "payload": payload}
        )
        self._attempt(self.session, row, ok=True)
        report.sent += 1

    def _record_failure(
        self, row: Claimed, exc: DeliveryError, transport: Transport, report: DispatchReport
    ) -> None:
        give_up = exc.permanent or row.attempts >= self.policy.max_attempts
        delay = self.policy.delay(row.attempts, exc.retry_after)
        session = self.session
        self._settle(
            session,
            row,
            state=NotificationState.failed if give_up else NotificationState.pending,
            next_attempt_at=None if give_up else self.now + delay,
            last_error=str(exc),
        )
        self._attempt(session, row, ok=False, error=str(exc), permanent=exc.permanent)
        if give_up:
            self._audit_failed(session, row, exc)
        if give_up:
            report.failed += 1
        else:
            report.retried += 1
        log.info(
            "notification %s to %s: %s (%s)",
            row.id,
            _masked(transport, row),
            exc,
            "failed" if give_up else f"retry in {delay}",
        )

    def _settle(self, session: Session, row: Claimed, **values: Any) -> bool:
        """A failed send leaves ``sending`` — only if the row is still ours
        (``reclaim_stale`` may have taken it back from a worker presumed dead)."""
        params = {"nid": row.id, "worker": self.worker, **values}
        return bool(session.connection().execute(_SETTLE_FAILED, params).rowcount == 1)

    def _attempt(
        self,
        session: Session,
        row: Claimed,
        *,
        ok: bool,
        error: str | None = None,
        permanent: bool = False,
    ) -> None:
        self.attempts.append(
            {
                "notification_id": row.id,
                "at": self.now,
                "ok": ok,
                "error": error,
                "permanent": permanent,
                "worker": self.worker,
            }
        )

    def _audit_failed(self, session: Session, row: Claimed, exc: DeliveryError) -> None:
        audit(
            session,
            actor=self.worker,
            action="notification.failed",
            entity="notification",
            entity_id=row.id,
            data={"error": str(exc), "permanent": exc.permanent, "attempts": row.attempts},
            at=self.now,
        )


def _message_of(rows: list[Claimed]) -> Message:
    messages = [message_of(row.payload) for row in rows]
    if len(messages) == 1:
        return messages[0]
    from notifications.messages import digest  # rendering stays out of the hot path

    payload = rows[0].payload
    agency = str(payload.get("agency") or f"cơ quan {rows[0].agency_id}")
    combined = digest(messages, agency=agency, sender=str(payload.get("sender") or ""))
    # A template (ZNS) says one notice: the latest one's facts speak for the digest.
    latest = next((m.fields for m in reversed(messages) if m.fields), ())
    return replace(combined, fields=latest)


def _masked(transport: Transport, row: Claimed) -> str:
    url = row.payload.get("url")
    return transport.mask(str(url)) if url else f"contact of agency {row.agency_id}"
