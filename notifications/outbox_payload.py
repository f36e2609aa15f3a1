"""An outbox row's payload: the message it carries as JSON (``payload_of`` and back,
``message_of``), and what a sent row keeps of it (``sent_payload``). Part of the outbox
(``notifications.outbox``), which re-exports these names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from notifications.vocabulary import Attachment, DeliveryError, Message

# The payload keys that hold the message itself; the rest (url, agency, sender) are the
# dispatcher's.
MESSAGE_KEYS = frozenset({"subject", "text", "html", "short", "attachments", "fields"})


def payload_of(message: Message, **extra: Any) -> dict[str, Any]:
    """The outbox payload of ``message`` (JSON: what ``enqueue(payload=…)`` stores),
    plus the dispatcher's keys in ``extra`` — ``agency`` and ``sender`` name a digest's
    addressee and sender, ``url`` a contact when no resolver is used. Attachments are
    stored as name, content type and absolute path (a worker may run elsewhere: the
    path must be one it can read); the bytes stay on disk."""
    clash = MESSAGE_KEYS & extra.keys()
    if clash:
        raise ValueError(f"payload_of: {sorted(clash)} belong to the message itself")
    payload: dict[str, Any] = {
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "short": message.short,
    }
    if message.fields:
        payload["fields"] = dict(message.fields)
    if message.attachments:
        payload["attachments"] = [
            {"name": a.name, "content_type": a.content_type, "path": str(a.path.absolute())}
            for a in message.attachments
        ]
    return {**payload, **extra}


# What a sent row keeps (issue 16): enough for the audit — subject, addressee, sender,
# the names of its files and the Message-ID — but not the bodies, the Zalo fields or the
# contact URL, which hold live submission links (and, in a URL, perhaps a password). A
# failed or pending row keeps everything: a retry sends it from its payload.
KEPT_WHEN_SENT = ("subject", "agency", "sender")


def sent_payload(payload: Mapping[str, Any], message_id: str | None) -> dict[str, Any]:
    """The payload a sent row keeps (``KEPT_WHEN_SENT``, ``message_id``, file names)."""
    kept = {key: payload[key] for key in KEPT_WHEN_SENT if key in payload}
    files = payload.get("attachments")
    if files and isinstance(files, list):
        kept["attachments"] = [
            str(item.get("name", "")) if isinstance(item, dict) else "" for item in files
        ]
    if message_id:
        kept["message_id"] = message_id
    return kept


def message_of(payload: Mapping[str, Any]) -> Message:
    """The message of a payload: the inverse of ``payload_of``. A malformed attachment
    entry is a permanent DeliveryError: the row will never become sendable by retrying
    it."""
    return Message(
        subject=str(payload.get("subject", "")),
        text=str(payload.get("text", "")),
        html=str(payload.get("html", "")),
        short=str(payload.get("short", "")),
        attachments=tuple(_attachment(item) for item in payload.get("attachments") or ()),
        fields=tuple((str(k), str(v)) for k, v in (payload.get("fields") or {}).items()),
    )


def _attachment(item: Any) -> Attachment:
    try:
        return Attachment(
            name=str(item["name"]),
            content_type=str(item["content_type"]),
            path=Path(str(item["path"])),
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise DeliveryError(f"malformed attachment in payload: {exc!r}", permanent=True) from exc
