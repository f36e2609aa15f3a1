"""The email transport: Apprise ``mailto://`` / ``mailtos://`` contacts, sent with
``smtplib`` over connections kept open between messages.

Why not Apprise's own ``notify()``: it opens, authenticates and quits one SMTP
connection per message and builds a fresh SSL context each time (about 0.05 of a bare
smtplib loop in bench/bench_notify.py), and every plugin instance throttles itself to
one send per 5.5 s (``NotifyBase.request_rate_per_sec``): 5,000 reminders would take
hours and invite the provider's rate limits on logins. The contact is still an
Apprise URL, and Apprise's own email plugin reads it, so every URL an operator tests
with ``apprise -vv`` means the same thing here (host, port, secure mode, login,
from, to, ``cto=``/``rto=``).

Timeouts: ``cto=`` bounds connecting and the server's greeting, ``rto=`` every later
reply; both default to 10 s (Apprise's own defaults are 15 s and 4 s). In a mailto
URL ``to=`` is the recipient, so it cannot also name a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import smtplib
import socket
import ssl
import sys
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import base64mime, encoders
from email.charset import BASE64, QP, RFC2047_CHROME_LEN, Charset
from email.header import Header, decode_header, make_header
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from apprise.plugins import email as apprise_email
from apprise.utils import parse as apprise_parse

from notifications.model import Attachment, ChannelFault, DeliveryError, Message

log = logging.getLogger(__name__)

# Apprise is untyped: it is used through these names only.
NotifyEmail: Any = apprise_email.NotifyEmail
SecureMailMode: Any = apprise_email.SecureMailMode
is_email: Any = apprise_parse.is_email

DEFAULT_TIMEOUT = 10.0
# After a connection-level failure the server is considered down for this long: the
# rest of a dispatch's rows to it fail fast (transient) instead of each waiting out a
# timeout against a hung server.
DEFAULT_COOLDOWN = 30.0
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The files of one email together. Base64 adds a third on the wire: 15 MiB of files
# make about 20 MiB of mail, under the 25 MB that common mail servers accept.
MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024

# Our own charset object, so Apprise's import-time change to the global "utf-8" entry
# (email.charset.add_charset) cannot change what we send: quoted-printable bodies stay
# readable in a mail source view and need no 8BITMIME; base64 headers are the shortest
# RFC 2047 form for Vietnamese (nearly every word has a diacritic).


class _Utf8(Charset):
    """``Charset("utf-8")`` whose base64 header lines are cut from the encoded bytes:
    the same lines as the stdlib's ``header_encode_lines``, which re-encodes the whole
    line for every character it adds (quadratic; most of the time a reminder took to
    render, for its Vietnamese subject). A line of ``n`` base64 characters holds
    ``n // 4 * 3`` bytes; the cut moves back to the start of a character."""

    def header_encode_lines(self, string: str, maxlengths: Iterator[int]) -> list[str | None]:
        if self.header_encoding is not BASE64:
            return super().header_encode_lines(string, maxlengths)
        extra = len("utf-8") + RFC2047_CHROME_LEN
        data = string.encode("utf-8")
        lines: list[str | None] = []
        start = 0
        while True:
            cut = start + max(next(maxlengths) - extra, 0) // 4 * 3
            if cut >= len(data):
                lines.append(_b64_word(data[start:]))
                return lines
            while cut > start and data[cut] & 0xC0 == 0x80:  # inside a character
                cut -= 1
            if cut == start:  # not one character fits: as the stdlib does,
                if not lines:  # the first line stays empty,
                    lines.append(None)
                    continue
                cut += 1  # a later one takes the character anyway
                while cut < len(data) and data[cut] & 0xC0 == 0x80:
                    cut += 1
            lines.append(_b64_word(data[start:cut]))
            if cut == len(data):  # a forced last character
                return lines
            start = cut


def _b64_word(data: bytes) -> str:
    return str(base64mime.header_encode(data, charset="utf-8"))


