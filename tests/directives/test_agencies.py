from __future__ import annotations

from directives.agencies import describe, normalise


def test_distributive_department_list() -> None:
    refs = describe("các Sở: Kế hoạch và Đầu tư, Tài chính")
    assert [r.name for r in refs] == ["Sở Kế hoạch và Đầu tư", "Sở Tài chính"]
    assert {r.kind for r in refs} == {"agency"}


def test_distributive_keeps_the_comma_name() -> None:
    refs = describe("các Sở: Văn hóa, Thể thao và Du lịch, Y tế")
    assert [r.name for r in refs] == ["Sở Văn hóa, Thể thao và Du lịch", "Sở Y tế"]


def test_groups() -> None:
    assert describe("các sở, ban, ngành, đơn vị trực thuộc tỉnh")[0].group == "departments"
    assert describe("UBND các huyện, thị xã, thành phố")[0].group == "district_committees"
    assert describe("Ủy ban nhân dân các huyện, thành phố")[0].group == "district_committees"
    assert describe("Ủy ban nhân dân cấp xã")[0].group == "commune_committees"
    assert describe("Sở Xây dựng")[0].kind == "agency"
    assert describe("Chủ tịch UBND tỉnh")[0].kind == "person"


def test_normalise_spellings() -> None:
    assert normalise("UBND tỉnh") == "Ủy ban nhân dân tỉnh"
    assert normalise("Uỷ ban nhân dân  tỉnh ") == "Ủy ban nhân dân tỉnh"
    assert normalise("báo cáo hàng năm") == "báo cáo hằng năm"
    assert normalise("Sở Lao động – Thương binh và Xã hội") == "Sở Lao động - Thương binh và Xã hội"
