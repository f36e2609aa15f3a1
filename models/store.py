"""Persistence rules: saving parsed directives as versions, obligation decisions, the
sweep's question and the outbox claim.

Data functions take a ``session`` and keyword-only arguments and never commit: the
caller owns the transaction (``models.db.session_scope``). The exception in spirit is
``claim_notification``, whose caller must commit straight after a successful claim.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Update, exists, or_, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from directives.parsed import Clause, ParsedDirective
from directives.parsed import Obligation as ParsedObligation
from models.db import utcnow
from models.tables import (
    AuditEvent,
    Directive,
    Notification,
    NotificationState,
    Obligation,
    ObligationParty,
    ObligationStatus,
    Submission,
    SubmissionState,
)
from models.vocabulary import STATUS_VI

Outcome = Literal["created", "new_version", "unchanged"]

# The submission states the sweep still acts on; the others are settled.
DUE_STATES = (SubmissionState.pending, SubmissionState.late)

# Decisions a reviewer may take from each status. Withdrawn is terminal: the directive
# was superseded, so the decision belongs on the new version's obligation.
TRANSITIONS: dict[ObligationStatus, frozenset[ObligationStatus]] = {
    ObligationStatus.proposed: frozenset(
        {ObligationStatus.approved, ObligationStatus.rejected, ObligationStatus.withdrawn}
    ),
    ObligationStatus.approved: frozenset({ObligationStatus.rejected, ObligationStatus.withdrawn}),
    ObligationStatus.rejected: frozenset({ObligationStatus.approved, ObligationStatus.withdrawn}),
    ObligationStatus.withdrawn: frozenset(),
}
DECIDED = (ObligationStatus.approved, ObligationStatus.rejected)


class IllegalTransition(ValueError):
    """A status change the obligation's life cycle does not allow."""


@dataclass
class SaveResult:
    directive: Directive
    outcome: Outcome
    obligations: list[Obligation] = field(default_factory=list)
    carried: int = 0  # decisions carried over from the previous version
    withdrawn: int = 0  # obligations of the previous version withdrawn

    @property
    def unchanged(self) -> bool:
        return self.outcome == "unchanged"