_UTF8 = _Utf8("utf-8")
_UTF8.header_encoding = BASE64
_UTF8.body_encoding = QP
# SMTP's line ends; smtplib does not fix bare LFs in a bytes message.
# Lines of at most 76: a folded RFC 2047 word (after its line's leading space) then stays
# within the 75 characters RFC 2047 allows; some clients show longer words raw.
_LINE = 76
_WIRE = compat32.clone(linesep="\r\n", max_line_length=_LINE)

PoolKey = tuple[str, int, str, str | None]  # host, port, secure mode, user


@dataclass(frozen=True, slots=True)
class SmtpContact:
    """Everything a send needs, read from one Apprise email URL."""

    host: str
    port: int
    mode: str  # SecureMailMode: insecure | ssl | starttls
    user: str | None
    password: str | None = field(repr=False)  # never in a log line or a traceback
    sender: Address
    recipients: tuple[Address, ...]
    connect_timeout: float
    read_timeout: float
    verify_certificate: bool
    reply_to: tuple[Address, ...] = ()  # the contact officer (``reply=`` in the URL)
    # From and To, then Reply-To, folded once for every message to this contact.
    wire_headers: tuple[bytes, bytes] = field(default=(b"", b""), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "wire_headers", _contact_headers(self))

    @property
    def pool_key(self) -> PoolKey:
        return (self.host, self.port, self.mode, self.user)


# Parsed contacts by URL (settings and address together). At least this many are kept;
# ``contact_capacity`` raises it to the registry's size, so a sweep over every agency
# parses each contact once per process, not once per message.
_CONTACTS: dict[str, SmtpContact] = {}
_capacity = 4096


def contact_capacity(count: int) -> None:
    """Keep at least ``count`` parsed contacts (the registry's contacts of a channel)."""
    global _capacity
    _capacity = max(_capacity, count)


def parse_contact(url: str) -> SmtpContact:
    """Read an Apprise email URL with Apprise's own parser (once per URL: see
    ``_CONTACTS``); DeliveryError(permanent) when it is not one (no amount of
    retrying fixes a bad contact)."""
    found = _CONTACTS.get(url)
    if found is None:
        found = _with_recipients(url) or _parse_contact(url)
        if len(_CONTACTS) >= _capacity:
            del _CONTACTS[next(iter(_CONTACTS))]  # the oldest
        _CONTACTS[url] = found
    return found


# One ``to=`` of plain addresses (``contacts.contact_url``'s shape: the server's settings,
# then the agency's addresses).
_TO = re.compile(r"[?&]to=([^&#]*)")
_PLAIN = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_STAND_IN = "hbc-recipient@hanbaocao.invalid"


def _with_recipients(url: str) -> SmtpContact | None:
    """The contacts of one server differ only in ``to=``: Apprise reads the URL with a
    stand-in recipient once (``parse_contact``'s cache), and each agency's plain
    addresses replace it — a sweep over 20,000 agencies would otherwise run Apprise's
    parser 20,000 times. None (Apprise reads the whole URL) for anything else: several
    ``to=``, names, repeated or unusual addresses."""
    found = list(_TO.finditer(url))
    if len(found) != 1:
        return None
    addresses = unquote(found[0].group(1)).split(",")
    if len(set(addresses)) != len(addresses) or not all(map(_plain, addresses)):
        return None
    if addresses == [_STAND_IN]:  # the server's own URL: Apprise reads it
        return None
    start, end = found[0].span(1)
    server = parse_contact(url[:start] + _STAND_IN + url[end:])
    if [a.addr_spec for a in server.recipients] != [_STAND_IN]:
        return None
    recipients = tuple(_address(None, address) for address in addresses)
    return replace(server, recipients=recipients)


def _plain(address: str) -> bool:
    """A bare address, and one Apprise takes as it is."""
    if not _PLAIN.fullmatch(address):
        return False
    found = is_email(address)
    return bool(found) and found["full_email"] == address and not found["name"]


def _parse_contact(url: str) -> SmtpContact:
    results = NotifyEmail.parse_url(url)
    if not results:
        raise DeliveryError("not an Apprise email URL", permanent=True)
    try:
        plugin = NotifyEmail(**results)
    except TypeError as exc:  # Apprise's way of saying "invalid from/mode"
        raise DeliveryError(f"invalid email contact: {exc}", permanent=True) from exc
    return _contact_of(plugin, results)


