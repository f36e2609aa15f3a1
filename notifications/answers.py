"""Telling one agency what an administrator decided about it: a deadline extended
(``models.actions.extend``), a request answered (``models.requests``). One short
message, queued on every channel the agency has, through the outbox like any other.

The stage names are unique per decision (``extended-<action id>``,
``request-<id>``): the outbox's unique key makes a repeated call harmless and a
second extension a message of its own.
"""

from __future__ import annotations

import datetime as dt
import html

from sqlmodel import Session

from models.actions import Done
from models.agency import Agency
from models.calendar import period_label
from models.cycle_controls import AgencyRequest, RequestKind
from models.db import TZ
from notifications.messages import format_date, format_moment
from notifications.notices import Queued, cycle_facts, queue_message
from notifications.vocabulary import Message


def _message(subject: str, lines: list[str], link: str | None) -> Message:
    text = "\n\n".join(lines + ([f"Liên kết nộp báo cáo: {link}"] if link else []))
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    if link:
        safe = html.escape(link, quote=True)
        paras += f'<p><a href="{safe}">Mở trang nộp báo cáo</a></p>'
    short = " ".join(lines)[:1500] + (f" {link}" if link else "")
    return Message(
        subject=subject, text=text, html=f"<html><body>{paras}</body></html>", short=short
    )


def _link(session: Session, cycle_id: int, agency: Agency) -> str:
    """The agency's submission link, where it sees its requests and their answers."""
    from models.links import linker

    facts = cycle_facts(session, cycle_id)
    url: str = linker()("submit", cycle_id=cycle_id, agency_id=agency.id, expires=facts.link_expiry)
    return url


def tell(
    session: Session,
    *,
    cycle_id: int,
    agency: Agency,
    stage: str,
    subject: str,
    lines: list[str],
    now: dt.datetime,
) -> Queued:
    """Queue one message to ``agency`` (due now) on each of its channels."""
    facts = cycle_facts(session, cycle_id)
    out = Queued()
    message = _message(subject, lines, _link(session, cycle_id, agency))
    queue_message(session, out, facts, agency, stage, message, at=now)
    return out


def topic(session: Session, cycle_id: int) -> str:
    facts = cycle_facts(session, cycle_id)
    return f"{facts.title} · {period_label(facts.cycle.period_key)}"


def tell_extended(
    session: Session,
    *,
    cycle_id: int,
    agency: Agency,
    until: dt.datetime,
    reason: str,
    stage: str,
    now: dt.datetime,
) -> Queued:
    about = topic(session, cycle_id)
    lines = [
        f"Kính gửi: {agency.name}.",
        f"Hạn nộp báo cáo {about} của quý cơ quan được gia hạn đến {format_moment(until)}.",
        f"Lý do: {reason}",
    ]
    return tell(
        session,
        cycle_id=cycle_id,
        agency=agency,
        stage=stage,
        subject=f"[Gia hạn] {about} — hạn mới {format_date(until.astimezone(TZ).date())}",
        lines=lines,
        now=now,
    )


def extend_and_tell(
    session: Session,
    cycle_id: int,
    agency_key: str | int,
    *,
    until: dt.date,
    actor: str,
    now: dt.datetime,
    reason: str | None,
) -> Done:
    """``models.actions.extend``, then the agency is told its new deadline."""
    from models.actions import agency_due, extend, find_agency, get_cycle

    done = extend(session, cycle_id, agency_key, until=until, actor=actor, now=now, reason=reason)
    agency = find_agency(session, agency_key)
    cycle = get_cycle(session, cycle_id)
    assert agency.id is not None
    tell_extended(
        session,
        cycle_id=cycle_id,
        agency=agency,
        until=agency_due(session, cycle, agency.id),
        reason=" ".join((reason or "").split()),
        stage=f"extended-{done.ref}",
        now=now,
    )
    return done


def answer_and_tell(
    session: Session,
    request_id: int,
    *,
    approve: bool,
    answer: str | None,
    actor: str,
    now: dt.datetime,
    until: dt.date | None = None,
) -> AgencyRequest:
    """``models.requests.decide``, then the agency is told the answer either way."""
    from models.actions import agency_due, get_cycle
    from models.requests import KIND_VI, decide

    request, _ = decide(
        session, request_id, approve=approve, answer=answer, actor=actor, now=now, until=until
    )
    agency = session.get(Agency, request.agency_id)
    assert agency is not None
    about = topic(session, request.cycle_id)
    kind = KIND_VI[request.kind].lower()
    verdict = "được chấp thuận" if approve else "không được chấp thuận"
    lines = [f"Kính gửi: {agency.name}.", f"Đề nghị {kind} báo cáo {about} {verdict}."]
    if approve and request.kind is RequestKind.extension:
        due = agency_due(session, get_cycle(session, request.cycle_id), request.agency_id)
        lines.append(f"Hạn mới: {format_moment(due)}.")
    if request.answer:
        lines.append(f"Ý kiến của cơ quan quản lý: {request.answer}")
    subject = (
        f"[{'Chấp thuận' if approve else 'Không chấp thuận'}] {KIND_VI[request.kind]} — {about}"
    )
    tell(
        session,
        cycle_id=request.cycle_id,
        agency=agency,
        stage=f"request-{request.id}",
        subject=subject,
        lines=lines,
        now=now,
    )
    return request
