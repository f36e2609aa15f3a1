"""The review gate: what an obligation still needs before approval, the administrator's
edits (schedule, parties, ladder) with their audit rows, approval and rejection, and
what approval does about a period that is already running.

The CLI and the review page call these and render the ``Problem``s each in their own
way: a problem carries a code, the form field to fix and the values to offer; its
message says, in Vietnamese, what is wrong and what to set, without naming a command.
Nothing here commits: the caller's transaction keeps everything or nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlmodel import Session, col, select

from directives.parsed import FREQUENCY_VI, Deadline, describe_deadline
from models.agency import Agency
from models.calendar import UnsupportedDeadline, period_containing
from models.cycles import store_cycle
from models.db import TZ
from models.formats import local_text, short_day
from models.plan import (
    CyclePlan,
    PlanError,
    accept_suggestion,
    plan_cycles,
    plan_once,
    resolve_parties,
)
from models.registry import candidates, list_agencies, resolve
from models.store import IllegalTransition, set_status
from models.tables import (
    Obligation,
    ObligationParty,
    ObligationStatus,
    ReportCycle,
)
from models.vocabulary import SCHEDULABLE
from models.vocabulary import STATUS_VI as STATUS_VI  # read here by the portal and the CLI
from models.workdays import WorkCalendar, packaged_calendar

SHOWN_CYCLES = 3
ROLE_VI = {
    "submitter": "cơ quan báo cáo",
    "recipient": "nơi nhận báo cáo",
    "via": "cơ quan chủ trì tổng hợp",
}
PARTY_FLAG_VI = {
    "group_dissolved": "nhóm này không còn tồn tại",
    "dissolved": "đã kết thúc hoạt động, danh mục không có cơ quan kế thừa",
    "unknown": "không có trong danh mục cơ quan",
    "empty_group": "không chỉ cơ quan nào trong danh mục",
}
GROUP_VI = {
    "departments": "các sở, ban, ngành",
    "specialised": "các cơ quan chuyên môn thuộc UBND tỉnh",
    "district_committees": "UBND các huyện, thị xã, thành phố",
    "commune_committees": "UBND các xã, phường",
    "all_levels": "UBND các cấp",
    "units": "các cơ quan, đơn vị",
}
LATE_CHOICES = ("open", "next")  # a running period whose deadline has passed
CYCLE_STATE_VI = {
    "scheduled": "chưa mở",
    "open": "đang mở",
    "closed": "đã đóng",
}  # a running period whose deadline has passed


def frequency_vi(frequency: str) -> str:
    return {"nine_months": "9 tháng", **FREQUENCY_VI}.get(frequency, frequency)


def group_vi(key: str) -> str:
    return GROUP_VI.get(key, key)


def local(moment: dt.datetime) -> str:
    return local_text(moment)  # a day's end reads 24:00


@dataclass(frozen=True, slots=True)
class Problem:
    """Why something cannot be done. ``field`` names what to change (frequency,
    deadline, submitters, recipient, lead, ladder, late, suggestion); ``choices`` are
    values to offer (agency codes, a suggested group, late choices)."""

    code: str
    obligation_id: int | None
    message: str
    field: str | None = None
    choices: tuple[str, ...] = ()


class ReviewError(Exception):
    """Refused; nothing may be kept (the caller rolls back)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(slots=True)
class Review:
    """One administrator's session: the database, the moment (``models.clock``), the
    registry's province and who decides (audit trail)."""

    session: Session
    now: dt.datetime
    province: str
    actor: str
    calendar: WorkCalendar = field(default_factory=packaged_calendar)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(TZ).date()


def refuse(
    code: str,
    ob_id: int | None,
    message: str,
    *,
    field: str | None = None,
    choices: tuple[str, ...] = (),
) -> ReviewError:
    return ReviewError([Problem(code, ob_id, message, field, choices)])


# --- reading ----------------------------------------------------------------------------


def get_obligation(rv: Review, obligation_id: int) -> Obligation:
    ob = rv.session.get(Obligation, obligation_id)
    if ob is None:
        raise refuse("not_found", obligation_id, f"không có nghĩa vụ số {obligation_id}")
    return ob


