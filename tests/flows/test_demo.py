"""The README's main job (``hanbaocao demo``) as a story, inside the session harness: both
seeds in, approved, one annual cycle of 6966/UBND-KTN run through the real flows."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from notifications.mailsink import MailSink
from tests.conftest import EXAMPLES


def test_one_annual_cycle_end_to_end(app: MailSink, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import events
    from flows.demo import run_demo

    before = _run_ids()
    emitted: list[dict[str, Any]] = []
    real_emit = events.emit

    def recording_emit(event: str, **kwargs: Any) -> None:
        emitted.append({"event": event, **kwargs})
        real_emit(event, **kwargs)

    monkeypatch.setattr(events, "emit", recording_emit)
    lines: list[str] = []
    result = run_demo(EXAMPLES, say=lines.append)
    # Only what the seeds say is approved: 1503's untimed report to Bộ Tài chính is not.
    assert set(result.obligations) == {"6966-annual"}
    assert any("1503/UBND-KTTH" in line for line in result.for_review)
    # 110 submitters: Sở Xây dựng consolidates, Văn phòng UBND tỉnh is the recipient's office.
    assert sorted(result.left_out) == [
        "Sở Xây dựng tỉnh Quảng Ngãi",
        "Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi",
    ]
    assert result.lead_submits is False
    assert (result.on_time, result.late, result.missing) == (37, 4, 69)
    assert round(result.on_time_rate, 3) == round(37 / 110, 3)
    sent = {k: n for k, n in result.messages.items() if k[1] == "email" and k[2] == "sent"}
    assert sent[("opened", "email", "sent")] == 110
    assert sent[("overdue", "email", "sent")] == 73  # 110 - 37 on time
    assert sent[("escalation-lead", "email", "sent")] == 1
    assert sent[("escalation-recipient", "email", "sent")] == 1
    assert sent[("consolidated-status", "email", "sent")] == 1
    # The lead is reminded of its own deadline to UBND tỉnh (Thursday 24/12/2026).
    lead_stages = {k[0] for k in sent if k[0].startswith("lead-")}
    assert lead_stages == {"lead-reminder-3", "lead-reminder-1", "lead-due-day"}
    assert result.outside == 0  # nothing to a ministry
    ids = app.message_ids()
    assert len(ids) == len(set(ids)) == sum(sent.values())
    lead = [m for m in app.messages() if m["Subject"].startswith("[Đôn đốc báo cáo]")]
    assert lead[0]["To"] == "qng-so-xay-dung@example.invalid"
    assert all(not m["To"].startswith("vn-") for m in app.messages())
    reminded = [m for m in app.messages() if m["Subject"].startswith("[Nhắc hạn tổng hợp]")]
    assert {m["To"] for m in reminded} == {"qng-so-xay-dung@example.invalid"}
    # Each agency by name, the issuer cited, the date's basis and a contact officer stated.
    text = result.opening_text
    assert "Công văn số 6966/UBND-KTN ngày 24/12/2024 của UBND tỉnh Quảng Ngãi" in text
    assert "quý cơ quan" not in text and "đã bắt đầu" not in text
    kinh_gui = text.split("\n", 1)[0].removeprefix("Kính gửi: ")
    assert f"đề nghị {kinh_gui} xây dựng báo cáo" in text
    assert "hạn mặc định do quản trị viên hệ thống đặt" in text
    assert "Đầu mối liên hệ:" in text and "24 giờ 00" in text
    assert any("đã đóng kỳ" in line for line in lines)
    _prefect_shows_trouble(result.cycle_id, emitted, before)


def _run_ids() -> set[str]:
    """Every flow run on the (session-wide) server, 200 a page."""
    from prefect import get_client

    ids: set[str] = set()
    with get_client(sync_client=True) as client:
        while page := client.read_flow_runs(limit=200, offset=len(ids)):
            ids |= {str(r.id) for r in page}
    return ids


def _prefect_shows_trouble(
    cycle_id: int | None, emitted: list[dict[str, Any]], before: set[str]
) -> None:
    """The overdue cycle's own run is not Completed, and says who is missing; every run of
    the story belongs to a deployment; events name the agency and the cycle."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from flows.outcome import OVERDUE, cycle_tag

    assert cycle_id is not None
    with get_client(sync_client=True) as client:
        tagged = FlowRunFilter(tags=FlowRunFilterTags(all_=[cycle_tag(cycle_id)]))
        # The harness serves the whole session: other tests' databases had a cycle 1 too.
        (run,) = [
            r for r in client.read_flow_runs(flow_run_filter=tagged) if str(r.id) not in before
        ]
        assert run.name == "6966/UBND-KTN · Năm 2026"
        assert run.state is not None and run.state.type.value == "FAILED"
        assert run.state.name == OVERDUE
        assert run.state.message is not None
        assert run.state.message.startswith("69/110 cơ quan chưa nộp báo cáo (hạn ")
        assert "và 49 cơ quan khác" in run.state.message
        assert run.deployment_id is not None
        story = [client.read_flow_run(UUID(i)) for i in sorted(_run_ids() - before)]
    assert len(story) >= 10  # two ingests, the opening, the sweeps
    detached = [r.name for r in story if r.deployment_id is None]
    assert not detached, detached
    received = [e for e in emitted if e["event"] == events_received()]
    assert len(received) == 41  # 37 on time, 4 late
    for event in received:
        related = {r["prefect.resource.role"]: r["prefect.resource.name"] for r in event["related"]}
        assert related["cycle"] == "6966/UBND-KTN · Năm 2026"
        assert event["name"] == f"{related['agency']} · 6966/UBND-KTN · Năm 2026"
        assert not event["name"].startswith("submission")


def events_received() -> str:
    from flows.events import SUBMISSION_RECEIVED

    return SUBMISSION_RECEIVED
