"""Issue 12's intake in a real browser (Playwright driving Debian's ``chromium``): an
administrator logs in, uploads the seed directive 6966/UBND-KTN, sees each field's
evidence highlighted in the text, changes the annual report's deadline and watches the
preview follow, picks a submitter, takes the suggested successor group, approves — the
clock (7/12/2026) is inside the running annual period, so its cycle opens at once — and
sees the cycle listed as open, and the directive as running. Screenshots are kept (see
``tests.portal.browser``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.tables import CycleState, Obligation, ObligationParty, ReportCycle
from tests.conftest import EXAMPLES
from tests.portal.browser import (
    VN,
    artifacts_dir,
    browsing,
    import_shipped_registry,
    log_in,
    portal_site,
)

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=VN)
SEED = EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
# cli.render.STYLE's colours as portal/static/intake.css paints them.
FREQUENCY_BG = "rgb(201, 241, 246)"  # #c9f1f6
VIA_BG = "rgb(243, 209, 243)"  # #f3d1f3


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str]]:
    secret = "intake-browser-secret-0123456789abcdef"
    with portal_site(tmp_path, monkeypatch, secret=secret) as site:
        with Session(site.engine) as session:
            import_shipped_registry(session)
            session.commit()
        with site.serve(now=NOW) as base:
            yield site.engine, base


def _annual(engine: Engine) -> int:
    with Session(engine) as s:
        ob = s.exec(select(Obligation).where(Obligation.via_phrase == "Sở Xây dựng")).one()
        assert ob.id is not None
        return ob.id


def test_upload_review_preview_pick_approve_and_open(served: tuple[Engine, str]) -> None:
    engine, base = served
    shots = artifacts_dir("intake-browser")
    with browsing(viewport={"width": 1400, "height": 1000}) as context:
        page = context.new_page()
        log_in(page, base, "/admin/directives")
        assert page.locator("h1").inner_text() == "Văn bản và nghĩa vụ báo cáo"

        page.locator("input[type=file]").set_input_files(str(SEED))
        with page.expect_navigation(url=re.compile(r"/admin/directives/\d+$")):
            page.get_by_role("button", name="Nạp và xem xét").click()
        assert page.locator("h1").inner_text() == "6966/UBND-KTN"
        ob = _annual(engine)
        form = page.locator(f"#ob-{ob}")

        # The clause's words, highlighted by field in the document text.
        via = page.locator(f"article.doc-text mark.ev-via[data-ob='{ob}']").first
        assert via.inner_text() == "Sở Xây dựng"
        assert via.evaluate("e => getComputedStyle(e).backgroundColor") == VIA_BG
        often = page.locator(f"article.doc-text mark.ev-frequency[data-ob='{ob}']").first
        assert often.inner_text() == "hàng năm"
        assert often.evaluate("e => getComputedStyle(e).backgroundColor") == FREQUENCY_BG
        # The preview with the province's default: Sở Xây dựng due 24/12/2026.
        preview = form.locator(".preview")
        preview.locator("td", has_text="Năm 2026").wait_for()
        assert "24/12/2026 24:00" in preview.inner_text()
        page.screenshot(path=str(shots / "1-review.png"), full_page=True)

        # A stated deadline: the preview follows as it is typed.
        form.locator(".f-deadline").fill("18/12")
        preview.locator("td", has_text="18/12/2026 24:00").wait_for()
        assert "15/12/2026 24:00" in preview.inner_text()  # the agencies, 3 working days before
        form.locator(".f-deadline").fill("31/2")
        preview.locator(".preview-problem").wait_for()
        assert "không có ngày này" in preview.inner_text()
        form.locator(".f-deadline").fill("18/12")
        preview.locator("td", has_text="18/12/2026 24:00").wait_for()

        # A submitter picked from the registry, the successor group taken, approved.
        form.locator(".f-add-submitter").fill("qng-so-tai-chinh")
        form.locator("input[name=accept_suggestion]").check()
        page.screenshot(path=str(shots / "2-edited.png"), full_page=True)
        with page.expect_navigation():
            form.get_by_role("button", name="Duyệt").click()
        form = page.locator(f"#ob-{ob}")
        done = form.locator(".ob-done").all_inner_texts()
        assert any("Sở Tài chính tỉnh Quảng Ngãi" in line for line in done), done
        assert any("đã duyệt (vanphong)" in line for line in done), done
        assert any("đã mở ngay kỳ Năm 2026" in line for line in done), done
        row = form.locator("table.ob-cycles tbody tr.cycle-open")
        assert row.count() == 1 and "Năm 2026" in row.inner_text()
        assert "15/12/2026 24:00" in row.inner_text() and "đang mở" in row.inner_text()
        form.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "3-approved.png"), full_page=True)

        page.goto(f"{base}/admin/directives")
        status = page.locator("table.intake-directives tbody tr td.status").inner_text()
        assert status == "đang chạy"
        page.screenshot(path=str(shots / "4-directives.png"), full_page=True)

    with Session(engine) as s:
        (cycle,) = s.exec(select(ReportCycle).where(ReportCycle.obligation_id == ob)).all()
        assert (cycle.period_key, cycle.state) == ("2026", CycleState.open)
        assert cycle.opens_at.astimezone(VN) == NOW
        picked = s.exec(
            select(ObligationParty).where(
                ObligationParty.obligation_id == ob, ObligationParty.role == "submitter"
            )
        ).all()
        assert any(p.group_key == "commune_committees" for p in picked)
        assert any(p.note and "vanphong" in p.note for p in picked)
