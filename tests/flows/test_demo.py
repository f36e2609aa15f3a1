"""The README's main job (``hanbaocao demo``) as a story, inside the session harness: both
seeds in, approved, one annual cycle of 6966/UBND-KTN run through the real flows."""

from __future__ import annotations

from notifications.mailsink import MailSink
from tests.conftest import EXAMPLES


def test_one_annual_cycle_end_to_end(app: MailSink) -> None:
    from flows.demo import run_demo

    lines: list[str] = []
    result = run_demo(EXAMPLES, say=lines.append)
    assert set(result.obligations) >= {"6966-annual"}
    assert (result.on_time, result.late, result.missing) == (37, 4, 70)
    assert round(result.on_time_rate, 3) == round(37 / 111, 3)
    sent = {k: n for k, n in result.messages.items() if k[1] == "email" and k[2] == "sent"}
    assert sent[("opened", "email", "sent")] == 111
    assert sent[("overdue", "email", "sent")] == 74  # 111 - 37 on time
    assert sent[("escalation-lead", "email", "sent")] == 1
    assert sent[("escalation-recipient", "email", "sent")] == 1
    assert sent[("consolidated-status", "email", "sent")] == 1
    ids = app.message_ids()
    assert len(ids) == len(set(ids)) == sum(sent.values())
    lead = [m for m in app.messages() if m["Subject"].startswith("[Đôn đốc báo cáo]")]
    assert lead[0]["To"] == "qng-so-xay-dung@example.invalid"
    assert any("cycle closed" in line for line in lines)
