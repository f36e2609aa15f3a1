"""Listing agencies and resolving a phrase on the day it matters: names and aliases in
the issuer's province first, then followed through successions; a group phrase becomes
its members on that day."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from directives.agencies import AgencyRef, describe, starts_agency
from directives.text import fold
from models.agency import (
    Agency,
    AgencyAlias,
    AgencyGroup,
    AgencyKind,
    AgencySuccession,
    GroupSuccession,
    lookup_key,
)
from models.formats import short_day

# --- listing ------------------------------------------------------------------------------------


def _active(start: Any, end: Any, day: dt.date) -> ColumnElement[bool]:
    """SQL for "``day`` lies within [start, end]", empty ends being open."""
    return and_(or_(start.is_(None), start <= day), or_(end.is_(None), end >= day))


def list_agencies(
    session: Session,
    *,
    on: dt.date | None = None,
    kind: AgencyKind | None = None,
    group: str | None = None,
    province: str | None = None,
) -> list[Agency]:
    """Agencies (active on ``on`` when given; members of ``group`` on that day)."""
    stmt = select(Agency)
    if on is not None:
        stmt = stmt.where(_active(col(Agency.active_from), col(Agency.active_to), on))
    if kind is not None:
        stmt = stmt.where(Agency.kind == kind)
    if province is not None:
        stmt = stmt.where(Agency.province == province)
    if group is not None:
        stmt = stmt.join(AgencyGroup, col(AgencyGroup.agency_id) == Agency.id)
        stmt = stmt.where(AgencyGroup.group_key == group)
        if on is not None:
            stmt = stmt.where(_active(col(AgencyGroup.active_from), col(AgencyGroup.active_to), on))
    return list(session.exec(stmt.order_by(col(Agency.province), col(Agency.name))))


# --- resolution ---------------------------------------------------------------------------------


class Flag(StrEnum):
    unknown = "unknown"  # no agency by that name: see candidates
    group_dissolved = "group_dissolved"  # the group no longer exists: see suggested_group
    empty_group = "empty_group"  # the registry knows no members of the group on that day
    dissolved = "dissolved"  # the agency ended with no successor in the registry


@dataclass
class Resolution:
    """Who a phrase names on a day. ``flag`` set means an administrator must look:
    nothing is dropped or guessed silently."""

    phrase: str
    agencies: list[Agency] = field(default_factory=list)
    flag: Flag | None = None
    suggested_group: str | None = None
    candidates: list[Agency] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Scope:
    on: dt.date
    province: str  # the registry's province today: where dissolved things end up
    issuer: str  # the directive's province: where its names are looked up first


def resolve(
    session: Session,
    phrase: str,
    *,
    on: dt.date,
    province: str,
    issuer_province: str | None = None,
) -> Resolution:
    """The agencies ``phrase`` names on ``on``.

    ``province`` is the registry's province (today's tỉnh Quảng Ngãi); ``issuer_province``
    the province of the directive's issuer (default: ``province``). Names are looked up
    in the issuer's province first, so a 2022 Kon Tum directive's "Sở Kế hoạch và Đầu tư"
    is Kon Tum's department, followed through its successions to the one active on ``on``.
    """
    scope = _Scope(on, province, issuer_province or province)
    parts = [_resolve_ref(session, ref, scope) for ref in describe(phrase)]
    return _merge(phrase, parts, on)


def _resolve_ref(session: Session, ref: AgencyRef, scope: _Scope) -> Resolution:
    if ref.kind == "group" and ref.group:
        return _resolve_group(session, ref, ref.group, scope)
    name = _agency_part(ref.name) if ref.kind == "person" else ref.name
    return _resolve_name(session, name, scope)


def _agency_part(name: str) -> str:
    """The agency a person title belongs to: "Giám đốc Sở Xây dựng" → "Sở Xây dựng"."""
    folded = fold(name)  # same length as name: offsets carry over
    title = starts_agency(folded, 0)
    if title is None:
        return name
    for word in re.finditer(r"\S+", folded[title.end() :]):
        at = title.end() + word.start()
        if starts_agency(folded, at):
            return name[at:]
    return name


def _resolve_name(session: Session, name: str, scope: _Scope) -> Resolution:
    found = _by_key(session, lookup_key(name))
    if not found:
        return Resolution(
            name,
            flag=Flag.unknown,
            candidates=candidates(session, name, on=scope.on),
            notes=[f"danh mục không có cơ quan nào tên “{name}”"],
        )
    result = Resolution(name)
    for agency in _choose(found, scope):
        for chain in _chains(session, agency, scope.on, frozenset()):
            _apply_chain(result, chain, scope.on)
            if chain.dead_end:
                result.suggested_group = _heir_group(session, chain.end, scope.on)
    return result


def _heir_group(session: Session, agency: Agency, on: dt.date) -> str | None:
    """The group that replaced one of ``agency``'s groups (a district committee named on
    its own after 1/7/2025 suggests the communes)."""
    stmt = select(AgencyGroup.group_key).where(AgencyGroup.agency_id == agency.id)
    for key in session.exec(stmt):
        moved = _group_successor(session, key, on)
        if moved is not None:
            return moved.new_group
    return None


def _by_key(session: Session, key: str) -> list[Agency]:
    stmt = select(Agency).join(AgencyAlias, col(AgencyAlias.agency_id) == Agency.id)
    return list(session.exec(stmt.where(AgencyAlias.key == key).distinct()))


def _choose(found: Sequence[Agency], scope: _Scope) -> list[Agency]:
    """Same-name agencies: the issuer's province, else the registry's, else any; then the
    one active on the day, else the latest to have existed."""
    for province in (scope.issuer, scope.province):
        local = [a for a in found if a.province == province]
        if local:
            break
    else:
        local = list(found)
    active = [a for a in local if a.active_on(scope.on)]
    return active or [max(local, key=lambda a: a.active_to or dt.date.max)]


@dataclass(frozen=True, slots=True)
class _Chain:
    start: Agency
    steps: tuple[tuple[Agency, dt.date], ...]  # each successor and the day it took over
    dead_end: bool = False  # the last agency ended with no successor

    @property
    def end(self) -> Agency:
        return self.steps[-1][0] if self.steps else self.start


def _chains(session: Session, agency: Agency, on: dt.date, seen: frozenset[int]) -> list[_Chain]:
    """Paths through the successions from ``agency`` to those carrying on its work on ``on``
    (several when its duties were split)."""
    if agency.active_to is None or on <= agency.active_to:
        return [_Chain(agency, ())]
    stmt = select(AgencySuccession, Agency).join(
        Agency, col(Agency.id) == AgencySuccession.successor_id
    )
    stmt = stmt.where(AgencySuccession.predecessor_id == agency.id)
    stmt = stmt.where(AgencySuccession.effective <= on)
    chains = []
    for step, successor in session.exec(stmt.order_by(col(AgencySuccession.effective))):
        if successor.id in seen:  # a cycle: the file checks forbid them; never loop
            continue
        for rest in _chains(session, successor, on, seen | {agency.id or 0}):
            chains.append(_Chain(agency, ((successor, step.effective), *rest.steps), rest.dead_end))
    return chains or [_Chain(agency, (), dead_end=True)]


def _apply_chain(result: Resolution, chain: _Chain, on: dt.date) -> None:
    last = chain.end
    if chain.steps:
        path = " → ".join(f"{a.name} từ {_date_vi(day)}" for a, day in chain.steps)
        ended = _date_vi(chain.start.active_to)
        result.notes.append(f"{chain.start.name} hoạt động đến {ended}; kế thừa: {path}")
    if chain.dead_end:
        result.flag = Flag.dissolved
        result.notes.append(
            f"{last.name} hoạt động đến {_date_vi(last.active_to)}, danh mục không ghi cơ quan "
            "kế thừa"
        )
        return
    if last.active_from and on < last.active_from:
        result.notes.append(f"{last.name} chỉ hoạt động từ {_date_vi(last.active_from)}")
    result.agencies.append(last)


def _date_vi(day: dt.date | None) -> str:
    """A day as Vietnamese documents write it (1/7/2025), "?" when unknown."""
    return short_day(day) if day else "?"


def _resolve_group(session: Session, ref: AgencyRef, key: str, scope: _Scope) -> Resolution:
    moved = _group_successor(session, key, scope.on)
    if moved is not None:
        why = f" ({moved.note})" if moved.note else ""
        return Resolution(
            ref.name,
            flag=Flag.group_dissolved,
            suggested_group=moved.new_group,
            notes=[
                f"“{ref.text}” chỉ nhóm {key}, từ {_date_vi(moved.effective)} thay bằng nhóm "
                f"{moved.new_group}{why}: quản trị viên cần chọn cơ quan báo cáo "
                f"(đề xuất: {moved.new_group})"
            ],
        )
    result = Resolution(ref.name)
    result.agencies = list_agencies(session, on=scope.on, group=key, province=scope.issuer)
    if not result.agencies and scope.issuer != scope.province:
        result.agencies = list_agencies(session, on=scope.on, group=key, province=scope.province)
        result.notes.append(
            f"{scope.issuer} không có nhóm {key} vào {_date_vi(scope.on)}: lấy nhóm đó của "
            f"{scope.province}"
        )
    if not result.agencies:
        result.flag = Flag.empty_group
        result.notes.append(
            f"danh mục không có cơ quan nào thuộc nhóm {key} của {scope.issuer} vào "
            f"{_date_vi(scope.on)}"
        )
    return result


def _group_successor(session: Session, key: str, on: dt.date) -> GroupSuccession | None:
    stmt = select(GroupSuccession).where(
        GroupSuccession.old_group == key, GroupSuccession.effective <= on
    )
    return session.exec(stmt.order_by(col(GroupSuccession.effective).desc())).first()


def candidates(session: Session, phrase: str, *, on: dt.date, limit: int = 5) -> list[Agency]:
    """Agencies active on ``on`` whose names share the most words with ``phrase``
    (Jaccard overlap of lookup-key words, best alias per agency)."""
    words = set(lookup_key(phrase).split())
    scores: dict[int, tuple[float, Agency]] = {}
    stmt = select(AgencyAlias, Agency).join(Agency, col(Agency.id) == AgencyAlias.agency_id)
    stmt = stmt.where(_active(col(Agency.active_from), col(Agency.active_to), on))
    for alias, agency in session.exec(stmt):
        other = set(alias.key.split())
        score = len(words & other) / len(words | other) if words else 0.0
        if score > scores.get(agency.id or 0, (0.0, agency))[0]:
            scores[agency.id or 0] = (score, agency)
    ranked = sorted(scores.values(), key=lambda pair: (-pair[0], pair[1].name))
    return [agency for _, agency in ranked[:limit]]


def _merge(phrase: str, parts: Sequence[Resolution], on: dt.date) -> Resolution:
    """One resolution for a whole phrase; an agency named twice is listed once."""
    merged = Resolution(phrase)
    for part in parts:
        merged.agencies.extend(part.agencies)
        merged.candidates.extend(part.candidates)
        merged.notes.extend(part.notes)
        merged.flag = merged.flag or part.flag
        merged.suggested_group = merged.suggested_group or part.suggested_group
    merged.notes.extend(_duplicate_notes(parts, on))
    merged.agencies, merged.candidates = _unique(merged.agencies), _unique(merged.candidates)
    return merged


def _unique(agencies: Iterable[Agency]) -> list[Agency]:
    return list({a.id: a for a in agencies}.values())


def _duplicate_notes(parts: Sequence[Resolution], on: dt.date) -> list[str]:
    named: dict[int, tuple[Agency, list[str]]] = {}
    for part in parts:
        for agency in part.agencies:
            phrases = named.setdefault(agency.id or 0, (agency, []))[1]
            if part.phrase not in phrases:
                phrases.append(part.phrase)
    return [
        f"{agency.name} là cơ quan mà {', '.join(f'“{p}”' for p in phrases)} cùng chỉ vào "
        f"{_date_vi(on)}: chỉ ghi một lần"
        for agency, phrases in named.values()
        if len(phrases) > 1
    ]
