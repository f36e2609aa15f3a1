"""The agency registry on SQLite and PostgreSQL: import, re-import, rejection of bad files
with every problem at its line, CSV ≡ YAML, listing, and resolution of directive phrases."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from models.agency import (
    Agency,
    AgencyAlias,
    AgencyContact,
    AgencyGroup,
    AgencyKind,
    AgencySuccession,
    GroupSuccession,
)
from models.registry import (
    AgencySpec,
    Flag,
    ImportSummary,
    RegistryError,
    RegistryFile,
    SuccessorSpec,
    import_registry,
    list_agencies,
    load_registry,
    resolve,
    shipped_registry,
)

TABLES: list[type[SQLModel]] = [
    Agency,
    AgencyAlias,
    AgencyGroup,
    AgencyContact,
    AgencySuccession,
    GroupSuccession,
]
TODAY = dt.date(2026, 1, 1)  # a fixed "today" after both 2025 reforms


@pytest.fixture(scope="module")
def shipped() -> RegistryFile:
    return load_registry(shipped_registry())


@pytest.fixture
def loaded(session: Session, shipped: RegistryFile) -> Session:
    import_registry(session, shipped)
    return session


def counts(session: Session) -> dict[str, int]:
    return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def snapshot(session: Session) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every registry table, ids included (so "unchanged" means unchanged)."""
    session.expire_all()
    return {
        t.__name__: {tuple(sorted(row.model_dump().items())) for row in session.exec(select(t))}
        for t in TABLES
    }


def by_code(session: Session, code: str) -> Agency:
    return session.exec(select(Agency).where(Agency.code == code)).one()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# --- import ----------------------------------------------------------------------------------


def test_the_shipped_registry_imports_whole(session: Session, shipped: RegistryFile) -> None:
    summary = import_registry(session, shipped)

    assert summary.created == len(shipped.agencies) == counts(session)["Agency"]
    assert counts(session) == {
        "Agency": len(shipped.agencies),
        "AgencyAlias": sum(len(a.aliases) for a in shipped.agencies),
        "AgencyGroup": sum(len(a.groups) for a in shipped.agencies),
        "AgencyContact": sum(len(a.contacts) for a in shipped.agencies),
        "AgencySuccession": sum(len(a.successors) for a in shipped.agencies),
        "GroupSuccession": 1,
    }
    kinds = {k: len(list_agencies(session, kind=k)) for k in AgencyKind}
    assert kinds[AgencyKind.commune_committee] == 96  # Nghị quyết 1677/NQ-UBTVQH15
    assert kinds[AgencyKind.district_committee] == 13 + 10  # Quảng Ngãi + Kon Tum
    assert kinds[AgencyKind.provincial_committee] == 2


def test_reimporting_the_same_file_changes_nothing(loaded: Session, shipped: RegistryFile) -> None:
    before = snapshot(loaded)

    summary = import_registry(loaded, load_registry(shipped_registry()))

    assert summary == ImportSummary(created=0, updated=0, rows_changed=0)
    assert snapshot(loaded) == before


SMALL = """
    province: quang-ngai
    sections:
      - title: test
        sources: [a test]
        agencies:
          - code: qng-so-a
            name: Sở A tỉnh Quảng Ngãi
            kind: department
            aliases: [Sở A, Sở AA]
            groups: [departments]
            contacts:
              - {channel: email, address: A@Example.invalid, label: Văn thư}
              - {channel: zns, address: "0900 000 005"}
          - code: qng-so-b
            name: Sở B tỉnh Quảng Ngãi
            kind: department
            active_to: 2025-02-28
            groups: [{group: departments, to: 2025-02-28}]
            successors: [{code: qng-so-a, effective: 2025-03-01, note: merged}]
        group_successions:
          - {old_group: district_committees, new_group: commune_committees, effective: 2025-07-01}
"""


def test_reimport_updates_in_place_by_code(session: Session, tmp_path: Path) -> None:
    import_registry(session, load_registry(write(tmp_path, "a.yaml", SMALL)))
    first = by_code(session, "qng-so-a")
    first_id, stamp = first.id, first.updated_at
    changed = SMALL.replace("Sở A tỉnh Quảng Ngãi", "Sở A mới").replace(", Sở AA]", "]")

    summary = import_registry(session, load_registry(write(tmp_path, "b.yaml", changed)))

    renamed = by_code(session, "qng-so-a")
    assert (summary.created, summary.updated) == (0, 1)
    assert (renamed.id, renamed.name) == (first_id, "Sở A mới")
    assert renamed.updated_at > stamp
    aliases = session.exec(select(AgencyAlias.alias).where(AgencyAlias.agency_id == first_id))
    assert sorted(aliases) == ["Sở A", "Sở A mới"]  # "Sở AA" removed, the old name too