def _contact_of(plugin: Any, results: dict[str, Any]) -> SmtpContact:
    recipients = tuple(_address(name, addr) for name, addr in plugin.targets)
    if not recipients:
        raise DeliveryError("email contact has no valid recipient", permanent=True)
    return SmtpContact(
        host=plugin.smtp_host,
        port=int(plugin.port),
        mode=plugin.secure_mode,
        user=plugin.user or None,
        password=plugin.password or None,
        sender=_address(plugin.from_addr[0], plugin.from_addr[1]),
        recipients=recipients,
        # Only explicit cto=/rto= count: Apprise's class defaults are not ours.
        connect_timeout=float(results.get("cto") or DEFAULT_TIMEOUT),
        read_timeout=float(results.get("rto") or DEFAULT_TIMEOUT),
        verify_certificate=bool(plugin.verify_certificate),
        reply_to=tuple(_address(plugin.names.get(addr), addr) for addr in sorted(plugin.reply_to)),
    )


def _address(name: str | bool | None, addr: str) -> Address:
    # Apprise pre-encodes ``name=`` as an RFC 2047 word; decode it so the policy encodes
    # the header once, correctly (a double-encoded name shows "=?utf-8?q?…" to people).
    display = str(make_header(decode_header(name))) if isinstance(name, str) and name else ""
    local, _, domain = addr.rpartition("@")
    if _DOT_ATOM.fullmatch(local) and _DOT_ATOM.fullmatch(domain):
        # A plain address needs no parsing (``addr_spec=`` runs the header parser: most
        # of the time a new contact took, and a sweep meets thousands).
        return Address(display_name=display, username=local, domain=domain)
    return Address(display_name=display, addr_spec=addr)


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def mask(url: str) -> str:
    """The URL as Apprise prints it with ``privacy=True`` (password hidden)."""
    results = NotifyEmail.parse_url(url)
    try:
        return str(NotifyEmail(**results).url(privacy=True)) if results else "mailto://?"
    except TypeError:
        return "mailto://(invalid)"


def build_message(contact: SmtpContact, message: Message, *, now: datetime) -> MIMEMultipart:
    """multipart/alternative (text, then HTML: clients show the last part they can),
    UTF-8, 7-bit on the wire: RFC 2047 headers, quoted-printable bodies. With
    attachments, multipart/mixed: that alternative first, then one base64 part per file
    (byte for byte as on disk), named in RFC 2231 form. A missing file is a permanent
    DeliveryError: retrying will not bring it back.

    Built with the ``email.mime`` (compat32) classes rather than ``EmailMessage`` with
    ``policy.SMTP``: the modern policy re-parses and re-folds every header and costs
    about 4 ms for one Vietnamese reminder against 0.6 ms here — more than the SMTP
    exchange itself (bench/bench_notify.py). The tests decode what arrives with the
    modern parser and compare subject, names and both parts exactly."""
    contents = read_attachments(message)
    mail = _alternative(message)
    if message.attachments:
        body, mail = mail, MIMEMultipart("mixed")
        del body["MIME-Version"]
        mail.attach(body)
        for attachment, data in zip(message.attachments, contents, strict=True):
            mail.attach(_attachment_part(attachment, data))
    mail["Subject"] = Header(message.subject, _UTF8, header_name="Subject")  # type: ignore[assignment]
    mail["From"] = _format(contact.sender)
    mail["To"] = ", ".join(_format(a) for a in contact.recipients)
    mail["Date"] = format_datetime(now.astimezone(LOCAL_TZ))
    mail["Message-ID"] = message_id(contact, message, contents)
    if contact.reply_to:  # answers go to the officer in charge, not the robot's mailbox
        mail["Reply-To"] = ", ".join(_format(a) for a in contact.reply_to)
    # RFC 3834: out-of-office robots must not answer a reminder; Exchange/Outlook
    # follow their own header for the same.
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    return mail