# --- audit -------------------------------------------------------------------------------


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Record one state change (added to the session, written with the caller's commit)."""
    event = AuditEvent(
        at=at or utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        data=data or {},
    )
    session.add(event)
    return event


# --- directives --------------------------------------------------------------------------


def source_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clause_hash(clause: Clause, ob: ParsedObligation) -> str:
    """The identity of a clause's obligation across versions: its normalised text and
    what was read from it. Offsets and evidence are left out on purpose: an edit in an
    earlier clause shifts them without changing this clause."""
    text = " ".join(unicodedata.normalize("NFC", clause.text).split())
    fields = {
        "frequency": ob.frequency,
        "deadline": asdict(ob.deadline),
        "submitters": ob.submitters,
        "inherited_submitters": ob.inherited_submitters,
        "recipient": ob.recipient,
        "via": ob.via,
        "subject": ob.subject,
    }
    blob = json.dumps([text, fields], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def save_directive(
    session: Session, parsed: ParsedDirective, *, actor: str, issuer_province: str | None = None
) -> SaveResult:
    """Store a parsed directive: idempotent for the same text, a new version (with the
    unchanged clauses' decisions carried over) for a changed text of the same number
    and issuer, a new directive otherwise."""
    sha = source_sha256(parsed.text)
    current = _current_with_sha(session, sha)
    if current is not None:
        return SaveResult(current, "unchanged", _obligations_of(session, current.id))
    previous = _latest_version(session, parsed.header.number, parsed.header.issuer)
    directive = _insert_directive(session, parsed, sha, previous, issuer_province)
    audit(
        session,
        actor=actor,
        action="directive.created",
        entity="directive",
        entity_id=directive.id,
        data={"number": directive.number, "version": directive.version, "sha256": sha},
    )
    if previous is None:
        obligations = [_add_obligation(session, directive, row, actor) for row in _rows(parsed)]
        return SaveResult(directive, "created", obligations)
    return _supersede(session, parsed, directive, previous, actor)


def _current_with_sha(session: Session, sha: str) -> Directive | None:
    """The directive with this text, if it is still the latest of its line: an older
    version with the same text (the issuer reverted an edit) must become a new version."""
    newer = aliased(Directive)
    stmt = (
        select(Directive)
        .where(Directive.source_sha256 == sha)
        .where(~exists().where(col(newer.previous_id) == col(Directive.id)))
    )
    return session.exec(stmt).first()


def _latest_version(session: Session, number: str | None, issuer: str | None) -> Directive | None:
    # Without a number and an issuer there is no line to continue: a new directive.
    if not number or not issuer:
        return None
    stmt = (
        select(Directive)
        .where(Directive.number == number, Directive.issuer == issuer)
        .order_by(col(Directive.version).desc())
    )
    return session.exec(stmt).first()


def _insert_directive(
    session: Session,
    parsed: ParsedDirective,
    sha: str,
    previous: Directive | None,
    issuer_province: str | None,
) -> Directive:
    header = parsed.header
    directive = Directive(
        number=header.number,
        issuer=header.issuer,
        issuer_province=issuer_province,
        doc_type=header.doc_type,
        date=datetime.fromisoformat(header.date).date() if header.date else None,
        subject=header.subject,
        signer=header.signer,
        signer_role=header.signer_role,
        source_name=parsed.source,
        source_text=parsed.text,
        source_sha256=sha,
        version=previous.version + 1 if previous else 1,
        previous_id=previous.id if previous else None,
    )
    session.add(directive)
    session.flush()  # the id, for the obligations and the audit row
    return directive


def _pk(row: Directive | Obligation) -> int:
    """The primary key of a flushed row (None only before the INSERT)."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id: flush it first")
    return row.id


def _rows(parsed: ParsedDirective) -> list[tuple[int, Clause, ParsedObligation]]:
    positions = {id(c): i for i, c in enumerate(parsed.clauses)}
    # Recitals of an earlier document's request are shown by `parse`, never proposed.
    return [(positions[id(c)], c, ob) for c, ob in parsed.live_obligations]


def _add_obligation(
    session: Session,
    directive: Directive,
    row: tuple[int, Clause, ParsedObligation],
    actor: str,
    carried_from: Obligation | None = None,
) -> Obligation:
    index, clause, ob = row
    obligation = Obligation(
        directive_id=_pk(directive),
        clause_index=index,
        clause_text=clause.text,
        clause_start=clause.start,
        clause_end=clause.end,
        clause_hash=clause_hash(clause, ob),
        frequency=ob.frequency,
        deadline=asdict(ob.deadline),
        submitter_phrases=list(ob.submitters),
        inherited_submitters=list(ob.inherited_submitters),
        recipient_phrase=ob.recipient,
        via_phrase=ob.via,
        subject=ob.subject,
        evidence={k: [asdict(ev) for ev in spans] for k, spans in ob.evidence.items()},
        confidence=ob.confidence,
        flags=list(ob.flags),
    )
    if carried_from is not None:
        _copy_decision(carried_from, obligation)
    session.add(obligation)
    session.flush()
    if carried_from is not None:
        _copy_parties(session, carried_from, obligation)
    _audit_new_obligation(session, obligation, actor, carried_from)
    return obligation


def _audit_new_obligation(
    session: Session, obligation: Obligation, actor: str, carried_from: Obligation | None
) -> None:
    data: dict[str, Any] = {"clause_index": obligation.clause_index, "status": obligation.status}
    if carried_from is not None:
        data["carried_from"] = carried_from.id
    audit(
        session,
        actor=actor,
        action="obligation.carried" if carried_from else "obligation.proposed",
        entity="obligation",
        entity_id=obligation.id,
        data=data,
    )


def _copy_decision(source: Obligation, target: Obligation) -> None:
    target.status = source.status
    target.approved_by = source.approved_by
    target.approved_at = source.approved_at
    target.ladder = source.ladder
    target.deadline_override = source.deadline_override
    target.lead_agency_id = source.lead_agency_id
    target.recipient_agency_id = source.recipient_agency_id


def _copy_parties(session: Session, source: Obligation, target: Obligation) -> None:
    parties = session.exec(
        select(ObligationParty).where(ObligationParty.obligation_id == source.id)
    ).all()
    for party in parties:
        values = party.model_dump(exclude={"id", "obligation_id"})
        session.add(ObligationParty(obligation_id=_pk(target), **values))


def _supersede(
    session: Session,
    parsed: ParsedDirective,
    directive: Directive,
    previous: Directive,
    actor: str,
) -> SaveResult:
    """Propose the new version's obligations, carrying the decisions of unchanged
    clauses, then withdraw every obligation of the previous version."""
    old = _obligations_of(session, previous.id)
    decided: dict[str, list[Obligation]] = defaultdict(list)
    for ob in old:
        if ob.status in DECIDED:
            decided[ob.clause_hash].append(ob)
    result = SaveResult(directive, "new_version")
    for row in _rows(parsed):
        # A list per hash, consumed in order: two identical obligations map one to one.
        matches = decided.get(clause_hash(row[1], row[2]))
        source = matches.pop(0) if matches else None
        result.obligations.append(_add_obligation(session, directive, row, actor, source))
        result.carried += source is not None
    for ob in old:
        if ob.status != ObligationStatus.withdrawn:
            _withdraw(session, ob, actor=actor, superseded_by=directive.id)
            result.withdrawn += 1
    return result


def _withdraw(session: Session, ob: Obligation, *, actor: str, superseded_by: int | None) -> None:
    before = ob.status
    ob.status = ObligationStatus.withdrawn
    session.add(ob)
    audit(
        session,
        actor=actor,
        action="obligation.withdrawn",
        entity="obligation",
        entity_id=ob.id,
        data={"from": before, "superseded_by": superseded_by},
    )


def _obligations_of(session: Session, directive_id: int | None) -> list[Obligation]:
    stmt = (
        select(Obligation)
        .where(Obligation.directive_id == directive_id)
        .order_by(col(Obligation.id))
    )
    return list(session.exec(stmt).all())


# --- obligation decisions ----------------------------------------------------------------


def set_status(
    session: Session,
    obligation_id: int,
    *,
    status: ObligationStatus,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Obligation:
    """Approve, reject or withdraw an obligation; raises IllegalTransition (and changes
    nothing) when its current status does not allow it, LookupError when it is missing."""
    # Row lock on PostgreSQL: two reviewers deciding at once are serialised, and the
    # second sees the first's decision when checking the transition.
    ob = session.get(Obligation, obligation_id, with_for_update=True)
    if ob is None:
        raise LookupError(f"không có nghĩa vụ số {obligation_id}")
    before = ob.status
    _check_transition(obligation_id, before, status)
    ob.status = status
    if status in DECIDED:
        ob.approved_by, ob.approved_at = actor, now or utcnow()
    session.add(ob)
    audit(
        session,
        actor=actor,
        action=f"obligation.{status}",
        entity="obligation",
        entity_id=ob.id,
        data={"from": before, "to": status, "note": note},
        at=now,
    )
    return ob


def _check_transition(
    obligation_id: int, before: ObligationStatus, after: ObligationStatus
) -> None:
    if after in TRANSITIONS[before]:
        return
    terminal = not TRANSITIONS[before]
    hint = " (văn bản đã có phiên bản mới: xét nghĩa vụ của phiên bản mới)" if terminal else ""
    raise IllegalTransition(
        f"nghĩa vụ số {obligation_id} đang ở trạng thái “{STATUS_VI[before]}”: "
        f"không chuyển sang “{STATUS_VI[after]}” được{hint}"
    )


# --- the sweep ---------------------------------------------------------------------------


def due_query(*, now: datetime, limit: int = 1000) -> SelectOfScalar[Submission]:
    """Submissions whose next action is due: one range scan on ix_submission_next_action."""
    return (
        select(Submission)
        .where(col(Submission.next_action_at) <= now)
        .where(col(Submission.state).in_(DUE_STATES))
        .order_by(col(Submission.next_action_at))
        .limit(limit)
    )


def due_actions(session: Session, *, now: datetime, limit: int = 1000) -> list[Submission]:
    """The sweep's decision, oldest first; settled rows never show up."""
    return list(session.exec(due_query(now=now, limit=limit)).all())


class Explain(Executable, ClauseElement):
    """``EXPLAIN <statement>``, compiled with the statement's own bind processing (so
    aware datetimes go through UTCDateTime exactly as in the real query)."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement


@compiles(Explain)
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def explain(session: Session, statement: ClauseElement) -> str:
    """The database's plan for ``statement``, one line per plan row."""
    rows = session.connection().execute(Explain(statement)).all()
    # SQLite's rows are (id, parent, notused, detail); PostgreSQL's a single text column.
    return "\n".join(str(row[-1]) for row in rows)


# --- the outbox --------------------------------------------------------------------------


def claim_notifications(
    session: Session, notification_ids: Sequence[int], *, worker: str, now: datetime
) -> set[int]:
    """Claim pending, due notifications for sending; the ids this call changed. Commit
    at once, then send. An id missing from the result was taken by another worker first
    (or is not due yet, or already settled): this one must leave it alone."""
    stmt = claim_statement(notification_ids, worker=worker, now=now)
    rows = session.connection().execute(stmt.returning(col(Notification.id))).scalars()
    return {i for i in rows if i is not None}


def claim_statement(notification_ids: Sequence[int], *, worker: str, now: datetime) -> Update:
    """The conditional UPDATE behind ``claim_notifications``; add the RETURNING you need."""
    return (
        update(Notification)
        .where(col(Notification.id).in_(list(notification_ids)))
        # The WHERE is the lock: on PostgreSQL a concurrent UPDATE waits for ours and
        # then re-checks state = 'pending', finds 'sending' and changes nothing.
        .where(col(Notification.state) == NotificationState.pending)
        .where(
            or_(
                col(Notification.next_attempt_at).is_(None),
                col(Notification.next_attempt_at) <= now,
            )
        )
        .values(
            state=NotificationState.sending,
            claimed_by=worker,
            claimed_at=now,
            attempts=col(Notification.attempts) + 1,
        )
    )


def claim_notification(
    session: Session, notification_id: int, *, worker: str, now: datetime
) -> bool:
    """``claim_notifications`` for one row: True only if this call claimed it."""
    return notification_id in claim_notifications(
        session, [notification_id], worker=worker, now=now
    )
