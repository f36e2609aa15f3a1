"""The weekly Zalo token refresh deployment: present when Zalo is configured, weekly in
local time, recognised by the sync as its own (an unchanged one costs no write).
Its work (refresh each OA once, alert on refusal) is tested in
tests/notifications/test_zalo_cli.py."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

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


def test_the_flow_refreshes_and_fails_loudly_on_a_refusal(
    app: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sqlmodel import select

    from models.db import session_scope
    from models.tables import AuditEvent
    from notifications.fake_zalo import FakeZalo
    from notifications.zalo_tokens import FileTokenStore, TokenPair, pair_from_answer

    with FakeZalo(app_id="app", secret_key="secret", lifetime=120) as fake:
        tokens = tmp_path / "zalo_tokens.json"
        base = f"api={fake.base_url}&oauth={fake.base_url}&tokens={tokens}"
        monkeypatch.setenv("HANBAOCAO_ZNS_URL", f"zns://app:secret@4321?template=1001&{base}")
        FileTokenStore(tokens).put("4321", pair_from_answer(fake.issue_pair()))
        assert zalo_token_refresh() == {"4321": "ok"}
        assert fake.refresh_calls == 1

        FileTokenStore(tokens).put("4321", TokenPair("a", "spent", 4e9, 1.7e9))
        with pytest.raises(RuntimeError, match="4321"):
            zalo_token_refresh()
    with session_scope() as session:
        found = session.exec(select(AuditEvent).where(AuditEvent.action == "zalo.refresh_failed"))
        [event] = found.all()
    assert event.data["oa_id"] == "4321" and "-14014" in event.data["error"]
