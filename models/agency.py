"""The agency registry's tables: who reports, under which names, in which groups, how to
reach them, and who took over when an agency or a whole level was dissolved.

Agencies change (DESIGN §3): departments merged on 1/3/2025, Kon Tum merged into the new
Quảng Ngãi and the district level was abolished on 1/7/2025. Nothing is deleted for
that: an agency is retired with ``active_to`` and linked to its successor, so a 2022
directive's "Sở Kế hoạch và Đầu tư" still finds its way to today's Sở Tài chính.

Conventions shared with ``models.tables``: datetimes are ``UTCDateTime``; enumerations
are short strings with a CHECK constraint (adding a kind is then a plain migration on
both backends, not an ALTER TYPE); constraints and composite indexes carry names so
Alembic's SQLite batch mode can find them again.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from directives.agencies import normalise
from directives.text import fold
from models.db import UTCDateTime, str_enum, utcnow


class AgencyKind(StrEnum):
    department = "department"  # sở and cơ quan ngang sở (Thanh tra tỉnh)
    board = "board"  # ban quản lý … under UBND tỉnh
    provincial_committee = "provincial_committee"  # UBND tỉnh
    committee_office = "committee_office"  # Văn phòng UBND tỉnh
    district_committee = "district_committee"  # UBND huyện / thị xã / thành phố (to 30/6/2025)
    commune_committee = "commune_committee"  # UBND xã / phường / đặc khu
    ministry = "ministry"  # bộ, cơ quan ngang bộ
    central = "central"  # Chính phủ, Văn phòng Chính phủ, other central bodies
    other = "other"


class ContactChannel(StrEnum):
    email = "email"
    zalo = "zalo"  # Zalo Official Account message: a Zalo user id or a phone number
    zns = "zns"  # Zalo Notification Service template message: a phone number


# Punctuation that abbreviations and names are written with or without: "Sở KH&ĐT" and
# "Sở KHĐT", "Văn hóa - Thể thao" and "Văn hóa, Thể thao" must meet in one key.
_KEY_NOISE = re.compile(r"[&\-–,.;:()\"'/]")


def lookup_key(phrase: str) -> str:
    """The key names and aliases are matched by: the parser's normalisation (UBND spelled
    out, Ủy/Uỷ unified), folded (lowercase, new-style tone marks), punctuation dropped."""
    return " ".join(_KEY_NOISE.sub("", fold(normalise(phrase))).split())


class Agency(SQLModel, table=True):
    """An agency that can receive, submit or consolidate reports. ``code`` is a stable
    slug (``qng-so-tai-chinh``) that registry files upsert by; ``id`` is what other
    tables point at (RESTRICT: retire with ``active_to``, never delete)."""

    __tablename__ = "agency"
    __table_args__ = (
        UniqueConstraint("province", "code", name="uq_agency_province_code"),
        Index("ix_agency_province_kind", "province", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=120, index=True)
    name: str = Field(max_length=300)
    kind: AgencyKind = Field(sa_type=str_enum(AgencyKind, "kind"))
    province: str = Field(max_length=64)  # slug: "quang-ngai", "kon-tum"; "vn" for central
    active_from: dt.date | None = None  # None: existed before anything the registry knows
    active_to: dt.date | None = None  # last day of existence; None: still active
    notes: str = Field(default="", sa_type=sa.Text)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def active_on(self, day: dt.date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_to is None or day <= self.active_to
        )


class AgencyAlias(SQLModel, table=True):
    """A name an agency is written under. The agency's own name is stored here too, so
    a lookup is one indexed query on ``key``."""

    __tablename__ = "agency_alias"
    __table_args__ = (UniqueConstraint("agency_id", "key", name="uq_agency_alias_agency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", ondelete="CASCADE", index=True)
    alias: str = Field(max_length=300)  # as written: "Sở KH&ĐT"
    key: str = Field(max_length=300, index=True)  # lookup_key(alias)


class AgencyGroup(SQLModel, table=True):
    """Membership of an agency in a group that directives name collectively ("các sở,
    ban, ngành" → ``departments``). Empty dates: for the agency's whole life."""

    __tablename__ = "agency_group"
    # The unique constraint's index also serves "members of a group" lookups.
    __table_args__ = (UniqueConstraint("group_key", "agency_id", name="uq_agency_group_member"),)

    id: int | None = Field(default=None, primary_key=True)
    group_key: str = Field(max_length=64)  # as in directives.agencies: departments …
    agency_id: int = Field(foreign_key="agency.id", ondelete="CASCADE", index=True)
    active_from: dt.date | None = None
    active_to: dt.date | None = None


class AgencyContact(SQLModel, table=True):
    """Where an agency's notices go. ``address`` is normalised on import: an email, a
    Zalo user id, or a phone number as 84xxxxxxxxx (the form the Zalo APIs take)."""

    __tablename__ = "agency_contact"
    __table_args__ = (
        UniqueConstraint("agency_id", "channel", "address", name="uq_agency_contact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", ondelete="CASCADE", index=True)
    channel: ContactChannel = Field(sa_type=str_enum(ContactChannel, "channel"))
    address: str = Field(max_length=320)
    label: str = Field(default="", max_length=200)


class AgencySuccession(SQLModel, table=True):
    """``predecessor`` was succeeded by ``successor`` from ``effective`` on (merger,
    renaming, a province merged into another). One predecessor may have several
    successors when its duties were split."""

    __tablename__ = "agency_succession"
    __table_args__ = (
        UniqueConstraint("predecessor_id", "successor_id", name="uq_agency_succession_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    predecessor_id: int = Field(foreign_key="agency.id", ondelete="CASCADE", index=True)
    successor_id: int = Field(foreign_key="agency.id", ondelete="CASCADE", index=True)
    effective: dt.date
    note: str = Field(default="", sa_type=sa.Text)


class GroupSuccession(SQLModel, table=True):
    """A whole group replaced by another, e.g. ``district_committees`` →
    ``commune_committees`` on 1/7/2025. Resolution flags such a group for the
    administrator instead of guessing which new members inherit an old report."""

    __tablename__ = "group_succession"
    __table_args__ = (UniqueConstraint("old_group", "new_group", name="uq_group_succession_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    old_group: str = Field(max_length=64, index=True)
    new_group: str = Field(max_length=64)
    effective: dt.date
    note: str = Field(default="", sa_type=sa.Text)
