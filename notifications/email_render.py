"""Rendering an email: the MIME tree (``build_message``) and, for reminders without
files, its bytes put together directly (``render``), byte for byte the generator's
(``tests/notifications/test_render.py``); the Message-ID derived from the content.
Part of the email transport (``notifications.email``), which re-exports these names."""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from email import base64mime, encoders, quoprimime
from email.charset import BASE64, QP, RFC2047_CHROME_LEN, Charset
from email.header import Header
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from notifications.vocabulary import Attachment, DeliveryError, Message

if TYPE_CHECKING:
    from notifications.email_contact import SmtpContact

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
    # The generator writes each quoted-printable line end as CRLF.
    lines = body.split("\n") if "\r" not in body else _LINE_ENDS.split(body)
    encoded = "\r\n".join(map(_qp_cached, lines)) if body else ""
    return (_PART_HEAD.format(subtype) + encoded).encode("ascii")


# Where ``quoprimime.body_encode`` splits the text: CRLF, CR or LF (other line separators
# are quoted before it splits). It encodes each line on its own, so line by line gives
# its bytes, and a line met before is not encoded again: the reminders of one cycle
# share most of their lines (all but the agency's name, its links and its figures),
# and encoding the UTF-8 of Vietnamese text byte by byte was most of rendering.
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


# Lines up to this long are kept (8,192 of them: some 16 MB at worst); a longer one (an
# HTML part is one line) is nearly always the message's own, and would only fill it.
_CACHED_LINE = 400


def _qp_cached(line: str) -> str:
    return _qp_kept(line) if len(line) <= _CACHED_LINE else _qp_line(line)


def _qp_line(line: str) -> str:
    """One line (without its end) as ``_UTF8.body_encode`` encodes it: UTF-8, quoted-
    printable, soft line breaks ("=" CRLF) where ``quoprimime.body_encode`` puts them.

    The quoting is binascii's (C: the stdlib's ``str.translate`` of every byte was most
    of a reminder's rendering, its HTML part being one long line). Both quote "=",
    controls and bytes over 126 as "=XX" and leave the rest as they are, except that
    binascii also quotes a "." starting one of its own lines and whitespace ending the
    data: the stdlib never quotes ".", space or tab, so those are put back; then the
    stdlib's breaking, copied (``tests/notifications/test_render.py``)."""
    if not line:
        return ""
    # istext=False: there is no line end in ``line`` to keep. binascii's own soft breaks
    # ("=" LF) go: a literal "=" is quoted, so "=" LF is never content.
    quoted = binascii.b2a_qp(line.encode("utf-8"), quotetabs=False, istext=False, header=False)
    for theirs, ours in _UNQUOTED:
        quoted = quoted.replace(theirs, ours)
    return _soft_breaks(quoted.decode("ascii"))


_qp_kept = lru_cache(maxsize=8192)(_qp_line)
_UNQUOTED = ((b"=\n", b""), (b"=2E", b"."), (b"=20", b" "), (b"=09", b"\t"))


def _soft_breaks(line: str, maxlinelen: int = 76) -> str:
    """``quoprimime.body_encode``'s loop over one quoted line: pieces of at most 76
    characters, the last of each "=" (a soft break), never cutting an "=XX"; whitespace
    ending the line quoted, or followed by a soft break, as it fits."""
    pieces = []
    start, laststart, cut = 0, len(line) - 1 - maxlinelen, maxlinelen - 1
    while start <= laststart:
        stop = start + cut
        if line[stop - 2] == "=":
            pieces.append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            pieces.append(line[start:stop])
            start = stop - 1
        else:
            pieces.append(line[start:stop] + "=")
            start = stop
    if line[-1] in " \t":
        room = start - laststart
        if room >= 3:
            tail = quoprimime.quote(line[-1])
        elif room == 2:
            tail = line[-1] + "=\r\n"
        else:
            tail = "=\r\n" + quoprimime.quote(line[-1])
        pieces.append(line[start:-1] + tail)
    else:
        pieces.append(line[start:])
    return "\r\n".join(pieces)


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
