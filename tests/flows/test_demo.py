"""The README's main job (``hanbaocao demo``) as a story, inside the session harness: both
seeds in, approved, one annual cycle of 6966/UBND-KTN run through the real flows."""

from __future__ import annotations

from notifications.mailsink import MailSink
from tests.conftest import EXAMPLES


def test_one_annual_cycle_end_to_end(app: MailSink) -> None:
    from flows.demo import run_demo

    lines: list[str] = []
    result = run_demo(EXAMPLES, say=lines.append)
    # Only what the seeds say is approved: 1503's untimed report to Bộ Tài chính is not.
    assert set(result.obligations) == {"6966-annual"}
    assert any("1503/UBND-KTTH" in line for line in result.for_review)
    # 109 submitters: Sở Xây dựng consolidates, Văn phòng UBND tỉnh is the recipient's office.
    assert sorted(result.left_out) == [
        "Sở Xây dựng tỉnh Quảng Ngãi",
        "Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi",
    ]
    assert result.lead_submits is False
    assert (result.on_time, result.late, result.missing) == (37, 4, 68)
    assert round(result.on_time_rate, 3) == round(37 / 109, 3)
    sent = {k: n for k, n in result.messages.items() if k[1] == "email" and k[2] == "sent"}
    assert sent[("opened", "email", "sent")] == 109
    assert sent[("overdue", "email", "sent")] == 72  # 109 - 37 on time
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
    assert any("cycle closed" in line for line in lines)
