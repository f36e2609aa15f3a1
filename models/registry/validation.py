"""The agency registry: load a registry file, import it, list agencies, resolve phrases.

A registry file (YAML, or CSV for spreadsheets) is validated as a whole before anything
is written: every problem is reported at once with its line, and a file with problems
writes nothing. Importing upserts by code in one transaction, so re-importing the same
file changes nothing. Agencies missing from a file are left alone (history points at
them); an agency's aliases, groups, contacts and successions are replaced by the file's.

YAML layout (see ``data/registry/quang-ngai.yaml``)::

    province: quang-ngai              # default province of the agencies below
    sections:
      - title: …
        sources: [Nghị quyết 202/2025/QH15 …]   # documentation only
        defaults: {kind: department, groups: [departments]}   # merged under each agency
        agencies:
          - code: qng-so-tai-chinh    # slug, unique in the file
            name: Sở Tài chính tỉnh Quảng Ngãi
            kind: department          # see AgencyKind
            province: quang-ngai
            active_from: 2025-03-01   # optional; active_to likewise (last day)
            aliases: [Sở Tài chính]
            groups: [departments, {group: x, from: 2025-03-01, to: 2025-06-30}]
            contacts: [{channel: email, address: a@example.invalid, label: Văn thư}]
            successors: [{code: other-code, effective: 2025-07-01, note: …}]
            notes: …
            unverified: …             # appended to notes as "Unverified: …"
        group_successions:
          - {old_group: district_committees, new_group: commune_committees, effective: 2025-07-01}

CSV layout: a header row, then one agency per row. Columns (code, name and kind are
required; province too unless ``load_registry(…, province=…)`` gives it): ``code, name,
kind, province, active_from, active_to, aliases, groups, contacts, successors, notes,
unverified``. List cells are ``;``-separated:

- aliases: ``Sở Tài chính; Sở KH&ĐT``
- groups: ``departments`` or ``key@FROM..TO`` (either date may be empty)
- contacts: ``channel:address`` with an optional ``|label``: ``email:a@example.invalid|Văn thư``
- successors: ``code@EFFECTIVE`` with an optional ``|note``

A row whose kind is ``group`` declares a group succession instead: ``code`` is the old
group key and ``successors`` holds ``new_group@EFFECTIVE|note``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, SQLModel, col, select

from directives.agencies import AgencyRef, describe, starts_agency
from directives.text import fold
from models.agency import (
    Agency,
    AgencyAlias,
    AgencyContact,
    AgencyGroup,
    AgencyKind,
    AgencySuccession,
    ContactChannel,
    GroupSuccession,
    lookup_key,
)
from models.db import utcnow
from models.vocabulary import normalise_phone

REGISTRY_DIR = Path(__file__).parents[1] / "data" / "registry"

E = TypeVar("E", bound=StrEnum)


def shipped_registry(province: str = "quang-ngai") -> Path:
    """The registry file shipped for ``province``."""
    return REGISTRY_DIR / f"{province}.yaml"


class RegistryError(Exception):
    """Everything wrong with a registry file, each problem as "line N: …"."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(f"{head}{len(problems)} problem(s)\n" + "\n".join(problems))


# --- the validated registry -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupSpec:
    key: str
    active_from: dt.date | None = None
    active_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ContactSpec:
    channel: ContactChannel
    address: str  # normalised: lowercase email, 84xxxxxxxxx phone, or Zalo user id
    label: str = ""


