"""From a registry contact (an email address, a Zalo user id, a phone number) to the
Apprise URL a transport sends to.

The registry holds addresses; the server side (SMTP host and sender, Zalo OA and its
app credentials) comes from settings, so secrets live in the environment, never in the
registry, flow parameters or logs. A contact whose address is already an Apprise URL
("mailtos://…", "zalooa://…") is used as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import quote, urlencode

from sqlmodel import Session, col, select

from models.agency import AgencyContact, ContactChannel
from models.settings import Settings, settings
from models.tables import Notification
from models.vocabulary import is_phone
from notifications.vocabulary import DeliveryError

# The channels read HANBAOCAO_SMTP_URL (an Apprise mailto(s) URL without recipient, e.g.
# ``mailtos://user:password@smtp.example.gov.vn:465?from=nhac-han@example.gov.vn``),
# HANBAOCAO_ZALO_OA_URL (``zalooa://APP_ID:SECRET@OA_ID``, recipient appended),
# HANBAOCAO_ZNS_URL (``zns://APP_ID:SECRET@OA_ID``) and HANBAOCAO_ZNS_TEMPLATE.
ChannelSettings = Settings


class NoChannel(LookupError):
    """A contact whose channel is not configured on this server; the message says what to set."""


def contact_url(contact: AgencyContact, channels: ChannelSettings | None = None) -> str:
    address = contact.address.strip()
    if "://" in address:
        return address
    cfg = channels or settings()
    if contact.channel == ContactChannel.email:
        return _mailto(address, cfg)
    if contact.channel == ContactChannel.zalo and not is_phone(address):
        return _zalo(cfg.zalo_oa_url, "HANBAOCAO_ZALO_OA_URL", address)
    # ZNS, or a Zalo contact known only by phone: an OA message needs a user id (the
    # officer must have followed the OA), a phone is reached by an approved ZNS template.
    return _zalo(cfg.zns_url, "HANBAOCAO_ZNS_URL", address, template=cfg.zns_template)


def _mailto(address: str, cfg: ChannelSettings) -> str:
    if not cfg.smtp_url:
        raise NoChannel("email is not configured: set HANBAOCAO_SMTP_URL (an Apprise mailto URL)")
    params = {"to": address}
    if "cto=" not in cfg.smtp_url:  # a hung server must not block a sweep for long
        params["cto"] = str(cfg.smtp_timeout)
    sep = "&" if "?" in cfg.smtp_url else "?"
    return f"{cfg.smtp_url}{sep}{urlencode(params, safe='@')}"


def _zalo(base: str | None, variable: str, recipient: str, *, template: str | None = None) -> str:
    if not base:
        raise NoChannel(f"this Zalo channel is not configured: set {variable}")
    base, _, query = base.partition("?")
    url = f"{base.rstrip('/')}/{quote(recipient, safe='')}"
    params = [p for p in query.split("&") if p]
    if template and not any(p.startswith("template=") for p in params):
        params.append(f"template={quote(template)}")
    return url + (f"?{'&'.join(params)}" if params else "")


def contact_resolver(
    session_factory: Callable[[], AbstractContextManager[Session]],
    channels: ChannelSettings | None = None,
) -> Callable[[Notification], str]:
    """``dispatch``'s ``resolve_url`` for rows that carry no URL: the agency's contacts of
    the row's channel from the registry, joined with this server's settings. An email
    goes to every address of the agency in one message; Zalo to its first contact. The
    contacts of a channel are read once, in one query, on its first row."""
    cfg = channels or settings()
    contacts: dict[str, dict[int, list[AgencyContact]]] = {}
    cache: dict[tuple[int, str], str] = {}

    def resolve(row: Notification) -> str:
        key = (row.agency_id, row.channel)
        if key not in cache:
            if row.channel not in contacts:
                contacts[row.channel] = _contacts_of(session_factory, row.channel)
            found = contacts[row.channel].get(row.agency_id, [])
            cache[key] = _agency_url(row, found, cfg)
        return cache[key]

    return resolve


def _contacts_of(
    session_factory: Callable[[], AbstractContextManager[Session]], channel: str
) -> dict[int, list[AgencyContact]]:
    by_agency: dict[int, list[AgencyContact]] = {}
    with session_factory() as session:
        stmt = select(AgencyContact).where(AgencyContact.channel == channel)
        for contact in session.exec(stmt.order_by(col(AgencyContact.id))):
            by_agency.setdefault(contact.agency_id, []).append(contact)
    if channel == ContactChannel.email:
        # One URL per agency: the transport's parsed-contact cache holds them all.
        from notifications.email import contact_capacity

        contact_capacity(len(by_agency))
    return by_agency


def _agency_url(row: Notification, contacts: list[AgencyContact], cfg: ChannelSettings) -> str:
    if not contacts:
        raise DeliveryError(f"agency {row.agency_id} has no {row.channel} contact", permanent=True)
    try:
        if row.channel == ContactChannel.email and len(contacts) > 1:
            joined = ",".join(c.address for c in contacts)
            merged = AgencyContact(
                agency_id=row.agency_id, channel=ContactChannel.email, address=joined
            )
            return contact_url(merged, cfg)
        return contact_url(contacts[0], cfg)
    except NoChannel as exc:  # not configured here: it will not fix itself by retrying
        raise DeliveryError(str(exc), permanent=True) from exc
