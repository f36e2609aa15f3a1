"""Files on messages: through the outbox payload, into a digest, out through the real
SMTP sink (parsed back with ``email.policy.default``), and left out of Zalo texts."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from models.tables import Notification, NotificationState
from models.workdays import packaged_calendar
from notifications import zalo
from notifications.email import EmailTransport, message_id, parse_contact
from notifications.exports import status_attachments
from notifications.fake_zalo import FakeZalo
from notifications.mailsink import MailSink
from notifications.messages import digest
from notifications.outbox import (
    DispatchReport,
    attempts_of,
    dispatch,
    enqueue,
    message_of,
    payload_of,
)
from notifications.vocabulary import CSV_TYPE, XLSX_TYPE, Attachment, DeliveryError, Message
from tests.notifications.conftest import NOW, make_cycle
from tests.notifications.test_messages import make_ctx
from tests.notifications.test_zalo import MESSAGE as ZALO_MESSAGE
from tests.notifications.test_zalo import (  # noqa: F401  (fixtures)
    _loopback_only,
    fake,
    tokens,
    url_for,
)

Factory = Callable[[], Session]
TO = "Sở Xây dựng <sxd@quangngai.gov.vn>"
BASE = Message(
    subject="[Tình hình nộp báo cáo] Báo cáo năm 2026 theo Công văn 6966/UBND-KTN",
    text="Kính gửi: Sở Xây dựng\n\nTình hình nộp báo cáo năm 2026, bảng kèm theo.\n",
    html="<p>Kính gửi: <b>Sở Xây dựng</b></p><p>Bảng kèm theo.</p>",
    short="Tình hình nộp báo cáo năm 2026",
)


@pytest.fixture
def status_message(tmp_path: Path) -> Message:
    """The consolidated status with its two files, as the closing sweep builds it."""
    return replace(BASE, attachments=status_attachments(make_ctx(), tmp_path / "exports"))


@pytest.fixture
def transport() -> Iterator[EmailTransport]:
    t = EmailTransport(cooldown=0)
    yield t
    t.close()


def file_parts(mail: EmailMessage) -> list[EmailMessage]:
    return [p for p in mail.iter_attachments() if isinstance(p, EmailMessage)]


# == through the real SMTP sink ==============================================================


def test_both_files_arrive_named_typed_and_byte_identical(
    sink: MailSink, transport: EmailTransport, status_message: Message
) -> None:
    transport.send(sink.url(to=TO), status_message)
    [mail] = sink.messages()
    assert mail.get_content_type() == "multipart/mixed"
    body = mail.get_body(("plain",))
    assert body is not None and body.get_content() == BASE.text
    html = mail.get_body(("html",))
    assert html is not None and html.get_content().rstrip("\n") == BASE.html
    xlsx, csv_part = file_parts(mail)
    xlsx_file, csv_file = status_message.attachments
    assert xlsx.get_content_type() == XLSX_TYPE
    assert csv_part.get_content_type() == "text/csv"
    assert csv_part.get_content_charset() == "utf-8"
    assert xlsx.get_filename() == "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.xlsx"
    assert csv_part.get_filename() == "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.csv"
    assert xlsx.get_content_disposition() == csv_part.get_content_disposition() == "attachment"
    assert xlsx.get_payload(decode=True) == xlsx_file.path.read_bytes()
    assert csv_part.get_payload(decode=True) == csv_file.path.read_bytes()  # BOM and CRLF kept
    sink.raw[0].decode("ascii")  # 7-bit on the wire: RFC 2231 names, base64 files


def test_long_vietnamese_name_is_continued_and_decodes(
    sink: MailSink, transport: EmailTransport, tmp_path: Path
) -> None:
    name = "Tình hình nộp báo cáo 6 tháng đầu năm 2026 của các sở, ban, ngành và UBND các xã, phường thuộc tỉnh Quảng Ngãi.csv"
    path = tmp_path / "x.csv"
    path.write_bytes("\ufeffSTT,Cơ quan\r\n".encode())
    transport.send(sink.url(to=TO), replace(BASE, attachments=(Attachment(name, CSV_TYPE, path),)))
    [mail] = sink.messages()
    [part] = file_parts(mail)
    assert part.get_filename() == name
    assert "filename*1*=" in str(sink.raw[0])  # RFC 2231 continuations, not one long line
    name_lines = [ln for ln in sink.raw[0].split(b"\r\n") if b"name" in ln]
    assert len(name_lines) > 4 and max(map(len, name_lines)) <= 78


def test_missing_file_is_a_permanent_failure(
    sink: MailSink, transport: EmailTransport, status_message: Message
) -> None:
    status_message.attachments[1].path.unlink()
    with pytest.raises(DeliveryError) as caught:
        transport.send(sink.url(to=TO), status_message)
    assert caught.value.permanent
    assert "6966-UBND-KTN.csv" in str(caught.value) and "no file at" in str(caught.value)
    assert sink.raw == []


def test_too_much_to_attach_is_permanent(
    transport: EmailTransport, status_message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notifications.email_render.MAX_ATTACHMENT_BYTES", 100)
    with pytest.raises(DeliveryError, match="exceed") as caught:
        transport.send("mailto://127.0.0.1:1?from=a@b.vn&to=c@d.vn", status_message)
    assert caught.value.permanent


# == Message-ID ==============================================================================


def test_message_id_follows_the_files_not_their_paths(
    status_message: Message, tmp_path: Path
) -> None:
    contact = parse_contact("mailto://127.0.0.1:25?from=nhac-han@hanbaocao.test&to=sxd@qn.vn")
    first = message_id(contact, status_message)
    assert message_id(contact, status_message) == first  # a re-send after a crash

    moved_dir = tmp_path / "moved"
    moved_dir.mkdir()
    moved = tuple(
        replace(a, path=Path(shutil.copy(a.path, moved_dir / a.path.name)))
        for a in status_message.attachments
    )
    assert message_id(contact, replace(status_message, attachments=moved)) == first

    renamed = (replace(moved[0], name="khác.xlsx"), moved[1])
    assert message_id(contact, replace(status_message, attachments=renamed)) != first
    moved[1].path.write_bytes(b"\xef\xbb\xbfSTT\r\n")
    assert message_id(contact, replace(status_message, attachments=moved)) != first


def test_message_id_without_attachments_is_unchanged(status_message: Message) -> None:
    # Rows queued before attachments existed keep their id across the upgrade.
    contact = parse_contact("mailto://127.0.0.1:25?from=nhac-han@hanbaocao.test&to=sxd@qn.vn")
    legacy = hashlib.sha256()
    for part in ("sxd@qn.vn", BASE.subject, BASE.text, BASE.html):
        legacy.update(part.encode() + b"\0")
    assert message_id(contact, BASE) == f"<hbc.{legacy.hexdigest()[:32]}@hanbaocao.test>"
    assert message_id(contact, status_message) != message_id(contact, BASE)


# == outbox payloads =========================================================================


def test_payload_round_trip_through_json(status_message: Message) -> None:
    payload = payload_of(status_message, agency="Sở Xây dựng", sender="Văn phòng UBND tỉnh")
    stored = json.loads(json.dumps(payload))
    assert stored["agency"] == "Sở Xây dựng"
    assert stored["attachments"][0] == {
        "name": "Tình hình nộp báo cáo năm 2026 - 6966-UBND-KTN.xlsx",
        "content_type": XLSX_TYPE,
        "path": str(status_message.attachments[0].path),
    }
    assert message_of(stored) == status_message
    assert "attachments" not in payload_of(BASE)  # rows without files stay as they were
    assert message_of(payload_of(BASE)) == BASE


def test_payload_paths_are_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    message = replace(BASE, attachments=(Attachment("a.csv", CSV_TYPE, Path("a.csv")),))
    assert payload_of(message)["attachments"][0]["path"] == str(tmp_path / "a.csv")
    as_text = Attachment("a.csv", CSV_TYPE, "a.csv")  # type: ignore[arg-type]
    assert as_text == message.attachments[0] and isinstance(as_text.path, Path)


def test_payload_of_refuses_to_overwrite_the_message() -> None:
    with pytest.raises(ValueError, match="subject"):
        payload_of(BASE, subject="khác")


@pytest.mark.parametrize(
    "item",
    [
        {"name": "a.csv", "content_type": CSV_TYPE},  # no path
        {"name": "../a.csv", "content_type": CSV_TYPE, "path": "/tmp/a.csv"},
        {"name": "a.csv", "content_type": "text/csv\r\nBcc: x@y.vn", "path": "/tmp/a.csv"},
        "a.csv",
    ],
)
def test_malformed_payload_attachment_is_permanent(item: object) -> None:
    with pytest.raises(DeliveryError) as caught:
        message_of({**payload_of(BASE), "attachments": [item]})
    assert caught.value.permanent


# == digests =================================================================================


def test_digest_keeps_every_file_once(status_message: Message, tmp_path: Path) -> None:
    extra = tmp_path / "phu-luc.csv"
    extra.write_bytes(b"\xef\xbb\xbfa\r\n")
    other = replace(
        BASE, subject="Nhắc hạn", attachments=(Attachment("Phụ lục.csv", CSV_TYPE, extra),)
    )
    merged = digest([status_message, other, status_message], agency="Sở Xây dựng", sender="VP")
    assert merged.attachments == (*status_message.attachments, *other.attachments)
    assert digest([BASE, BASE], agency="Sở Xây dựng", sender="VP").attachments == ()


# == through the dispatcher ==================================================================


def _dispatch(factory: Factory) -> DispatchReport:
    transport = EmailTransport(cooldown=0)
    try:
        return dispatch(
            factory,
            now=NOW,
            worker="w1",
            transports={"email": transport},
            calendar=packaged_calendar(),
        )
    finally:
        transport.close()


def _queue(session: Session, payloads: list[dict[str, object]]) -> None:
    cycle = make_cycle(session, 1)
    for n, payload in enumerate(payloads):
        enqueue(
            session,
            cycle_id=cycle.id,
            agency_id=cycle.agency_ids[0],
            stage=f"stage-{n}",
            channel="email",
            payload=payload,
            at=NOW,
        )
    session.commit()


def test_dispatched_digest_carries_the_files(
    session: Session, session_factory: Factory, sink: MailSink, status_message: Message
) -> None:
    url = sink.url(to=TO)
    reminder = replace(BASE, subject="[Nhắc hạn] Báo cáo quý I/2026")
    _queue(session, [payload_of(reminder, url=url), payload_of(status_message, url=url)])
    assert _dispatch(session_factory).sent == 2
    [mail] = sink.messages()
    assert str(mail["Subject"]).startswith("[Nhắc việc] 2 nội dung")
    assert [p.get_filename() for p in file_parts(mail)] == [
        a.name for a in status_message.attachments
    ]


def test_dispatch_records_a_missing_file_as_permanent(
    session: Session, session_factory: Factory, sink: MailSink, status_message: Message
) -> None:
    _queue(session, [payload_of(status_message, url=sink.url(to=TO))])
    status_message.attachments[0].path.unlink()
    report = _dispatch(session_factory)
    assert (report.sent, report.failed, report.retried) == (0, 1, 0)
    session.expire_all()
    row = session.exec(select(Notification).order_by(col(Notification.id).desc())).first()
    assert row is not None and row.state == NotificationState.failed
    assert "no file at" in (row.last_error or "")
    [attempt] = attempts_of(session, row.id or 0)
    assert attempt.permanent and not attempt.ok
    assert sink.raw == []


# == Zalo ====================================================================================


@pytest.mark.parametrize("schema", ["zalooa", "zns"])
def test_zalo_ignores_attachments(
    fake: FakeZalo,  # noqa: F811
    tokens: Path,  # noqa: F811
    schema: str,
    tmp_path: Path,
) -> None:
    # Even a file that is gone: Zalo sends the text, which already holds the table.
    gone = Attachment("Tình hình.xlsx", XLSX_TYPE, tmp_path / "gone.xlsx")
    url = url_for(fake, tokens, schema, "8421" if schema == "zalooa" else "84912345678")
    base = replace(BASE, fields=ZALO_MESSAGE.fields)
    zalo.ZaloTransport().send(url, replace(base, attachments=(gone,)))
    zalo.ZaloTransport().send(url, base)
    with_file, without = fake.messages
    with_file.pop("tracking_id", None)
    without.pop("tracking_id", None)
    assert with_file == without
    assert "Sở Tài chính" in json.dumps(with_file, ensure_ascii=False)
