"""The app's tables beside the agency registry: directives and their obligations, the
report cycles they produce, submissions, the notification outbox and the audit trail.

Conventions, each for a reason:

- Every datetime column is ``UTCDateTime``: aware in, aware UTC out, naive refused.
- Enumerations are stored as short strings with a CHECK constraint, not as PostgreSQL
  ENUM types: adding a state later is then a plain migration on both backends.
- Constraints and indexes carry explicit names so Alembic can find them again
  (SQLite's batch mode rebuilds tables and needs names to drop or recreate them).
- Foreign keys to ``agency`` are RESTRICT: agencies are retired with ``active_to``,
  never deleted while history points at them. Rows that only make sense inside
  their parent (an obligation's parties, a cycle's submissions) CASCADE; a cycle
  RESTRICTs the deletion of its obligation, so a directive that has run cannot be
  deleted by accident while one loaded by mistake can.
- The time of a row's next action is a stored, indexed column, so the sweep asks
  one cheap question (``store.due_actions``) however many rows there are.

``DirectiveBase``/``ObligationBase`` hold what the parser and the reviewer see (the
future API's ``…Public`` models extend them); the table classes add keys and stamps.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, Index, SQLModel, UniqueConstraint

# The foreign keys below point at agency.id: importing the registry puts its table in the
# same metadata, so ``create_all`` and Alembic never meet an unresolved foreign key.
import models.agency  # noqa: F401
from models.db import UTCDateTime, str_enum, utcnow
from models.vocabulary import ObligationStatus as ObligationStatus
from models.vocabulary import SubmissionState as SubmissionState

# JSON columns hold plain data: the parser's dataclasses after ``dataclasses.asdict``.
JSONDict = dict[str, Any]


class PartyRole(StrEnum):
    submitter = "submitter"
    recipient = "recipient"
    via = "via"


class CycleState(StrEnum):
    scheduled = "scheduled"
    open = "open"
    closed = "closed"


class NotificationState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


# --- directives and obligations -------------------------------------------------------


class DirectiveBase(SQLModel):
    number: str | None = Field(default=None, max_length=64)  # "6966/UBND-KTN"
    issuer: str | None = Field(default=None, max_length=255)
    issuer_province: str | None = Field(default=None, max_length=64)  # slug: "quang-ngai"
    doc_type: str | None = Field(default=None, max_length=64)
    date: dt.date | None = None
    subject: str | None = None
    signer: str | None = Field(default=None, max_length=255)
    signer_role: str | None = Field(default=None, max_length=255)
    source_name: str = Field(max_length=1024)
    version: int = 1


class Directive(DirectiveBase, table=True):
    """One version of a directive; a changed file with the same number and issuer is a
    new row whose ``previous_id`` points at the version it supersedes."""

    __table_args__ = (
        UniqueConstraint("number", "issuer", "version", name="uq_directive_number_issuer_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_text: str = Field(sa_type=sa.Text)
    # sha256 of the source text (the reader's NFC text): "the same file" for idempotency.
    source_sha256: str = Field(max_length=64, index=True)
    previous_id: int | None = Field(
        default=None, foreign_key="directive.id", ondelete="SET NULL", index=True
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ObligationBase(SQLModel):
    clause_index: int  # the clause's position in the parsed directive
    clause_text: str = Field(sa_type=sa.Text)
    clause_start: int
    clause_end: int
    # sha256 of the normalised clause text plus the extracted fields (not the offsets):
    # equal hashes are what "the clause did not change" means across versions.
    clause_hash: str = Field(max_length=64)
    frequency: str = Field(max_length=16)
    deadline: JSONDict = Field(default_factory=dict, sa_type=JSON)
    submitter_phrases: list[str] = Field(default_factory=list, sa_type=JSON)
    inherited_submitters: list[str] = Field(default_factory=list, sa_type=JSON)
    recipient_phrase: str | None = None
    via_phrase: str | None = None
    subject: str | None = None
    evidence: JSONDict = Field(default_factory=dict, sa_type=JSON)
    confidence: float = 1.0
    flags: list[str] = Field(default_factory=list, sa_type=JSON)


class Obligation(ObligationBase, table=True):
    """One reporting obligation of one clause (a clause may hold several, e.g. a
    semi-annual and an annual report with their own deadlines)."""

    id: int | None = Field(default=None, primary_key=True)
    directive_id: int = Field(foreign_key="directive.id", ondelete="CASCADE", index=True)
    status: ObligationStatus = Field(
        default=ObligationStatus.proposed,
        sa_type=str_enum(ObligationStatus, "status"),
        index=True,
    )
    # Who decided (approved or rejected) and when; kept when the decision is carried over.
    approved_by: str | None = Field(default=None, max_length=255)
    approved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    ladder: list[JSONDict] | None = Field(default=None, sa_type=JSON)  # reminder ladder override
    deadline_override: JSONDict | None = Field(default=None, sa_type=JSON)
    lead_agency_id: int | None = Field(
        default=None, foreign_key="agency.id", ondelete="RESTRICT", index=True
    )
    recipient_agency_id: int | None = Field(
        default=None, foreign_key="agency.id", ondelete="RESTRICT", index=True
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


class ObligationParty(SQLModel, table=True):
    """A party phrase of an obligation resolved against the agency registry: one row
    per agency it names (``agency_id``), or one row for a group phrase ("các sở, ban,
    ngành" → ``group_key``) whose members are taken on each cycle's date, since
    membership changes. An unresolvable phrase keeps both empty and says why in
    ``flag``; a dissolved group carries ``suggested_group`` until an administrator
    accepts it (``models.plan.accept_suggestion``)."""

    __tablename__ = "obligation_party"

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", ondelete="CASCADE", index=True)
    role: PartyRole = Field(sa_type=str_enum(PartyRole, "role"))
    phrase: str
    agency_id: int | None = Field(
        default=None, foreign_key="agency.id", ondelete="RESTRICT", index=True
    )
    group_key: str | None = Field(default=None, max_length=64)
    flag: str | None = Field(default=None, max_length=32)  # "group_dissolved", "unknown" …
    suggested_group: str | None = Field(default=None, max_length=64)
    note: str | None = None


# --- cycles and submissions ------------------------------------------------------------


class ReportCycle(SQLModel, table=True):
    """One period of an approved obligation: its data window and its deadlines."""

    __tablename__ = "report_cycle"
    __table_args__ = (
        UniqueConstraint("obligation_id", "period_key", name="uq_report_cycle_obligation_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: int = Field(foreign_key="obligation.id", ondelete="RESTRICT")
    period_key: str = Field(max_length=16)  # "2026", "2026-H1", "2026-Q3", "2026-11", "2026-W47"
    window_start: dt.date  # data cut-off window (Nghị định 09/2019, Điều 12)
    window_end: dt.date
    opens_at: dt.datetime = Field(sa_type=UTCDateTime)
    due_at: dt.datetime = Field(sa_type=UTCDateTime)  # the agencies' deadline
    # The lead Sở's deadline to the recipient, after the agencies' (Điều 8); None without one.
    lead_due_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closes_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: CycleState = Field(default=CycleState.scheduled, sa_type=str_enum(CycleState, "state"))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Submission(SQLModel, table=True):
    """One agency's report for one cycle. ``next_action_at`` is when the sweep must next
    look at the row (next reminder, escalation); None when nothing more is due."""

    __table_args__ = (
        UniqueConstraint("cycle_id", "agency_id", name="uq_submission_cycle_agency"),
        # The sweep's index: a range scan on next_action_at, already in ORDER BY order,
        # with state read from the index. It is also the plain index on next_action_at,
        # so there is no second single-column one to maintain on every write.
        Index("ix_submission_next_action", "next_action_at", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="report_cycle.id", ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", ondelete="RESTRICT", index=True)
    state: SubmissionState = Field(
        default=SubmissionState.pending, sa_type=str_enum(SubmissionState, "state")
    )
    submitted_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_version: int = 0
    next_action_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_action_stage: str | None = Field(default=None, max_length=32)  # "reminder-3"
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


class SubmissionVersion(SQLModel, table=True):
    """Each file an agency sent for a submission; a resubmission is a new version."""

    __tablename__ = "submission_version"
    __table_args__ = (UniqueConstraint("submission_id", "version", name="uq_submission_version"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", ondelete="CASCADE")
    version: int
    file_name: str = Field(max_length=255)
    file_size: int = Field(sa_type=sa.BigInteger)
    sha256: str = Field(max_length=64)
    stored_path: str = Field(max_length=1024)
    note: str | None = None
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    late: bool = False


# --- outbox and audit ----------------------------------------------------------------


class Notification(SQLModel, table=True):
    """The outbox: one row per message that must go out. The unique key makes queueing
    idempotent (a re-run sweep cannot queue a reminder twice); ``store.claim_notification``
    makes sending exactly-once among concurrent workers."""

    __table_args__ = (
        UniqueConstraint(
            "cycle_id", "agency_id", "stage", "channel", name="uq_notification_message"
        ),
        # The dispatcher's question (state = 'pending' AND next_attempt_at <= now, oldest
        # first) is one range scan on this index, however many sent rows pile up.
        Index("ix_notification_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="report_cycle.id", ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", ondelete="RESTRICT", index=True)
    stage: str = Field(max_length=32)  # "open", "reminder-3", "escalate-lead" …
    channel: str = Field(max_length=32)  # "email", "zalooa", "zns" …
    state: NotificationState = Field(
        default=NotificationState.pending,
        sa_type=str_enum(NotificationState, "state"),
        index=True,
    )
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = None
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=255)
    claimed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    payload: JSONDict = Field(default_factory=dict, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationAttempt(SQLModel, table=True):
    """Every send attempt of an outbox row, with its outcome: reminders can be audited
    (who sent what when, why it failed) and a failure is never just overwritten."""

    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE", index=True)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    ok: bool
    error: str | None = Field(default=None, sa_type=sa.Text)
    permanent: bool = False
    worker: str = Field(max_length=255)


class AuditEvent(SQLModel, table=True):
    """Every state change is a row. No foreign keys: the trail outlives what it names."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)  # "obligation.approved", "directive.created" …
    entity: str = Field(max_length=64)  # the table name
    entity_id: int | None = None
    data: JSONDict = Field(default_factory=dict, sa_type=JSON)