# Mail clients clip longer HTML (Gmail at about 102 KB: the reader sees "[Message
# clipped]" and half a table). Beyond this, the HTML part says where the full table is.
MAX_HTML_BYTES = 100_000
_HEAD_CHARS = 1500


def fit_html(message: Message) -> str:
    """``message.html``, or when it is over ``MAX_HTML_BYTES`` a short HTML part: the
    beginning of the text, then the link (the dashboard / status page of the notice's
    fields) and the attached sheets, where the whole table is."""
    if len(message.html.encode()) <= MAX_HTML_BYTES:
        return message.html
    head = message.text[:_HEAD_CHARS].rsplit("\n", 1)[0]
    parts = [f"<p>{html.escape(head).replace(chr(10), '<br>')}<br>…</p>"]
    parts.append("<p><b>Nội dung đầy đủ quá dài để hiển thị trong thư.</b></p>")
    link = message.field_map.get("link", "")
    if link.startswith(("https://", "http://")):
        url = html.escape(link, quote=True)
        parts.append(f'<p>Xem bảng đầy đủ tại: <a href="{url}">{url}</a></p>')
    if message.attachments:
        names = ", ".join(html.escape(a.name) for a in message.attachments)
        parts.append(f"<p>Bảng tính kèm theo thư: {names}.</p>")
    return "<html><body>" + "".join(parts) + "</body></html>"


def _alternative(message: Message) -> MIMEMultipart:
    mail = MIMEMultipart("alternative")
    for body, subtype in ((message.text, "plain"), (fit_html(message), "html")):
        part = MIMEText(body, subtype, _UTF8)  # type: ignore[arg-type]  # a Charset works
        del part["MIME-Version"]  # belongs on the top level only (RFC 2045 §4)
        mail.attach(part)
    return mail


def read_attachments(message: Message) -> list[bytes]:
    """The bytes of each attachment, in order. Permanent DeliveryError when a file is
    gone (the sweep's export was removed, or the payload names a path this worker
    cannot see) or the files would not pass a mail server's size limit; transient for
    other read errors (an I/O error or too many open files may pass)."""
    contents: list[bytes] = []
    for attachment in message.attachments:
        try:
            contents.append(attachment.path.read_bytes())
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise DeliveryError(
                f"attachment {attachment.name!r}: no file at {attachment.path} "
                f"({exc.strerror or type(exc).__name__})",
                permanent=True,
            ) from exc
        except OSError as exc:
            raise DeliveryError(
                f"attachment {attachment.name!r}: cannot read {attachment.path}: {exc}",
                permanent=False,
            ) from exc
    total = sum(map(len, contents))
    if total > MAX_ATTACHMENT_BYTES:
        raise DeliveryError(
            f"attachments of {total} bytes exceed the {MAX_ATTACHMENT_BYTES}-byte limit",
            permanent=True,
        )
    return contents


def _attachment_part(attachment: Attachment, data: bytes) -> MIMEBase:
    # base64 whatever the type: the CSV's BOM and CRLFs arrive exactly as written.
    maintype, _, subtype = attachment.content_type.partition(";")[0].strip().partition("/")
    part = MIMEBase(maintype, subtype)
    del part["MIME-Version"]
    name = unicodedata.normalize("NFC", attachment.name)
    part.replace_header("Content-Type", f"{attachment.content_type}; {rfc2231('name', name)}")
    part["Content-Disposition"] = f"attachment; {rfc2231('filename', name)}"
    part.set_payload(data)
    encoders.encode_base64(part)
    return part


# RFC 2231 attribute-char: any ASCII printable except space, */'%, and tspecials.
_ATTRIBUTE_CHARS = "!#$&+-.^_`|~"


def rfc2231(key: str, value: str, *, width: int = 76) -> str:
    """``key*=utf-8''…`` — or, when that would make a long line, continued
    ``key*0*=utf-8''…; key*1*=…`` segments of at most ``width`` characters each, split
    between whole characters (some readers decode segment by segment). The ``; ``
    between segments is where the header is folded: a folded line (a space, a segment,
    a ";") then stays within the 78 characters of RFC 5322."""
    segments = [""]
    for char in value:
        encoded = quote(char.encode("utf-8"), safe=_ATTRIBUTE_CHARS)
        used = len(_segment_head(key, len(segments) - 1)) + len(segments[-1])
        if segments[-1] and used + len(encoded) > width:
            segments.append("")
        segments[-1] += encoded
    if len(segments) == 1:
        return f"{key}*=utf-8''{segments[0]}"
    return "; ".join(_segment_head(key, i) + segment for i, segment in enumerate(segments))


