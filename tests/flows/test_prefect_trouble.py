"""What operators see of trouble in Prefect: schedules in words, the Automation on
``hanbaocao.cycle.overdue`` (created once however often ``sync`` runs), the message of
an overdue cycle's run state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect import get_client
from prefect.utilities.asyncutils import run_coro_as_sync

from directives.parsed import Deadline
from flows.deployments import OPERATOR_BLOCK, OVERDUE_AUTOMATION, ensure_overdue_automation
from flows.outcome import overdue_message
from flows.specs import cron_words, schedule_words, sweep_spec
from models.calendar import OpeningPolicy, opening_rrule

START = dt.date(2026, 1, 10)


def _rule(frequency: str, **deadline: object) -> str:
    rule = Deadline(**{"kind": "none", **deadline})  # type: ignore[arg-type]
    return opening_rrule(frequency, rule, start=START, policy=OpeningPolicy(province="quang-ngai"))


@pytest.mark.parametrize(
    ("frequency", "deadline", "words"),
    [
        ("annual", {}, "Hằng năm, mở kỳ 08:00 ngày 21/11 (lần đầu 21/11/2026)"),
        (
            "quarterly",
            {},
            "Hằng quý, mở kỳ 08:00 ngày 05/03, 05/06, 05/09 và 05/12 (lần đầu 05/03/2026)",
        ),
        ("semiannual", {}, "6 tháng một lần, mở kỳ 08:00 ngày 28/05 và 28/11 (lần đầu 28/05/2026)"),
        ("monthly", {}, "Hằng tháng, mở kỳ 08:00 ngày 12 (lần đầu 12/01/2026)"),
        ("weekly", {}, "Hằng tuần, mở kỳ 08:00 thứ Năm (lần đầu 15/01/2026)"),
    ],
)
def test_opening_schedules_read_in_words(
    frequency: str, deadline: dict[str, object], words: str
) -> None:
    assert schedule_words(_rule(frequency, **deadline)) == words


def test_a_rule_of_another_shape_is_shown_as_it_is() -> None:
    assert schedule_words("RRULE:FREQ=DAILY") == "Lịch RRULE: RRULE:FREQ=DAILY"
    assert cron_words("*/15 * * * *") == "Mỗi 15 phút"
    assert "**Lịch:** Mỗi 15 phút, giờ Việt Nam." in sweep_spec().description


def test_overdue_message_names_the_first_agencies_and_counts_the_rest() -> None:
    names = [f"Cơ quan {n:02d}" for n in range(25)]
    text = overdue_message(names, due="21/12/2026", total=109)
    assert text.startswith("25/109 cơ quan chưa nộp báo cáo (hạn 21/12/2026): Cơ quan 00; ")
    assert "Cơ quan 19 và 5 cơ quan khác." in text and "Cơ quan 20" not in text


# --- the Automation, on the session's Prefect server ---------------------------------------


@pytest.fixture
def no_automation(prefect_harness: None) -> Iterator[None]:
    def wipe() -> None:
        async def go() -> None:
            async with get_client() as client:
                for found in await client.read_automations_by_name(OVERDUE_AUTOMATION):
                    await client.delete_automation(found.id)

        run_coro_as_sync(go())

    wipe()
    yield
    wipe()


def _ensure() -> tuple[str, int]:
    async def go() -> tuple[str, int]:
        async with get_client() as client:
            said = await ensure_overdue_automation(client)
            return said, len(await client.read_automations_by_name(OVERDUE_AUTOMATION))

    result: tuple[str, int] = run_coro_as_sync(go())
    return result


def test_without_the_operators_block_sync_says_so_and_creates_nothing(
    no_automation: None,
) -> None:
    said, count = _ensure()
    assert count == 0
    assert said.startswith("chưa tạo Automation báo quá hạn") and OPERATOR_BLOCK in said


def test_the_overdue_automation_is_created_once_on_two_syncs(no_automation: None) -> None:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(name="ops", url="http://127.0.0.1:9/hook")
    block.save(OPERATOR_BLOCK, overwrite=True)
    first, count = _ensure()
    assert first.startswith("đã tạo Automation") and count == 1
    second, count = _ensure()
    assert second == f"Automation “{OVERDUE_AUTOMATION}” không đổi" and count == 1

    async def read() -> list[dict[str, object]]:
        async with get_client() as client:
            (found,) = await client.read_automations_by_name(OVERDUE_AUTOMATION)
            return [found.trigger.model_dump(mode="json"), found.actions[0].model_dump()]

    trigger, action = run_coro_as_sync(read())
    assert trigger["expect"] == ["hanbaocao.cycle.overdue"]
    assert action["type"] == "send-notification"


def test_the_servers_we_start_look_400_days_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every obligation's next opening is an upcoming run: the horizon is one Prefect
    accepts (it refuses a number of seconds), and an operator's own value wins."""
    from prefect.settings.models.server.services import ServerServicesSchedulerSettings

    from flows.server import SCHEDULER_HORIZON_SETTING, server_env

    env = server_env(tmp_path, 4200)
    monkeypatch.setenv(SCHEDULER_HORIZON_SETTING, env[SCHEDULER_HORIZON_SETTING])
    assert ServerServicesSchedulerSettings().max_scheduled_time == dt.timedelta(days=400)
    own = server_env(tmp_path, 4200, {SCHEDULER_HORIZON_SETTING: "P120D"})
    assert own[SCHEDULER_HORIZON_SETTING] == "P120D"
