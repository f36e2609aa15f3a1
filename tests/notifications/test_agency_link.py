"""Every message carries its addressee's own page (deadlines, calendar, open cycles):
in the text, the HTML and the Zalo form, whole, whatever the stage; and the queued
messages of a real cycle carry a working link to the addressee's page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from models.links import read_token
from models.tables import Notification
from notifications.messages import render
from notifications.vocabulary import ZALO_TEXT_LIMIT
from tests.notifications.test_messages import ALL_STAGES, make_ctx

PAGE = "https://baocao.quangngai.gov.vn/agency/" + "x" * 160


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_stage_carries_the_agency_page_whole(stage: str) -> None:
    long_clause = "báo cáo kết quả thực hiện " * 200  # the Zalo form must squeeze, not the link
    message = render(stage, make_ctx(agency_page=PAGE, clause=long_clause))
    assert PAGE in message.text
    assert f'href="{PAGE}"' in message.html
    assert f"Trang của cơ quan: {PAGE}" in message.short
    assert len(message.short) <= ZALO_TEXT_LIMIT
    assert "Lịch hạn nộp và các kỳ báo cáo của cơ quan" in message.text


def test_without_a_page_nothing_is_said() -> None:
    message = render("opened", make_ctx())
    assert "Trang của cơ quan" not in message.text + message.short


def test_a_page_that_is_not_a_web_link_is_refused() -> None:
    with pytest.raises(ValueError):
        make_ctx(agency_page="javascript:alert(1)")


def test_queued_messages_link_each_addressee_to_its_own_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from directives.parse import parse_file
    from flows.demo import approve_seeds
    from models.cycles import store_cycle
    from models.db import make_engine
    from models.registry import import_registry, load_registry, shipped_registry
    from models.schema import create_schema
    from models.store import save_directive
    from tests.conftest import EXAMPLES

    key = "agency-link-tests-secret-0123456789"
    monkeypatch.setenv("HANBAOCAO_SECRET_KEY", key)
    monkeypatch.setenv("HANBAOCAO_PUBLIC_URL", "http://portal.test")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    create_schema(engine)
    opened = dt.datetime(2026, 11, 20, 8, 5, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with Session(engine) as s:
        import_registry(s, load_registry(shipped_registry()))
        directive = parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt")
        save_directive(s, directive, actor="t", issuer_province="quang-ngai")
        chosen = approve_seeds(s, province="quang-ngai")
        from models.tables import Obligation

        ob = s.get(Obligation, chosen["6966-annual"])
        assert ob is not None
        from models.workdays import packaged_calendar
        from notifications.notices import queue_steps

        steps = store_cycle(s, ob, now=opened, province="quang-ngai").steps
        queue_steps(s, steps, now=opened, calendar=packaged_calendar())
        s.commit()
        rows = s.exec(
            select(Notification)
            .where(Notification.stage == "opened")
            .order_by(col(Notification.id))
        ).all()
    assert rows
    for row in rows[:20]:
        text = str(row.payload["text"])
        url = next(w for w in text.split() if w.startswith("http://portal.test/agency/"))
        claims = read_token(url.rsplit("/", 1)[1], purpose="agency", now=opened, key=key.encode())
        assert claims.agency_id == row.agency_id and claims.cycle_id is None
    engine.dispose()