def _segment_head(key: str, index: int) -> str:
    return f"{key}*{index}*=" + ("utf-8''" if index == 0 else "")


def render(contact: SmtpContact, message: Message, *, now: datetime) -> bytes:
    """The message as it goes on the wire (CRLF line ends): see ``rendered``."""
    return rendered(contact, message, now=now)[1]


def rendered(contact: SmtpContact, message: Message, *, now: datetime) -> tuple[str, bytes]:
    """The message's Message-ID and its bytes as they go on the wire (CRLF line ends).

    Without attachments (nearly every reminder) the bytes are put together here from
    the same pieces the stdlib generator would use on ``build_message``'s tree — each
    header folded by the same policy, each part's body quoted-printable by the same
    encoder — so they are the generator's bytes but for the boundary, which is derived
    from the Message-ID instead of drawn at random (a repeated send is then the same
    bytes). The generator costs about twice the rest of a send, most of it re-folding
    headers that are the same for every message to one contact; those folds are
    cached here. ``tests/notifications/test_render.py`` compares both paths byte for
    byte. With attachments, the generator (rare: escalations with their sheets)."""
    if message.attachments:
        return _generated(contact, message, now)
    mid = message_id(contact, message, ())
    parts = [_part(message.text, "plain"), _part(fit_html(message), "html")]
    # The generator's boundary shape (15 "=", 19 digits, "=="), its digits from the id.
    boundary = f"{'=' * 15}{int(mid[5:21], 16) % sys.maxsize:019d}=="
    if any(f"--{boundary}".encode() in part for part in parts):  # cannot happen with QP
        return _generated(contact, message, now)
    head = [
        _MULTIPART.replace(_SAMPLE_BOUNDARY, boundary.encode()),
        _folded("MIME-Version", "1.0"),
        _subject_header(message.subject),
        contact.wire_headers[0],
        _folded("Date", format_datetime(now.astimezone(LOCAL_TZ))),
        _short_header("Message-ID", mid),
        contact.wire_headers[1],
        _folded("Auto-Submitted", "auto-generated"),
        _folded("X-Auto-Response-Suppress", "All"),
    ]
    close = f"\r\n--{boundary}--\r\n".encode()
    delimiter = f"--{boundary}\r\n".encode()
    return mid, b"".join([*head, b"\r\n", delimiter, parts[0], b"\r\n", delimiter, parts[1], close])


def _generated(contact: SmtpContact, message: Message, now: datetime) -> tuple[str, bytes]:
    mail = build_message(contact, message, now=now)
    return str(mail["Message-ID"]), mail.as_bytes(policy=_WIRE)


_SAMPLE_BOUNDARY = ("=" * 15 + "0" * 19 + "==").encode()
# Folded once: every boundary has the sample's length and no space, so it folds alike.
_MULTIPART = _WIRE.fold_binary(
    "Content-Type", f'multipart/alternative; boundary="{_SAMPLE_BOUNDARY.decode()}"'
)


def _subject_header(subject: str) -> bytes:
    """``Subject`` as compat32 folds ``Header(subject, _UTF8)``: the charset's base64
    lines (the first after "Subject: ", the rest after one space), without the
    ``Header`` and formatter objects around them, which cost more than the encoding
    (most of a reminder's rendering). A subject that is empty or holds a line break
    takes the policy's own path."""
    if len(subject.splitlines()) == 1:
        first = _LINE - len("Subject: ")
        lines = _UTF8.header_encode_lines(subject, _widths(first, _LINE - 1))
        if lines[0] is not None:
            return ("Subject: " + "\r\n ".join(map(str, lines)) + "\r\n").encode("ascii")
    header = Header(subject, _UTF8, header_name="Subject")
    return _WIRE.fold_binary("Subject", header)  # type: ignore[arg-type]


