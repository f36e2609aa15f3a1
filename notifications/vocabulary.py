"""The notifications vocabulary shared by messages, transports and the dispatcher."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

# Zalo Official Account text messages are limited to 2,000 characters.
ZALO_TEXT_LIMIT = 2000

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
# "type/subtype" with optional "; name=value" parameters: tokens only, so that nothing
# from a payload can end the header line it goes into.
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(; ?[\w.+-]+=[\w.+-]+)*", re.ASCII)
MAX_NAME = 200  # characters: the reader's disk takes 255 bytes, most names are far shorter


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an email. ``name`` is what the reader sees (Vietnamese is
    fine); ``path`` is where the file lies at send time — a path, not bytes, so an
    outbox payload stays small JSON. Only the email transport sends files: a Zalo text
    cannot carry them, and the message's text already holds what they hold."""

    name: str
    content_type: str
    path: Path

    def __post_init__(self) -> None:
        # The name becomes a MIME parameter and, on the reader's disk, a file name.
        name = self.name
        if not (name.strip() and name.isprintable() and len(name) <= MAX_NAME) or any(
            c in name for c in "/\\"
        ):
            raise ValueError(f"attachment name {name!r}: a printable file name, no folders")
        if not _CONTENT_TYPE.fullmatch(self.content_type):
            raise ValueError(f"attachment {self.name!r}: bad content type {self.content_type!r}")
        if not isinstance(self.path, Path):  # a str from a caller or a payload
            object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered message to one agency: an email's subject, plain-text and HTML
    parts, the short text form for Zalo (within ``ZALO_TEXT_LIMIT``), files that go
    with the email only, and the facts as typed fields for Zalo's templates
    (``notifications.zalo_params``; pairs, so that a Message stays hashable)."""

    subject: str
    text: str
    html: str
    short: str
    attachments: tuple[Attachment, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def field_map(self) -> dict[str, str]:
        return dict(self.fields)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact of an agency: its channel and its Apprise URL (secrets inside; only
    ever shown through ``Transport.mask``)."""

    agency_id: int
    channel: str  # "email" | "zalo" | "zns"
    url: str


class DeliveryError(Exception):
    """A failed send. ``permanent`` failures are recorded and never retried (invalid
    phone, no Zalo account, user refused, template not approved); the others are
    retried with growing delays, after ``retry_after`` seconds when the service says."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelFault(DeliveryError):
    """The channel itself cannot send (bad SMTP login or certificate, Zalo balance used
    up, the OA's tokens refused): every message over it would fail the same way until
    an operator fixes it. The dispatcher holds the channel's rows and alerts instead of
    failing them one by one, and sends them once the channel works again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class Transport(Protocol):
    """One channel. ``send`` returns on success (the message's id when the channel
    has one, e.g. an email's Message-ID) and raises DeliveryError otherwise; a
    transport may keep a connection open between sends (``close`` ends it)."""

    channel: str

    def send(self, url: str, message: Message) -> str | None: ...

    def mask(self, url: str) -> str: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Attempt:
    at: datetime
    ok: bool
    error: str | None = None
    permanent: bool = False
    extra: dict[str, str] = field(default_factory=dict)
