"""The agency history page and the requests pages over HTTP, on SQLite and PostgreSQL:
what is refused (no login, no CSRF token, no confirmation, no reason, a bad date) changes
nothing and says why in Vietnamese; what is confirmed changes exactly its row."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.agency import Agency
from models.cycle_controls import AgencyRequest, CycleAction, RequestState
from models.db import TZ
from models.tables import Submission, SubmissionState, SubmissionVersion
from tests.portal.conftest import AFTER_DUE, Clock, Harness, Seed, make_app, pdf_bytes

ADMIN, PASSWORD = "vanphong", "mat-khau-thu-nghiem-2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def site(
    engine: Engine, seed: Seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    from portal.auth import hash_password

    monkeypatch.setenv("HANBAOCAO_ADMIN_USER", ADMIN)
    monkeypatch.setenv("HANBAOCAO_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
    monkeypatch.delenv("HANBAOCAO_ENV", raising=False)
    data_dir = tmp_path / "data"
    clock = Clock(AFTER_DUE)
    app = make_app(engine, data_dir, clock, [])
    with TestClient(app, base_url="http://portal.test", follow_redirects=False) as client:
        yield Harness(app, client, engine, data_dir, clock, seed)


def _login(site: Harness) -> None:
    token = CSRF.search(site.client.get("/admin/login").text)
    assert token
    form = {"csrf": token.group(1), "user": ADMIN, "password": PASSWORD}
    assert site.client.post("/admin/login", data=form).status_code == 303


def _code(site: Harness, agency_id: int) -> str:
    with Session(site.engine) as s:
        agency = s.get(Agency, agency_id)
        assert agency is not None
        return agency.code


def _state(site: Harness, agency_id: int) -> str:
    with Session(site.engine) as s:
        sub = s.exec(
            select(Submission).where(
                Submission.cycle_id == site.seed.cycle_id, Submission.agency_id == agency_id
            )
        ).one()
        return str(sub.state)


def _actions(site: Harness) -> int:
    with Session(site.engine) as s:
        return len(s.exec(select(CycleAction)).all())


def test_excuse_is_refused_until_confirmed_and_then_done(site: Harness) -> None:
    page = f"/admin/cycles/{site.seed.cycle_id}/agencies/{_code(site, site.seed.agency_id)}"
    assert site.client.get(page).status_code == 303  # to the login
    _login(site)
    shown = site.client.get(page)
    assert shown.status_code == 200 and site.seed.agency_name in shown.text
    assert "Quá hạn, chưa nộp" in shown.text
    token = CSRF.search(shown.text)
    assert token
    csrf = token.group(1)

    no_token = site.client.post(page, data={"action": "excuse", "reason": "x"})
    assert no_token.status_code == 403
    no_reason = site.client.post(page, data={"csrf": csrf, "action": "excuse", "reason": " "})
    assert no_reason.status_code == 400 and "Cần ghi lý do" in no_reason.text
    bad_day = site.client.post(
        page, data={"csrf": csrf, "action": "extend", "until": "30-02-2026", "reason": "x"}
    )
    assert bad_day.status_code == 400 and "Ngày không hợp lệ" in bad_day.text
    asked = site.client.post(page, data={"csrf": csrf, "action": "excuse", "reason": "sáp nhập"})
    assert asked.status_code == 200 and "Xác nhận" in asked.text
    assert _state(site, site.seed.agency_id) in (SubmissionState.pending, SubmissionState.late)
    assert _actions(site) == 0  # nothing done before the confirmation

    done = site.client.post(
        page, data={"csrf": csrf, "action": "excuse", "reason": "sáp nhập", "confirm": "1"}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=excuse")
    assert _state(site, site.seed.agency_id) == "excused"
    assert _state(site, site.seed.other_agency_id) != "excused"
    assert _actions(site) == 1
    again = site.client.get(done.headers["location"])
    assert "Đã miễn nộp." in again.text and "Được miễn nộp" in again.text


def test_the_extend_confirmation_warns_past_the_leads_own_deadline(site: Harness) -> None:
    """Sở Xây dựng reports to UBND tỉnh by 24/12/2026: extending an agency to that day
    asks plainly; to 28/12 the confirmation says the lead will consolidate without it,
    and the extension is still done once confirmed."""
    page = f"/admin/cycles/{site.seed.cycle_id}/agencies/{_code(site, site.seed.agency_id)}"
    _login(site)
    token = CSRF.search(site.client.get(page).text)
    assert token
    form = {"csrf": token.group(1), "action": "extend", "reason": "chờ số liệu"}

    within = site.client.post(page, data={**form, "until": "2026-12-24"})
    assert within.status_code == 200 and "đến 24/12/2026" in within.text
    assert 'data-testid="confirm-warning"' not in within.text
    past = site.client.post(page, data={**form, "until": "2026-12-28"})
    assert past.status_code == 200 and "đến 28/12/2026" in past.text
    warning = re.search(r'data-testid="confirm-warning">([^<]+)<', past.text)
    assert warning, past.text
    said = " ".join(warning.group(1).split())
    assert said.startswith(f"Lưu ý: hạn mới của {site.seed.agency_name} (28/12/2026 24:00)")
    assert "muộn hơn hạn Sở Xây dựng tỉnh Quảng Ngãi phải báo cáo" in said
    assert "(24/12/2026 24:00)" in said
    assert _actions(site) == 0  # asked, not done

    done = site.client.post(page, data={**form, "until": "2026-12-28", "confirm": "1"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=extend")
    assert _actions(site) == 1


def test_approving_an_extension_request_past_the_leads_deadline_warns(site: Harness) -> None:
    url = site.url()
    token = CSRF.search(site.client.get(f"{url}/requests").text)
    assert token
    form = {"csrf": token.group(1), "kind": "extension", "until": "2026-12-28", "reason": "x"}
    assert site.client.post(f"{url}/requests", data=form).status_code == 303

    _login(site)
    listed = site.client.get("/admin/requests")
    (rid,) = re.findall(r'data-request="(\d+)"', listed.text)
    csrf = CSRF.search(listed.text)
    assert csrf
    decision = {"csrf": csrf.group(1), "decision": "approve", "answer": "Đồng ý"}
    within = site.client.post(f"/admin/requests/{rid}", data={**decision, "until": "2026-12-24"})
    assert within.status_code == 200 and "hạn mới 24/12/2026" in within.text
    assert 'data-testid="confirm-warning"' not in within.text
    past = site.client.post(f"/admin/requests/{rid}", data={**decision, "until": "2026-12-28"})
    assert past.status_code == 200 and "hạn mới 28/12/2026" in past.text
    warning = re.search(r'data-testid="confirm-warning">([^<]+)<', past.text)
    assert warning and "muộn hơn hạn Sở Xây dựng tỉnh Quảng Ngãi" in warning.group(1)


def test_unknown_cycle_or_agency_is_a_vietnamese_404(site: Harness) -> None:
    _login(site)
    for path in (
        f"/admin/cycles/{site.seed.cycle_id}/agencies/qng-khong-co",
        "/admin/cycles/9999/agencies/1",
        f"/admin/cycles/{site.seed.cycle_id}/agencies/{site.seed.outsider_id}",
    ):
        response = site.client.get(path)
        assert response.status_code == 404, path
        assert "Không" in response.text and "Traceback" not in response.text


def test_an_agency_request_refused_with_a_reason(site: Harness) -> None:
    url = site.url()
    page = site.client.get(f"{url}/requests")
    assert page.status_code == 200 and "Xin gia hạn" in page.text
    token = CSRF.search(page.text)
    assert token
    form = {"csrf": token.group(1), "kind": "explanation", "reason": "Mạng gián đoạn"}
    assert site.client.post(f"{url}/requests", data={**form, "csrf": "x"}).status_code == 403
    sent = site.client.post(f"{url}/requests", data=form)
    assert sent.status_code == 303
    twice = site.client.post(f"{url}/requests", data=form)
    assert twice.status_code == 400 and "đang chờ trả lời" in twice.text

    _login(site)
    listed = site.client.get("/admin/requests")
    assert "Mạng gián đoạn" in listed.text
    (rid,) = re.findall(r'data-request="(\d+)"', listed.text)
    csrf = CSRF.search(listed.text)
    assert csrf
    bare = site.client.post(
        f"/admin/requests/{rid}", data={"csrf": csrf.group(1), "decision": "refuse"}
    )
    assert bare.status_code == 400 and "Cần ghi lý do không chấp thuận" in bare.text
    decided = site.client.post(
        f"/admin/requests/{rid}",
        data={
            "csrf": csrf.group(1),
            "decision": "refuse",
            "answer": "Không xác đáng",
            "confirm": "1",
        },
    )
    assert decided.status_code == 303
    with Session(site.engine) as s:
        (req,) = s.exec(select(AgencyRequest)).all()
        assert (req.state, req.answer) == (RequestState.refused, "Không xác đáng")
    seen = site.client.get(f"{url}/requests")
    assert "Không chấp thuận: Không xác đáng" in seen.text


def test_the_submission_page_states_an_extended_agencys_own_deadline(site: Harness) -> None:
    from models.actions import extend
    from models.formats import local_text

    due = site.seed.due_at
    until = (due + dt.timedelta(days=14)).astimezone(TZ).date()
    while until.weekday() >= 5:  # a working day
        until += dt.timedelta(days=1)
    with Session(site.engine) as s:
        extend(
            s, site.seed.cycle_id, site.seed.agency_id, until=until, actor="vp",
            now=site.clock.at, reason="thiếu số liệu",
        )  # fmt: skip
        s.commit()
    page = site.client.get(site.url())
    assert page.status_code == 200
    assert f"{until:%d/%m/%Y}" in page.text
    assert local_text(due) not in page.text  # the common deadline is not its deadline
    # Handed in after the common deadline, before its own: on time.
    assert site.clock.at > due
    done = site.upload(site.url(), [("bao-cao.pdf", pdf_bytes())])
    assert done.status_code == 200, done.text[:300]
    with Session(site.engine) as s:
        (version,) = s.exec(select(SubmissionVersion)).all()
        assert version.late is False