def test_contacts_are_stored_normalised(session: Session, tmp_path: Path) -> None:
    import_registry(session, load_registry(write(tmp_path, "a.yaml", SMALL)))

    rows = session.exec(select(AgencyContact.channel, AgencyContact.address)).all()

    assert sorted(rows) == [("email", "a@example.invalid"), ("zns", "84900000005")]


BAD = """
    province: quang-ngai
    sections:
      - title: bad
        agencies:
          - code: qng-a
            name: Sở Một
            kind: sở
          - code: qng-a
            name: Sở Hai
            kind: department
            successors: [{code: no-such-code, effective: 2025-03-01}]
          - code: qng-c
            name: Sở Ba
            kind: department
            active_from: 2025-07-01
            active_to: 2025-06-30
            groups: [Departments]
            contacts:
              - {channel: email, address: not-an-email}
              - {channel: zns, address: "0123"}
              - {channel: fax, address: "0900000001"}
            alias: [typo]
          - code: qng-d
            name: Sở Bốn
            kind: department
            active_from: 2025-13-01
            successors: [{code: qng-e, effective: 2025-03-01}]
          - code: qng-e
            name: Sở Năm
            kind: department
            successors: [{code: qng-d, effective: 2025-04-01}]
        group_successions:
          - {old_group: District-Committees, new_group: commune_committees, effective: 2025-07-01}
"""
BAD_PROBLEMS = [
    "dòng 7: kind 'sở' không hợp lệ (chọn một trong: department, board, provincial_committee, "
    "committee_office, district_committee, commune_committee, ministry, central, other)",
    "dòng 8: trùng code 'qng-a' (đã có ở dòng 5)",
    "dòng 11: cơ quan kế thừa 'no-such-code' không có trong tệp này",
    "dòng 15: ngày sai thứ tự: 2025-07-01 sau 2025-06-30",
    "dòng 17: khóa nhóm 'Departments' phải viết dạng snake_case, ví dụ departments",
    "dòng 19: địa chỉ email không hợp lệ: 'not-an-email'",
    "dòng 20: địa chỉ zns không hợp lệ: '0123'",
    "dòng 21: channel 'fax' không hợp lệ (chọn một trong: email, zalo, zns)",
    "dòng 22: cơ quan không có trường 'alias': xem lại tên trường",
    "dòng 23: kế thừa vòng tròn: qng-d → qng-e → qng-d",
    "dòng 26: active_from: '2025-13-01' không phải ngày hợp lệ (viết YYYY-MM-DD)",
    "dòng 33: khóa nhóm 'District-Committees' phải viết dạng snake_case, ví dụ departments",
]


def test_a_bad_file_reports_every_problem_at_its_line_and_writes_nothing(
    loaded: Session, tmp_path: Path
) -> None:
    before = counts(loaded)

    with pytest.raises(RegistryError) as caught:
        import_registry(loaded, load_registry(write(tmp_path, "bad.yaml", BAD)))

    assert caught.value.problems == BAD_PROBLEMS
    assert counts(loaded) == before


def test_an_import_that_fails_midway_leaves_nothing_behind(loaded: Session) -> None:
    """The transaction, not only the validation, keeps a registry whole: a file that slips
    past validation (built by hand here) and fails after the agencies were flushed."""
    before = counts(loaded)
    broken = RegistryFile(
        "hand-made",
        (
            AgencySpec("qng-new", "Sở Mới", AgencyKind.department, "quang-ngai"),
            AgencySpec("qng-x", "Sở X", AgencyKind.department, "quang-ngai",
                       successors=(SuccessorSpec("missing", dt.date(2025, 3, 1)),)),
        ),
    )  # fmt: skip

    with pytest.raises(KeyError):
        import_registry(loaded, broken)

    assert counts(loaded) == before
    assert not loaded.exec(select(Agency).where(Agency.code == "qng-new")).all()


