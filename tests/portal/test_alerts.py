"""The dashboard says what an operator must act on: a held channel and a failed Zalo token
refresh, each with the command that fixes it; nothing when all is well. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from models.store import audit
from notifications.holds import hold_due
from portal.alerts import operator_alerts
from portal.auth import credentials_path, hash_password, save_credentials
from tests.notifications.conftest import NOW, fill_outbox
from tests.portal.test_dashboard import PASSWORD, USER


def test_nothing_to_act_on_shows_nothing(session: Session) -> None:
    fill_outbox(session, "mailto://127.0.0.1:9?to=a@example.gov.vn", 3)
    assert operator_alerts(session, now=NOW) == []


def test_a_held_channel_says_how_many_wait_why_and_the_fix(session: Session) -> None:
    fill_outbox(session, "mailto://127.0.0.1:9?to=a@example.gov.vn", 4)
    assert hold_due(session, "email", reason="máy chủ thư từ chối đăng nhập (535)", now=NOW) == 4
    session.commit()
    (alert,) = operator_alerts(session, now=NOW)
    assert alert.title == "Kênh thư điện tử đang tạm giữ 4 tin nhắn"
    assert alert.detail == "máy chủ thư từ chối đăng nhập (535)"
    assert "hanbaocao outbox retry" in alert.fix


def test_a_failed_refresh_stays_in_view_for_a_week(session: Session) -> None:
    for at, oa in ((NOW - timedelta(days=2), "123"), (NOW - timedelta(days=30), "456")):
        audit(
            session,
            actor="zalo-token-refresh",
            action="zalo.refresh_failed",
            entity="zalo_oa",
            entity_id=None,
            data={"oa_id": oa, "error": "-14014 refresh token hết hạn"},
            at=at,
        )
    session.commit()
    (alert,) = operator_alerts(session, now=NOW)
    assert alert.title == "Không làm mới được token của Zalo OA 123"
    assert "hanbaocao zalo authorize --oa 123" in alert.fix


def test_the_dashboard_shows_them_above_the_matrix(session: Session, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.portal.test_dashboard import World, login, make_app

    fill_outbox(session, "mailto://127.0.0.1:9?to=a@example.gov.vn", 2)
    hold_due(session, "email", reason="chứng chỉ của máy chủ thư không hợp lệ", now=NOW)
    session.commit()
    save_credentials(credentials_path(tmp_path), USER, hash_password(PASSWORD))
    world = World(session.get_bind(), None, {})  # type: ignore[arg-type]
    client = TestClient(make_app(world, tmp_path), follow_redirects=False)
    assert login(client).status_code == 303
    page = client.get("/admin/")
    assert page.status_code == 200
    assert 'class="dash-alerts"' in page.text
    assert "Kênh thư điện tử đang tạm giữ 2 tin nhắn" in page.text
    assert "chứng chỉ của máy chủ thư không hợp lệ" in page.text
