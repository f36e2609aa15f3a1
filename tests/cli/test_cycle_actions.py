"""Issue 13's levers as an operator runs them, on SQLite and PostgreSQL, on the demo's
data: 6966/UBND-KTN's annual 2026 cycle opened for the province's 110 agencies (clock on
7/12/2026). `cycles show --json`, excuse, extend, pause/resume, resend and `outbox retry
--failed` each change exactly what they say, and bad input gets one Vietnamese line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.cli.conftest import cli_env, run_cli
from tests.conftest import EXAMPLES
from tests.ports import refusing_port

ANNUAL = EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
NOW = "2026-12-07T09:00:00+07:00"
FINANCE, HEALTH, BUILDING = "qng-so-tai-chinh", "qng-so-y-te", "qng-so-xay-dung"


class Operator:
    def __init__(self, home: Path, url: str | None) -> None:
        extra = {"HANBAOCAO_DATABASE_URL": url} if url else {}
        self.env = cli_env(home, HANBAOCAO_NOW=NOW, **extra)
        self.url = url or f"sqlite:///{home / 'data' / 'hanbaocao.db'}"

    def __call__(self, *args: str | int) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *(str(a) for a in args))

    def ok(self, *args: str | int) -> str:
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return " ".join(result.stdout.split())

    def json(self, *args: str | int) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def operator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Operator]:
    url = request.getfixturevalue("pg_database") if request.param == "postgresql" else None
    op = Operator(tmp_path, url)
    for args in (("db", "upgrade"), ("agencies", "import")):
        op.ok(*args)
    with refusing_port() as port:  # no Prefect server there: ingest runs in-process
        found = op.json("ingest", ANNUAL, "--port", str(port))  # one file: one object
    annual = next(
        o["id"]
        for o in found["obligations"]
        if o["lead"] and o["lead"]["code"] == BUILDING and o["frequency"] == "annual"
    )
    op.ok("obligations", "approve", annual, "--accept-suggestions")
    try:
        yield op
    finally:
        if url:
            from models.schema import drop_schema

            engine = make_engine(url)
            drop_schema(engine)
            engine.dispose()


def _cycle(op: Operator) -> dict[str, Any]:
    (cycle,) = op.json("cycles", "list", "--open")
    shown: dict[str, Any] = op.json("cycles", "show", cycle["id"])
    return shown


def _row(shown: dict[str, Any], code: str) -> dict[str, Any]:
    return next(a for a in shown["agencies"] if a["code"] == code)


@pytest.mark.slow
def test_show_excuse_extend_for_scripts(operator: Operator) -> None:
    op = operator
    shown = _cycle(op)
    cid = shown["id"]
    assert shown["state"] == "open" and len(shown["agencies"]) == 110
    assert _row(shown, FINANCE) == {
        **_row(shown, FINANCE),
        "state": "pending",
        "deadline": "2026-12-21",
        "versions": 0,
        "extended": False,
    }

    said = op.ok("cycles", "excuse", cid, FINANCE, "--reason", "đã sáp nhập")
    assert "Đã miễn nộp" in said
    said = op.ok(
        "cycles", "extend", cid, HEALTH, "--until", "30/12/2026", "--reason", "thiếu số liệu"
    )
    assert "đến 30/12/2026" in said
    # Past Sở Xây dựng's own deadline to UBND tỉnh (24/12): done, with a warning.
    assert "Lưu ý: hạn mới của Sở Y tế tỉnh Quảng Ngãi (30/12/2026 24:00) muộn hơn hạn" in said
    assert "Sở Xây dựng tỉnh Quảng Ngãi phải báo cáo Ủy ban nhân dân tỉnh Quảng Ngãi" in said
    after = op.json("cycles", "show", cid)
    assert _row(after, FINANCE)["state"] == "excused"
    assert (_row(after, HEALTH)["deadline"], _row(after, HEALTH)["extended"]) == (
        "2026-12-30",
        True,
    )
    # Exactly those two changed.
    changed = {
        a["code"] for a, b in zip(shown["agencies"], after["agencies"], strict=True) if a != b
    }
    assert changed == {FINANCE, HEALTH}
    told = op.sql("SELECT stage, payload FROM notification WHERE stage LIKE 'extended-%'")
    assert told and all("30/12/2026" in str(p) for _, p in told)
    actions = op.sql("SELECT action, reason FROM cycle_action ORDER BY id")
    assert actions == [("excuse", "đã sáp nhập"), ("extend", "thiếu số liệu")]

    for args, wanted in (
        (("excuse", cid, HEALTH), "Cần ghi lý do"),
        (("extend", cid, HEALTH, "--until", "31/02/2026", "--reason", "x"), "Ngày không hợp lệ"),
        (("extend", cid, HEALTH, "--until", "26/12/2026", "--reason", "x"), "ngày nghỉ"),
        (("excuse", cid, "qng-khong-co", "--reason", "x"), "Không có cơ quan"),
        (("show", 999), "Không có kỳ báo cáo #999"),
    ):
        result = op("cycles", *args)
        assert result.returncode == 1 and result.stderr.startswith("lỗi:"), result.stderr
        assert wanted in " ".join(result.stderr.split())
        assert "Traceback" not in result.stderr
    assert len(op.sql("SELECT id FROM cycle_action")) == 2  # nothing half-written


@pytest.mark.slow
def test_pause_resume_resend_and_retry(operator: Operator) -> None:
    op = operator
    cid = _cycle(op)["id"]
    assert "Đã tạm dừng" in op.ok("cycles", "pause", cid, "--reason", "rà soát danh sách")
    paused = op.json("cycles", "show", cid)
    assert paused["state"] == "paused"
    assert {a["next_action"] for a in paused["agencies"]} == {None}
    again = op("cycles", "pause", cid)
    assert again.returncode == 1 and "đang tạm dừng rồi" in again.stderr
    refused = op("cycles", "resend", cid, FINANCE)
    assert refused.returncode == 1 and "tạm dừng" in refused.stderr

    # Resumed a week later: every agency waits for its next reminder, none stale.
    op.env["HANBAOCAO_NOW"] = "2026-12-14T09:00:00+07:00"
    assert "Đã tiếp tục kỳ" in op.ok("cycles", "resume", cid)
    resumed = op.json("cycles", "show", cid)
    assert resumed["state"] == "open"
    nexts = {(a["next_action"], a["next_action_at"]) for a in resumed["agencies"]}
    # reminder-7 (10/12) passed while paused: skipped; reminder-3 is next.
    assert nexts == {("reminder-3", "2026-12-16T08:00:00+07:00")}

    # Resend: that agency's opening notice is due again now; the others are untouched.
    op.sql("UPDATE notification SET state = 'sent', attempts = 1")
    said = op.ok("cycles", "resend", cid, HEALTH)
    assert "gửi lại" in said
    pending = op.sql(
        "SELECT a.code, n.stage FROM notification n JOIN agency a ON a.id = n.agency_id WHERE n.state = 'pending'"
    )
    assert pending and {code for code, _ in pending} == {HEALTH}
    assert {stage for _, stage in pending} == {"opened"}

    # outbox retry --failed: the failed rows (and only those) are due again.
    op.sql("UPDATE notification SET state = 'failed', claimed_at = created_at WHERE state = 'sent'")
    failed = len(op.sql("SELECT id FROM notification WHERE state = 'failed'"))
    said = op.ok("outbox", "retry", "--failed")
    assert f"{failed} tin đã thất bại được xếp gửi lại" in said
    assert op.sql("SELECT id FROM notification WHERE state = 'failed'") == []
    bad = op("outbox", "retry", "--failed", "--since", "hôm qua")
    assert bad.returncode == 1 and "không phải một ngày" in bad.stderr
    kinds = [a for (a,) in op.sql("SELECT action FROM cycle_action ORDER BY id")]
    assert kinds == ["pause", "resume", "resend", "retry"]
