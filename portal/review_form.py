"""The review page's form, read into the gate's calls (``models.edits``,
``models.review``): what changed is applied in the order the CLI applies it, then the
decision; a ``ReviewError`` from any step leaves everything as it was (the caller rolls
back). The live preview applies the schedule the same way and is always rolled back."""

from __future__ import annotations

from typing import Any

from models import edits
from models.deadline_rule import DeadlineSyntaxError, parse_deadline
from models.review import (
    Problem,
    Review,
    ReviewError,
    accept_suggestions,
    agency_by_code,
    approve,
    approved_lines,
    frequency_vi,
    local,
    parties,
    reject,
    schedule_problem,
    started_lines,
    upcoming,
)
from models.tables import Obligation


def apply_form(rv: Review, ob: Obligation, form: dict[str, str]) -> list[str]:
    """Apply the form; what it did, in sentences."""
    action = form.get("action", "save")
    if action == "reject":
        reason = form.get("reason", "").strip() or None
        if reject(rv, ob, reason):
            return [f"nghĩa vụ {ob.id}: đã từ chối ({rv.actor})"]
        return [f"nghĩa vụ {ob.id} đã bị từ chối trước đó"]
    edits.check_editable(ob)
    done = _edits(rv, ob, form)
    late = form.get("late") or None
    if action == "approve":
        return done + approved_lines(rv, approve(rv, ob, late=late))
    return done + started_lines(edits.after_edit(rv, ob, late)) or ["không có gì thay đổi"]


def _edits(rv: Review, ob: Obligation, form: dict[str, str]) -> list[str]:
    done: list[str] = []
    frequency = form.get("frequency", ob.frequency)
    deadline = form.get("deadline", "").strip()
    if frequency != ob.frequency or deadline != form.get("deadline_was", "").strip():
        done.append(edits.edit_schedule(rv, ob, frequency, _rule(ob, deadline)))
    if form.get("accept_suggestion"):
        done += [f"nhận đề xuất cho “{p.phrase}”" for p in accept_suggestions(rv, parties(rv, ob))]
    for role, name in (("via", "lead"), ("recipient", "recipient")):
        chosen = form.get(name, "")
        if chosen and chosen != form.get(f"{name}_was", ""):
            done.append(edits.edit_party(rv, ob, role, _agency(rv, chosen, name)))
    remove = [c for c in form.get("remove_submitter", "").split(",") if c.strip()]
    add = [c for c in form.get("add_submitter", "").split(",") if c.strip()]
    if remove or add:
        done.append(
            edits.edit_submitters(
                rv,
                ob,
                add=[_pick(rv, c) for c in add],
                remove=[_pick(rv, c) for c in remove],
            )
        )
    ladder = form.get("ladder", "").strip()
    if ladder:
        done.append(edits.edit_ladder(rv, ob, _ladder(ladder)))
    return done


def _rule(ob: Obligation, text: str) -> Any:
    if not text:
        return None
    try:
        return parse_deadline(text)
    except DeadlineSyntaxError as exc:
        raise ReviewError([Problem("bad_deadline", ob.id, str(exc), "deadline")]) from None


def _agency(rv: Review, value: str, field: str) -> Any:
    from models.agency import Agency

    agency = rv.session.get(Agency, int(value)) if value.isdigit() else None
    what = "cơ quan chủ trì" if field == "lead" else "nơi nhận"
    if agency is None:
        raise ReviewError([Problem("unknown_agency", None, f"chọn {what} trong danh sách", field)])
    return agency_by_code(rv, agency.code, what)


def _pick(rv: Review, text: str) -> edits.Pick:
    """A code, or "Name (code)" as the search list offers it."""
    code = text.strip()
    if code.endswith(")") and "(" in code:
        code = code[code.rindex("(") + 1 : -1]
    return edits.pick(rv, code.strip())


def _ladder(text: str) -> list[dict[str, Any]] | None:
    import yaml

    if text.casefold() in ("default", "mặc định"):
        return None
    try:
        rows = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = f"thang nhắc hạn không phải YAML: {' '.join(str(exc).split())}"
        raise ReviewError([Problem("bad_ladder", None, message, "ladder")]) from None
    return edits.ladder_stages(rows.get("stages") if isinstance(rows, dict) else rows)


def preview_data(rv: Review, ob: Obligation, frequency: str, deadline: str) -> dict[str, Any]:
    """The next three cycles for this frequency and deadline rule (the caller rolls back)."""
    from models.calendar import period_label
    from models.plan import cycle_agencies

    parties(rv, ob)  # resolved as an approval would, to count the agencies
    try:
        edits.edit_schedule(rv, ob, frequency or ob.frequency, _rule(ob, deadline.strip()))
    except ReviewError as exc:
        return {"ok": False, "message": exc.problems[0].message}
    problem = schedule_problem(rv, ob)
    if problem is not None:
        return {"ok": False, "message": problem.message}
    cycles = []
    for plan in upcoming(rv, ob):
        who = cycle_agencies(rv.session, ob, on=plan.opens_at.date(), province=rv.province)
        mark = " (dự kiến)" if plan.provisional else ""  # rests on an undecreed day off
        cycles.append(
            {
                "period": period_label(plan.period.key),
                "opens": local(plan.opens_at),
                "due": local(plan.due.at) + mark,
                "lead_due": (local(plan.lead_due.at) + mark) if plan.lead_due else "—",
                "agencies": len(who.agencies),
            }
        )
    return {"ok": True, "frequency": frequency_vi(ob.frequency), "cycles": cycles}
