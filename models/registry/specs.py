"""What a registry file says once validated: agencies, groups, contacts, successions
(``RegistryFile``), and ``RegistryError``, which lists every problem with its line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from models.agency import (
    AgencyKind,
    ContactChannel,
)

REGISTRY_DIR = Path(__file__).parents[1] / "data" / "registry"

E = TypeVar("E", bound=StrEnum)


def shipped_registry(province: str = "quang-ngai") -> Path:
    """The registry file shipped for ``province``."""
    return REGISTRY_DIR / f"{province}.yaml"


class RegistryError(Exception):
    """Everything wrong with a registry file, each problem as "dòng N: …"."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(f"{head}{len(problems)} lỗi\n" + "\n".join(problems))


# --- the validated registry -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupSpec:
    key: str
    active_from: dt.date | None = None
    active_to: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ContactSpec:
    channel: ContactChannel
    address: str  # normalised: lowercase email, 84xxxxxxxxx phone, or Zalo user id
    label: str = ""


@dataclass(frozen=True, slots=True)
class SuccessorSpec:
    code: str
    effective: dt.date
    note: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class AgencySpec:
    code: str
    name: str
    kind: AgencyKind
    province: str
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    notes: str = ""
    aliases: tuple[str, ...] = ()  # the name first, then the aliases; one per lookup key
    groups: tuple[GroupSpec, ...] = ()
    contacts: tuple[ContactSpec, ...] = ()
    successors: tuple[SuccessorSpec, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class GroupSuccessionSpec:
    old_group: str
    new_group: str
    effective: dt.date
    note: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class RegistryFile:
    source: str
    agencies: tuple[AgencySpec, ...]
    group_successions: tuple[GroupSuccessionSpec, ...] = ()
    # Groups the file knows to be incomplete, with what is missing ("departments": the
    # sector bodies and public-service units under UBND tỉnh are not listed).
    partial_groups: Mapping[str, str] = field(default_factory=dict)
