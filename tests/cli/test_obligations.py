"""`hanbaocao obligations …` as an administrator runs it: the two seed directives,
ingested into a real SQLite database, reviewed, completed, approved and rejected
through the CLI. Every refusal is checked to leave the database byte-for-byte as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.obligations import (
    LAST_MONTH,
    MONTH_AFTER,
    PERIOD_END,
    DeadlineSyntaxError,
    parse_deadline,
)
from directives.model import Deadline
from tests.cli.conftest import cli_env, run_cli
from tests.conftest import EXAMPLES

# The administrator works on 10/1/2026 (models.clock reads HANBAOCAO_NOW).
NOW = "2026-01-10T09:00:00+07:00"
SYNC_NOTE = "The Prefect deployments follow at the next `hanbaocao sync` / `hanbaocao up`."
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
                elif ob.frequency == "on_request":
                    ids["on_request"] = ob.id  # 6966: "khi có yêu cầu của cơ quan cấp trên"
                elif ob.via_phrase == "Sở Xây dựng":
                    ids["annual"] = ob.id  # 6966: the annual report through Sở Xây dựng
                else:
                    ids["budget"] = ob.id  # 6966: "các cơ quan, đơn vị và địa phương"
        session.commit()
    engine.dispose()
    assert set(ids) == {"untimed", "on_request", "annual", "budget"}
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


# --- list ----------------------------------------------------------------------------------


def test_list_shows_the_seed_obligations_with_what_they_need(admin: Admin) -> None:
    before = admin.snapshot()
    listed = admin("list")
    assert listed.returncode == 0, listed.stderr
    assert "4 obligations" in listed.stdout
    ids = admin.ids

    annual = row(listed.stdout, f"{ids['annual']}")
    assert "6966/UBND-KTN" in annual and "hằng năm" in annual and "proposed" in annual
    assert "Sở Xây dựng tỉnh Quảng Ngãi" in annual  # the lead (thông qua)
    assert "Ủy ban nhân dân tỉnh Quảng Ngãi" in annual  # the recipient
    assert "group departments" in annual
    assert (
        "addressee no longer exists: Chủ tịch UBND các huyện, thị xã, thành phố "
        "→ suggested commune_committees"
    ) in annual

    untimed = row(listed.stdout, f"{ids['untimed']}")
    assert "1503/UBND-KTTH" in untimed
    assert "no timing stated — needs a schedule" in untimed
    assert "Sở Tài chính tỉnh Quảng Ngãi" in untimed  # Sở KH&ĐT Kon Tum's successor today
    assert "Bộ Tài chính" in untimed  # Bộ KH&ĐT merged into it

    on_request = row(listed.stdout, f"{ids['on_request']}")
    assert "khi có yêu cầu" in on_request
    assert "not periodic (khi có yêu cầu) — needs a schedule" in on_request
    assert "recipient not in the registry: cơ quan cấp trên" in on_request

    # Showing what the registry says is not deciding: nothing was written.
    assert admin.snapshot() == before


def test_list_filters(admin: Admin) -> None:
    only_1503 = admin("list", "--directive", "1503")
    assert "1 obligation" in only_1503.stdout and "6966/UBND-KTN" not in only_1503.stdout
    exact = admin("list", "--directive", "6966/UBND-KTN", "--status", "proposed")
    assert "3 obligations" in exact.stdout and "1503/UBND-KTTH" not in exact.stdout
    assert "0 obligations" in admin("list", "--status", "approved").stdout
    bad = admin("list", "--status", "maybe")
    assert bad.returncode == 2 and "maybe" in bad.stderr  # a usage error, from Typer


# --- 1503: untimed, needs a schedule -----------------------------------------------------------


def test_untimed_obligation_is_scheduled_then_approved(admin: Admin) -> None:
    ob = admin.ids["untimed"]
    before = admin.snapshot()
    refused = admin("approve", ob)
    assert refused.returncode == 1
    message = one_line(refused.stderr)
    assert "no periodic schedule (the text states no timing)" in message
    assert f"`hanbaocao obligations edit {ob} --frequency annual --deadline 15/12`" in message
    assert "Nothing was approved." in message and "Traceback" not in message
    assert admin.snapshot() == before

    edited = admin("edit", ob, "--frequency", "annual", "--deadline", "15/12", "--actor", "Trần B")
    assert edited.returncode == 0, edited.stderr
    assert f"obligation {ob}: hằng năm, trước ngày 15/12" in edited.stdout
    assert SYNC_NOTE in edited.stdout

    shown = admin("show", ob)
    assert shown.returncode == 0, shown.stderr
    # No lead in the clause: one deadline, the agencies' own; 15/12 is a working day.
    assert "15/12/2026 24:00" in row(shown.stdout, "Năm 2026 (2026)")
    assert "15/12/2027 24:00" in row(shown.stdout, "Năm 2027 (2027)")
    assert "deadline source: set by the administrator" in shown.stdout

    approved = admin("approve", ob, "--actor", "Nguyễn Văn A")
    assert approved.returncode == 0, approved.stderr
    assert f"obligation {ob} approved by Nguyễn Văn A" in approved.stdout
    assert "next cycle Năm 2026, agencies due 15/12/2026 24:00" in approved.stdout
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
    assert f"obligation {ob} is already approved: nothing to do" in again.stdout
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
    assert "replaced by commune_committees on 1/7/2025" in message
    assert f"`hanbaocao obligations approve {ob} --accept-suggestions`" in message
    assert admin.snapshot() == before  # not even the parties' resolution was kept

    approved = admin("approve", ob, "--accept-suggestions", "--actor", "Nguyễn Văn A")
    assert approved.returncode == 0, approved.stderr
    assert (
        "“Chủ tịch UBND các huyện, thị xã, thành phố” → group commune_committees "
        "(suggestion accepted)"
    ) in approved.stdout
    assert "agencies due 21/12/2026 24:00" in approved.stdout

    shown = admin("show", ob).stdout
    # The province default: agencies 20/12 (a Sunday in 2026) to Sở Xây dựng, which has
    # three working days to report to UBND tỉnh.
    cycle = row(shown, "Năm 2026 (2026)")
    assert "21/12/2026 24:00" in cycle and "24/12/2026 24:00" in cycle
    assert "group commune_committees" in shown

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
    assert missing.returncode == 1 and "no obligation 999" in missing.stderr
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
    assert f"obligation {budget} rejected by Lê C" in rejected.stdout
    assert SYNC_NOTE in rejected.stdout
    assert admin.status(budget) == admin.status(on_request) == "rejected"
    (data,) = admin.rows(
        "SELECT data FROM audit_event WHERE action = 'obligation.rejected' AND entity_id = ?",
        budget,
    )[0]
    assert json.loads(data) == {"from": "proposed", "to": "rejected", "note": reason}

    again = admin("reject", budget)
    assert again.returncode == 0 and "already rejected: nothing to do" in again.stdout
    listed = admin("list", "--status", "rejected")
    assert "2 obligations" in listed.stdout
    assert "needs a schedule" not in listed.stdout  # a rejected obligation needs nothing


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
    assert "recipient: Ủy ban nhân dân tỉnh Quảng Ngãi (qng-ubnd-tinh)" in edited.stdout

    shown = admin("show", ob).stdout
    # Q1/2026 ends on Tuesday 31/3; ten working days later is 14/4.
    assert "14/04/2026 24:00" in row(shown, "Quý I/2026 (2026-Q1)")
    assert "set by admin on 10/1/2026" in shown
    assert "reminder-2 (due-2, agency)" in shown

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
    assert "lead: Sở Tài chính tỉnh Quảng Ngãi (qng-so-tai-chinh)" in edited.stdout
    assert "the clause names no lead" in one_line(edited.stdout)
    lead = admin.rows(
        "SELECT a.code FROM obligation o JOIN agency a ON a.id = o.lead_agency_id WHERE o.id = ?",
        ob,
    )
    assert lead == [("qng-so-tai-chinh",)]


BAD_LADDER = "- {name: Bad Name, anchor: open, offset: 0, audience: agency}\n"
NO_OPENING = "- {name: reminder-1, anchor: due, offset: -1, audience: agency}\n"

# (arguments, words the one-line error must contain); {name} is an obligation's id.
REFUSALS = [
    (["show", "999"], "no obligation 999"),
    (["reject", "999", "{budget}"], "no obligation 999"),
    (["edit", "{untimed}"], "nothing to change"),
    (["edit", "{untimed}", "--lead", "qng-so-tai-chnh"], "closest: qng-so-tai-chinh"),
    (["edit", "{untimed}", "--recipient", "Sở Tài chính"], "no agency with code 'Sở Tài chính'"),
    (["edit", "{untimed}", "--recipient", "kt-so-tai-chinh"], "today qng-so-tai-chinh"),
    (["edit", "{untimed}", "--deadline", "15/12"], "give --frequency with the deadline"),
    (["edit", "{untimed}", "--frequency", "annual", "--deadline", "sometime"], "no deadline in"),
    (["edit", "{untimed}", "--frequency", "annual", "--deadline", "31/2"], "no such day"),
    (
        ["edit", "{untimed}", "--frequency", "annual", "--deadline", "15/12/2026"],
        "a one-off date cannot recur annual",
    ),
    (
        ["edit", "{untimed}", "--frequency", "monthly", "--deadline", "20/12"],
        "a monthly report cannot take day and month 12",
    ),
    (
        ["edit", "{untimed}", "--frequency", "weekly", "--deadline", "15"],
        "a weekly report cannot fall on a day of the month",
    ),
    (["edit", "{untimed}", "--ladder", "{bad_ladder}"], "bad stage name 'Bad Name'"),
    (["edit", "{untimed}", "--ladder", "{no_opening}"], "no opening stage"),
    (["edit", "{untimed}", "--ladder", "{missing}"], "cannot read"),
    # A valid change before an invalid one in the same command is not kept either.
    (
        ["edit", "{untimed}", "--frequency", "annual", "--recipient", "no-such-agency"],
        "no agency with code 'no-such-agency'",
    ),
    (["edit", "{on_request}", "--accept-suggestion"], "has no suggestion to accept"),
    (["approve", "{budget}"], "correct the registry"),
    (["approve", "{on_request}"], "edit {on_request} --recipient CODE`"),
]


@pytest.mark.parametrize(("args", "expected"), REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_refusals_say_why_and_change_nothing(
    admin: Admin, tmp_path: Path, args: list[str], expected: str
) -> None:
    files = {"bad_ladder": BAD_LADDER, "no_opening": NO_OPENING}
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    values = {k: str(tmp_path / f"{k}.yaml") for k in [*files, "missing"]}
    values.update({k: str(v) for k, v in admin.ids.items()})
    before = admin.snapshot()

    result = admin(*(arg.format(**values) for arg in args))
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected.format(**values) in one_line(result.stderr)
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
    assert SYNC_NOTE not in result.stdout
    assert admin.snapshot() == before


# --- the deadline syntax -------------------------------------------------------------------

# (rule as typed, (kind, day, month, time, offset_days, working_days, anchor))
RULES = [
    ("20/12", ("day_of_period", 20, 12, None, None, None, None)),
    ("ngày 20/12", ("day_of_period", 20, 12, None, None, None, None)),
    ("20/12 14:00", ("day_of_period", 20, 12, "14:00", None, None, None)),
    ("20/12 8h", ("day_of_period", 20, 12, "08:00", None, None, None)),
    ("15", ("day_of_period", 15, None, None, None, None, LAST_MONTH)),
    ("ngày 15", ("day_of_period", 15, None, None, None, None, LAST_MONTH)),
    ("10 next", ("day_of_period", 10, None, None, None, None, MONTH_AFTER)),
    ("+5", ("relative", None, None, None, 5, False, PERIOD_END)),
    ("+5wd", ("relative", None, None, None, 5, True, PERIOD_END)),
    ("default", ("none", None, None, None, None, None, None)),
    (
        "trước ngày 15 của tháng cuối quý",
        ("day_of_period", 15, None, None, None, None, "tháng cuối quý"),
    ),
    (
        "chậm nhất ngày 15 tháng 01 năm kế tiếp",
        ("day_of_period", 15, 1, None, None, None, "năm kế tiếp"),
    ),
    (
        "trong thời hạn 05 ngày làm việc sau khi kết thúc quý",
        ("relative", None, None, None, 5, True, "sau khi kết thúc quý"),
    ),
    ("15/12/2026", ("date", 15, 12, None, None, None, None)),  # refused later: cannot recur
]


@pytest.mark.parametrize(("typed", "expected"), RULES, ids=[r for r, _ in RULES])
def test_deadline_syntax(typed: str, expected: tuple[Any, ...]) -> None:
    d = parse_deadline(typed)
    assert (d.kind, d.day, d.month, d.time, d.offset_days, d.working_days, d.anchor) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "31/2",
        "32",
        "0",
        "20/13",
        "20/12 25:00",
        "sometime",
        "trước ngày 10/6 và trước ngày 10/12",
    ],
)
def test_deadline_syntax_refuses(typed: str) -> None:
    with pytest.raises(DeadlineSyntaxError):
        parse_deadline(typed)


# (rule, frequency, period, the due day the calendar gives it): the anchors mean what
# DEADLINE_RULES says they mean.
PLACED = [
    ("20/12", "annual", "2026", dt.date(2026, 12, 21)),  # 20/12/2026 is a Sunday
    ("15", "quarterly", "2026-Q2", dt.date(2026, 6, 15)),
    ("15", "monthly", "2026-09", dt.date(2026, 9, 15)),
    ("10 next", "monthly", "2026-09", dt.date(2026, 10, 12)),  # 10/10 is a Saturday
    ("+5wd", "quarterly", "2026-Q1", dt.date(2026, 4, 7)),
    ("+5", "quarterly", "2026-Q3", dt.date(2026, 10, 5)),
]


@pytest.mark.parametrize(("typed", "frequency", "key", "due"), PLACED)
def test_deadline_rules_evaluate(typed: str, frequency: str, key: str, due: dt.date) -> None:
    from models.calendar import evaluate, parse_period_key
    from models.workdays import packaged_calendar

    rule: Deadline = parse_deadline(typed)
    got = evaluate(rule, frequency, parse_period_key(key), calendar=packaged_calendar())
    assert got.day == due
