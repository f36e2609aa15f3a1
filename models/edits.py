"""The administrator's edits to a proposed or approved obligation: schedule, lead and
recipient, submitters, reminder ladder. Each keeps an audit row with the old and the new
value; refusals are ``models.review.ReviewError``s, and nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from directives.parsed import Deadline, describe_deadline
from models.agency import Agency
from models.calendar import Ladder
from models.cycles import ladder_of
from models.formats import short_day
from models.plan import set_schedule
from models.registry import list_agencies
from models.review import (
    ROLE_VI,
    Review,
    ReviewError,
    Started,
    agency_by_code,
    agency_name,
    frequency_vi,
    group_vi,
    parties,
    refuse,
    rule_of,
    schedule_problem,
    start_running,
)
from models.store import audit
from models.tables import Obligation, ObligationParty, ObligationStatus, PartyRole
from models.vocabulary import SCHEDULABLE

# --- edits --------------------------------------------------------------------------------


def check_editable(ob: Obligation) -> None:
    if ob.status == ObligationStatus.withdrawn:
        raise refuse(
            "withdrawn",
            ob.id,
            "nghĩa vụ đã bị thay thế (văn bản có phiên bản mới): sửa nghĩa vụ của phiên bản mới",
        )


def edit_schedule(rv: Review, ob: Obligation, frequency: str | None, rule: Deadline | None) -> str:
    wanted = frequency or ob.frequency
    if wanted not in SCHEDULABLE:
        raise refuse(
            "no_schedule",
            ob.id,
            f"nghĩa vụ chưa có lịch định kỳ ({frequency_vi(ob.frequency)}): chọn tần suất "
            "cùng với hạn nộp",
            field="frequency",
        )
    if rule is not None and rule.kind == "date" and wanted != "once":
        raise refuse(
            "bad_deadline",
            ob.id,
            f"một ngày cụ thể không lặp lại {frequency_vi(wanted)} được: chọn tần suất "
            "“một lần” hoặc ghi hạn không kèm năm (ví dụ 15/12)",
            field="deadline",
        )
    set_schedule(rv.session, ob, frequency=wanted, deadline=rule, actor=rv.actor)
    return f"{frequency_vi(wanted)}, {describe_deadline(rule_of(ob))}"


def edit_party(rv: Review, ob: Obligation, role: str, agency: Agency) -> str:
    """The administrator names the lead ("via") or the recipient: it replaces what the
    registry read (flagged or not), on the obligation and among its parties."""
    rows = parties(rv, ob)  # resolved first, so a later approval keeps what is set here
    assert ob.id is not None and agency.id is not None
    phrase = (ob.via_phrase if role == "via" else ob.recipient_phrase) or agency.name
    for party in rows:
        if str(party.role) == role:
            rv.session.delete(party)
    rv.session.add(_chosen(rv, ob, PartyRole(role), agency, phrase))
    attr = "lead_agency_id" if role == "via" else "recipient_agency_id"
    before = getattr(ob, attr)
    setattr(ob, attr, agency.id)
    rv.session.add(ob)
    audit(
        rv.session,
        actor=rv.actor,
        action="obligation.set_lead" if role == "via" else "obligation.set_recipient",
        entity="obligation",
        entity_id=ob.id,
        data={
            "before": before,
            "after": agency.id,
            "agency_id": agency.id,
            "code": agency.code,
            "before_name": agency_name(rv, before) if before else None,
            "after_name": agency.name,
        },
    )
    said = f"{ROLE_VI[role]}: {agency.name}"
    if role == "via" and not ob.via_phrase:
        said += (
            " — lưu ý: văn bản không nêu cơ quan chủ trì; kỳ báo cáo chỉ có hạn riêng của "
            "cơ quan chủ trì khi văn bản nêu"
        )
    return said


def _chosen(
    rv: Review,
    ob: Obligation,
    role: PartyRole,
    agency: Agency | None,
    phrase: str,
    group: str | None = None,
) -> ObligationParty:
    assert ob.id is not None
    return ObligationParty(
        obligation_id=ob.id,
        role=role,
        phrase=phrase,
        agency_id=agency.id if agency else None,
        group_key=group,
        note=f"do {rv.actor} chọn ngày {short_day(rv.today)}",
    )


@dataclass(frozen=True, slots=True)
class Pick:
    """A submitter as the administrator picks it: an agency, or a registry group."""

    agency: Agency | None = None
    group: str | None = None

    @property
    def label(self) -> str:
        return self.agency.name if self.agency else f"nhóm {group_vi(self.group or '')}"


def pick(rv: Review, code: str, what: str = "cơ quan báo cáo") -> Pick:
    """An agency code, or a group key the registry has members for today."""
    if list_agencies(rv.session, on=rv.today, group=code, province=rv.province):
        return Pick(group=code)
    return Pick(agency=agency_by_code(rv, code, what))


def submitter_labels(rv: Review, rows: list[ObligationParty]) -> list[str]:
    out = []
    for p in rows:
        if str(p.role) != "submitter":
            continue
        if p.flag:
            out.append(f"? {p.phrase}")
        elif p.group_key:
            out.append(f"nhóm {group_vi(p.group_key)}")
        else:
            out.append(agency_name(rv, p.agency_id, p.phrase))
    return out


def edit_submitters(
    rv: Review,
    ob: Obligation,
    *,
    replace_with: list[Pick] | None = None,
    add: Sequence[Pick] = (),
    remove: Sequence[Pick] = (),
) -> str:
    """Replace, add to or remove from who reports; removing one member of a group
    replaces the group by its other members today (said in the result)."""
    rows = parties(rv, ob)
    mine = [p for p in rows if str(p.role) == "submitter"]
    before = submitter_labels(rv, mine)
    notes: list[str] = []
    if replace_with is not None:
        for p in mine:
            rv.session.delete(p)
        mine = []
        add = list(replace_with) + list(add)
    for chosen in remove:
        mine = _remove(rv, ob, mine, chosen, notes)
    for chosen in add:
        if not any(_same(p, chosen) for p in mine):
            party = _chosen(rv, ob, PartyRole.submitter, chosen.agency, chosen.label, chosen.group)
            rv.session.add(party)
            mine.append(party)
    if not mine:
        raise refuse(
            "no_submitter",
            ob.id,
            "không còn cơ quan báo cáo nào: chọn ít nhất một cơ quan, hoặc từ chối nghĩa vụ",
            field="submitters",
        )
    rv.session.flush()
    after = submitter_labels(rv, mine)
    audit(
        rv.session,
        actor=rv.actor,
        action="obligation.set_submitters",
        entity="obligation",
        entity_id=ob.id,
        data={"before": before, "after": after},
    )
    return "; ".join([f"cơ quan báo cáo: {'; '.join(after)}", *notes])


def _same(party: ObligationParty, chosen: Pick) -> bool:
    if chosen.group:
        return party.group_key == chosen.group
    return chosen.agency is not None and party.agency_id == chosen.agency.id


def _remove(
    rv: Review, ob: Obligation, mine: list[ObligationParty], chosen: Pick, notes: list[str]
) -> list[ObligationParty]:
    direct = [p for p in mine if _same(p, chosen)]
    if direct:
        for p in direct:
            rv.session.delete(p)
        return [p for p in mine if p not in direct]
    agency = chosen.agency
    for p in mine:
        if agency is None or not p.group_key:
            continue
        members = list_agencies(rv.session, on=rv.today, group=p.group_key, province=rv.province)
        if any(m.id == agency.id for m in members):
            rv.session.delete(p)
            kept = [
                _chosen(rv, ob, PartyRole.submitter, m, m.name)
                for m in members
                if m.id != agency.id
            ]
            rv.session.add_all(kept)
            notes.append(
                f"nhóm {group_vi(p.group_key)} được thay bằng {len(kept)} cơ quan cụ thể "
                f"(trừ {agency.name})"
            )
            return [q for q in mine if q is not p] + kept
    raise refuse(
        "not_a_submitter",
        ob.id,
        f"{chosen.label} không nằm trong các cơ quan báo cáo",
        field="submitters",
    )


def ladder_stages(rows: object) -> list[dict[str, Any]]:
    """Stages as stored, checked; ``ReviewError`` saying what is wrong."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise refuse(
            "bad_ladder",
            None,
            "thang nhắc hạn phải là danh sách các bước (name, anchor, offset, audience)",
            field="ladder",
        )
    try:
        parsed = Ladder.from_data(rows)
    except ValueError as exc:
        raise refuse("bad_ladder", None, f"thang nhắc hạn: {exc}", field="ladder") from None
    if not any(stage.is_opening for stage in parsed.stages):
        raise refuse(
            "bad_ladder",
            None,
            "thang nhắc hạn thiếu bước mở kỳ (anchor: open, offset: 0): thông báo mở kỳ "
            "mang đường dẫn nộp báo cáo",
            field="ladder",
        )
    stages: list[dict[str, Any]] = parsed.to_data()["stages"]
    return stages