def rule_of(ob: Obligation) -> Deadline:
    return Deadline(**(ob.deadline_override or ob.deadline or {}))


def parties(rv: Review, ob: Obligation) -> list[ObligationParty]:
    """The obligation's parties, resolved against the registry today if never resolved."""
    stmt = select(ObligationParty).where(ObligationParty.obligation_id == ob.id)
    rows = list(rv.session.exec(stmt.order_by(col(ObligationParty.id))))
    if rows:
        return rows
    return resolve_parties(rv.session, ob, on=rv.today, province=rv.province)


def agency_name(rv: Review, agency_id: int | None, phrase: str | None = None) -> str:
    agency = rv.session.get(Agency, agency_id) if agency_id else None
    if agency is not None:
        return agency.name
    return f"? {phrase}" if phrase else "—"


def agency_by_code(rv: Review, code: str, what: str) -> Agency:
    """The agency with this code active today; refused with the closest ones."""
    rows = list(rv.session.exec(select(Agency).where(Agency.code == code)))
    rows.sort(key=lambda a: a.province != rv.province)  # the registry's province first
    if not rows:
        near = closest_codes(rv, code)
        hint = f"; gần nhất: {', '.join(near)}" if near else ""
        raise refuse(
            "unknown_agency",
            None,
            f"{what}: không có cơ quan mã “{code}”{hint}",
            field=what,
            choices=tuple(near),
        )
    agency = rows[0]
    if not agency.active_on(rv.today):
        heirs = resolve(rv.session, agency.name, on=rv.today, province=rv.province).agencies
        now = f"; nay là {', '.join(f'{a.name} ({a.code})' for a in heirs)}" if heirs else ""
        raise refuse(
            "agency_gone",
            None,
            f"{what}: {agency.name} ({agency.code}) không còn hoạt động "
            f"ngày {short_day(rv.today)}{now}",
            field=what,
            choices=tuple(a.code for a in heirs),
        )
    return agency


def closest_codes(rv: Review, text: str) -> list[str]:
    import difflib

    codes = sorted(a.code for a in list_agencies(rv.session, on=rv.today))
    near = difflib.get_close_matches(text, codes, n=3, cutoff=0.6)
    # A name typed instead of a code ("Sở Tài chính"): match it as a phrase.
    by_name = candidates(rv.session, text.replace("-", " "), on=rv.today, limit=3)
    near += [a.code for a in by_name if a.code not in near]
    return near[:5]


def upcoming(rv: Review, ob: Obligation, count: int = SHOWN_CYCLES) -> list[CyclePlan]:
    """The next ``count`` cycles whose deadlines are still ahead (a one-off: its only
    one, opening now). A report may fall due after its period (annual, due 30/4 of the
    next year): start a period back."""
    if ob.frequency == "once":
        plan = plan_once(ob, opens_at=rv.now, calendar=rv.calendar)
        return [plan] if (plan.lead_due or plan.due).at >= rv.now else []
    first = period_containing(ob.frequency, rv.today).previous()
    last = first
    for _ in range(count + 1):
        last = last.next()
    plans = plan_cycles(
        ob, start=first.start, end=last.end, province=rv.province, calendar=rv.calendar
    )
    ahead = [p for p in plans if (p.lead_due or p.due).day >= rv.today]
    return ahead[:count]


# --- what an obligation still needs -------------------------------------------------------


def schedule_problem(rv: Review, ob: Obligation) -> Problem | None:
    """Why the obligation's cycles cannot be computed, or None when they can."""
    if ob.frequency == "once" and rule_of(ob).kind != "date":
        return Problem(
            "once_undated",
            ob.id,
            "báo cáo một lần nhưng văn bản không ghi ngày cụ thể: nhập hạn nộp "
            "(ví dụ 14/11/2026 15:00)",
            field="deadline",
        )
    if ob.frequency not in SCHEDULABLE:
        said = (
            "văn bản không nêu thời gian"
            if ob.frequency == "none"
            else (f"văn bản ghi “{frequency_vi(ob.frequency)}”")
        )
        return Problem(
            "no_schedule",
            ob.id,
            f"chưa có lịch báo cáo ({said}): chọn tần suất (hằng năm, 6 tháng, hằng quý, "
            "hằng tháng, hằng tuần hoặc một lần) và hạn nộp (để trống: hạn mặc định của tỉnh)",
            field="frequency",
        )
    try:
        upcoming(rv, ob, count=1)
    except (PlanError, UnsupportedDeadline, ValueError) as exc:
        return Problem(
            "bad_deadline",
            ob.id,
            f"hạn “{describe_deadline(rule_of(ob))}” không dùng được cho báo cáo "
            f"{frequency_vi(ob.frequency)}: {exc}; nhập hạn khác",
            field="deadline",
        )
    return None