def _widths(first: int, rest: int) -> Iterator[int]:
    yield first
    while True:
        yield rest


def _short_header(name: str, value: str) -> bytes:
    """A one-word ASCII header that fits its line is not folded: written as it is."""
    fits = len(name) + len(value) + 2 <= _LINE
    if fits and value.isascii() and value.isprintable() and " " not in value:
        return f"{name}: {value}\r\n".encode("ascii")
    return _WIRE.fold_binary(name, value)


@lru_cache(maxsize=256)
def _folded(name: str, value: str) -> bytes:
    return _WIRE.fold_binary(name, value)


def _contact_headers(contact: SmtpContact) -> tuple[bytes, bytes]:
    """From and To folded; Reply-To folded (or nothing)."""
    head = _address_header("From", _format(contact.sender))
    head += _address_header("To", ", ".join(_format(a) for a in contact.recipients))
    tail = b""
    if contact.reply_to:
        tail = _address_header("Reply-To", ", ".join(_format(a) for a in contact.reply_to))
    return head, tail


@lru_cache(maxsize=4096)
def _address_header(name: str, value: str) -> bytes:
    # The same sender on every message, the same addressee on every message to it.
    return _short_header(name, value)


_PART_HEAD = (
    'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
)


def _part(body: str, subtype: str) -> bytes:
    """One text part as the generator writes ``MIMEText(body, subtype, _UTF8)``."""
    # Quoted-printable lines end in "\n" only (a CR in the text is split on, then encoded
    # away); the generator writes each line end as CRLF.
    encoded = _UTF8.body_encode(body) or ""
    return (_PART_HEAD.format(subtype) + encoded.replace("\n", "\r\n")).encode("ascii")


def _format(address: Address) -> str:
    """``name <addr>``; a non-ASCII name as RFC 2047 words of at most 75 characters
    each (``formataddr`` would make one word of any length: a long agency name breaks
    the limit and some clients show the raw ``=?utf-8?b?…?=``)."""
    name = address.display_name
    if not name or name.isascii():
        return formataddr((name, address.addr_spec))
    return f"{' '.join(encoded_words(name))} <{address.addr_spec}>"


MAX_WORD = 75  # RFC 2047 §2
_WORD_BYTES = (MAX_WORD - len("=?utf-8?b??=")) // 4 * 3  # payload bytes per word


def encoded_words(text: str) -> list[str]:
    """``text`` as base64 RFC 2047 words of at most 75 characters, split after a space
    (the space travels inside the word): readers drop the whitespace BETWEEN encoded
    words, so a word boundary inside a name would glue or split its words."""
    chunks: list[str] = []
    for piece in re.findall(r"\S+\s*|\s+", text):
        if chunks and len((chunks[-1] + piece).encode()) <= _WORD_BYTES:
            chunks[-1] += piece
            continue
        while len(piece.encode()) > _WORD_BYTES:  # one very long word: split by character
            cut = _fit_bytes(piece, _WORD_BYTES)
            chunks.append(piece[:cut])
            piece = piece[cut:]
        chunks.append(piece)
    return [f"=?utf-8?b?{base64.b64encode(c.encode()).decode()}?=" for c in chunks if c]


def _fit_bytes(text: str, limit: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode())
        if used > limit:
            return index
    return len(text)


def message_id(
    contact: SmtpContact, message: Message, contents: Sequence[bytes] | None = None
) -> str:
    """A Message-ID derived from recipients and content, not random: if a send is
    repeated (the at-least-once window of the outbox: the server accepted, the worker
    died before recording it), the copy carries the same id and mail systems that
    de-duplicate by Message-ID drop it. Distinct reminders differ in content.

    Attachments count by name, type and the SHA-256 of their bytes (``contents``, read
    from disk when not given), not by path: the same files re-sent keep the id, a
    status file rewritten with other figures gets a new one. A message without
    attachments keeps the id it had before attachments existed."""
    digest = hashlib.sha256()
    for part in (
        ",".join(a.addr_spec for a in contact.recipients),
        message.subject,
        message.text,
        message.html,
    ):
        digest.update(part.encode("utf-8") + b"\0")
    if contents is None:
        contents = read_attachments(message)
    for attachment, data in zip(message.attachments, contents, strict=True):
        facts = (attachment.name, attachment.content_type, hashlib.sha256(data).hexdigest())
        digest.update("\0".join(facts).encode("utf-8") + b"\0")
    domain = contact.sender.domain or "hanbaocao.invalid"
    return f"<hbc.{digest.hexdigest()[:32]}@{domain}>"


