"""The dashboard's views of the matrix (the seeds' cycles of tests/models/test_compliance,
one SQLite database for the module): "only overdue" and one agency, the yearly ranking
by on-time rate, and the workbook keeping the page's colours and the days late."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.portal import test_dashboard as base
from tests.portal.test_dashboard import World, matrix_of

# The module's fixtures: test_dashboard's database, administrator and login.
world = base.world
data_dir = base.data_dir
client = base.client
admin = base.admin
_no_login_state_between_tests = base._no_login_state_between_tests


def test_only_overdue_keeps_agencies_with_a_missing_report(world: World, admin: TestClient) -> None:
    s = world.s
    page = admin.get("/admin/?overdue=1")
    assert page.status_code == 200
    table = matrix_of(page.text)
    assert table.rows and all("c-missing" in cells for cells in table.rows.values())
    assert world.names[s.d] in table.rows and world.names[s.x] in table.rows
    assert world.names[s.a] not in table.rows  # on time everywhere
    assert 'name="overdue" value="1" checked' in page.text
    # The export links keep the view, and so does the file.
    assert "/admin/export.xlsx?overdue=1" in page.text
    sheet = load_workbook(io.BytesIO(admin.get("/admin/export.xlsx?overdue=1").content)).active
    assert sheet is not None
    names = {row[1] for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)}
    assert names == set(table.rows)
    heading = [row[0] for row in sheet.iter_rows(values_only=True)][:10]
    assert "Chỉ gồm: cơ quan quá hạn, chưa nộp" in heading


def test_one_agency(world: World, admin: TestClient) -> None:
    s = world.s
    page = admin.get(f"/admin/?agency={s.b}")
    assert list(matrix_of(page.text).rows) == [world.names[s.b]]
    assert f'<option value="{s.b}" selected>' in page.text
    for bad in ("agency=abc", "agency=-1", "overdue=yes"):
        r = admin.get(f"/admin/?{bad}")
        assert r.status_code == 400 and "Bộ lọc không hợp lệ" in r.text


def ranking_of(html: str) -> list[tuple[str, str, str]]:
    body = html.split('class="dash-table dash-rank"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr data-agency="(\d+)"><td class="num rank">([^<]*)</td>.*?'
        r'<td class="num rate">([^<]*)</td></tr>',
        body,
    )
    return [(agency, rank, rate) for agency, rank, rate in rows]


def test_yearly_ranking_by_on_time_rate(world: World, admin: TestClient) -> None:
    s = world.s
    page = admin.get("/admin/?period=2025")
    assert "Xếp hạng tỉ lệ đúng hạn năm 2025" in page.text
    ranking = ranking_of(page.text)
    assert len(ranking) == len(matrix_of(page.text).rows)
    by_id = {int(agency): (rank, rate) for agency, rank, rate in ranking}
    assert by_id[s.a] == ("1", "100,0 %")
    assert all(rank == "1" for rank, rate in by_id.values() if rate == "100,0 %")  # ties
    assert by_id[s.b][1] == "0,0 %" and by_id[s.d][1] == "0,0 %"
    assert by_id[s.c] == ("—", "—")  # excused: nothing decided, not ranked
    rates = [float(rate.split()[0].replace(",", ".")) for _, _, rate in ranking if rate != "—"]
    assert rates == sorted(rates, reverse=True)
    ranks = [int(rank) for _, rank, _ in ranking if rank != "—"]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # Without a period filter: the current year's (the clock's, 2026).
    assert "Xếp hạng tỉ lệ đúng hạn năm 2026" in admin.get("/admin/").text


def test_the_workbook_keeps_the_colours_and_the_days_late(world: World, admin: TestClient) -> None:
    s = world.s
    sheet = load_workbook(io.BytesIO(admin.get("/admin/export.xlsx").content)).active
    assert sheet is not None
    header = next(r for r in sheet.iter_rows() if r[0].value == "STT")
    column = {c.value: c.column - 1 for c in header}["6966/UBND-KTN · Năm 2025"]
    rows = {r[1].value: r for r in sheet.iter_rows() if isinstance(r[0].value, int)}

    def fill(agency: int) -> str:
        return str(rows[world.names[agency]][column].fill.start_color.rgb)[-6:]

    assert fill(s.a) == "2E7D32" and fill(s.b) == "EF6C00" and fill(s.d) == "C62828"
    assert fill(s.c) == "E3F2FD"
    assert rows[world.names[s.b]][column].value == "Đã nộp sau hạn — trễ 3 ngày làm việc"
    assert str(rows[world.names[s.d]][column].font.color.rgb)[-6:] == "FFFFFF"
    heading = [r[0].value for r in sheet.iter_rows() if r[0].value][:8]
    assert any(str(h).startswith("Màu ô: xanh lá: đúng hạn") for h in heading)
