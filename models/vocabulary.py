"""The product's words, defined once and cheap to import (no SQLModel, no database): the
states the tables store, the frequencies an administrator may set, a mobile number's
stored form. The CLI builds its options from here, so its start-up stays light."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

from directives.parsed import PERIODIC

# Frequencies an administrator may set: every periodic one, and a one-off.
SCHEDULABLE: tuple[str, ...] = (*PERIODIC, "once")

if TYPE_CHECKING:  # the checker sees any StrEnum; the CLI sees one member per frequency
    Frequency = StrEnum
else:
    Frequency = StrEnum("Frequency", [(name, name) for name in SCHEDULABLE])


class ObligationStatus(StrEnum):
    proposed = "proposed"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # its directive was superseded by a new version


# The statuses as administrators read them (pages, CLI, refusals).
STATUS_VI = {
    "proposed": "đề xuất",
    "approved": "đã duyệt",
    "rejected": "đã từ chối",
    "withdrawn": "đã thay thế",
}


class SubmissionState(StrEnum):
    pending = "pending"
    submitted = "submitted"
    late = "late"
    excused = "excused"


# A Vietnamese mobile number: 84, then a mobile prefix (03x, 05x, 07x, 08x, 09x as
# allocated to Viettel, MobiFone, VinaPhone, Vietnamobile, Gmobile, Itel, Reddi), then
# seven digits. Landlines (842x…) and unused prefixes cannot receive ZNS, so the registry
# refuses them at import rather than at the first send.
_MOBILE = re.compile(r"^(?:\+?84|0)(?P<rest>(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])\d{7})$")


def normalise_phone(text: str) -> str | None:
    """A Vietnamese mobile number as 84xxxxxxxxx, or None: "0900 000 001", "+84900000001",
    "84(86)1234567"."""
    match = _MOBILE.match(re.sub(r"[\s.()\-]", "", text))
    return "84" + match.group("rest") if match else None


def is_phone(address: str) -> bool:
    """``address`` is a mobile number in its stored form (84xxxxxxxxx)."""
    return normalise_phone(address) == address