class EmailTransport:
    """``Transport`` for the ``email`` channel. One instance per worker thread is the
    intended use; a lock makes a shared instance safe (sends are then serialised)."""

    channel = "email"

    def __init__(self, *, cooldown: float = DEFAULT_COOLDOWN) -> None:
        self._pool: dict[PoolKey, smtplib.SMTP] = {}
        self._down: dict[PoolKey, tuple[float, str]] = {}
        self._cooldown = cooldown
        self._lock = threading.Lock()

    def send(self, url: str, message: Message) -> str:
        """Send ``message``; its Message-ID (the outbox keeps it for the audit)."""
        contact = parse_contact(url)
        mid, data = rendered(contact, message, now=datetime.now(LOCAL_TZ))
        with self._lock:
            self._check_up(contact.pool_key)
            try:
                self._deliver(contact, data)
            except DeliveryError:
                self._discard(contact.pool_key)
                raise
        return mid

    def mask(self, url: str) -> str:
        return mask(url)

    def close(self) -> None:
        with self._lock:
            for key in list(self._pool):
                self._discard(key)

    # --- connections ---------------------------------------------------------------

    def _deliver(self, contact: SmtpContact, data: bytes) -> None:
        rcpts = [a.addr_spec for a in contact.recipients]
        conn = self._pool.get(contact.pool_key)
        if conn is not None:
            try:
                _transaction(conn, contact.sender.addr_spec, rcpts, data, reused=True)
                return
            except _Stale:
                # The server dropped an idle connection: nothing of this message was
                # accepted yet (it failed at MAIL FROM), so sending again is safe.
                self._discard(contact.pool_key)
        conn = self._open(contact)
        _transaction(conn, contact.sender.addr_spec, rcpts, data, reused=False)

    def _open(self, contact: SmtpContact) -> smtplib.SMTP:
        try:
            conn = _connect(contact)
        except DeliveryError as exc:
            if not (exc.permanent or isinstance(exc, ChannelFault)):
                self._down[contact.pool_key] = (time.monotonic() + self._cooldown, str(exc))
            raise
        self._down.pop(contact.pool_key, None)
        self._pool[contact.pool_key] = conn
        return conn

    def _check_up(self, key: PoolKey) -> None:
        down = self._down.get(key)
        if down is not None and time.monotonic() < down[0]:
            raise DeliveryError(f"server down (recently: {down[1]})", permanent=False)

    def _discard(self, key: PoolKey) -> None:
        conn = self._pool.pop(key, None)
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


class _Stale(Exception):
    """A kept-open connection turned out to be closed by the server."""


def _connect(contact: SmtpContact) -> smtplib.SMTP:
    """Connect, greet, secure and log in; every failure as a classified DeliveryError."""
    conn: smtplib.SMTP | None = None
    try:
        conn = _socket(contact)
        # The greeting was read under the connect timeout; the rest uses the read one.
        if conn.sock is not None:
            conn.sock.settimeout(contact.read_timeout)
        conn.ehlo()
        # mailtos:// demands STARTTLS; a plain mailto:// still upgrades when the server
        # offers it, so that passwords and reports do not cross the network in clear.
        if contact.mode == SecureMailMode.STARTTLS or (
            contact.mode == SecureMailMode.INSECURE and conn.has_extn("starttls")
        ):
            conn.starttls(context=_tls_context(contact))
            conn.ehlo()
        if contact.user and contact.password:
            _login(conn, contact.user, contact.password)
        return conn
    except (OSError, smtplib.SMTPException) as exc:
        if conn is not None:
            conn.close()
        raise classify(exc) from exc


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib encodes credentials as ASCII; a Vietnamese password ("mật-khẩu") goes
    through AUTH PLAIN by hand, which RFC 4616 defines over UTF-8."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    if "plain" not in conn.esmtp_features.get("auth", "").lower().split():
        raise ChannelFault("máy chủ thư không hỗ trợ AUTH PLAIN cho tên/mật khẩu có dấu")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, reply = conn.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _socket(contact: SmtpContact) -> smtplib.SMTP:
    if contact.mode == SecureMailMode.SSL:
        return smtplib.SMTP_SSL(
            contact.host,
            contact.port,
            timeout=contact.connect_timeout,
            context=_tls_context(contact),
        )
    return smtplib.SMTP(contact.host, contact.port, timeout=contact.connect_timeout)