def edit_ladder(rv: Review, ob: Obligation, stages: list[dict[str, Any]] | None) -> str:
    before = ob.ladder
    ob.ladder = stages
    rv.session.add(ob)
    audit(
        rv.session,
        actor=rv.actor,
        action="obligation.set_ladder",
        entity="obligation",
        entity_id=ob.id,
        data={"before": before, "after": stages, "ladder": stages},
    )
    return f"nhắc hạn: {ladder_text(ob)}"


STAGE_VI = {"agency": "cơ quan", "lead": "chủ trì", "recipient": "nơi nhận"}
STAGE_NAME_VI = {
    "opened": "thông báo mở kỳ",
    "due-day": "ngày đến hạn",
    "overdue": "quá hạn",
    "escalation-lead": "báo cơ quan chủ trì",
    "escalation-recipient": "báo nơi nhận",
}


def stage_label(name: str) -> str:
    """A ladder stage in words ("reminder-3" is "nhắc hạn"); an own stage keeps its name."""
    if name.startswith("reminder-"):
        return "nhắc hạn"
    return STAGE_NAME_VI.get(name, name)


def ladder_text(ob: Obligation) -> str:
    return ", ".join(
        f"{stage_label(s.name)} ({'mở kỳ' if s.anchor == 'open' else 'hạn'}{s.offset:+d}, "
        f"{STAGE_VI[str(s.audience)]})"
        for s in ladder_of(ob).stages
    )


def after_edit(rv: Review, ob: Obligation, late: str | None) -> Started:
    """An edit to an approved obligation: its schedule must still work, and the period
    it now makes running opens at once (as on approval)."""
    if ob.frequency in SCHEDULABLE and (problem := schedule_problem(rv, ob)):
        raise ReviewError([problem])
    if ob.status != ObligationStatus.approved:
        return Started()
    return start_running(rv, ob, late)
