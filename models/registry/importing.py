"""Importing a validated registry: agencies upserted by code in one transaction (so
re-importing the same file changes nothing); an agency's aliases, groups, contacts and
successions are replaced by the file's, agencies missing from it are left alone."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from models.agency import (
    Agency,
    AgencyAlias,
    AgencyContact,
    AgencyGroup,
    AgencySuccession,
    GroupSuccession,
    lookup_key,
)
from models.db import utcnow
from models.registry.specs import AgencySpec, RegistryFile

# --- import -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportSummary:
    created: int  # agencies
    updated: int  # agencies whose own fields changed
    rows_changed: int  # aliases, groups, contacts, successions added, changed or removed


def import_registry(session: Session, registry: RegistryFile) -> ImportSummary:
    """Write ``registry`` in one transaction (committed here; rolled back on any error).
    Agencies are upserted by (province, code), so re-importing a file changes nothing."""
    try:
        summary = _write(session, registry)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


@dataclass(frozen=True, slots=True)
class _Table:
    """How one child table is synced: the rows under ``parent`` values, matched by ``keys``."""

    model: type[SQLModel]
    parent: str
    keys: tuple[str, ...]
    values: tuple[str, ...]


_ALIASES = _Table(AgencyAlias, "agency_id", ("agency_id", "key"), ("alias",))
_GROUPS = _Table(AgencyGroup, "agency_id", ("agency_id", "group_key"), ("active_from", "active_to"))
_CONTACTS = _Table(AgencyContact, "agency_id", ("agency_id", "channel", "address"), ("label",))
_SUCCESSIONS = _Table(
    AgencySuccession, "predecessor_id", ("predecessor_id", "successor_id"), ("effective", "note")
)
_GROUP_MOVES = _Table(
    GroupSuccession, "old_group", ("old_group", "new_group"), ("effective", "note")
)


def _write(session: Session, registry: RegistryFile) -> ImportSummary:
    agencies, created, updated = _upsert_agencies(session, registry.agencies)
    session.flush()  # ids for the child rows
    ids = [_id(a) for a in agencies.values()]
    pairs = [(spec, agencies[spec.code]) for spec in registry.agencies]
    children: list[tuple[_Table, Sequence[Any], Iterable[SQLModel]]] = [
        (_ALIASES, ids, _alias_rows(pairs)),
        (_GROUPS, ids, _group_rows(pairs)),
        (_CONTACTS, ids, _contact_rows(pairs)),
        (_SUCCESSIONS, ids, _succession_rows(pairs, agencies)),
        (_GROUP_MOVES, [m.old_group for m in registry.group_successions], _moves(registry)),
    ]
    changed = sum(_sync(session, table, parents, rows) for table, parents, rows in children)
    return ImportSummary(created, updated, changed)


_AGENCY_FIELDS = ("name", "kind", "active_from", "active_to", "notes")


def _upsert_agencies(
    session: Session, specs: Sequence[AgencySpec]
) -> tuple[dict[str, Agency], int, int]:
    wanted = {(s.province, s.code) for s in specs}
    stmt = select(Agency).where(col(Agency.code).in_([code for _, code in wanted]))
    found = ((a.province, a.code, a) for a in session.exec(stmt))
    existing = {(p, c): a for p, c, a in found if (p, c) in wanted}
    agencies: dict[str, Agency] = {}
    created = updated = 0
    for spec in specs:
        agency = existing.get((spec.province, spec.code))
        if agency is None:
            agency = Agency(code=spec.code, province=spec.province, name=spec.name, kind=spec.kind)
            session.add(agency)
            created += 1
        if _assign(agency, {f: getattr(spec, f) for f in _AGENCY_FIELDS}) and agency.id:
            agency.updated_at = utcnow()
            updated += 1
        agencies[spec.code] = agency
    return agencies, created, updated


def _assign(row: SQLModel, values: Mapping[str, Any]) -> bool:
    """Set the fields that differ; True if any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _sync(
    session: Session, table: _Table, parents: Sequence[Any], desired: Iterable[SQLModel]
) -> int:
    """Make ``table``'s rows under ``parents`` equal ``desired``: rows with the same key are
    updated in place (ids stay stable), new ones added, the rest deleted."""
    model = table.model
    stmt = select(model).where(col(getattr(model, table.parent)).in_(parents))
    current = {tuple(getattr(r, k) for k in table.keys): r for r in session.exec(stmt)}
    changed = 0
    for row in desired:
        old = current.pop(tuple(getattr(row, k) for k in table.keys), None)
        if old is None:
            session.add(row)
            changed += 1
        else:
            changed += _assign(old, {v: getattr(row, v) for v in table.values})
    for old in current.values():
        session.delete(old)
        changed += 1
    return changed


Pairs = Sequence[tuple[AgencySpec, Agency]]


def _id(agency: Agency) -> int:
    if agency.id is None:  # only before the flush: a bug here, never bad data
        raise RuntimeError(f"agency {agency.code!r} has no id yet")
    return agency.id


def _alias_rows(pairs: Pairs) -> Iterator[AgencyAlias]:
    for spec, agency in pairs:
        for alias in spec.aliases:
            yield AgencyAlias(agency_id=_id(agency), alias=alias, key=lookup_key(alias))


def _group_rows(pairs: Pairs) -> Iterator[AgencyGroup]:
    for spec, agency in pairs:
        for g in spec.groups:
            yield AgencyGroup(
                group_key=g.key,
                agency_id=_id(agency),
                active_from=g.active_from,
                active_to=g.active_to,
            )


def _contact_rows(pairs: Pairs) -> Iterator[AgencyContact]:
    for spec, agency in pairs:
        for c in spec.contacts:
            yield AgencyContact(
                agency_id=_id(agency), channel=c.channel, address=c.address, label=c.label
            )


def _moves(registry: RegistryFile) -> Iterator[GroupSuccession]:
    for m in registry.group_successions:
        yield GroupSuccession(
            old_group=m.old_group, new_group=m.new_group, effective=m.effective, note=m.note
        )


def _succession_rows(pairs: Pairs, agencies: Mapping[str, Agency]) -> Iterator[AgencySuccession]:
    for spec, agency in pairs:
        for s in spec.successors:
            yield AgencySuccession(
                predecessor_id=_id(agency),
                successor_id=_id(agencies[s.code]),
                effective=s.effective,
                note=s.note,
            )
