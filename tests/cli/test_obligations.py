"""`hanbaocao obligations …` as an administrator runs it: the two seed directives,
ingested into a real SQLite database, reviewed, completed, approved and rejected
through the CLI. Every refusal is checked to leave the database byte-for-byte as it was.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli_env, run_cli
from tests.conftest import EXAMPLES

# The administrator works on 10/1/2026 (models.clock reads HANBAOCAO_NOW).
NOW = "2026-01-10T09:00:00+07:00"
SYNC_NOTE = "Các deployment Prefect được cập nhật ở lần `hanbaocao sync` / `hanbaocao up` tới."
SEEDS = [
    ("seed-6966-ubnd-ktn-quang-ngai-2024.txt", "quang-ngai"),
    ("seed-1503-ubnd-ktth-kon-tum-2022.txt", "kon-tum"),
]


def _ingest(db: Path) -> dict[str, int]:
    """Store the seeds as the ingest flow does; the obligations' ids by what they are."""
    from sqlmodel import Session

    from directives.parse import parse_file
    from models.db import make_engine
    from models.store import save_directive

    engine = make_engine(f"sqlite:///{db}")
    ids: dict[str, int] = {}
    with Session(engine) as session:
        for name, province in SEEDS:
            saved = save_directive(
                session, parse_file(EXAMPLES / name), actor="ingest", issuer_province=province
            )
            for ob in saved.obligations:
                assert ob.id is not None
                if ob.frequency == "none":
                    ids["untimed"] = ob.id  # 1503: no timing stated
                elif ob.frequency == "event":
                    ids["event"] = ob.id  # 6966: a report when something happens
                elif ob.frequency == "on_request":
                    ids["on_request"] = ob.id  # 6966: "khi có yêu cầu của cơ quan cấp trên"
                elif ob.via_phrase == "Sở Xây dựng":
                    ids["annual"] = ob.id  # 6966: the annual report through Sở Xây dựng
                else:
                    ids["budget"] = ob.id  # 6966: "các cơ quan, đơn vị và địa phương"
        session.commit()
    engine.dispose()
    assert set(ids) == {"untimed", "on_request", "annual", "budget", "event"}
    return ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """One migrated database with the registry and both seeds; each test gets a copy."""
    home = tmp_path_factory.mktemp("seeded")
    env = cli_env(home)
    for args in (("db", "upgrade"), ("agencies", "import")):
        result = run_cli(env, *args)
        assert result.returncode == 0, result.stderr
    data = home / "data"
    return data, _ingest(data / "hanbaocao.db")


@dataclass
class Admin:
    env: dict[str, str]
    db: Path
    ids: dict[str, int]

    def __call__(self, *args: str | int) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, "obligations", *(str(a) for a in args))

    def snapshot(self) -> list[str]:
        """The whole database as SQL: equal snapshots mean nothing was written."""
        with sqlite3.connect(self.db) as con:
            return list(con.iterdump())

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as con:
            return con.execute(sql, params).fetchall()

    def audit(self, ob_id: int) -> list[tuple[str, str]]:
        return [
            (str(action), str(actor))
            for action, actor in self.rows(
                "SELECT action, actor FROM audit_event WHERE entity = 'obligation' "
                "AND entity_id = ? ORDER BY id",
                ob_id,
            )
        ]

    def status(self, ob_id: int) -> str:
        return str(self.rows("SELECT status FROM obligation WHERE id = ?", ob_id)[0][0])


@pytest.fixture
def admin(tmp_path: Path, seeded: tuple[Path, dict[str, int]]) -> Admin:
    source, ids = seeded
    data = tmp_path / "data"
    data.mkdir()
    for file in source.glob("hanbaocao.db*"):  # with its WAL: the CLI leaves it behind
        shutil.copy(file, data / file.name)
    # Wide enough that no table cell wraps: a row is one line.
    env = cli_env(tmp_path, HANBAOCAO_NOW=NOW, COLUMNS="400")
    return Admin(env, data / "hanbaocao.db", ids)


def row(stdout: str, first_cell: str) -> str:
    """The table line whose first cell is ``first_cell``."""
    found = [line for line in stdout.splitlines() if line.startswith(f"│ {first_cell} ")]
    assert len(found) == 1, stdout
    return found[0]


def one_line(text: str) -> str:
    return " ".join(text.split())