def party_problems(rv: Review, ob: Obligation, rows: list[ObligationParty]) -> list[Problem]:
    problems = [_party_problem(rv, ob, p) for p in rows if p.flag]
    if not any(str(p.role) == "submitter" for p in rows):
        problems.append(
            Problem(
                "no_submitter",
                ob.id,
                "chưa có cơ quan báo cáo: chọn cơ quan báo cáo, hoặc từ chối nghĩa vụ này",
                field="submitters",
            )
        )
    if ob.recipient_agency_id is None and not any(str(p.role) == "recipient" for p in rows):
        problems.append(
            Problem(
                "no_recipient", ob.id, "chưa có nơi nhận báo cáo: chọn nơi nhận", field="recipient"
            )
        )
    return problems


def party_flag_text(party: ObligationParty) -> str:
    if party.suggested_group:
        return f"“{party.phrase}” không còn tồn tại → đề xuất {group_vi(party.suggested_group)}"
    what = PARTY_FLAG_VI.get(str(party.flag), str(party.flag))
    return f"{ROLE_VI[str(party.role)]} “{party.phrase}” {what}"


def _party_problem(rv: Review, ob: Obligation, party: ObligationParty) -> Problem:
    role = str(party.role)
    said = party_flag_text(party)
    if party.suggested_group:
        return Problem(
            "suggestion",
            ob.id,
            f"{said}: nhận đề xuất, hoặc chọn cơ quan báo cáo khác",
            field="suggestion",
            choices=(party.suggested_group,),
        )
    near = tuple(a.code for a in candidates(rv.session, party.phrase, on=rv.today, limit=3))
    field_name = {"submitter": "submitters", "recipient": "recipient", "via": "lead"}[role]
    return Problem(
        f"unresolved_{field_name}",
        ob.id,
        f"{said}; chọn cơ quan trong danh mục",
        field=field_name,
        choices=near,
    )


def needs(rv: Review, ob: Obligation, rows: list[ObligationParty]) -> list[str]:
    """What an undecided obligation still needs, in words (nothing once decided)."""
    if str(ob.status) != ObligationStatus.proposed:
        return []
    problem = schedule_problem(rv, ob)
    out = [problem.message] if problem else []
    out += [party_flag_text(p) for p in rows if p.flag]
    return out + [p.message for p in party_problems(rv, ob, rows) if p.code.startswith("no_")]


def accept_suggestions(rv: Review, rows: list[ObligationParty]) -> list[ObligationParty]:
    """Take every suggested successor group; the parties it changed (their note now
    says what was taken, by whom, in Vietnamese)."""
    taken = [p for p in rows if p.flag and p.suggested_group]
    for party in taken:
        accept_suggestion(rv.session, party, actor=rv.actor)
        party.note = (
            f"thay bằng nhóm {group_vi(party.group_key or '')} (đề xuất do {rv.actor} "
            f"nhận ngày {short_day(rv.today)})"
        )
        rv.session.add(party)
    return taken


ACTION_VI = {
    "obligation.proposed": "đề xuất (nạp văn bản)",
    "obligation.approved": "duyệt",
    "obligation.rejected": "từ chối",
    "obligation.withdrawn": "thay thế bởi phiên bản mới",
    "obligation.set_schedule": "đặt lịch",
    "obligation.set_lead": "đặt cơ quan chủ trì",
    "obligation.set_recipient": "đặt nơi nhận",
    "obligation.set_submitters": "sửa cơ quan báo cáo",
    "obligation.set_ladder": "sửa thang nhắc hạn",
    "party.accept_suggestion": "nhận đề xuất",
}


