"""``email.render`` puts a reminder's bytes together itself: they must be exactly the
stdlib generator's bytes for ``build_message``'s tree (but for the boundary, which it
derives from the Message-ID), whatever the subject, names, text and HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.charset import BASE64, QP, Charset
from email.header import Header
from pathlib import Path
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.email import build_message, contact_capacity, parse_contact, render
from notifications.email_render import _UTF8, _WIRE
from notifications.vocabulary import Attachment, Message

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
VI = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
TEXT = st.text(alphabet=VI + VI.upper() + " ,.;:=-\n\t\r<>&/0123456789—😀", max_size=600)
NAME = st.text(alphabet=VI + " ()-.", max_size=120).map(str.strip)

_BOUNDARY = re.compile(rb'boundary="([^"]+)"')


def generator_bytes(url: str, message: Message) -> bytes:
    """What the generator makes of the same tree, with ``render``'s boundary."""
    contact = parse_contact(url)
    slow = build_message(contact, message, now=NOW).as_bytes(policy=_WIRE)
    fast = render(contact, message, now=NOW)
    theirs, ours = _BOUNDARY.search(slow), _BOUNDARY.search(fast)
    assert theirs and ours
    return slow.replace(theirs.group(1), ours.group(1))


def url_of(name: str, reply: bool, recipients: int) -> str:
    to = ",".join(f"so{i}@quangngai.gov.vn" for i in range(recipients))
    url = f"mailto://127.0.0.1:25?from=nhac-han@hanbaocao.test&to={to}"
    if name:
        url += f"&name={quote(name)}"
    return url + ("&reply=chuyenvien@quangngai.gov.vn" if reply else "")


@settings(max_examples=300, deadline=None)
@given(
    subject=TEXT.map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    text=TEXT,
    html=TEXT,
    name=NAME,
    reply=st.booleans(),
    recipients=st.integers(1, 3),
)
def test_render_is_the_generators_bytes(
    subject: str, text: str, html: str, name: str, reply: bool, recipients: int
) -> None:
    url = url_of(name, reply, recipients)
    message = Message(subject=subject, text=text, html=html, short=subject[:60])
    fast = render(parse_contact(url), message, now=NOW)
    assert fast == generator_bytes(url, message)
    parsed = message_from_bytes(fast, policy=policy.default)
    assert parsed["Subject"] == " ".join(subject.split()) or parsed["Subject"] == subject
    plain, rich = parsed.get_payload()  # type: ignore[misc]
    assert plain.get_content().replace("\r\n", "\n") == text.replace("\r\n", "\n").replace(
        "\r", "\n"
    )
    assert rich.get_content_type() == "text/html"


def test_a_real_reminder_is_byte_identical_and_stable() -> None:
    url = url_of("Văn phòng Ủy ban nhân dân tỉnh Quảng Ngãi — bộ phận nhắc hạn", True, 2)
    message = Message(
        subject="Nhắc hạn báo cáo năm 2026 — Sở Nông nghiệp và Môi trường tỉnh Quảng Ngãi",
        text="Kính gửi Sở Nông nghiệp và Môi trường,\n\nĐề nghị gửi báo cáo trước 15/12/2026.\n",
        html="<p>Kính gửi Sở Nông nghiệp và Môi trường,</p><p>Đề nghị gửi báo cáo.</p>",
        short="Nhắc hạn báo cáo",
    )
    contact = parse_contact(url)
    first = render(contact, message, now=NOW)
    assert first == generator_bytes(url, message)
    # A repeated send (the outbox's at-least-once window) is the same bytes.
    assert render(contact, message, now=NOW) == first
    for line in first.split(b"\r\n"):
        assert len(line) <= 78, line
        for word in re.findall(rb"=\?utf-8\?b\?[^?]*\?=", line):
            assert len(word) <= 75  # RFC 2047