def entry(stdout: str, ob_id: int) -> str:
    """One obligation's block in `list` (from its "#ID " line to the blank line), on
    one line."""
    blocks = [b for b in stdout.split("\n\n") if b.strip().startswith(f"#{ob_id} ")]
    assert len(blocks) == 1, stdout
    return one_line(blocks[0])


# --- list ----------------------------------------------------------------------------------


def test_list_shows_the_seed_obligations_with_what_they_need(admin: Admin) -> None:
    before = admin.snapshot()
    listed = admin("list")
    assert listed.returncode == 0, listed.stderr
    assert "5 nghĩa vụ" in listed.stdout
    ids = admin.ids

    annual = entry(listed.stdout, ids["annual"])
    assert "6966/UBND-KTN" in annual and "hằng năm" in annual and "đề xuất" in annual
    assert "Sở Xây dựng tỉnh Quảng Ngãi" in annual  # the lead (thông qua)
    assert "Ủy ban nhân dân tỉnh Quảng Ngãi" in annual  # the recipient
    assert "nhóm các sở, ban, ngành" in annual
    assert (
        "“Chủ tịch UBND các huyện, thị xã, thành phố” không còn tồn tại "
        "→ đề xuất UBND các xã, phường"
    ) in annual
    assert "commune_committees" not in listed.stdout  # names, not internal codes

    untimed = entry(listed.stdout, ids["untimed"])
    assert "1503/UBND-KTTH" in untimed
    assert "chưa có lịch báo cáo (văn bản không nêu thời gian)" in untimed
    assert "Sở Tài chính tỉnh Quảng Ngãi" in untimed  # Sở KH&ĐT Kon Tum's successor today
    assert "Bộ Tài chính" in untimed  # Bộ KH&ĐT merged into it

    on_request = entry(listed.stdout, ids["on_request"])
    assert "khi có yêu cầu" in on_request
    assert "chưa có lịch báo cáo (văn bản ghi “khi có yêu cầu”)" in on_request
    assert "nơi nhận báo cáo “cơ quan cấp trên” không có trong danh mục cơ quan" in on_request

    # Showing what the registry says is not deciding: nothing was written.
    assert admin.snapshot() == before


def test_list_filters(admin: Admin) -> None:
    only_1503 = admin("list", "--directive", "1503")
    assert "1 nghĩa vụ" in only_1503.stdout and "6966/UBND-KTN" not in only_1503.stdout
    exact = admin("list", "--directive", "6966/UBND-KTN", "--status", "proposed")
    assert "4 nghĩa vụ" in exact.stdout and "1503/UBND-KTTH" not in exact.stdout
    assert "0 nghĩa vụ" in admin("list", "--status", "approved").stdout
    bad = admin("list", "--status", "maybe")
    assert bad.returncode == 2 and "maybe" in bad.stderr  # a usage error, from Typer


# --- 1503: untimed, needs a schedule -----------------------------------------------------------


def test_untimed_obligation_is_scheduled_then_approved(admin: Admin) -> None:
    ob = admin.ids["untimed"]
    before = admin.snapshot()
    refused = admin("approve", ob)
    assert refused.returncode == 1
    message = one_line(refused.stderr)
    assert "chưa có lịch báo cáo (văn bản không nêu thời gian)" in message
    assert f"`hanbaocao obligations edit {ob} --frequency annual --deadline 15/12`" in message
    assert "Không nghĩa vụ nào được duyệt." in message and "Traceback" not in message
    assert admin.snapshot() == before

    edited = admin("edit", ob, "--frequency", "annual", "--deadline", "15/12", "--actor", "Trần B")
    assert edited.returncode == 0, edited.stderr
    assert f"nghĩa vụ {ob}: hằng năm, trước ngày 15/12" in edited.stdout
    assert SYNC_NOTE in edited.stdout

    shown = admin("show", ob)
    assert shown.returncode == 0, shown.stderr
    # No lead in the clause: one deadline, the agencies' own; 15/12 is a working day.
    assert "15/12/2026 24:00" in row(shown.stdout, "Năm 2026")
    assert "15/12/2027 24:00" in row(shown.stdout, "Năm 2027")
    assert "Nguồn của hạn: do quản trị đặt" in shown.stdout

    approved = admin("approve", ob, "--actor", "Nguyễn Văn A")
    assert approved.returncode == 0, approved.stderr
    assert f"nghĩa vụ {ob}: đã duyệt (Nguyễn Văn A)" in approved.stdout
    assert "kỳ tới Năm 2026, mở 16/11/2026 08:00, hạn cơ quan 15/12/2026 24:00" in one_line(
        approved.stdout
    )
    assert "đã mở ngay" not in approved.stdout  # 2025's cycle is over: nothing runs now
    assert SYNC_NOTE in approved.stdout

    assert admin.status(ob) == "approved"
    ((approved_by, override),) = admin.rows(
        "SELECT approved_by, deadline_override FROM obligation WHERE id = ?", ob
    )
    assert approved_by == "Nguyễn Văn A"
    rule = json.loads(override)
    assert (rule["kind"], rule["day"], rule["month"]) == ("day_of_period", 15, 12)
    assert admin.audit(ob) == [
        ("obligation.proposed", "ingest"),
        ("obligation.set_schedule", "Trần B"),
        ("obligation.approved", "Nguyễn Văn A"),
    ]
    # The parties were resolved once, at approval, and kept.
    parties = admin.rows(
        "SELECT p.role, a.name FROM obligation_party p JOIN agency a ON a.id = p.agency_id "
        "WHERE p.obligation_id = ? ORDER BY p.role",
        ob,
    )
    assert parties == [("recipient", "Bộ Tài chính"), ("submitter", "Sở Tài chính tỉnh Quảng Ngãi")]

    again = admin("approve", ob)
    assert again.returncode == 0
    assert f"nghĩa vụ {ob} đã được duyệt trước đó: không có gì thay đổi" in again.stdout
    assert SYNC_NOTE not in again.stdout
    assert len(admin.audit(ob)) == 3