def audit_text(action: str, data: dict[str, Any]) -> str:
    """An audit row in words, with its old → new where the row keeps both."""
    said = ACTION_VI.get(action, action)
    before, after = data.get("before"), data.get("after")
    if action == "obligation.set_schedule" and isinstance(before, dict):
        old = frequency_vi(str(before.get("frequency")))
        return f"{said}: {old} → {frequency_vi(str(data.get('frequency')))}"
    if action in ("obligation.set_lead", "obligation.set_recipient"):
        return f"{said}: {data.get('before_name') or '—'} → {data.get('after_name') or '—'}"
    if action == "obligation.set_submitters" and isinstance(before, list):
        return f"{said}: {'; '.join(before) or '—'} → {'; '.join(after or []) or '—'}"
    if action == "party.accept_suggestion":
        return f"{said}: nhóm {group_vi(str(data.get('group_key')))}"
    if data.get("note"):
        return f"{said}: {data['note']}"
    return said


# --- the period running now ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Running:
    """A cycle that should already be open: its plan, and whether its deadline passed."""

    plan: CyclePlan
    late: bool


def running(rv: Review, ob: Obligation) -> Running | None:
    """The cycle whose opening day has come and which is not stored: the period the
    Prefect schedule will never fire for, since its opening is past. A one-off's only
    cycle is always "running" from approval on. Periods whose whole ladder is over are
    left alone."""
    if ob.frequency == "once":
        plan = plan_once(ob, opens_at=rv.now, calendar=rv.calendar)
        return None if _stored(rv, ob, plan) else Running(plan, plan.due.at < rv.now)
    here = period_containing(ob.frequency, rv.today)
    plans = plan_cycles(
        ob, start=here.previous().start, end=here.end, province=rv.province, calendar=rv.calendar
    )
    for plan in reversed(plans):
        if plan.opens_at <= rv.now <= plan.closes_at and not _stored(rv, ob, plan):
            return Running(plan, plan.due.at < rv.now)
    return None


def _stored(rv: Review, ob: Obligation, plan: CyclePlan) -> bool:
    stmt = select(ReportCycle.id).where(
        ReportCycle.obligation_id == ob.id, ReportCycle.period_key == plan.period.key
    )
    return rv.session.exec(stmt).first() is not None


@dataclass(slots=True)
class Started:
    """What approval (or an edit) did about the running period."""

    plan: CyclePlan | None = None  # the cycle opened now
    late: bool = False  # opened after its deadline, at the administrator's word
    skipped: CyclePlan | None = None  # its deadline had passed: starts with the next
    queued: int = 0  # opening notices queued
    cycle_id: int | None = None


def start_running(rv: Review, ob: Obligation, late: str | None) -> Started:
    """Open the running period's cycle at once when its deadline lies ahead; when it has
    passed, do what ``late`` says ("open": open it late; "next": leave it), or refuse
    asking which."""
    from notifications.notices import queue_steps

    now = running(rv, ob)
    if now is None:
        return Started()
    if now.late and late not in LATE_CHOICES:
        raise _late_problem(ob, now.plan)
    if now.late and late == "next":
        return Started(skipped=now.plan)
    opened = store_cycle(
        rv.session,
        ob,
        now=rv.now,
        province=rv.province,
        period_key=now.plan.period.key,
        calendar=rv.calendar,
        actor=rv.actor,
        opened_at=rv.now,
    )
    queued = queue_steps(rv.session, opened.steps, now=rv.now, calendar=rv.calendar)
    plan = replace(now.plan, opens_at=opened.cycle.opens_at)
    return Started(plan, now.late, None, queued.total, opened.cycle.id)


def _late_problem(ob: Obligation, plan: CyclePlan) -> ReviewError:
    from models.calendar import period_label

    label = period_label(plan.period.key)
    nxt = "" if ob.frequency == "once" else " hoặc bắt đầu từ kỳ sau"
    return refuse(
        "deadline_passed",
        ob.id,
        f"kỳ {label} đang diễn ra nhưng hạn nộp {local(plan.due.at)} đã qua: chọn mở kỳ "
        f"này muộn (các cơ quan được báo ngay, hạn đã qua){nxt}",
        field="late",
        choices=LATE_CHOICES if ob.frequency != "once" else ("open",),
    )


