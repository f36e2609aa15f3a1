"""The flows as Prefect runs them (one session-wide test harness): ingest with its review
artifact, open_cycle twice, sweeps through a simulated year with real SMTP delivery,
the cycle's table artifact under its stable key, run names, custom events."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from models.db import get_engine
from models.tables import Notification, NotificationState, Submission
from notifications.mailsink import MailSink
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"


def _approved() -> int:
    from flows.demo import approve_seeds, give_contacts
    from models.registry import import_registry, load_registry, shipped_registry

    with Session(get_engine(), expire_on_commit=False) as s:
        import_registry(s, load_registry(shipped_registry()))
        give_contacts(s, zalo_ids=0)
        chosen = approve_seeds(s, province="quang-ngai")
        s.commit()
    return chosen["6966-annual"]


def _artifact(key: str, flow_run_id: Any = None) -> Any:
    """The artifacts under ``key`` (of one flow run when given: the harness is shared by
    the whole session, and the demo ingests the same seed)."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    run = ArtifactFilterFlowRunId(any_=[flow_run_id]) if flow_run_id else None
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]), flow_run_id=run)
        )
    return found


def _run(flow_run_id: Any) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def test_ingest_stores_the_directive_and_publishes_a_review(app: MailSink) -> None:
    from flows.ingest import ingest

    state = ingest(path=str(SEED), return_state=True)
    summary = state.result()
    assert summary["number"] == "6966/UBND-KTN"
    assert summary["outcome"] == "created"
    assert len(summary["obligations"]) == 4
    assert _run(state.state_details.flow_run_id).name == f"ingest · {SEED.name}"
    (artifact,) = _artifact("ingest-6966-ubnd-ktn", state.state_details.flow_run_id)
    assert artifact.type == "markdown"
    assert "Sở Xây dựng" in artifact.data and "| hằng năm |" in artifact.data
    assert ingest(path=str(SEED))["outcome"] == "unchanged"


def test_a_year_of_one_cycle_runs_itself(app: MailSink) -> None:
    from flows.cycles import open_cycle, sweep
    from flows.ingest import ingest
    from models.cycles import cycle_stages

    ingest(path=str(SEED))
    oid = _approved()
    opening = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)
    state = open_cycle(obligation_id=oid, now=opening, return_state=True)
    opened = state.result()
    assert _run(state.state_details.flow_run_id).name == "6966/UBND-KTN · Năm 2026"
    # 112 less Sở Xây dựng (the lead) and Văn phòng UBND tỉnh (the recipient's office).
    assert (opened["period"], opened["created"], opened["new_submissions"]) == ("2026", True, 110)
    again = open_cycle(obligation_id=oid, period_key="2026", now=opening)
    assert (again["created"], again["new_submissions"], again["queued"]) == (False, 0, 0)

    first = sweep(now=opening)
    assert first["dispatch"]["sent"] == 110  # the opening notices, once
    assert len(app.message_ids()) == len(set(app.message_ids())) == 110
    subjects = {m["Subject"] for m in app.messages()}
    assert any("Năm 2026" in s or "năm 2026" in s for s in subjects)

    with Session(get_engine()) as s:
        from models.tables import Obligation, ReportCycle

        cycle = s.exec(select(ReportCycle)).one()
        ob = s.get(Obligation, oid)
        assert ob is not None
        stages = {st.name: st.at for st in cycle_stages(ob, cycle)}
    results = {}
    for name in ("reminder-7", "reminder-3"):
        results[name] = sweep(now=stages[name] + dt.timedelta(minutes=5))
    with Session(get_engine()) as s:
        from models.cycles import mark_submitted

        # Ten agencies hand in before the deadline.
        for sub in s.exec(select(Submission).limit(10)):
            mark_submitted(s, sub, at=stages["reminder-1"], cycle=cycle)
        s.commit()
    for name in ("lead-reminder-3", "overdue", "lead-due-day", "escalation-recipient"):
        results[name] = sweep(now=stages[name] + dt.timedelta(minutes=5))
    assert results["reminder-7"]["queued"]["reminder-7/email"] == 110
    # The day after the deadline: the agencies' overdue notices and the lead's escalation.
    assert stages["escalation-lead"] == stages["overdue"]
    assert results["overdue"]["queued"]["overdue/email"] == 100
    assert results["overdue"]["overdue"] == [cycle.id]
    assert results["overdue"]["queued"]["escalation-lead/email"] == 1
    lead_mail = [m for m in app.messages() if m["Subject"].startswith("[Đôn đốc báo cáo]")]
    assert len(lead_mail) == 1 and "100 cơ quan chưa nộp" in lead_mail[0]["Subject"]
    # The lead's own deadline (24/12/2026), reminded three working days before and on it.
    assert results["lead-reminder-3"]["queued"]["lead-reminder-3/email"] == 1
    assert results["lead-due-day"]["queued"]["lead-due-day/email"] == 1
    reminded = [m for m in app.messages() if m["Subject"].startswith("[Nhắc hạn tổng hợp]")]
    assert reminded and all("24/12/2026" in m["Subject"] for m in reminded)

    closing = sweep(now=stages["escalation-recipient"] + dt.timedelta(days=5))  # Mon 4/1/2027
    assert closing["closed"] == [cycle.id]
    status_mail = [m for m in app.messages() if m["Subject"].startswith("[Tình hình nộp báo cáo]")]
    assert len(status_mail) == 1 and "10/110" in status_mail[0]["Subject"]
    files = {a.get_filename(): a.get_content() for a in status_mail[0].iter_attachments()}
    assert sorted(files) == [
        "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.csv",
        "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.xlsx",
    ]
    csv_text = files["Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.csv"]
    assert csv_text.count("Đã nộp đúng hạn") == 10
    assert len(app.message_ids()) == len(set(app.message_ids()))  # nothing sent twice

    with Session(get_engine()) as s:
        rows = s.exec(select(Notification)).all()
    assert {r.state for r in rows if r.channel == "email"} == {NotificationState.sent}
    # Sở Xây dựng's Zalo contact, with Zalo not configured here: failed, and saying why.
    failed = [r for r in rows if r.state != NotificationState.sent]
    assert failed and all(r.channel == "zalo" for r in failed)
    assert all("HANBAOCAO_ZALO_OA_URL" in (r.last_error or "") for r in failed)

    # The cycle's table artifact: one key, refreshed (latest version shows the late ones).
    versions = sorted(_artifact(f"cycle-6966-ubnd-ktn-o{oid}-2026"), key=lambda a: a.created)
    assert len(versions) >= 2
    table = versions[-1]
    assert table.type == "table"
    cells = json.loads(table.data)
    assert len(cells) == 110
    states = {row["Trạng thái"] for row in cells}
    assert states == {"Quá hạn, chưa nộp", "Đã nộp đúng hạn"}


