"""An excused agency that hands a report in anyway: the file is kept (a version, a
receipt), the excusal stays (no "submitted", no "late"). Issue 16."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.compliance import Cell, cell_state
from models.tables import SubmissionState, SubmissionVersion
from tests.portal.conftest import AFTER_DUE, Harness, pdf_bytes
from tests.portal.test_upload import _submission


def test_an_excused_agency_uploading_late_stays_excused(portal: Harness) -> None:
    with Session(portal.engine) as s:
        excused = _submission(portal)
        excused.state = SubmissionState.excused
        excused.next_action_at = excused.next_action_stage = None
        s.add(excused)
        s.commit()
    portal.clock.at = AFTER_DUE
    url = portal.url()
    response = portal.upload(url, [("bao-cao.pdf", pdf_bytes())])
    assert response.status_code == 200, response.text
    assert "Được miễn nộp" in portal.client.get(url).text
    sub = _submission(portal)
    with Session(portal.engine) as s:
        versions = list(s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.id))))
    assert sub.state == SubmissionState.excused
    assert sub.submitted_at is None and sub.next_action_at is None
    assert sub.current_version == 1
    assert [(v.version, v.late) for v in versions] == [(1, False)]
    assert cell_state(sub.state, sub.submitted_at, portal.seed.due_at, AFTER_DUE) == Cell.excused
    assert portal.written()[:2] == (1, 1)  # the version and its receipt
