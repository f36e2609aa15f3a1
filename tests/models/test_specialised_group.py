"""The phrase "các cơ quan chuyên môn thuộc UBND tỉnh" names its own group
(``specialised``): the sở, the cơ quan ngang sở and Văn phòng UBND tỉnh (Nghị định
45/2025/NĐ-CP), not the boards nor Công an tỉnh that "các sở, ban, ngành"
(``departments``) also names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from directives.agencies import describe
from directives.parse import parse_text
from models.agency import Agency, AgencyKind
from models.plan import cycle_agencies, ensure_cycles, resolve_parties
from models.registry import (
    RegistryError,
    import_registry,
    list_agencies,
    load_registry,
    resolve,
    shipped_registry,
)
from models.registry.validation import SPECIALISED_KINDS
from models.review import GROUP_VI, group_vi
from models.store import save_directive, set_status
from models.tables import Obligation

PROVINCE = "quang-ngai"
TODAY = dt.date(2026, 11, 20)
SPECIALISED = "các cơ quan chuyên môn thuộc UBND tỉnh"
DEPARTMENTS = "các sở, ban, ngành"
NOT_SPECIALISED = {"qng-cong-an-tinh", "qng-bql-kkt-dung-quat"}
# Today's cơ quan chuyên môn in the shipped registry: its Sở, Thanh tra tỉnh (a cơ quan
# ngang sở) and Văn phòng UBND tỉnh.
CURRENT_SPECIALISED = {
    "qng-vp-ubnd-tinh", "qng-so-noi-vu", "qng-so-tu-phap", "qng-so-tai-chinh",
    "qng-so-cong-thuong", "qng-so-nong-nghiep-va-moi-truong", "qng-so-xay-dung",
    "qng-so-khoa-hoc-va-cong-nghe", "qng-so-van-hoa-the-thao-va-du-lich",
    "qng-so-giao-duc-va-dao-tao", "qng-so-y-te", "qng-thanh-tra-tinh",
    "qng-so-dan-toc-va-ton-giao", "qng-so-ngoai-vu",
}  # fmt: skip


@pytest.fixture
def loaded(session: Session) -> Session:
    import_registry(session, load_registry(shipped_registry()))
    return session


def _codes(agencies: list[Agency]) -> set[str]:
    return {a.code for a in agencies}


# --- the phrase ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "group"),
    [
        ("Các cơ quan chuyên môn thuộc UBND tỉnh", "specialised"),
        ("các cơ quan chuyên môn thuộc Ủy ban nhân dân tỉnh Quảng Ngãi", "specialised"),
        ("Các cơ quan chuyên môn thuộc Uỷ ban nhân dân cấp tỉnh", "specialised"),
        ("các sở, ban, ngành, đơn vị trực thuộc tỉnh", "departments"),
        # Saying both names the wider group.
        ("các sở, ban, ngành, cơ quan chuyên môn thuộc UBND tỉnh", "departments"),
        # A district's cơ quan chuyên môn (its Phòng) are not the province's.
        ("các cơ quan chuyên môn thuộc UBND cấp huyện", "district_committees"),
    ],
)
def test_phrase_resolves_to_group(phrase: str, group: str) -> None:
    [ref] = describe(phrase)
    assert (ref.kind, ref.group) == ("group", group)


def test_the_group_has_a_vietnamese_label() -> None:
    assert group_vi("specialised") == "các cơ quan chuyên môn thuộc UBND tỉnh"
    assert list(GROUP_VI)[:2] == ["departments", "specialised"]  # the review page's order


# --- members on the shipped registry ------------------------------------------------------


def test_specialised_members_are_the_so_and_the_office(loaded: Session) -> None:
    members = list_agencies(loaded, on=TODAY, group="specialised", province=PROVINCE)

    assert _codes(members) == CURRENT_SPECIALISED
    assert {a.kind for a in members} == {AgencyKind.department, AgencyKind.committee_office}
    assert not _codes(members) & NOT_SPECIALISED


def test_the_shipped_file_groups_exactly_the_specialised_kinds() -> None:
    for spec in load_registry(shipped_registry()).agencies:
        inside = "specialised" in {g.key for g in spec.groups}
        assert inside == (spec.kind in SPECIALISED_KINDS), spec.code


def test_departments_still_include_the_board_and_the_police(loaded: Session) -> None:
    members = _codes(list_agencies(loaded, on=TODAY, group="departments", province=PROVINCE))

    assert members == CURRENT_SPECIALISED | NOT_SPECIALISED


@pytest.mark.parametrize(
    ("phrase", "issuer", "on", "has", "lacks"),
    [
        (SPECIALISED, None, TODAY, {"qng-so-tai-chinh", "qng-vp-ubnd-tinh"}, NOT_SPECIALISED),
        (DEPARTMENTS, None, TODAY, NOT_SPECIALISED | {"qng-so-tai-chinh"}, set()),
        # Kon Tum's own, on the day of its 2022 directive 1503/UBND-KTTH …
        (SPECIALISED, "kon-tum", dt.date(2022, 5, 18),
         {"kt-so-ke-hoach-va-dau-tu", "kt-vp-ubnd-tinh"}, {"kt-cong-an-tinh", "kt-bql-kkt"}),
        (DEPARTMENTS, "kon-tum", dt.date(2022, 5, 18), {"kt-cong-an-tinh", "kt-bql-kkt"}, set()),
        # … and the merged province's today.
        (SPECIALISED, "kon-tum", TODAY, {"qng-so-tai-chinh"}, NOT_SPECIALISED),
    ],
)  # fmt: skip
def test_resolve_each_phrase(
    loaded: Session, phrase: str, issuer: str | None, on: dt.date, has: set[str], lacks: set[str]
) -> None:
    result = resolve(loaded, phrase, on=on, province=PROVINCE, issuer_province=issuer)

    assert result.flag is None
    assert has <= _codes(result.agencies)
    assert not lacks & _codes(result.agencies)


# --- a directive through parse → plan -----------------------------------------------------

DIRECTIVE = """ỦY BAN NHÂN DÂN
TỈNH QUẢNG NGÃI

CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc

Số: 4321/UBND-NC

Quảng Ngãi, ngày 10 tháng 11 năm 2026

V/v báo cáo công tác cải cách hành chính và thực hiện dự toán ngân sách

Kính gửi:

- Các cơ quan chuyên môn thuộc UBND tỉnh;
- Các sở, ban, ngành tỉnh.

1. Các cơ quan chuyên môn thuộc Ủy ban nhân dân tỉnh định kỳ hằng quý báo cáo Ủy ban nhân dân tỉnh (qua Sở Nội vụ) kết quả cải cách hành chính trước ngày 15 của tháng cuối quý.

2. Các sở, ban, ngành định kỳ hằng năm báo cáo Ủy ban nhân dân tỉnh (qua Sở Tài chính) tình hình thực hiện dự toán ngân sách trước ngày 10/12.

Nơi nhận:

- Như trên;
- Lưu: VT, NC.

TM. ỦY BAN NHÂN DÂN
CHỦ TỊCH
"""


def _planned(session: Session) -> dict[str, Obligation]:
    """The directive's obligations by their submitters' phrase, approved and planned."""
    saved = save_directive(session, parse_text(DIRECTIVE), actor="admin")
    by_phrase = {}
    for ob in saved.obligations:
        resolve_parties(session, ob, on=TODAY, province=PROVINCE)
        set_status(session, ob.id, status="approved", actor="admin")  # type: ignore[arg-type]
        by_phrase["; ".join(ob.submitter_phrases).casefold()] = ob
    return by_phrase


def test_parse_to_plan_each_phrase_gives_its_submitters(loaded: Session) -> None:
    by_phrase = _planned(loaded)
    quarterly = by_phrase["các cơ quan chuyên môn thuộc ủy ban nhân dân tỉnh"]
    annual = by_phrase["các sở, ban, ngành"]

    narrow = _codes(cycle_agencies(loaded, quarterly, on=TODAY, province=PROVINCE).agencies)
    wide = _codes(cycle_agencies(loaded, annual, on=TODAY, province=PROVINCE).agencies)

    # The group leaves out the lead (Sở Nội vụ / Sở Tài chính) and the recipient's office.
    assert narrow == CURRENT_SPECIALISED - {"qng-so-noi-vu", "qng-vp-ubnd-tinh"}
    assert wide == CURRENT_SPECIALISED - {"qng-so-tai-chinh", "qng-vp-ubnd-tinh"} | NOT_SPECIALISED


def test_parse_to_plan_cycles_reach_no_board_nor_police(loaded: Session) -> None:
    from models.tables import Submission

    quarterly = _planned(loaded)["các cơ quan chuyên môn thuộc ủy ban nhân dân tỉnh"]
    ensure_cycles(
        loaded, quarterly, start=dt.date(2027, 1, 1), end=dt.date(2027, 12, 31), province=PROVINCE
    )

    agency_ids = set(loaded.exec(select(Submission.agency_id)))
    codes = set(loaded.exec(select(Agency.code).where(col(Agency.id).in_(agency_ids))))
    assert codes == CURRENT_SPECIALISED - {"qng-so-noi-vu", "qng-vp-ubnd-tinh"}


# --- the registry file --------------------------------------------------------------------


def test_a_board_in_the_specialised_group_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "province: quang-ngai\n"
        "agencies:\n"
        "  - code: qng-bql\n"
        "    name: Ban Quản lý Khu kinh tế\n"
        "    kind: board\n"
        "    groups: [departments, specialised]\n",
        encoding="utf-8",
    )

    with pytest.raises(RegistryError) as caught:
        load_registry(bad)

    [problem] = caught.value.problems
    assert problem.startswith("dòng 6: nhóm 'specialised' (các cơ quan chuyên môn thuộc UBND tỉnh)")
    assert "kind board" in problem


def test_a_department_in_the_specialised_group_is_accepted(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "province: quang-ngai\n"
        "agencies:\n"
        "  - {code: qng-so-a, name: Sở A, kind: department, groups: [departments, specialised]}\n"
        "  - {code: qng-vp, name: Văn phòng UBND tỉnh, kind: committee_office, "
        "groups: [specialised]}\n",
        encoding="utf-8",
    )

    registry = load_registry(good)

    assert [[g.key for g in a.groups] for a in registry.agencies] == [
        ["departments", "specialised"],
        ["specialised"],
    ]