def test_custom_events_reach_prefect(app: MailSink) -> None:
    from flows.cycles import open_cycle, sweep
    from flows.ingest import ingest
    from models.cycles import cycle_stages

    ingest(path=str(SEED))
    oid = _approved()
    opened = open_cycle(obligation_id=oid, now=dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN))
    with Session(get_engine()) as s:
        from models.tables import Obligation, ReportCycle

        cycle = s.get(ReportCycle, opened["cycle_id"])
        ob = s.get(Obligation, oid)
        assert cycle is not None and ob is not None
        stages = {st.name: st.at for st in cycle_stages(ob, cycle)}
    since = dt.datetime.now(dt.UTC)  # the harness is shared: only this test's events
    sweep(now=stages["overdue"] + dt.timedelta(minutes=5), dispatch=False)
    sweep(now=stages["escalation-lead"] + dt.timedelta(minutes=5))
    names = _events({"hanbaocao.cycle.overdue", "hanbaocao.escalation.sent"}, since=since)
    assert [e["payload"]["missing"] for e in names["hanbaocao.cycle.overdue"]] == [110]
    sent = names["hanbaocao.escalation.sent"]
    assert {(e["payload"]["stage"], e["payload"]["channel"]) for e in sent} == {
        ("escalation-lead", "email")
    }


def _events(
    wanted: set[str], *, since: dt.datetime, timeout: float = 30.0
) -> dict[str, list[dict[str, Any]]]:
    """Events as the server stored them (the client sends them in the background)."""
    from prefect import get_client

    deadline = time.monotonic() + timeout
    found: dict[str, list[dict[str, Any]]] = {}
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            body = {
                "filter": {
                    "event": {"prefix": ["hanbaocao."]},
                    "occurred": {"since": since.isoformat()},
                },
                "limit": 50,
            }
            answer = client.request("POST", "/events/filter", json=body).json()
        found = {}
        for event in answer.get("events", []):
            found.setdefault(event["event"], []).append(event)
        if wanted <= set(found):
            return found
        time.sleep(0.5)
    raise AssertionError(f"events not seen within {timeout}s: {wanted - set(found)}")


def test_issuer_province_from_the_header() -> None:
    from flows.ingest import issuer_province

    assert issuer_province("UBND tỉnh Kon Tum") == "kon-tum"
    assert issuer_province("ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI") == "quang-ngai"
    assert issuer_province("Bộ Tài chính") is None