def test_an_html_too_long_for_mail_clients_is_cut_alike() -> None:
    url = url_of("", False, 1)
    rows = "".join(f"<tr><td>Đơn vị {i}</td><td>chưa nộp</td></tr>" for i in range(4000))
    message = Message(
        subject="Tổng hợp", text="Bảng.\n" * 500, html=f"<table>{rows}</table>", short="x"
    )
    assert render(parse_contact(url), message, now=NOW) == generator_bytes(url, message)


def test_attachments_go_through_the_generator(tmp_path: Path) -> None:
    sheet = tmp_path / "tình-hình.csv"
    sheet.write_bytes("\ufeffĐơn vị;Trạng thái\r\nSở Y tế;trễ\r\n".encode())
    attachment = Attachment(name=sheet.name, content_type="text/csv", path=sheet)
    message = Message(
        subject="Tổng hợp", text="x", html="<p>x</p>", short="x", attachments=(attachment,)
    )
    data = render(parse_contact(url_of("", False, 1)), message, now=NOW)
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    (part,) = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_content().encode() == sheet.read_bytes() or (
        part.get_payload(decode=True) == sheet.read_bytes()
    )


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=VI + VI.upper() + " ,;\t—😀x", max_size=300),
    name=st.sampled_from(["Subject", "X-A-Header-Name-Long-Enough-To-Crowd-The-First-Line-Out"]),
    width=st.sampled_from([76, 40, 0]),
)
def test_header_lines_are_the_stdlib_charsets(text: str, name: str, width: int) -> None:
    stdlib = Charset("utf-8")
    stdlib.header_encoding, stdlib.body_encoding = BASE64, QP
    ours = Header(text, _UTF8, header_name=name).encode(linesep="\r\n", maxlinelen=width)
    theirs = Header(text, stdlib, header_name=name).encode(linesep="\r\n", maxlinelen=width)
    assert ours == theirs


def test_the_parsed_contact_cache_holds_a_whole_registry() -> None:
    """More agencies than the old 4,096-entry cache: a second sweep parses none again."""
    contact_capacity(6000)
    urls = [
        f"mailto://127.0.0.1:25?from=nhac-han@hanbaocao.test&to=u{i}@qn.vn" for i in range(5000)
    ]
    first = [parse_contact(url) for url in urls]
    assert all(parse_contact(url) is contact for url, contact in zip(urls, first, strict=True))
    assert first[7].recipients[0].addr_spec == "u7@qn.vn"


@settings(max_examples=200, deadline=None)
@given(
    addresses=st.lists(
        st.sampled_from(
            [
                "so.tc@quangngai.gov.vn",
                "A.B@X.vn",
                "van-thu+1@ubnd.qn.vn",
                "x@y.z",
                "a..b@x.vn",
                "Sở@x.vn",
                "a@-x.vn",
                "a@x",
                "Tên <a@x.vn>",
                "a@x.vn ",
                "",
            ]
        ),
        min_size=1,
        max_size=3,
    ),
    base=st.sampled_from(
        [
            "mailto://127.0.0.1:2525?from=nhac-han@example.invalid&cto=10&to={}",
            "mailtos://user:m%E1%BA%ADt@smtp.qn.vn:465?from=nhac@qn.vn&name=VP%20UBND&to={}&rto=3",
            "mailto://smtp.qn.vn?to={}&reply=chuyenvien@qn.vn&from=nhac@qn.vn",
        ]
    ),
)
def test_a_contact_read_from_its_servers_is_apprises_own(addresses: list[str], base: str) -> None:
    """``parse_contact`` reads a server's URL once and puts each agency's addresses in:
    the same contact as Apprise's parser makes of the whole URL (or its same error)."""
    from notifications.email_contact import _parse_contact, _with_recipients
    from notifications.vocabulary import DeliveryError

    url = base.format(quote(",".join(addresses), safe="@,"))
    try:
        theirs = _parse_contact(url)
    except DeliveryError:
        assert _with_recipients(url) is None
        return
    ours = _with_recipients(url)
    assert ours is None or ours == theirs
    assert ours is None or ours.wire_headers == theirs.wire_headers
