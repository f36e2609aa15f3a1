"""The weekly Zalo token refresh deployment: present when Zalo is configured, weekly in
local time, recognised by the sync as its own (an unchanged one costs no write).
Its work (refresh each OA once, alert on refusal) is tested in
tests/notifications/test_zalo_cli.py."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlmodel import Session

from flows.deployments import ZALO_REFRESH_KEY, Existing, ExistingSchedule, desired_specs, plan
from flows.zalo_refresh import REFRESH_CRON, REFRESH_KEY, refresh_spec, zalo_token_refresh

ZNS = "zns://app:secret@4321?template=1001"


def test_the_key_is_the_one_the_sync_knows() -> None:
    assert REFRESH_KEY == ZALO_REFRESH_KEY


@pytest.mark.parametrize(("variable", "present"), [(None, False), ("HANBAOCAO_ZNS_URL", True)])
def test_present_only_when_zalo_is_configured(
    session: Session, monkeypatch: pytest.MonkeyPatch, variable: str | None, present: bool
) -> None:
    for name in ("HANBAOCAO_ZALO_OA_URL", "HANBAOCAO_ZNS_URL"):
        monkeypatch.delenv(name, raising=False)
    if variable:
        monkeypatch.setenv(variable, ZNS)
    specs, _ = desired_specs(
        session, start=dt.date(2026, 1, 1), province="quang-ngai", work_pool_name=None
    )
    assert (REFRESH_KEY in {s.key for s in specs}) is present


def test_spec_is_weekly_in_local_time_and_secret_free() -> None:
    spec = refresh_spec()
    assert (spec.schedule.kind, spec.schedule.text) == ("cron", REFRESH_CRON)
    assert spec.schedule.timezone == "Asia/Ho_Chi_Minh"
    assert spec.flow_name == zalo_token_refresh.name and spec.parameters == {}
    assert spec.entrypoint == "flows.zalo_refresh.zalo_token_refresh"
    assert REFRESH_KEY in spec.tags


def test_sync_recognises_an_unchanged_refresh_deployment() -> None:
    spec = refresh_spec()
    flow_id = uuid.uuid4()
    existing = Existing(
        id=uuid.uuid4(),
        name=spec.name,
        flow_id=flow_id,
        version=spec.fingerprint,
        tags=spec.tags,
        schedules=(
            ExistingSchedule(
                uuid.uuid4(), spec.schedule_slug, "cron", REFRESH_CRON, "Asia/Ho_Chi_Minh"
            ),
        ),
    )
    todo = plan([spec], [existing], {spec.flow_name: flow_id}, prune=True)
    assert todo.unchanged == [spec.name] and not (todo.create or todo.delete or todo.update)
