"""Reading a registry file (YAML, or CSV for spreadsheets) and validating it as a whole.

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
        defaults: {kind: department, groups: [departments, specialised]}  # under each agency
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
- groups: ``departments`` or ``key@FROM..TO`` (either date may be empty); ``specialised``
  (các cơ quan chuyên môn thuộc UBND tỉnh) only for kinds department and committee_office
- contacts: ``channel:address`` with an optional ``|label``: ``email:a@example.invalid|Văn thư``
- successors: ``code@EFFECTIVE`` with an optional ``|note``

A row whose kind is ``group`` declares a group succession instead: ``code`` is the old
group key and ``successors`` holds ``new_group@EFFECTIVE|note``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from models.agency import (
    AgencyKind,
    ContactChannel,
    lookup_key,
)
from models.registry.specs import (
    AgencySpec,
    ContactSpec,
    E,
    GroupSpec,
    GroupSuccessionSpec,
    RegistryError,
    RegistryFile,
    SuccessorSpec,
    shipped_registry,
)
from models.vocabulary import normalise_phone

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
        raise RegistryError([f"dòng 0: không đọc được tệp: {_unreadable(exc)}"], str(path)) from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        document, problems = _csv_document(text)
    elif suffix in (".yaml", ".yml"):
        document, problems = _yaml_document(text, str(path)), _Problems()
    else:
        raise RegistryError(
            [f"dòng 0: không nhận định dạng {suffix!r}: dùng tệp .yaml, .yml hoặc .csv"], str(path)
        )
    return _validate(document, str(path), problems, province)


def _yaml_document(text: str, source: str) -> Raw:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise RegistryError(
            [f"dòng {line}: không phải YAML hợp lệ ({exc.problem}): xem lại thụt lề và dấu “:”"],
            source,
        ) from exc
    if not isinstance(document, Mapping):
        raise RegistryError(
            ["dòng 1: tệp danh mục phải là một bảng khóa–giá trị có khóa `sections`"], source
        )
    return document


# Where an unknown field was found, as the administrator reads it.
_WHAT = {"file": "tệp", "section": "mục (sections)", "defaults": "defaults", "agency": "cơ quan"}


def _unreadable(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"không phải văn bản UTF-8 (byte thứ {exc.start + 1}): lưu lại tệp dạng UTF-8"
    return exc.strerror or str(exc)


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
            problems.add(1, f"cột lạ {column!r} (các cột dùng được: {', '.join(_CSV_COLUMNS)})")
    agencies: list[Raw] = []
    moves: list[Raw] = []
    start = 2
    for row in reader:
        if None in row:
            problems.add(start, "nhiều ô hơn số cột: ô có dấu phẩy phải đặt trong ngoặc kép")
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
        return [f"dòng {line}: {message}" for line, message in sorted(self._items)]


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
                self.fail(
                    key, f"{_WHAT.get(what, what)} không có trường {key!r}: xem lại tên trường"
                )

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.add(self.line, f"thiếu {key}")
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.fail(key, f"{key} phải là văn bản, không phải {type(value).__name__}")
            return ""
        return " ".join(str(value).split())

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        value = self.raw.get(key)
        if value is None or value == "":
            if required:
                self.problems.add(self.line, f"thiếu {key}")
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(key, f"{key}: {value!r} không phải ngày hợp lệ (viết YYYY-MM-DD)")
            return None

    def choice(self, key: str, enum: type[E]) -> E | None:
        value = self.text(key, required=True)
        try:
            return enum(value) if value else None
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            self.fail(key, f"{key} {value!r} không hợp lệ (chọn một trong: {allowed})")
            return None

    def items(self, key: str) -> list[Any]:
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"{key} phải là một danh sách")
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
        top.fail("partial_groups", "partial_groups phải ghi mỗi khóa nhóm kèm phần nhóm còn thiếu")
        return {}
    out = {}
    for key, note in raw.items():
        if key in (LINE, LINES):
            continue
        if not _GROUP_KEY.match(str(key)) or not str(note or "").strip():
            top.fail(
                "partial_groups", f"nhóm chưa đủ {key!r} cần khóa dạng snake_case và một ghi chú"
            )
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
        section.fail("defaults", "defaults phải là bảng khóa–giá trị gồm các trường của cơ quan")
        return {}
    defaults = _Fields(raw, section.problems)
    defaults.check_keys(_AGENCY_KEYS - {"code", "name"}, "defaults")
    return {k: v for k, v in raw.items() if k in _AGENCY_KEYS}


def _agency(f: _Fields, default_province: str) -> AgencySpec | None:
    """The agency of a record; a placeholder where a field is bad (its problem is already
    recorded, so the file is rejected) so that every other field is still checked."""
    if not isinstance(f.raw.get("code"), str):
        f.problems.add(f.line, "mỗi cơ quan cần có code, name và kind")
        return None
    f.check_keys(_AGENCY_KEYS, "agency")
    code, name = f.text("code", required=True), f.text("name", required=True)
    kind = f.choice("kind", AgencyKind) or AgencyKind.other
    province = f.text("province") or default_province
    if not _SLUG.match(code):
        f.fail("code", f"code {code!r} không hợp lệ: chỉ dùng chữ thường không dấu, số và “-”")
    if not province:
        f.problems.add(f.line, "thiếu province (ghi cho từng cơ quan hoặc cho cả tệp)")
    elif not _SLUG.match(province):
        f.fail("province", f"province {province!r} không hợp lệ: viết như 'quang-ngai'")
    start, end = f.date("active_from"), f.date("active_to")
    _check_order(f, "active_from", start, end)
    groups = _groups(f)
    _check_specialised(f, kind, groups)
    return AgencySpec(
        code=code,
        name=name,
        kind=kind,
        province=province,
        active_from=start,
        active_to=end,
        notes=_notes(f),
        aliases=_aliases(f, name),
        groups=groups,
        contacts=_contacts(f),
        successors=_successors(f, start, end),
        line=f.line,
    )


def _check_order(f: _Fields, key: str, start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        f.fail(key, f"ngày sai thứ tự: {start.isoformat()} sau {end.isoformat()}")


def _notes(f: _Fields) -> str:
    notes, unverified = f.text("notes"), f.text("unverified")
    return "\n".join(filter(None, [notes, unverified and f"Unverified: {unverified}"]))


def _aliases(f: _Fields, name: str) -> tuple[str, ...]:
    """The name and the aliases, one per lookup key (the first spelling wins)."""
    seen: dict[str, str] = {}
    for item in [name, *f.items("aliases")]:
        if not isinstance(item, str) or not item.strip():
            f.fail("aliases", f"tên gọi khác (aliases) phải là văn bản, không phải {item!r}")
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
            g.problems.add(
                g.line, f"khóa nhóm {key!r} phải viết dạng snake_case, ví dụ departments"
            )
        elif key in groups:
            g.problems.add(g.line, f"nhóm {key!r} ghi hai lần")
        else:
            groups[key] = GroupSpec(key, start, end)
    return tuple(groups.values())


# "Các cơ quan chuyên môn thuộc UBND tỉnh" (group ``specialised``) are, by Nghị định
# 45/2025/NĐ-CP, the sở and cơ quan ngang sở (kind department) and Văn phòng UBND tỉnh
# (committee_office). A board or Công an tỉnh put there would get that group's cycles and
# reminders, so a file that does so is refused rather than trusted.
SPECIALISED_KINDS = frozenset({AgencyKind.department, AgencyKind.committee_office})


def _check_specialised(f: _Fields, kind: AgencyKind, groups: Sequence[GroupSpec]) -> None:
    if kind not in SPECIALISED_KINDS and any(g.key == "specialised" for g in groups):
        f.fail(
            "groups",
            f"nhóm 'specialised' (các cơ quan chuyên môn thuộc UBND tỉnh) chỉ gồm sở, cơ quan "
            f"ngang sở và Văn phòng UBND tỉnh (kind department hoặc committee_office), không "
            f"gồm cơ quan kind {kind.value}: bỏ nhóm này, giữ nhóm departments",
        )


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
            c.fail("address", f"địa chỉ {channel.value} không hợp lệ: {address!r}")
        elif any((x.channel, x.address) == (channel, normal) for x in contacts):
            c.fail("address", f"liên hệ {normal} ghi hai lần")
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
                f"ngày kế thừa {effective.isoformat()} phải sau thời gian hoạt động của cơ quan",
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
                g.problems.add(
                    g.line, f"khóa nhóm {key!r} phải viết dạng snake_case, ví dụ departments"
                )
        if old and old == new:
            g.problems.add(g.line, f"nhóm {old!r} không thể kế thừa chính nó")
        if old and new and effective:
            moves.append(GroupSuccessionSpec(old, new, effective, _notes(g), g.line))
    return moves


def _check_references(agencies: Sequence[AgencySpec], problems: _Problems) -> None:
    """Codes unique in the file; successors exist, are alive on the day, form no cycle."""
    by_code: dict[str, AgencySpec] = {}
    for spec in agencies:
        first = by_code.setdefault(spec.code, spec)
        if first is not spec:
            problems.add(spec.line, f"trùng code {spec.code!r} (đã có ở dòng {first.line})")
    for spec in agencies:
        for s in spec.successors:
            target = by_code.get(s.code)
            if target is None:
                problems.add(s.line, f"cơ quan kế thừa {s.code!r} không có trong tệp này")
            elif target is spec:
                problems.add(s.line, f"{spec.code!r} không thể kế thừa chính nó")
            elif not _alive(target, s.effective):
                problems.add(
                    s.line,
                    f"cơ quan kế thừa {s.code!r} không hoạt động vào ngày "
                    f"{s.effective.isoformat()}",
                )
    for cycle in _cycles(by_code):
        problems.add(by_code[cycle[0]].line, "kế thừa vòng tròn: " + " → ".join(cycle))


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
