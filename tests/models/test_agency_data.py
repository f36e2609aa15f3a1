"""The shipped registry's integrity: sourced sections, successions that lead somewhere
without cycles or gaps, complete groups, unambiguous names, example-only contacts."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
import yaml
from sqlmodel import Session

from directives.agencies import starts_agency
from directives.text import fold
from models.agency import AgencyKind, ContactChannel, lookup_key
from models.registry import (
    AgencySpec,
    Flag,
    RegistryFile,
    import_registry,
    load_registry,
    resolve,
    shipped_registry,
)

TODAY = dt.date(2026, 1, 1)
# Days on which each province's "các sở, ban, ngành" must be complete: before the March
# mergers, between the March mergers and the provinces' merger, and after both.
CHECK_DAYS = (dt.date(2022, 6, 1), dt.date(2025, 4, 1), TODAY)
DEPARTMENT_KINDS = {AgencyKind.department, AgencyKind.board, AgencyKind.committee_office}


@pytest.fixture(scope="module")
def shipped() -> RegistryFile:
    return load_registry(shipped_registry())  # raises RegistryError on any problem


@pytest.fixture(scope="module")
def by_code(shipped: RegistryFile) -> dict[str, AgencySpec]:
    return {a.code: a for a in shipped.agencies}


def alive(spec: AgencySpec, day: dt.date) -> bool:
    return (spec.active_from is None or spec.active_from <= day) and (
        spec.active_to is None or day <= spec.active_to
    )


def test_every_section_names_its_sources() -> None:
    document = yaml.safe_load(shipped_registry().read_text(encoding="utf-8"))

    for section in document["sections"]:
        assert section.get("sources"), section["title"]
        assert all(isinstance(s, str) and s.strip() for s in section["sources"])


def test_every_successor_exists_and_takes_over_the_next_day(
    by_code: dict[str, AgencySpec],
) -> None:
    for spec in by_code.values():
        for s in spec.successors:
            assert s.code in by_code, f"{spec.code} → {s.code}"
            assert spec.active_to is not None, f"{spec.code} has a successor but never ended"
            assert s.effective == spec.active_to + dt.timedelta(days=1), spec.code
            assert alive(by_code[s.code], s.effective), f"{s.code} not active on {s.effective}"


def test_successions_have_no_cycles(by_code: dict[str, AgencySpec]) -> None:
    def walk(code: str, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        assert code not in path, " → ".join((*path, code))
        for s in by_code[code].successors:
            yield from walk(s.code, (*path, code))
        yield path

    for code in by_code:
        list(walk(code, ()))


def test_every_ended_agency_leads_to_a_living_one_or_a_successor_group(
    shipped: RegistryFile, by_code: dict[str, AgencySpec]
) -> None:
    moved_groups = {m.old_group for m in shipped.group_successions if m.effective <= TODAY}

    def heirs(spec: AgencySpec) -> set[str]:
        if alive(spec, TODAY):
            return {spec.code}
        return set().union(*(heirs(by_code[s.code]) for s in spec.successors))

    for spec in by_code.values():
        if alive(spec, TODAY):
            continue
        assert heirs(spec) or {g.key for g in spec.groups} & moved_groups, spec.code


def test_every_department_is_in_the_departments_group_on_every_check_day(
    by_code: dict[str, AgencySpec],
) -> None:
    for day in CHECK_DAYS:
        for spec in by_code.values():
            if spec.kind in DEPARTMENT_KINDS and alive(spec, day):
                assert "departments" in {g.key for g in spec.groups}, (spec.code, day)


def test_each_province_has_a_full_set_of_departments_while_it_exists(
    by_code: dict[str, AgencySpec],
) -> None:
    # The 12 agencies every province has under Nghị định 45/2025/NĐ-CP (from 1/3/2025).
    for province, day in (("quang-ngai", dt.date(2025, 4, 1)), ("kon-tum", dt.date(2025, 4, 1)),
                          ("quang-ngai", TODAY)):  # fmt: skip
        names = {
            lookup_key(a)
            for s in by_code.values()
            if s.province == province and s.kind in DEPARTMENT_KINDS and alive(s, day)
            for a in s.aliases
        }
        for required in ("Sở Nội vụ", "Sở Tư pháp", "Sở Tài chính", "Sở Công Thương",
                         "Sở Nông nghiệp và Môi trường", "Sở Xây dựng",
                         "Sở Khoa học và Công nghệ", "Sở Văn hóa, Thể thao và Du lịch",
                         "Sở Giáo dục và Đào tạo", "Sở Y tế", "Thanh tra tỉnh",
                         "Văn phòng UBND tỉnh"):  # fmt: skip
            assert lookup_key(required) in names, (province, day, required)


def test_no_name_means_two_agencies_of_one_province_on_the_same_day(
    by_code: dict[str, AgencySpec],
) -> None:
    holders: defaultdict[tuple[str, str], list[AgencySpec]] = defaultdict(list)
    for spec in by_code.values():
        for alias in spec.aliases:
            holders[(spec.province, lookup_key(alias))].append(spec)
    for (province, key), specs in holders.items():
        for day in CHECK_DAYS:
            living = [s.code for s in specs if alive(s, day)]
            assert len(living) <= 1, (province, key, day, living)


def test_every_alias_reads_as_an_agency_phrase(shipped: RegistryFile) -> None:
    """The parser must see each alias as an agency (or it is an abbreviation such as VPUB):
    a comma in an unquoted YAML list once split "Sở Văn hóa, Thể thao và Du lịch" in two."""
    for spec in shipped.agencies:
        for alias in spec.aliases:
            first = alias.split()[0]
            assert starts_agency(fold(alias), 0) or first.isupper(), (spec.code, alias)


def test_contacts_are_examples_only(shipped: RegistryFile) -> None:
    contacts = [c for a in shipped.agencies for c in a.contacts]

    assert contacts, "the shipped file should show what contacts look like"
    for c in contacts:
        if c.channel is ContactChannel.email:
            domain = c.address.rsplit("@", 1)[1]
            assert domain.endswith(".invalid") or domain.split(".")[0] == "example", c
        else:
            assert re.fullmatch(r"849000000\d\d", c.address), c


def test_the_communes_are_the_96_units_of_1_7_2025(by_code: dict[str, AgencySpec]) -> None:
    communes = [s for s in by_code.values() if s.kind is AgencyKind.commune_committee]
    levels = Counter(s.name.removeprefix("Ủy ban nhân dân ").split()[0] for s in communes)
    unit_codes = [re.search(r"mã ĐVHC (\d{5})", s.notes) for s in communes]

    assert len(communes) == 96
    assert levels == {"xã": 86, "phường": 9, "đặc": 1}  # 86 xã, 9 phường, 1 đặc khu
    assert all(m for m in unit_codes)
    assert len({m.group(1) for m in unit_codes if m}) == 96
    assert all(s.code.endswith(m.group(1)) for s, m in zip(communes, unit_codes, strict=True) if m)
    assert all(s.active_from == dt.date(2025, 7, 1) and s.active_to is None for s in communes)
    assert all([g.key for g in s.groups] == ["commune_committees"] for s in communes)


def test_the_district_committees_ended_on_30_6_2025(by_code: dict[str, AgencySpec]) -> None:
    districts = [s for s in by_code.values() if s.kind is AgencyKind.district_committee]

    assert Counter(s.province for s in districts) == {"quang-ngai": 13, "kon-tum": 10}
    assert all(s.active_to == dt.date(2025, 6, 30) for s in districts)
    assert all("district_committees" in {g.key for g in s.groups} for s in districts)


def test_every_name_resolves_today_or_is_flagged(session: Session, shipped: RegistryFile) -> None:
    """End to end on both databases: each agency's own name, read as its province wrote it,
    reaches agencies that exist today, or says why not (a district committee)."""
    import_registry(session, shipped)

    for spec in shipped.agencies:
        result = resolve(
            session, spec.name, on=TODAY, province="quang-ngai", issuer_province=spec.province
        )
        if spec.code == "qng-ubnd-huyen-ly-son":  # the one district with a successor
            assert [a.code for a in result.agencies] == ["qng-ubnd-dac-khu-ly-son-21548"]
        elif spec.kind is AgencyKind.district_committee:
            assert (result.flag, result.suggested_group) == (Flag.dissolved, "commune_committees")
        else:
            assert result.flag is None, (spec.code, result.notes)
            assert result.agencies and all(a.active_on(TODAY) for a in result.agencies)


def test_huyen_ly_son_is_succeeded_by_dac_khu_ly_son(by_code: dict[str, AgencySpec]) -> None:
    (succession,) = by_code["qng-ubnd-huyen-ly-son"].successors
    assert (succession.code, succession.effective) == (
        "qng-ubnd-dac-khu-ly-son-21548",
        dt.date(2025, 7, 1),
    )
    assert "1677/NQ-UBTVQH15" in succession.note


def test_the_dung_quat_board_is_not_a_specialised_agency(by_code: dict[str, AgencySpec]) -> None:
    board = by_code["qng-bql-kkt-dung-quat"]
    assert board.kind is AgencyKind.board  # not department: not a cơ quan chuyên môn
    assert "35/2022/NĐ-CP" in board.notes and "Điều 68" in board.notes


def test_so_ngoai_vu_cites_its_establishing_decision(by_code: dict[str, AgencySpec]) -> None:
    assert "97/2005/QĐ-UBND" in (by_code["qng-so-ngoai-vu"].notes or "")


def test_the_departments_group_is_flagged_partial(shipped: RegistryFile) -> None:
    note = shipped.partial_groups["departments"]
    assert "ngành dọc" in note and "đơn vị sự nghiệp" in note