def test_yaml_syntax_errors_name_their_line(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        load_registry(write(tmp_path, "broken.yaml", "sections:\n  - title: [unclosed\n"))

    assert caught.value.problems[0].startswith("dòng 3: không phải YAML hợp lệ")


# --- CSV -----------------------------------------------------------------------------------------

SMALL_CSV = """
    code,name,kind,province,active_from,active_to,aliases,groups,contacts,successors,notes
    qng-so-a,Sở A tỉnh Quảng Ngãi,department,,,,Sở A; Sở AA,departments,email:A@Example.invalid|Văn thư; zns:0900 000 005,,
    qng-so-b,Sở B tỉnh Quảng Ngãi,department,,,2025-02-28,,departments@..2025-02-28,,qng-so-a@2025-03-01|merged,
    district_committees,,group,,,,,,,commune_committees@2025-07-01,
"""


def test_a_csv_file_imports_exactly_like_its_yaml_twin(session: Session, tmp_path: Path) -> None:
    from_yaml = load_registry(write(tmp_path, "a.yaml", SMALL))
    from_csv = load_registry(write(tmp_path, "a.csv", SMALL_CSV), province="quang-ngai")
    import_registry(session, from_yaml)
    before = snapshot(session)

    summary = import_registry(session, from_csv)

    assert summary == ImportSummary(created=0, updated=0, rows_changed=0)
    assert snapshot(session) == before
    assert len(from_csv.agencies) == 2 and len(from_csv.group_successions) == 1


BAD_CSV = """
    code,name,kind,colour,contacts,successors
    qng-a,Sở A,department,red,email:nope,
    qng-b,Sở B,dept,,zalo:12345,qng-z@2025-03-01
"""


def test_a_bad_csv_file_reports_its_problems_by_line(tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        load_registry(write(tmp_path, "bad.csv", BAD_CSV), province="quang-ngai")

    assert [p.split(":")[0] for p in caught.value.problems] == [
        "dòng 1",  # unknown column 'colour'
        "dòng 2",  # bad email
        "dòng 3",  # unknown kind
        "dòng 3",  # bad zalo address
        "dòng 3",  # successor qng-z missing
    ]
    assert "cột lạ 'colour'" in caught.value.problems[0]


# --- listing -------------------------------------------------------------------------------------


def test_list_agencies_filters_by_day_kind_and_group(loaded: Session) -> None:
    before = list_agencies(loaded, on=dt.date(2025, 2, 1), group="departments", province="kon-tum")
    after = list_agencies(loaded, on=TODAY, group="departments", province="kon-tum")

    assert "kt-so-ke-hoach-va-dau-tu" in {a.code for a in before}
    assert after == []
    assert {a.code for a in list_agencies(loaded, on=TODAY, kind=AgencyKind.board)} == {
        "qng-bql-kkt-dung-quat"
    }


# --- resolution ----------------------------------------------------------------------------------

CURRENT_DEPARTMENTS = {
    "qng-vp-ubnd-tinh", "qng-so-noi-vu", "qng-so-tu-phap", "qng-so-tai-chinh",
    "qng-so-cong-thuong", "qng-so-nong-nghiep-va-moi-truong", "qng-so-xay-dung",
    "qng-so-khoa-hoc-va-cong-nghe", "qng-so-van-hoa-the-thao-va-du-lich",
    "qng-so-giao-duc-va-dao-tao", "qng-so-y-te", "qng-thanh-tra-tinh",
    "qng-so-dan-toc-va-ton-giao", "qng-so-ngoai-vu", "qng-bql-kkt-dung-quat",
    "qng-cong-an-tinh",
}  # fmt: skip
QNG_DISTRICTS = {
    "qng-ubnd-tp-quang-ngai", "qng-ubnd-tx-duc-pho", "qng-ubnd-huyen-binh-son",
    "qng-ubnd-huyen-son-tinh", "qng-ubnd-huyen-tu-nghia", "qng-ubnd-huyen-nghia-hanh",
    "qng-ubnd-huyen-mo-duc", "qng-ubnd-huyen-minh-long", "qng-ubnd-huyen-ba-to",
    "qng-ubnd-huyen-son-ha", "qng-ubnd-huyen-son-tay", "qng-ubnd-huyen-tra-bong",
    "qng-ubnd-huyen-ly-son",
}  # fmt: skip

# (phrase, issuer province, day, expected codes, flag, words every note together must hold)
CASES: list[tuple[str, str | None, dt.date, set[str], Flag | None, list[str]]] = [
    # The 2022 Kon Tum directive 1503/UBND-KTTH, read today and on its own day.
    ("Sở Kế hoạch và Đầu tư", "kon-tum", TODAY, {"qng-so-tai-chinh"}, None,
     ["Sở Kế hoạch và Đầu tư tỉnh Kon Tum", "Sở Tài chính tỉnh Kon Tum từ 1/3/2025",
      "Sở Tài chính tỉnh Quảng Ngãi từ 1/7/2025"]),
    ("Sở Kế hoạch và Đầu tư", "kon-tum", dt.date(2022, 6, 1), {"kt-so-ke-hoach-va-dau-tu"},
     None, []),
    ("Sở KH&ĐT", None, TODAY, {"qng-so-tai-chinh"}, None, ["1/3/2025"]),
    ("Sở KHĐT", None, dt.date(2024, 12, 24), {"qng-so-ke-hoach-va-dau-tu"}, None, []),
    ("UBND tỉnh", None, TODAY, {"qng-ubnd-tinh"}, None, []),
    ("UBND tỉnh", "kon-tum", dt.date(2022, 5, 18), {"kt-ubnd-tinh"}, None, []),
    ("Chủ tịch UBND tỉnh", "kon-tum", TODAY, {"qng-ubnd-tinh"}, None, ["1/7/2025"]),
    ("Văn phòng UBND tỉnh", None, TODAY, {"qng-vp-ubnd-tinh"}, None, []),
    ("Giám đốc Sở Tài nguyên và Môi trường", None, TODAY,
     {"qng-so-nong-nghiep-va-moi-truong"}, None, ["Sở Nông nghiệp và Môi trường"]),
    # The 2024 Quảng Ngãi directive 6966/UBND-KTN, read today and on its own day.
    ("các sở, ban, ngành, đơn vị trực thuộc tỉnh", None, TODAY, CURRENT_DEPARTMENTS, None, []),
    ("UBND các huyện, thị xã, thành phố", None, TODAY, set(), Flag.group_dissolved,
     ["commune_committees", "1/7/2025"]),
    ("UBND các huyện, thị xã, thành phố", None, dt.date(2024, 12, 24), QNG_DISTRICTS, None, []),
    ("các Sở: Kế hoạch và Đầu tư, Tài chính", None, TODAY, {"qng-so-tai-chinh"}, None,
     ["chỉ ghi một lần", "1/3/2025"]),
    # Kon Tum's cơ quan chuyên môn as a group: after the merger, the merged province's; the
    # board and Công an tỉnh are among "các sở, ban, ngành" only.
    ("Các cơ quan chuyên môn thuộc UBND tỉnh", "kon-tum", TODAY,
     CURRENT_DEPARTMENTS - {"qng-bql-kkt-dung-quat", "qng-cong-an-tinh"}, None, ["quang-ngai"]),
    ("UBND các xã, phường", None, dt.date(2024, 12, 24), set(), Flag.empty_group, []),
    # Công an tỉnh, a ngành under Bộ Công an: today the merged province's, in 2024 Kon Tum's.
    ("Công an tỉnh", None, TODAY, {"qng-cong-an-tinh"}, None, []),
    ("Công an tỉnh", "kon-tum", dt.date(2024, 5, 2), {"kt-cong-an-tinh"}, None, []),
    # A district committee named on its own after the district level ended: not dropped.
    ("UBND huyện Bình Sơn", None, TODAY, set(), Flag.dissolved, ["30/6/2025"]),
]  # fmt: skip


@pytest.mark.parametrize(("phrase", "issuer", "on", "codes", "flag", "words"), CASES)
def test_resolve(
    loaded: Session,
    phrase: str,
    issuer: str | None,
    on: dt.date,
    codes: set[str],
    flag: Flag | None,
    words: list[str],
) -> None:
    result = resolve(loaded, phrase, on=on, province="quang-ngai", issuer_province=issuer)

    assert {a.code for a in result.agencies} == codes
    assert len(result.agencies) == len(codes)  # each agency once
    assert result.flag == flag
    assert all(a.active_on(on) for a in result.agencies)
    for word in words:
        assert word in " | ".join(result.notes)


def test_a_dissolved_group_is_flagged_with_its_successor(loaded: Session) -> None:
    result = resolve(loaded, "UBND các huyện, thị xã, thành phố", on=TODAY, province="quang-ngai")

    assert (result.flag, result.suggested_group, result.agencies) == (
        Flag.group_dissolved,
        "commune_committees",
        [],
    )


def test_the_departments_group_today_has_no_dissolved_member(loaded: Session) -> None:
    result = resolve(
        loaded, "các sở, ban, ngành, đơn vị trực thuộc tỉnh", on=TODAY, province="quang-ngai"
    )

    listed = list_agencies(loaded, on=TODAY, group="departments", province="quang-ngai")
    assert [a.id for a in result.agencies] == [a.id for a in listed]
    assert all(a.active_to is None for a in result.agencies)


def test_a_dissolved_agency_without_successor_suggests_the_heir_group(loaded: Session) -> None:
    result = resolve(loaded, "UBND huyện Bình Sơn", on=TODAY, province="quang-ngai")

    assert (result.flag, result.suggested_group) == (Flag.dissolved, "commune_committees")


def test_an_unknown_phrase_is_flagged_with_the_closest_candidates(loaded: Session) -> None:
    result = resolve(loaded, "Sở Du lịch và Thể thao", on=TODAY, province="quang-ngai")

    assert (result.flag, result.agencies) == (Flag.unknown, [])
    assert result.candidates[0].code == "qng-so-van-hoa-the-thao-va-du-lich"
    assert all(c.active_on(TODAY) for c in result.candidates)
