"""The email contact: an Apprise ``mailto://`` / ``mailtos://`` URL read once by
Apprise's own email plugin into an ``SmtpContact`` (host, port, secure mode, login,
from, to, timeouts). Part of the email transport (``notifications.email``), which
re-exports these names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from email.header import decode_header, make_header
from email.headerregistry import Address
from typing import Any
from urllib.parse import unquote

from apprise.plugins import email as apprise_email
from apprise.utils import parse as apprise_parse

from notifications.email_render import _contact_headers
from notifications.vocabulary import DeliveryError

# Apprise is untyped: it is used through these names only.
NotifyEmail: Any = apprise_email.NotifyEmail
SecureMailMode: Any = apprise_email.SecureMailMode
is_email: Any = apprise_parse.is_email

DEFAULT_TIMEOUT = 10.0

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
