"""The email channel's configuration faults and headers against real SMTP servers on
loopback: STARTTLS offered by a plain ``mailto://`` server, a certificate that does not
verify, Reply-To, auto-reply suppression, RFC 2047 word lengths."""

from __future__ import annotations

import datetime as dt
import re
import ssl
from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.email import EmailTransport, render
from notifications.mailsink import MailSink, _EphemeralController, _Handler
from notifications.vocabulary import ChannelFault, Message
from tests.notifications.conftest import SUBJECT

MESSAGE = Message(subject=SUBJECT, text="Kính gửi,\nNội dung.", html="<p>Nội dung</p>", short="")
TO = "stc@quangngai.gov.vn"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no one trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _TlsHandler(_Handler):
    """Records whether each message came over TLS."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sink.tls.append(session.ssl is not None)  # type: ignore[attr-defined]
        return await super().handle_DATA(server, session, envelope)


class StartTlsSink(MailSink):
    """A plain-SMTP sink that offers STARTTLS with a self-signed certificate."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.tls: list[bool] = []

    def start(self) -> StartTlsSink:
        kwargs: dict[str, Any] = {"tls_context": self.context}
        controller = _EphemeralController(
            _TlsHandler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        controller.start()
        self.port = controller.port
        self._controller = controller
        return self


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[StartTlsSink]:
    sink = StartTlsSink(*self_signed(tmp_path))
    with sink:
        yield sink


def test_plain_mailto_upgrades_when_starttls_is_offered(tls_sink: StartTlsSink) -> None:
    transport = EmailTransport(cooldown=0)
    try:
        transport.send(tls_sink.url(to=TO, verify="no"), MESSAGE)
    finally:
        transport.close()
    assert tls_sink.tls == [True]
    assert [m["Subject"] for m in tls_sink.messages()] == [SUBJECT]


def test_certificate_that_does_not_verify_is_a_channel_fault(tls_sink: StartTlsSink) -> None:
    transport = EmailTransport(cooldown=60)
    with pytest.raises(ChannelFault, match="chứng chỉ TLS") as caught:
        transport.send(tls_sink.url(to=TO), MESSAGE)
    assert not caught.value.permanent
    assert tls_sink.raw == []
    # Not "server down": a configuration fault is not a cooldown, the next try is real.
    with pytest.raises(ChannelFault):
        transport.send(tls_sink.url(to=TO), MESSAGE)
    transport.close()


def test_plain_server_without_starttls_still_works(sink: MailSink) -> None:
    transport = EmailTransport(cooldown=0)
    try:
        transport.send(sink.url(to=TO), MESSAGE)
    finally:
        transport.close()
    assert len(sink.messages()) == 1


LONG_NAME = "Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi — Phòng Tổng hợp, Kiểm soát thủ tục"


def test_reply_to_and_auto_reply_suppression(sink: MailSink) -> None:
    url = sink.url(to=TO, name=LONG_NAME, reply="Phòng Tổng hợp <tonghop@quangngai.gov.vn>")
    transport = EmailTransport(cooldown=0)
    try:
        transport.send(url, MESSAGE)
    finally:
        transport.close()
    [mail] = sink.messages()
    reply = mail["Reply-To"].addresses[0]
    assert (reply.display_name, reply.addr_spec) == ("Phòng Tổng hợp", "tonghop@quangngai.gov.vn")
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Auto-Submitted"] == "auto-generated"
    # Decoded as RFC 2047 §6.2 says (whitespace between encoded words dropped); the
    # stdlib's modern address parser keeps that whitespace, so it is not the judge here.
    raw_from = sink.raw[0].split(b"\r\nFrom:", 1)[1].split(b"\r\nTo:", 1)[0].decode()
    assert str(make_header(decode_header(raw_from.split("<")[0].strip()))) == LONG_NAME


@pytest.mark.parametrize("repeat", [1, 3, 8])
def test_encoded_words_are_at_most_75_characters(repeat: int) -> None:
    from notifications.email import parse_contact

    contact = parse_contact(f"mailto://127.0.0.1:25?from=a@b.vn&to={TO}&name={LONG_NAME}")
    message = Message(subject=" ".join([SUBJECT] * repeat), text="t", html="h", short="")
    raw = render(contact, message, now=dt.datetime(2026, 11, 23, tzinfo=dt.UTC)).decode("ascii")
    words = re.findall(r"=\?utf-8\?[bq]\?[^?]*\?=", raw, re.IGNORECASE)
    assert words and max(map(len, words)) <= 75
    subject = raw.split("\r\nSubject:", 1)[1].split("\r\nFrom:", 1)[0]
    assert str(make_header(decode_header(subject.replace("\r\n", "")))) == message.subject
    assert all(len(line) <= 78 for line in raw.split("\r\n"))


def test_a_huge_status_table_is_linked_and_attached_not_clipped(
    sink: MailSink, tmp_path: Path
) -> None:
    from dataclasses import replace

    from notifications.messages import StatusRow, render
    from notifications.vocabulary import XLSX_TYPE, Attachment
    from notifications.zalo_params import with_fields
    from tests.notifications.test_messages import LINK, make_ctx

    rows = tuple(
        StatusRow(f"UBND xã số {i} tỉnh Quảng Ngãi", "late", None, i % 5) for i in range(300)
    )
    ctx = make_ctx(status=rows, late_agencies=())
    big = with_fields(render("consolidated-status", ctx), "consolidated-status", ctx)
    assert len(big.html.encode()) > 100_000  # the case at hand
    sheet = tmp_path / "tinh-hinh.xlsx"
    sheet.write_bytes(b"PK\x03\x04 sheet")
    big = replace(big, attachments=(Attachment("Tình hình nộp báo cáo.xlsx", XLSX_TYPE, sheet),))
    transport = EmailTransport(cooldown=0)
    try:
        transport.send(sink.url(to=TO), big)
    finally:
        transport.close()
    [mail] = sink.messages()
    html_part = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert len(html_part.encode()) < 100_000
    assert LINK.replace("&", "&amp;") in html_part and "Tình hình nộp báo cáo.xlsx" in html_part
    assert mail.get_body(("plain",)).get_content().count("UBND xã số") == 300  # type: ignore[union-attr]


def test_an_ordinary_message_keeps_its_html() -> None:
    from notifications.email import fit_html

    assert fit_html(MESSAGE) == MESSAGE.html