def _tls_context(contact: SmtpContact) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not contact.verify_certificate:  # ?verify=no in the URL, as in Apprise
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _transaction(
    conn: smtplib.SMTP, sender: str, rcpts: Iterable[str], data: bytes, *, reused: bool
) -> None:
    """MAIL, RCPT, DATA — ``smtplib.sendmail`` in steps, so that a dead kept-open
    connection is told apart (at MAIL, before anything was accepted) from a failure
    later in the transaction, which must not be blindly repeated."""
    try:
        code, reply = conn.mail(sender)
    except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
        if reused:
            raise _Stale from exc
        raise classify(exc) from exc
    if code == 421 and reused:  # "closing transmission channel" on an idle connection
        raise _Stale
    try:
        _check(code, reply, "MAIL FROM")
        _recipients(conn, rcpts)
        code, reply = conn.data(data)
        _check(code, reply, "DATA")
    except (OSError, smtplib.SMTPException) as exc:
        raise classify(exc) from exc


def _recipients(conn: smtplib.SMTP, rcpts: Iterable[str]) -> None:
    refused: dict[str, tuple[int, bytes]] = {}
    accepted = 0
    for rcpt in rcpts:
        code, reply = conn.rcpt(rcpt)
        if code in (250, 251):
            accepted += 1
        else:
            refused[rcpt] = (code, reply)
    if not accepted:
        conn.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    if refused:
        # Some addresses of the contact took it: the agency is reached, the rest logged.
        log.warning("email: some recipients refused: %s", _codes(refused))


def _check(code: int, reply: bytes, step: str) -> None:
    if code != 250:
        raise smtplib.SMTPResponseException(code, f"{step}: {reply.decode(errors='replace')}")


def _codes(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{r}: {c} {m.decode(errors='replace')}" for r, (c, m) in refused.items())


# Replies that mean the channel's own configuration is wrong, not the message: 530
# authentication required, 534 mechanism too weak, 535 credentials refused, 538
# encryption required.
CONFIG_REPLIES = frozenset({530, 534, 535, 538})
FIX_THEN_RETRY = "sửa HANBAOCAO_SMTP_URL rồi chạy `hanbaocao outbox retry`"


def classify(exc: BaseException) -> DeliveryError:
    """``ChannelFault`` (hold the channel): the login is refused or the server's
    certificate does not verify — every message would fail alike until an operator
    fixes the configuration. Permanent: other 5xx answers (recipient or sender
    rejected, message refused) — retrying the same message changes nothing.
    Transient: refused or timed-out connections, disconnects, 4xx ("try later")."""
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code in CONFIG_REPLIES:
        text = _reply_text(exc)
        return ChannelFault(
            f"máy chủ thư từ chối đăng nhập ({exc.smtp_code} {text}): {FIX_THEN_RETRY}"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ChannelFault(
            f"chứng chỉ TLS của máy chủ thư không hợp lệ ({exc.verify_message}): {FIX_THEN_RETRY}"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        return DeliveryError(f"recipients refused: {_codes(exc.recipients)}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = _reply_text(exc)
        return DeliveryError(f"{exc.smtp_code} {text}", permanent=500 <= exc.smtp_code < 600)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"server lacks a required extension: {exc}", permanent=True)
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeliveryError(f"timed out: {exc}", permanent=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False)


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)
