"""The email transport against real SMTP servers on loopback."""

from __future__ import annotations

import importlib.util
import socket
import time
from collections.abc import Iterator

import pytest

from notifications.email import EmailTransport, mask, parse_contact
from notifications.mailsink import HungServer, MailSink
from notifications.transports import UnknownChannel, build_transports, transport_class
from notifications.vocabulary import ChannelFault, DeliveryError, Message
from tests.notifications.conftest import SUBJECT

TEXT = "Kính gửi Sở Tài chính tỉnh Quảng Ngãi,\nĐề nghị gửi báo cáo trước ngày 15/12/2026.\n"
HTML = "<p>Kính gửi <b>Sở Tài chính</b> tỉnh Quảng Ngãi,</p><p>Hạn: 15/12/2026 — ngày làm việc.</p>"
MESSAGE = Message(subject=SUBJECT, text=TEXT, html=HTML, short="Nhắc hạn")
TO = "Sở Tài chính <stc@quangngai.gov.vn>"


@pytest.fixture
def transport() -> Iterator[EmailTransport]:
    t = EmailTransport(cooldown=0)
    yield t
    t.close()


def test_vietnamese_message_decodes_exactly(sink: MailSink, transport: EmailTransport) -> None:
    transport.send(sink.url(to=TO, name="Văn phòng UBND tỉnh Quảng Ngãi"), MESSAGE)
    [msg] = sink.messages()
    assert msg["Subject"] == SUBJECT
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content() == TEXT  # type: ignore[union-attr]
    assert msg.get_body(("html",)).get_content().rstrip("\n") == HTML  # type: ignore[union-attr]
    assert msg["From"].addresses[0].display_name == "Văn phòng UBND tỉnh Quảng Ngãi"
    assert msg["To"].addresses[0].display_name == "Sở Tài chính"
    assert msg["To"].addresses[0].addr_spec == "stc@quangngai.gov.vn"
    assert msg["Message-ID"].endswith("@hanbaocao.test>")
    assert msg["Date"].datetime.utcoffset().total_seconds() == 7 * 3600
    assert msg["Auto-Submitted"] == "auto-generated"


def test_headers_are_7bit_on_the_wire(sink: MailSink, transport: EmailTransport) -> None:
    # Servers without SMTPUTF8/8BITMIME must get plain ASCII: RFC 2047 words, QP bodies.
    transport.send(sink.url(to=TO), MESSAGE)
    sink.raw[0].decode("ascii")


def test_connection_is_kept_between_messages(sink: MailSink, transport: EmailTransport) -> None:
    url = sink.url(to=TO)
    for n in range(5):
        transport.send(url, Message(f"{SUBJECT} {n}", TEXT, HTML, ""))
    assert len(sink.messages()) == 5
    assert len(set(sink.peers)) == 1  # one client port: one TCP connection


def test_reconnects_when_the_server_dropped_the_connection(
    sink: MailSink, transport: EmailTransport
) -> None:
    url = sink.url(to=TO)
    transport.send(url, MESSAGE)
    sink.stop()  # closes the kept-open connection from the server's side
    sink.start()  # same port
    transport.send(url, Message("thứ hai", TEXT, HTML, ""))
    assert [m["Subject"] for m in sink.messages()] == [SUBJECT, "thứ hai"]
    assert len(set(sink.peers)) == 2


