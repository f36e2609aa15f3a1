"""Issue 12's intake, as an administrator runs it on a fresh data directory with the
clock inside a running period (7/12/2026): ingest a one-off directive and an annual
one, approve both, and see both cycles open with the right deadlines; the JSON for
scripts, the submitter edits, and 80-column output."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import cli_env, run_cli
from tests.conftest import EXAMPLES
from tests.ports import refusing_port

ONE_OFF = (
    Path(__file__).parents[1] / "data" / "directives" / "oneoff-2411-ubnd-kt-quang-ngai-2026.txt"
)
ANNUAL = EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
NOW = "2026-12-07T09:00:00+07:00"


class Admin:
    def __init__(self, home: Path, port: int) -> None:
        self.env = cli_env(home, HANBAOCAO_NOW=NOW, COLUMNS="80")
        self.port = str(port)  # no Prefect server there: ingest runs in-process

    def __call__(self, *args: str | int) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *(str(a) for a in args))

    def json(self, *args: str | int) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    with refusing_port() as port:  # held for the test: no server can start there meanwhile
        admin = Admin(tmp_path, port)
        for args in (("db", "upgrade"), ("agencies", "import")):
            result = admin(*args)
            assert result.returncode == 0, result.stderr
        yield admin


def _ingest(admin: Admin) -> tuple[int, int]:
    """The one-off obligation's id and the annual report's (through Sở Xây dựng)."""
    found = admin.json("ingest", ONE_OFF, ANNUAL, "--port", admin.port)
    assert [d["directive"]["number"] for d in found] == ["2411/UBND-KT", "6966/UBND-KTN"]
    assert all(d["outcome"] == "created" and d["prefect"] is False for d in found)
    (one_off,) = found[0]["obligations"]
    assert one_off["frequency"] == "once" and one_off["status"] == "proposed"
    assert one_off["deadline"]["date"] == "2026-12-19" and one_off["needs"] == []
    annual = next(
        o for o in found[1]["obligations"] if o["lead"] and o["lead"]["code"] == "qng-so-xay-dung"
    )
    assert any("đề xuất UBND các xã, phường" in n for n in annual["needs"])
    return one_off["id"], annual["id"]


def test_ingest_approve_and_both_cycles_open(admin: Admin) -> None:
    one_off, annual = _ingest(admin)
    approved = admin("obligations", "approve", one_off, annual, "--accept-suggestions")
    assert approved.returncode == 0, approved.stderr
    said = " ".join(approved.stdout.split())
    assert f"nghĩa vụ {one_off}: đã mở ngay kỳ Một lần (hạn 21/12/2026)" in said
    assert f"nghĩa vụ {annual}: đã mở ngay kỳ Năm 2026: hạn cơ quan 21/12/2026 24:00" in said
    assert all(len(line) <= 80 for line in approved.stdout.splitlines())

    cycles = admin.json("cycles", "list", "--open")
    by_obligation = {c["obligation_id"]: c for c in cycles}
    assert set(by_obligation) == {one_off, annual}
    once = by_obligation[one_off]
    # The clause's 19/12/2026 is a Saturday: rolled to Monday 21/12, at its 15:00.
    assert once["period"] == "2026-12-21" and once["state"] == "open"
    assert once["lead_due_at"] == "2026-12-21T15:00:00+07:00"
    assert once["due_at"] == "2026-12-16T15:00:00+07:00"
    assert once["opens_at"] == "2026-12-07T09:00:00+07:00"
    assert once["counts"]["not_yet_due"] > 0 and once["counts"]["on_time"] == 0
    year = by_obligation[annual]
    assert (year["period"], year["due_at"]) == ("2026", "2026-12-21T23:59:59+07:00")
    assert year["lead_due_at"] == "2026-12-24T23:59:59+07:00"

    shown = admin("cycles", "list", "--open", "--directive", "2411")
    assert shown.returncode == 0, shown.stderr
    assert "1 kỳ báo cáo" in shown.stdout and "2411/UBND-KT · Một lần" in shown.stdout
    assert "Hạn chủ trì 21/12/2026 15:00" in " ".join(shown.stdout.split())
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())


def test_obligations_json_for_scripts(admin: Admin) -> None:
    one_off, annual = _ingest(admin)
    listed = admin.json("obligations", "list")
    assert {o["id"] for o in listed} >= {one_off, annual}
    shown = admin.json("obligations", "show", annual)
    assert shown["directive"]["number"] == "6966/UBND-KTN"
    assert shown["frequency"] == "annual" and shown["frequency_label"] == "hằng năm"
    assert shown["lead"]["name"] == "Sở Xây dựng tỉnh Quảng Ngãi"
    assert shown["recipient"]["code"] == "qng-ubnd-tinh"
    assert [c["period"] for c in shown["next_cycles"]][:2] == ["2026", "2027"]
    assert shown["next_cycles"][0]["due_at"] == "2026-12-21T23:59:59+07:00"


def test_submitters_edited_from_the_cli(admin: Admin) -> None:
    one_off, _ = _ingest(admin)
    edited = admin(
        "obligations", "edit", one_off, "--submitters", "qng-so-tai-chinh,qng-so-xay-dung"
    )
    assert edited.returncode == 0, edited.stderr
    said = " ".join(edited.stdout.split())
    assert "Sở Tài chính tỉnh Quảng Ngãi; Sở Xây dựng tỉnh Quảng Ngãi" in said
    removed = admin("obligations", "edit", one_off, "--remove-submitter", "qng-so-xay-dung")
    assert removed.returncode == 0, removed.stderr
    added = admin("obligations", "edit", one_off, "--add-submitter", "commune_committees")
    assert added.returncode == 0, added.stderr
    shown = admin.json("obligations", "show", one_off)
    kept = [(s["agency"] or {}).get("code") or s["group"] for s in shown["submitters"]]
    assert kept == ["qng-so-tai-chinh", "commune_committees"]

    refused = admin("obligations", "edit", one_off, "--remove-submitter", "qng-so-xay-dung")
    assert refused.returncode == 1 and refused.stderr.startswith("lỗi:")
    assert "không nằm trong các cơ quan báo cáo" in " ".join(refused.stderr.split())
    typo = admin("obligations", "edit", one_off, "--add-submitter", "qng-so-tai-chnh")
    assert typo.returncode == 1 and "gần nhất: qng-so-tai-chinh" in " ".join(typo.stderr.split())


def test_a_passed_deadline_asks_first(admin: Admin) -> None:
    _, annual = _ingest(admin)
    admin.env["HANBAOCAO_NOW"] = "2026-12-23T09:00:00+07:00"
    asked = admin("obligations", "approve", annual, "--accept-suggestions")
    assert asked.returncode == 1
    message = " ".join(asked.stderr.split())
    assert "hạn nộp 21/12/2026 24:00 đã qua" in message
    assert "`--late open` hoặc `--late next`" in message
    assert admin.json("cycles", "list") == []  # nothing half-done
    chosen = admin("obligations", "approve", annual, "--accept-suggestions", "--late", "next")
    assert chosen.returncode == 0, chosen.stderr
    said = " ".join(chosen.stdout.split())
    assert "kỳ Năm 2026 đã quá hạn: không mở, bắt đầu từ kỳ sau" in said
    assert "kỳ tới Năm 2027" in said
    assert admin.json("cycles", "list") == []  # what it said is what happened


def test_unreadable_file_says_so(admin: Admin, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    result = admin("ingest", empty, "--port", admin.port)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"lỗi: {empty} là tệp rỗng (0 byte)" in result.stderr