# --- approve and reject -------------------------------------------------------------------


@dataclass(slots=True)
class Approved:
    obligation: Obligation
    already: bool = False
    accepted: list[ObligationParty] = field(default_factory=list)
    started: Started = field(default_factory=Started)
    next_plan: CyclePlan | None = None  # the first cycle the schedule will open


def approval_problems(rv: Review, ob: Obligation, rows: list[ObligationParty]) -> list[Problem]:
    problem = schedule_problem(rv, ob)
    return ([problem] if problem else []) + party_problems(rv, ob, rows)


def approve(
    rv: Review, ob: Obligation, *, accept: bool = False, late: str | None = None
) -> Approved:
    """Approve ``ob`` (raises ``ReviewError`` with every problem otherwise) and open the
    running period's cycle as ``start_running`` decides."""
    assert ob.id is not None
    if ob.status == ObligationStatus.approved:
        return Approved(ob, already=True)
    if ob.status == ObligationStatus.withdrawn:
        raise refuse(
            "withdrawn",
            ob.id,
            "nghĩa vụ đã bị thay thế (văn bản có phiên bản mới): xét nghĩa vụ của phiên bản mới",
        )
    rows = parties(rv, ob)
    taken = accept_suggestions(rv, rows) if accept else []
    problems = approval_problems(rv, ob, rows)
    if problems:
        raise ReviewError(problems)
    try:
        set_status(rv.session, ob.id, status=ObligationStatus.approved, actor=rv.actor, now=rv.now)
    except IllegalTransition as exc:
        raise refuse("illegal", ob.id, str(exc)) from None
    started = start_running(rv, ob, late)
    return Approved(ob, False, taken, started, _next_plan(rv, ob, started))


def _next_plan(rv: Review, ob: Obligation, started: Started) -> CyclePlan | None:
    if ob.frequency == "once":
        return None
    opened = {p.period.key for p in (started.plan, started.skipped) if p is not None}
    return next((p for p in upcoming(rv, ob, 2) if p.period.key not in opened), None)


def reject(rv: Review, ob: Obligation, reason: str | None) -> bool:
    """Reject ``ob``; False when it already was."""
    assert ob.id is not None
    if ob.status == ObligationStatus.rejected:
        return False
    try:
        set_status(
            rv.session,
            ob.id,
            status=ObligationStatus.rejected,
            actor=rv.actor,
            note=reason,
            now=rv.now,
        )
    except IllegalTransition as exc:
        raise refuse("illegal", ob.id, str(exc)) from None
    return True


# --- what a decision says ---------------------------------------------------------------


def approved_lines(rv: Review, result: Approved) -> list[str]:
    """What an approval did, in sentences (the CLI prints them, the page shows them)."""
    from models.calendar import period_label

    ob = result.obligation
    if result.already:
        return [f"nghĩa vụ {ob.id} đã được duyệt trước đó: không có gì thay đổi"]
    lines = [
        f"nghĩa vụ {ob.id}: “{p.phrase}” → {group_vi(p.group_key or '')} (nhận đề xuất)"
        for p in result.accepted
    ]
    lines.append(f"nghĩa vụ {ob.id}: đã duyệt ({rv.actor})")
    lines += [f"nghĩa vụ {ob.id}: {line}" for line in started_lines(result.started)]
    if result.next_plan is not None:
        plan = result.next_plan
        lines.append(
            f"nghĩa vụ {ob.id}: kỳ tới {period_label(plan.period.key)}, mở "
            f"{local(plan.opens_at)}, hạn cơ quan {local(plan.due.at)}"
        )
    return lines


def started_lines(started: Started) -> list[str]:
    from models.calendar import period_label

    if started.plan is not None:
        plan = started.plan
        late = " (muộn: hạn đã qua)" if started.late else ""
        return [
            f"đã mở ngay kỳ {period_label(plan.period.key)}{late}: hạn cơ quan "
            f"{local(plan.due.at)}; {started.queued} thông báo mở kỳ đang chờ gửi"
        ]
    if started.skipped is not None:
        return [
            f"kỳ {period_label(started.skipped.period.key)} đã quá hạn: không mở, bắt đầu từ kỳ sau"
        ]
    return []
