"""The notifications vocabulary shared by messages, transports and the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# Zalo Official Account text messages are limited to 2,000 characters.
ZALO_TEXT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered message to one agency: an email's subject, plain-text and HTML
    parts, and the short text form for Zalo (within ``ZALO_TEXT_LIMIT``)."""

    subject: str
    text: str
    html: str
    short: str


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


class Transport(Protocol):
    """One channel. ``send`` returns on success and raises DeliveryError otherwise;
    a transport may keep a connection open between sends (``close`` ends it)."""

    channel: str

    def send(self, url: str, message: Message) -> None: ...

    def mask(self, url: str) -> str: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Attempt:
    at: datetime
    ok: bool
    error: str | None = None
    permanent: bool = False
    extra: dict[str, str] = field(default_factory=dict)