# --- 6966: a dissolved addressee -------------------------------------------------------------


def test_dissolved_addressee_needs_the_suggestion_accepted(admin: Admin) -> None:
    ob = admin.ids["annual"]
    before = admin.snapshot()
    refused = admin("approve", ob)
    assert refused.returncode == 1
    message = one_line(refused.stderr)
    assert "“Chủ tịch UBND các huyện, thị xã, thành phố”" in message
    assert "không còn tồn tại → đề xuất UBND các xã, phường" in message
    assert f"`hanbaocao obligations approve {ob} --accept-suggestions`" in message
    assert admin.snapshot() == before  # not even the parties' resolution was kept

    approved = admin("approve", ob, "--accept-suggestions", "--actor", "Nguyễn Văn A")
    assert approved.returncode == 0, approved.stderr
    assert (
        "“Chủ tịch UBND các huyện, thị xã, thành phố” → UBND các xã, phường (nhận đề xuất)"
    ) in one_line(approved.stdout)
    assert "hạn cơ quan 21/12/2026 24:00" in one_line(approved.stdout)

    shown = admin("show", ob).stdout
    # The province default: agencies 20/12 (a Sunday in 2026) to Sở Xây dựng, which has
    # three working days to report to UBND tỉnh.
    cycle = row(shown, "Năm 2026")
    assert "21/12/2026 24:00" in cycle and "24/12/2026 24:00" in cycle
    assert "nhóm UBND các xã, phường" in shown

    accepted = admin.rows("SELECT actor FROM audit_event WHERE action = 'party.accept_suggestion'")
    assert accepted == [("Nguyễn Văn A",)]
    assert admin.audit(ob)[-1] == ("obligation.approved", "Nguyễn Văn A")


def test_several_ids_are_approved_all_or_nothing(admin: Admin) -> None:
    untimed, annual = admin.ids["untimed"], admin.ids["annual"]
    assert admin("edit", untimed, "--frequency", "annual").returncode == 0
    before = admin.snapshot()

    refused = admin("approve", untimed, annual)
    assert refused.returncode == 1
    assert "--accept-suggestions" in refused.stderr  # the annual one's problem …
    assert admin.snapshot() == before  # … and the approvable one was not approved either
    missing = admin("approve", untimed, 999)
    assert missing.returncode == 1 and "không có nghĩa vụ số 999" in missing.stderr
    assert admin.snapshot() == before

    both = admin("approve", untimed, annual, "--accept-suggestions")
    assert both.returncode == 0, both.stderr
    assert admin.status(untimed) == admin.status(annual) == "approved"


# --- reject ----------------------------------------------------------------------------------


