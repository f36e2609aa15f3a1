"""Handing a report in through the portal, on SQLite and PostgreSQL: every accepted type,
the receipt (page and queued message), files stored by their hash, new versions, late
reports, names that are only ever shown, types told from the content."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlmodel import Session, col, select

from flows.events import submission_event_name
from models.tables import Notification, Submission, SubmissionState, SubmissionVersion
from tests.portal.conftest import (
    AFTER_DUE,
    BEFORE_DUE,
    Harness,
    docx_bytes,
    exe_bytes,
    pdf_bytes,
    sha256,
    xlsx_bytes,
    zip_bytes,
)

KINDS = {
    "pdf": ("Báo cáo năm 2026.pdf", pdf_bytes),
    "docx": ("Báo cáo kết quả.docx", docx_bytes),
    "xlsx": ("Biểu số liệu.xlsx", xlsx_bytes),
    "zip": ("Hồ sơ kèm theo.zip", zip_bytes),
}


def _versions(portal: Harness) -> list[SubmissionVersion]:
    with Session(portal.engine) as s:
        return list(s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.version))))


def _submission(portal: Harness) -> Submission:
    with Session(portal.engine) as s:
        sub = s.exec(
            select(Submission).where(
                Submission.cycle_id == portal.seed.cycle_id,
                Submission.agency_id == portal.seed.agency_id,
            )
        ).one()
        return sub


def _receipts(portal: Harness) -> list[Notification]:
    with Session(portal.engine) as s:
        return list(
            s.exec(
                select(Notification)
                .where(col(Notification.stage).startswith("receipt"))
                .order_by(col(Notification.id))
            )
        )


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_accepted_type_is_received_stored_by_hash_and_confirmed(
    portal: Harness, kind: str
) -> None:
    name, make = KINDS[kind]
    data = make()
    digest = sha256(data)
    url = portal.url()

    done = portal.upload(url, [(name, data)], note="Kính gửi bản báo cáo")
    assert done.status_code == 200
    assert done.history[0].status_code == 303  # POST, then the receipt by GET
    assert re.search(r"/receipt/1-1$", str(done.url))
    receipt = done.text
    for fact in (name, digest, "phiên bản 1", "nộp đúng hạn", "01/12/2026 09:30:00"):
        assert fact in receipt, fact

    (version,) = _versions(portal)
    assert (version.version, version.file_name, version.file_size) == (1, name, len(data))
    assert version.sha256 == digest and version.late is False
    assert version.note == "Kính gửi bản báo cáo"
    assert version.received_at == BEFORE_DUE
    assert version.stored_path == f"files/{digest[:2]}/{digest}"
    stored = portal.data_dir / version.stored_path
    assert stored.read_bytes() == data  # identical bytes, under the hash, not the name
    assert [p.name for p in portal.written()[2]] == [digest]

    sub = _submission(portal)
    assert sub.state == SubmissionState.submitted and sub.current_version == 1
    assert sub.submitted_at == BEFORE_DUE
    assert sub.next_action_at is None  # no more reminders

    (message,) = _receipts(portal)
    assert (message.stage, message.channel, message.agency_id) == (
        "receipt-v1",
        "email",
        portal.seed.agency_id,
    )
    assert digest in message.payload["text"] and name in message.payload["text"]
    assert "Xác nhận đã nhận" in message.payload["subject"]
    assert "http://portal.test/submit/" in message.payload["text"]

    ((event, payload),) = portal.events
    assert event == "hanbaocao.submission.received"
    assert payload["versions"] == [1] and payload["late"] is False
    assert payload["agency_id"] == portal.seed.agency_id
    # Named from the receipt's facts, as the database names the submission.
    assert payload["name"] == submission_event_name(portal.engine, sub.id or 0)
    agency, directive, period = payload["name"].split(" · ")
    assert (agency, directive, period) == (portal.seed.agency_name, "6966/UBND-KTN", "Năm 2026")


def test_submitting_again_makes_version_two(portal: Harness) -> None:
    url = portal.url()
    first, second = pdf_bytes("bản đầu"), xlsx_bytes()
    portal.upload(url, [("bao-cao.pdf", first)])
    portal.clock.at = BEFORE_DUE.replace(day=2)
    again = portal.upload(url, [("bao-cao-sua.xlsx", second)])
    assert again.status_code == 200 and str(again.url).endswith("/receipt/2-2")
    assert "phiên bản 2" in again.text and sha256(second) in again.text

    v1, v2 = _versions(portal)
    assert (v1.version, v1.sha256, v2.version, v2.sha256) == (1, sha256(first), 2, sha256(second))
    sub = _submission(portal)
    assert sub.current_version == 2
    assert sub.submitted_at == BEFORE_DUE  # the first report's time stays
    assert [m.stage for m in _receipts(portal)] == ["receipt-v1", "receipt-v2"]
    assert [len(portal.written()[2])] == [2]


def test_several_files_in_one_upload_are_consecutive_versions_with_one_receipt(
    portal: Harness,
) -> None:
    files = [
        ("bao-cao.pdf", pdf_bytes()),
        ("phu-luc.xlsx", xlsx_bytes()),
        ("ho-so.zip", zip_bytes()),
    ]
    done = portal.upload(portal.url(), files)
    assert str(done.url).endswith("/receipt/1-3")
    assert "đã nộp 3 tệp" in done.text and "phiên bản 1–3" in done.text
    for name, data in files:
        assert name in done.text and sha256(data) in done.text
    assert [(v.version, v.file_name) for v in _versions(portal)] == [
        (1, "bao-cao.pdf"),
        (2, "phu-luc.xlsx"),
        (3, "ho-so.zip"),
    ]
    (message,) = _receipts(portal)  # one upload, one receipt naming every file
    assert message.stage == "receipt-v3"
    assert all(sha256(data) in message.payload["text"] for _, data in files)
    assert "/agency/" in message.payload["text"]  # the agency's own page, as every message


def test_a_report_after_the_deadline_is_accepted_and_marked_late(portal: Harness) -> None:
    portal.clock.at = AFTER_DUE
    done = portal.upload(portal.url(), [("bao-cao-muon.pdf", pdf_bytes())])
    assert done.status_code == 200
    assert "nộp sau hạn" in done.text and "23/12/2026 10:15:00" in done.text
    (version,) = _versions(portal)
    assert version.late is True and version.received_at == AFTER_DUE
    sub = _submission(portal)
    assert sub.submitted_at == AFTER_DUE and sub.submitted_at > portal.seed.due_at
    (message,) = _receipts(portal)
    assert "nộp sau hạn 2 ngày làm việc" in message.payload["text"]
    assert portal.events[0][1]["late"] is True


def test_same_bytes_twice_are_two_versions_of_one_stored_file(portal: Harness) -> None:
    data = pdf_bytes()
    portal.upload(portal.url(), [("a.pdf", data)])
    portal.upload(portal.url(), [("b.pdf", data)])
    assert [v.version for v in _versions(portal)] == [1, 2]
    assert len(portal.written()[2]) == 1


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\win.ini.pdf", "win.ini.pdf"),
        ("C:\\Users\\van-thu\\Desktop\\Báo cáo.pdf", "Báo cáo.pdf"),
        ("bao-cao\u202efdp.exe", "bao-cao fdp.exe"),  # right-to-left override
        ("Ba\u0301o ca\u0301o.pdf", "Báo cáo.pdf"),  # NFD, as macOS sends it
    ],
)
def test_file_names_are_only_display_names(portal: Harness, sent: str, shown: str) -> None:
    data = pdf_bytes(sent)
    done = portal.upload(portal.url(), [(sent, data)])
    assert done.status_code == 200
    (version,) = _versions(portal)
    assert version.file_name == shown
    assert version.stored_path == f"files/{sha256(data)[:2]}/{sha256(data)}"
    # Nothing was written anywhere but the store, under the hash.
    everything = [p for p in portal.data_dir.parent.rglob("*") if p.is_file()]
    outside = [p for p in everything if "files" not in p.relative_to(portal.data_dir.parent).parts]
    assert all(p.suffix in {".db", ".db-wal", ".db-shm"} for p in outside), outside
    assert [p.name for p in portal.written()[2]] == [sha256(data)]


def test_a_very_long_name_is_cut_keeping_its_extension(portal: Harness) -> None:
    sent = "Báo cáo " * 80 + ".docx"
    portal.upload(portal.url(), [(sent, docx_bytes())])
    (version,) = _versions(portal)
    assert len(version.file_name) <= 120 and version.file_name.endswith("….docx")


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("bao-cao.pdf", exe_bytes(), "không phải PDF, DOCX, XLSX hay ZIP"),
        (
            "bao-cao.docx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "định dạng Word/Excel cũ",
        ),
        ("bao-cao.zip", b"PK\x03\x04" + b"\x00" * 100, "bị hỏng"),
    ],
)
def test_wrong_types_are_refused_and_nothing_is_written(
    portal: Harness, name: str, data: bytes, says: str
) -> None:
    refused = portal.upload(portal.url(), [(name, data)])
    assert refused.status_code == 415
    assert says in refused.text and 'role="alert"' in refused.text
    assert portal.written() == (0, 0, [])
    assert _submission(portal).state == SubmissionState.pending
    assert portal.events == []


def test_one_bad_file_refuses_the_whole_upload(portal: Harness) -> None:
    refused = portal.upload(portal.url(), [("ok.pdf", pdf_bytes()), ("setup.pdf", exe_bytes())])
    assert refused.status_code == 415 and "setup.pdf" in refused.text
    assert portal.written() == (0, 0, [])


def test_no_file_or_a_long_note_is_refused(portal: Harness) -> None:
    empty = portal.upload(portal.url(), [("", b"")])
    assert empty.status_code == 400 and "Chưa chọn tệp" in empty.text
    long_note = portal.upload(portal.url(), [("a.pdf", pdf_bytes())], note="x" * 2001)
    assert long_note.status_code == 400 and "Ghi chú dài quá" in long_note.text
    assert portal.written() == (0, 0, [])


def test_too_many_files_are_refused(portal: Harness) -> None:
    files = [(f"{n}.pdf", pdf_bytes(str(n))) for n in range(6)]  # the harness allows 5
    refused = portal.upload(portal.url(), files)
    assert refused.status_code == 400 and "tối đa 5 tệp" in refused.text
    assert portal.written() == (0, 0, [])


def test_the_upload_survives_a_failing_event_emitter(portal: Harness) -> None:
    def broken(event: str, **_: object) -> None:
        raise ConnectionError("Prefect is down")

    portal.app.state.portal = dataclasses.replace(portal.app.state.portal, emit=broken)
    done = portal.upload(portal.url(), [("a.pdf", pdf_bytes())])
    assert done.status_code == 200 and "Đã nhận báo cáo" in done.text
    assert portal.written()[:2] == (1, 1)


def test_prefect_event_is_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    import flows.events
    from portal.app import prefect_event

    called: list[str] = []

    def down(event: str, **_: object) -> None:
        called.append(event)
        raise OSError("connection refused")

    monkeypatch.setattr(flows.events, "emit", down)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr("portal.app.prefect_configured", lambda: False)
    prefect_event("x", resource_id="r", name="n", payload={})
    assert called == []  # no API configured: not even tried
    monkeypatch.setattr("portal.app.prefect_configured", lambda: True)
    prefect_event("x", resource_id="r", name="n", payload={})  # raises inside: swallowed
    assert called == ["x"]