@dataclass(frozen=True, slots=True)
class SuccessorSpec:
    code: str
    effective: dt.date
    note: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class AgencySpec:
    code: str
    name: str
    kind: AgencyKind
    province: str
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    notes: str = ""
    aliases: tuple[str, ...] = ()  # the name first, then the aliases; one per lookup key
    groups: tuple[GroupSpec, ...] = ()
    contacts: tuple[ContactSpec, ...] = ()
    successors: tuple[SuccessorSpec, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class GroupSuccessionSpec:
    old_group: str
    new_group: str
    effective: dt.date
    note: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class RegistryFile:
    source: str
    agencies: tuple[AgencySpec, ...]
    group_successions: tuple[GroupSuccessionSpec, ...] = ()
    # Groups the file knows to be incomplete, with what is missing ("departments": the
    # sector bodies and public-service units under UBND tỉnh are not listed).
    partial_groups: Mapping[str, str] = field(default_factory=dict)


# --- reading files into raw records ------------------------------------------------------------

# Raw records are plain mappings as YAML gives them; LINE holds the mapping's first line
# and LINES each key's line, so problems can point at the exact field.
LINE = "__line__"
LINES = "__lines__"
Raw = Mapping[str, Any]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records where each mapping and each of its values starts.

    Dates stay text: YAML would turn ``2025-13-01`` into an exception without a line, so
    the validator parses them and says where a bad one is."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE] = node.start_mark.line + 1
        mapping[LINES] = {k.value: v.start_mark.line + 1 for k, v in node.value}
        return mapping


_LineLoader.yaml_implicit_resolvers = {  # a copy: SafeLoader's own table stays as it is
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_registry(path: str | Path, *, province: str = "") -> RegistryFile:
    """Parse and validate a registry file (.yaml/.yml or .csv); raise RegistryError with
    every problem found. ``province`` is the default for agencies that name none (a CSV
    file has no place for a file-wide province; a YAML file's own wins)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets like to add a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError([f"line 0: cannot read the file: {exc}"], str(path)) from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        document, problems = _csv_document(text)
    elif suffix in (".yaml", ".yml"):
        document, problems = _yaml_document(text, str(path)), _Problems()
    else:
        raise RegistryError([f"line 0: unknown registry format {suffix!r}"], str(path))
    return _validate(document, str(path), problems, province)


def _yaml_document(text: str, source: str) -> Raw:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise RegistryError([f"line {line}: not valid YAML: {exc.problem}"], source) from exc
    if not isinstance(document, Mapping):
        raise RegistryError(["line 1: a registry file is a mapping with `sections`"], source)
    return document


_CSV_COLUMNS = (
    *("code", "name", "kind", "province", "active_from", "active_to"),
    *("aliases", "groups", "contacts", "successors", "notes", "unverified"),
)


def _csv_document(text: str) -> tuple[Raw, _Problems]:
    """The CSV rows as raw records shaped like the YAML ones, and the layout's problems."""
    problems = _Problems()
    reader = csv.DictReader(text.splitlines(keepends=True))
    for column in reader.fieldnames or ():
        if column not in _CSV_COLUMNS:
            problems.add(1, f"unknown column {column!r}")
    agencies: list[Raw] = []
    moves: list[Raw] = []
    start = 2
    for row in reader:
        if None in row:
            problems.add(start, "more cells than columns")
        raw = _csv_row(row, start)
        start = reader.line_num + 1  # a quoted cell may span lines
        if raw.get("kind") == "group":
            moves.extend(_csv_group_moves(raw))
        else:
            agencies.append(raw)
    return {"agencies": agencies, "group_successions": moves, LINE: 1}, problems


def _csv_row(row: Mapping[str | None, Any], line: int) -> dict[str, Any]:
    cells = {k: v.strip() for k, v in row.items() if k in _CSV_COLUMNS and isinstance(v, str)}
    raw: dict[str, Any] = {k: v for k, v in cells.items() if v and k not in _CSV_LISTS}
    for key, parse in _CSV_LISTS.items():
        if cells.get(key):
            raw[key] = [parse(item, line) for item in _split(cells[key])]
    raw[LINE] = line
    return raw


def _split(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]


def _csv_group(item: str, line: int) -> Raw:
    key, _, span = item.partition("@")
    start, _, end = span.partition("..")
    return {
        "group": key.strip(),
        "from": start.strip() or None,
        "to": end.strip() or None,
        LINE: line,
    }


def _csv_contact(item: str, line: int) -> Raw:
    target, _, label = item.partition("|")
    channel, sep, address = target.partition(":")
    if not sep:  # "a@b.c" alone: no channel given
        channel, address = "", target
    return {
        "channel": channel.strip(),
        "address": address.strip(),
        "label": label.strip(),
        LINE: line,
    }


def _csv_successor(item: str, line: int) -> Raw:
    target, _, note = item.partition("|")
    code, _, effective = target.partition("@")
    return {"code": code.strip(), "effective": effective.strip(), "note": note.strip(), LINE: line}


_CSV_LISTS: dict[str, Callable[[str, int], Any]] = {
    "aliases": lambda item, _line: item,
    "groups": _csv_group,
    "contacts": _csv_contact,
    "successors": _csv_successor,
}


def _csv_group_moves(raw: Raw) -> list[Raw]:
    old = raw.get("code", "")
    return [
        {
            "old_group": old,
            "new_group": s["code"],
            "effective": s["effective"],
            "note": s["note"],
            LINE: raw[LINE],
        }
        for s in raw.get("successors", [])
    ]


# --- validation ----------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_GROUP_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
# Vietnamese mobile numbers in the form the Zalo APIs take: 84 + 9 digits, 3/5/7/8/9 first.
_ZALO_USER_ID = re.compile(r"^\d{12,20}$")  # longer than any phone number

_DOCUMENT_KEYS = {
    "province",
    "title",
    "sources",
    "notes",
    "sections",
    "agencies",
    "group_successions",
    "partial_groups",
}
_SECTION_KEYS = {"title", "sources", "notes", "defaults", "agencies", "group_successions"}
_AGENCY_KEYS = {
    "code",
    "name",
    "kind",
    "province",
    "active_from",
    "active_to",
    "aliases",
    "groups",
    "contacts",
    "successors",
    "notes",
    "unverified",
    "sources",
}


class _Problems:
    def __init__(self) -> None:
        self._items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self._items.append((line, message))

    def report(self) -> list[str]:
        return [f"line {line}: {message}" for line, message in sorted(self._items)]


@dataclass
class _Fields:
    """Typed reads from one raw record; every bad value becomes a problem, never a crash."""

    raw: Raw
    problems: _Problems

    @property
    def line(self) -> int:
        return int(self.raw.get(LINE, 0))

    def line_of(self, key: str) -> int:
        return int(self.raw.get(LINES, {}).get(key, self.line))

    def fail(self, key: str, message: str) -> None:
        self.problems.add(self.line_of(key), message)

    def check_keys(self, allowed: set[str], what: str) -> None:
        for key in self.raw:
            if key not in allowed and key not in (LINE, LINES):
                self.fail(key, f"unknown {what} field {key!r}")

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.add(self.line, f"missing {key}")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(key, f"{key} must be text, not {type(value).__name__}")
            return ""
        return " ".join(str(value).split())

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.add(self.line, f"missing {key}")
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(key, f"{key}: {value!r} is not a date (YYYY-MM-DD)")
            return None

    def choice(self, key: str, enum: type[E]) -> E | None:
        value = self.text(key, required=True)
        try:
            return enum(value) if value else None
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            self.fail(key, f"unknown {key} {value!r} (one of: {allowed})")
            return None

    def items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"{key} must be a list")
            return []
        return value

    def child(self, item: Any, key: str) -> _Fields:
        """A list item as a record; scalars and lines are taken from the parent field."""
        if isinstance(item, Mapping):
            return _Fields(item, self.problems)
        return _Fields({LINE: self.line_of(key)}, self.problems)


def _validate(document: Raw, source: str, problems: _Problems, province: str) -> RegistryFile:
    top = _Fields(document, problems)
    top.check_keys(_DOCUMENT_KEYS, "file")
    province = top.text("province") or province
    agencies: list[AgencySpec] = []
    moves: list[GroupSuccessionSpec] = []
    for section in [document, *top.items("sections")]:
        fields = top.child(section, "sections")
        if section is not document:
            fields.check_keys(_SECTION_KEYS, "section")
        defaults = _defaults(fields)
        for raw in fields.items("agencies"):
            merged = {**defaults, **raw} if isinstance(raw, Mapping) else raw
            spec = _agency(fields.child(merged, "agencies"), province)
            if spec is not None:
                agencies.append(spec)
        moves.extend(_group_moves(fields))
    _check_references(agencies, problems)
    partial = _partial_groups(top)
    report = problems.report()
    if report:
        raise RegistryError(report, source)
    return RegistryFile(source, tuple(agencies), tuple(moves), partial)


def _partial_groups(top: _Fields) -> dict[str, str]:
    raw = top.raw.get("partial_groups") or {}
    if not isinstance(raw, Mapping):
        top.fail("partial_groups", "partial_groups maps a group key to what it lacks")
        return {}
    out = {}
    for key, note in raw.items():
        if key in (LINE, LINES):
            continue
        if not _GROUP_KEY.match(str(key)) or not str(note or "").strip():
            top.fail("partial_groups", f"partial group {key!r} needs a snake_case key and a note")
            continue
        out[str(key)] = " ".join(str(note).split())
    return out


@lru_cache(maxsize=8)
def partial_groups(province: str = "quang-ngai") -> Mapping[str, str]:
    """The shipped registry's incomplete groups and what each lacks ({} without a file)."""
    path = shipped_registry(province)
    return load_registry(path).partial_groups if path.is_file() else {}


def _defaults(section: _Fields) -> Raw:
    """A section's agency defaults, checked once rather than under every agency."""
    raw = section.raw.get("defaults") or {}
    if not isinstance(raw, Mapping):
        section.fail("defaults", "defaults must be a mapping of agency fields")
        return {}
    defaults = _Fields(raw, section.problems)
    defaults.check_keys(_AGENCY_KEYS - {"code", "name"}, "defaults")
    return {k: v for k, v in raw.items() if k in _AGENCY_KEYS}


def _agency(f: _Fields, default_province: str) -> AgencySpec | None:
    """The agency of a record; a placeholder where a field is bad (its problem is already
    recorded, so the file is rejected) so that every other field is still checked."""
    if not isinstance(f.raw.get("code"), str):
        f.problems.add(f.line, "an agency needs a code, a name and a kind")
        return None
    f.check_keys(_AGENCY_KEYS, "agency")
    code, name = f.text("code", required=True), f.text("name", required=True)
    kind = f.choice("kind", AgencyKind) or AgencyKind.other
    province = f.text("province") or default_province
    if not _SLUG.match(code):
        f.fail("code", f"code {code!r} is not a slug (lowercase letters, digits, dashes)")
    if not province:
        f.problems.add(f.line, "missing province (give it per agency or for the whole file)")
    elif not _SLUG.match(province):
        f.fail("province", f"province {province!r} is not a slug such as 'quang-ngai'")
    start, end = f.date("active_from"), f.date("active_to")
    _check_order(f, "active_from", start, end)
    return AgencySpec(
        code=code,
        name=name,
        kind=kind,
        province=province,
        active_from=start,
        active_to=end,
        notes=_notes(f),
        aliases=_aliases(f, name),
        groups=_groups(f),
        contacts=_contacts(f),
        successors=_successors(f, start, end),
        line=f.line,
    )


def _check_order(f: _Fields, key: str, start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        f.fail(key, f"dates out of order: {start.isoformat()} is after {end.isoformat()}")


def _notes(f: _Fields) -> str:
    notes, unverified = f.text("notes"), f.text("unverified")
    return "\n".join(filter(None, [notes, unverified and f"Unverified: {unverified}"]))


def _aliases(f: _Fields, name: str) -> tuple[str, ...]:
    """The name and the aliases, one per lookup key (the first spelling wins)."""
    seen: dict[str, str] = {}
    for item in [name, *f.items("aliases")]:
        if not isinstance(item, str) or not item.strip():
            f.fail("aliases", f"an alias must be text, not {item!r}")
            continue
        seen.setdefault(lookup_key(item), " ".join(item.split()))
    return tuple(seen.values())


def _groups(f: _Fields) -> tuple[GroupSpec, ...]:
    groups: dict[str, GroupSpec] = {}
    for item in f.items("groups"):
        g = f.child(item, "groups")
        key = item if isinstance(item, str) else g.text("group", required=True)
        start, end = (None, None) if isinstance(item, str) else (g.date("from"), g.date("to"))
        _check_order(g, "from", start, end)
        if not _GROUP_KEY.match(key):
            g.problems.add(g.line, f"group key {key!r} must be snake_case, e.g. departments")
        elif key in groups:
            g.problems.add(g.line, f"group {key!r} listed twice")
        else:
            groups[key] = GroupSpec(key, start, end)
    return tuple(groups.values())


def _contacts(f: _Fields) -> tuple[ContactSpec, ...]:
    contacts: list[ContactSpec] = []
    for item in f.items("contacts"):
        c = f.child(item, "contacts")
        channel = c.choice("channel", ContactChannel)
        address = c.text("address", required=True)
        if channel is None or not address:
            continue
        normal = normalise_address(channel, address)
        if normal is None:
            c.fail("address", f"bad {channel.value} address {address!r}")
        elif any((x.channel, x.address) == (channel, normal) for x in contacts):
            c.fail("address", f"contact {normal} listed twice")
        else:
            contacts.append(ContactSpec(channel, normal, c.text("label")))
    return tuple(contacts)


def normalise_address(channel: ContactChannel, address: str) -> str | None:
    """The stored form of a contact address, or None when it is not one."""
    address = address.strip()
    if channel is ContactChannel.email:
        return address.lower() if _EMAIL.match(address) else None
    if channel is ContactChannel.zalo and _ZALO_USER_ID.match(address):
        return address
    return normalise_phone(address)


def _successors(
    f: _Fields, start: dt.date | None, end: dt.date | None
) -> tuple[SuccessorSpec, ...]:
    successors: list[SuccessorSpec] = []
    for item in f.items("successors"):
        s = f.child(item, "successors")
        code, effective = s.text("code", required=True), s.date("effective", required=True)
        if not (code and effective):
            continue
        if (start and effective <= start) or (end and effective <= end):
            s.fail(
                "effective",
                f"succession on {effective.isoformat()} is not after the agency's active dates",
            )
        successors.append(SuccessorSpec(code, effective, s.text("note"), s.line))
    return tuple(successors)


def _group_moves(section: _Fields) -> list[GroupSuccessionSpec]:
    moves: list[GroupSuccessionSpec] = []
    for item in section.items("group_successions"):
        g = section.child(item, "group_successions")
        old, new = g.text("old_group", required=True), g.text("new_group", required=True)
        effective = g.date("effective", required=True)
        for key in filter(None, (old, new)):
            if not _GROUP_KEY.match(key):
                g.problems.add(g.line, f"group key {key!r} must be snake_case, e.g. departments")
        if old and old == new:
            g.problems.add(g.line, f"group {old!r} cannot succeed itself")
        if old and new and effective:
            moves.append(GroupSuccessionSpec(old, new, effective, _notes(g), g.line))
    return moves


def _check_references(agencies: Sequence[AgencySpec], problems: _Problems) -> None:
    """Codes unique in the file; successors exist, are alive on the day, form no cycle."""
    by_code: dict[str, AgencySpec] = {}
    for spec in agencies:
        first = by_code.setdefault(spec.code, spec)
        if first is not spec:
            problems.add(spec.line, f"duplicate code {spec.code!r} (first on line {first.line})")
    for spec in agencies:
        for s in spec.successors:
            target = by_code.get(s.code)
            if target is None:
                problems.add(s.line, f"successor code {s.code!r} does not exist in this file")
            elif target is spec:
                problems.add(s.line, f"{spec.code!r} cannot succeed itself")
            elif not _alive(target, s.effective):
                problems.add(
                    s.line, f"successor {s.code!r} is not active on {s.effective.isoformat()}"
                )
    for cycle in _cycles(by_code):
        problems.add(by_code[cycle[0]].line, "succession cycle: " + " → ".join(cycle))


def _alive(spec: AgencySpec, day: dt.date) -> bool:
    return (spec.active_from is None or spec.active_from <= day) and (
        spec.active_to is None or day <= spec.active_to
    )


def _cycles(by_code: Mapping[str, AgencySpec]) -> Iterator[list[str]]:
    """Each succession cycle once (depth-first, colouring nodes done once explored)."""
    done: set[str] = set()

    def visit(code: str, path: list[str]) -> Iterator[list[str]]:
        if code in path:
            yield [*path[path.index(code) :], code]
            return
        if code in done or code not in by_code:
            return
        for s in by_code[code].successors:
            yield from visit(s.code, [*path, code])
        done.add(code)

    for code in by_code:
        yield from visit(code, [])


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
            notes=[f"no agency named “{name}” in the registry"],
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
        path = " → ".join(f"{a.name} from {_d(day)}" for a, day in chain.steps)
        ended = _d(chain.start.active_to)
        result.notes.append(f"{chain.start.name} ended on {ended}: succeeded by {path}")
    if chain.dead_end:
        result.flag = Flag.dissolved
        result.notes.append(
            f"{last.name} ended on {_d(last.active_to)} with no successor in the registry"
        )
        return
    if last.active_from and on < last.active_from:
        result.notes.append(f"{last.name} only exists from {_d(last.active_from)}")
    result.agencies.append(last)


def _d(day: dt.date | None) -> str:
    """A day as Vietnamese documents write it: 1/7/2025."""
    return f"{day.day}/{day.month}/{day.year}" if day else "?"


def _resolve_group(session: Session, ref: AgencyRef, key: str, scope: _Scope) -> Resolution:
    moved = _group_successor(session, key, scope.on)
    if moved is not None:
        why = f" ({moved.note})" if moved.note else ""
        return Resolution(
            ref.name,
            flag=Flag.group_dissolved,
            suggested_group=moved.new_group,
            notes=[
                f"“{ref.text}” names the group {key}, replaced by {moved.new_group} on "
                f"{_d(moved.effective)}{why}: an administrator must choose the submitters "
                f"(suggested: {moved.new_group})"
            ],
        )
    result = Resolution(ref.name)
    result.agencies = list_agencies(session, on=scope.on, group=key, province=scope.issuer)
    if not result.agencies and scope.issuer != scope.province:
        result.agencies = list_agencies(session, on=scope.on, group=key, province=scope.province)
        result.notes.append(
            f"{scope.issuer} has no {key} on {_d(scope.on)}: took those of {scope.province}"
        )
    if not result.agencies:
        result.flag = Flag.empty_group
        result.notes.append(
            f"the registry lists no members of {key} in {scope.issuer} on {_d(scope.on)}"
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
        f"{agency.name} is what {' and '.join(phrases)} name on {_d(on)}: listed once"
        for agency, phrases in named.values()
        if len(phrases) > 1
    ]