def test_reject_with_a_reason(admin: Admin) -> None:
    budget, on_request = admin.ids["budget"], admin.ids["on_request"]
    reason = "không phải báo cáo định kỳ"
    rejected = admin("reject", budget, on_request, "--reason", reason, "--actor", "Lê C")
    assert rejected.returncode == 0, rejected.stderr
    assert f"nghĩa vụ {budget}: đã từ chối (Lê C)" in rejected.stdout
    assert SYNC_NOTE in rejected.stdout
    assert admin.status(budget) == admin.status(on_request) == "rejected"
    (data,) = admin.rows(
        "SELECT data FROM audit_event WHERE action = 'obligation.rejected' AND entity_id = ?",
        budget,
    )[0]
    assert json.loads(data) == {"from": "proposed", "to": "rejected", "note": reason}

    again = admin("reject", budget)
    assert again.returncode == 0 and "đã bị từ chối trước đó" in again.stdout
    listed = admin("list", "--status", "rejected")
    assert "2 nghĩa vụ" in listed.stdout
    assert "Cần" not in listed.stdout  # a rejected obligation needs nothing


# --- edit ------------------------------------------------------------------------------------


def test_edit_recipient_lead_and_ladder(admin: Admin, tmp_path: Path) -> None:
    ob = admin.ids["on_request"]
    ladder = tmp_path / "ladder.yaml"
    ladder.write_text(
        "- {name: opened, anchor: open, offset: 0, audience: agency}\n"
        "- {name: reminder-2, anchor: due, offset: -2, audience: agency}\n"
        "- {name: escalation-recipient, anchor: due, offset: 2, audience: recipient}\n",
        encoding="utf-8",
    )
    edited = admin(
        "edit", ob,
        "--frequency", "quarterly",
        "--deadline", "+10wd",
        "--recipient", "qng-ubnd-tinh",
        "--ladder", ladder,
        "--actor", "admin",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert "hằng quý, 10 ngày làm việc, sau khi kết thúc kỳ báo cáo" in edited.stdout
    assert "nơi nhận báo cáo: Ủy ban nhân dân tỉnh Quảng Ngãi" in edited.stdout

    shown = admin("show", ob).stdout
    # Q1/2026 ends on Tuesday 31/3; ten working days later is 14/4.
    assert "14/04/2026 24:00" in row(shown, "Quý I/2026")
    assert "do admin chọn ngày 10/1/2026" in shown
    assert "nhắc hạn (hạn-2, cơ quan)" in shown

    assert admin("approve", ob).returncode == 0
    ((recipient, stages),) = admin.rows(
        "SELECT a.code, o.ladder FROM obligation o JOIN agency a ON a.id = o.recipient_agency_id "
        "WHERE o.id = ?",
        ob,
    )
    assert recipient == "qng-ubnd-tinh"
    assert [s["name"] for s in json.loads(stages)] == [
        "opened",
        "reminder-2",
        "escalation-recipient",
    ]
    assert [action for action, _ in admin.audit(ob)] == [
        "obligation.proposed",
        "obligation.set_schedule",
        "obligation.set_recipient",
        "obligation.set_ladder",
        "obligation.approved",
    ]

    reset = admin("edit", ob, "--ladder", "default")
    assert reset.returncode == 0
    ((stored,),) = admin.rows("SELECT ladder FROM obligation WHERE id = ?", ob)
    assert json.loads(stored) is None  # the default ladder again


def test_edit_lead_of_a_clause_without_one_says_what_it_changes(admin: Admin) -> None:
    ob = admin.ids["untimed"]
    edited = admin("edit", ob, "--frequency", "annual", "--lead", "qng-so-tai-chinh")
    assert edited.returncode == 0, edited.stderr
    assert "cơ quan chủ trì tổng hợp: Sở Tài chính tỉnh Quảng Ngãi" in one_line(edited.stdout)
    assert "văn bản không nêu cơ quan chủ trì" in one_line(edited.stdout)
    lead = admin.rows(
        "SELECT a.code FROM obligation o JOIN agency a ON a.id = o.lead_agency_id WHERE o.id = ?",
        ob,
    )
    assert lead == [("qng-so-tai-chinh",)]


BAD_LADDER = "- {name: Bad Name, anchor: open, offset: 0, audience: agency}\n"
NO_OPENING = "- {name: reminder-1, anchor: due, offset: -1, audience: agency}\n"

# (arguments, words the one-line error must contain); {name} is an obligation's id.
REFUSALS = [
    (["show", "999"], "không có nghĩa vụ số 999"),
    (["reject", "999", "{budget}"], "không có nghĩa vụ số 999"),
    (["edit", "{untimed}"], "không có gì để sửa"),
    (["edit", "{untimed}", "--lead", "qng-so-tai-chnh"], "gần nhất: qng-so-tai-chinh"),
    (["edit", "{untimed}", "--recipient", "Sở Tài chính"], "không có cơ quan mã “Sở Tài chính”"),
    (
        ["edit", "{untimed}", "--recipient", "kt-so-tai-chinh"],
        "nay là Sở Tài chính tỉnh Quảng Ngãi (qng-so-tai-chinh)",
    ),
    (["edit", "{untimed}", "--deadline", "15/12"], "chọn tần suất cùng với hạn nộp"),
    (
        ["edit", "{untimed}", "--frequency", "annual", "--deadline", "sometime"],
        "không thấy hạn nào",
    ),
    (["edit", "{untimed}", "--frequency", "annual", "--deadline", "31/2"], "không có ngày này"),
    (
        ["edit", "{untimed}", "--frequency", "annual", "--deadline", "15/12/2026"],
        "một ngày cụ thể không lặp lại hằng năm được",
    ),
    (
        ["edit", "{untimed}", "--frequency", "monthly", "--deadline", "20/12"],
        "không dùng được cho báo cáo hằng tháng: báo cáo hằng tháng chỉ ghi ngày trong tháng",
    ),
    (
        ["edit", "{untimed}", "--frequency", "weekly", "--deadline", "15"],
        "không dùng được cho báo cáo hằng tuần",
    ),
    (["edit", "{untimed}", "--ladder", "{bad_ladder}"], "tên bước 'Bad Name' không hợp lệ"),
    (["edit", "{untimed}", "--ladder", "{no_opening}"], "thiếu bước mở kỳ"),
    (["edit", "{untimed}", "--ladder", "{missing}"], "không đọc được {missing}: không có tệp"),
    (["edit", "{untimed}", "--ladder", "{not_yaml}"], "không phải YAML"),
    # A valid change before an invalid one in the same command is not kept either.
    (
        ["edit", "{untimed}", "--frequency", "annual", "--recipient", "no-such-agency"],
        "không có cơ quan mã “no-such-agency”",
    ),
    (["edit", "{on_request}", "--accept-suggestion"], "không có đề xuất nào để nhận"),
    (["approve", "{budget}"], "edit {budget} --submitters CODE,…`"),
    (["approve", "{on_request}"], "edit {on_request} --recipient CODE`"),
]


@pytest.mark.parametrize(("args", "expected"), REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_refusals_say_why_and_change_nothing(
    admin: Admin, tmp_path: Path, args: list[str], expected: str
) -> None:
    files = {"bad_ladder": BAD_LADDER, "no_opening": NO_OPENING, "not_yaml": "stages: [a, b\n"}
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    values = {k: str(tmp_path / f"{k}.yaml") for k in [*files, "missing"]}
    values.update({k: str(v) for k, v in admin.ids.items()})
    before = admin.snapshot()

    result = admin(*(arg.format(**values) for arg in args))
    # A --deadline (with its --frequency) or a --ladder file that cannot be read or that
    # the rules refuse is bad input, 2; the others are refusals or something not found, 1.
    bad_input = "--deadline" in args or "--ladder" in args
    assert result.returncode == (2 if bad_input else 1), result.stdout + result.stderr
    assert expected.format(**values) in one_line(result.stderr)
    assert result.stderr.startswith("lỗi:") and "Traceback" not in result.stderr
    assert SYNC_NOTE not in result.stdout
    assert admin.snapshot() == before


def test_show_marks_deadlines_that_rest_on_a_provisional_day_off(admin: Admin) -> None:
    """24/11/2026 is off only by the holidays package (no decree found): an annual report
    due "trước ngày 25/11" is due on that day's eve, so its date is dự kiến, and `show`
    says which days it rests on and how to confirm them."""
    ob = admin.ids["annual"]
    assert admin("edit", ob, "--deadline", "25/11").returncode == 0
    shown = admin("show", ob).stdout
    assert "(dự kiến)" in row(shown, "Năm 2026")
    said = one_line(shown)
    assert "Dự kiến: các hạn đánh dấu dựa vào ngày nghỉ chưa có văn bản chính thức" in said
    assert "hanbaocao holidays confirm" in said
    data = json.loads(admin("show", ob, "--json").stdout)
    days = data["next_cycles"][0]["provisional_days_off"]
    assert days and all(len(d) == 10 and d[4] == "-" for d in days)  # ISO dates
    assert data["next_cycles"][0]["default_deadline"] is False