def test_refused_connection_is_transient_and_quick(
    transport: EmailTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refusal is not waited out: with the default timeout raised to two minutes, only
    # a waited-out refusal could reach the bound below, which a busy machine never does.
    monkeypatch.setattr("notifications.email.DEFAULT_TIMEOUT", 120.0)
    with socket.socket() as held:
        # Bound but never listening: connections are refused, and no other process can
        # take the port meanwhile (a released "free" port could be anyone's by now).
        held.bind(("127.0.0.1", 0))
        url = MailSink(port=held.getsockname()[1]).url(to=TO)
        start = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            transport.send(url, MESSAGE)
    assert not info.value.permanent
    assert time.monotonic() - start < 60


def test_hung_server_is_bounded_by_the_connect_timeout(
    transport: EmailTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("notifications.email.DEFAULT_TIMEOUT", 120.0)  # see above
    with HungServer() as hung:
        start = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            transport.send(hung.url(to=TO, cto="1"), MESSAGE)
        elapsed = time.monotonic() - start
    assert not info.value.permanent
    # Bounded by cto=1, not by the (raised) default: a timeout never fires early, and
    # the upper bound leaves a busy machine a minute.
    assert 0.9 < elapsed < 60


def test_down_server_fails_fast_during_its_cooldown() -> None:
    transport = EmailTransport(cooldown=60)
    with HungServer() as hung:
        url = hung.url(to=TO, cto="1")
        with pytest.raises(DeliveryError):
            transport.send(url, MESSAGE)
    # The server is gone now: a connection attempt would be refused with another
    # message, so "server down" proves that none was made.
    with pytest.raises(DeliveryError, match="server down"):
        transport.send(url, MESSAGE)


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        ("450 4.2.1 Mailbox busy, try later", False),
        ("451 4.3.0 Local error", False),
        ("550 5.1.1 No such user", True),
        ("553 5.1.3 Bad recipient address syntax", True),
    ],
)
def test_smtp_replies_are_classified(
    transport: EmailTransport, reply: str, permanent: bool
) -> None:
    with MailSink(reply=reply) as sink:
        with pytest.raises(DeliveryError) as info:
            transport.send(sink.url(to=TO), MESSAGE)
        assert sink.raw == []
    assert info.value.permanent is permanent
    assert reply.split()[0] in str(info.value)


def test_the_connection_survives_a_refused_recipient(
    sink: MailSink, transport: EmailTransport
) -> None:
    sink.reply = "550 5.1.1 No such user"
    with pytest.raises(DeliveryError):
        transport.send(sink.url(to=TO), MESSAGE)
    sink.reply = None
    transport.send(sink.url(to=TO), MESSAGE)
    assert len(sink.messages()) == 1


def test_bad_login_is_a_channel_fault(transport: EmailTransport) -> None:
    with MailSink(logins={"vp": "đúng-mật-khẩu"}) as sink:
        with pytest.raises(ChannelFault) as info:
            transport.send(sink.url(to=TO, user="vp", password="sai"), MESSAGE)
        assert not info.value.permanent  # held and sent after the fix, not dropped
        assert "535" in str(info.value) and "hanbaocao outbox retry" in str(info.value)
        assert "sai" not in str(info.value).split("535")[0]
        transport.send(sink.url(to=TO, user="vp", password="đúng-mật-khẩu"), MESSAGE)
        assert len(sink.messages()) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mailto://127.0.0.1:2525?from=a@b.vn&to=c@d.vn",
            ("127.0.0.1", 2525, "insecure", None, 10.0, 10.0),
        ),
        (
            "mailtos://vp:secret@mail.quangngai.gov.vn?from=vp@quangngai.gov.vn&to=c@d.vn&cto=3&rto=7",
            ("mail.quangngai.gov.vn", 587, "starttls", "vp", 3.0, 7.0),
        ),
        (
            "mailtos://vp:secret@mail.quangngai.gov.vn:465?mode=ssl&from=vp@quangngai.gov.vn&to=c@d.vn",
            ("mail.quangngai.gov.vn", 465, "ssl", "vp", 10.0, 10.0),
        ),
    ],
)
def test_apprise_urls_are_read_by_apprise(url: str, expected: tuple[object, ...]) -> None:
    c = parse_contact(url)
    assert (c.host, c.port, c.mode, c.user, c.connect_timeout, c.read_timeout) == expected


@pytest.mark.parametrize("url", ["mailto://", "mailto://127.0.0.1:25?from=not-an-address"])
def test_unusable_contacts_are_permanent(url: str, transport: EmailTransport) -> None:
    with pytest.raises(DeliveryError) as info:
        transport.send(url, MESSAGE)
    assert info.value.permanent


def test_mask_hides_the_password() -> None:
    url = "mailtos://vp:s3cr3t-pw@mail.quangngai.gov.vn?from=vp@quangngai.gov.vn&to=c@d.vn"
    masked = mask(url)
    assert "s3cr3t-pw" not in masked
    assert masked.startswith("mailtos://vp:****@mail.quangngai.gov.vn")
    assert "s3cr3t" not in mask("mailto://vp:s3cr3t@")


def test_registry() -> None:
    assert transport_class("email") is EmailTransport
    with pytest.raises(UnknownChannel):
        transport_class("fax")
    if importlib.util.find_spec("notifications.zalo") is None:
        with pytest.raises(UnknownChannel, match="not installed"):
            transport_class("zns")
    else:
        transports = build_transports(["zalo", "zns"])
        assert transports["zalo"] is transports["zns"]  # one instance, one token store
    assert isinstance(build_transports(["email"])["email"], EmailTransport)
