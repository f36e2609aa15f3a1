"""The tables behind an operator's levers on a cycle and an agency's requests.

- ``CyclePause``: a row while the cycle is paused. The sweep's queries and the
  dispatcher skip its cycle, so nothing of it goes out (``models.actions``).
- ``SubmissionExtension``: one agency's own deadline for one cycle, replacing the
  cycle's ``due_at`` for that agency (its ladder, its cell, its messages).
- ``CycleAction``: the audit of those levers — who, what, why, when. Like
  ``AuditEvent``, no foreign keys: the trail outlives what it names.
- ``AgencyRequest``: an agency asking for more time (gia hạn) or explaining its lateness
  (giải trình), and the administrator's answer.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, Index, SQLModel

import models.tables  # noqa: F401  (report_cycle, submission, agency: the foreign keys)
from models.db import UTCDateTime, str_enum


class RequestKind(StrEnum):
    extension = "extension"  # gia hạn
    explanation = "explanation"  # giải trình


class RequestState(StrEnum):
    open = "open"
    approved = "approved"
    refused = "refused"


class CyclePause(SQLModel, table=True):
    __tablename__ = "cycle_pause"

    cycle_id: int = Field(primary_key=True, foreign_key="report_cycle.id", ondelete="CASCADE")
    paused_at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)
    reason: str | None = Field(default=None, sa_type=sa.Text)


class SubmissionExtension(SQLModel, table=True):
    __tablename__ = "submission_extension"

    submission_id: int = Field(primary_key=True, foreign_key="submission.id", ondelete="CASCADE")
    due_at: dt.datetime = Field(sa_type=UTCDateTime)
    granted_at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)
    reason: str = Field(sa_type=sa.Text)


class CycleAction(SQLModel, table=True):
    __tablename__ = "cycle_action"
    __table_args__ = (Index("ix_cycle_action_cycle", "cycle_id", "agency_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=32)  # "pause", "resume", "excuse", "extend", "resend" …
    cycle_id: int | None = None
    agency_id: int | None = None
    reason: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AgencyRequest(SQLModel, table=True):
    __tablename__ = "agency_request"
    __table_args__ = (Index("ix_agency_request_open", "state", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="report_cycle.id", ondelete="CASCADE", index=True)
    agency_id: int = Field(foreign_key="agency.id", ondelete="RESTRICT", index=True)
    kind: RequestKind = Field(sa_type=str_enum(RequestKind, "kind"))
    state: RequestState = Field(default=RequestState.open, sa_type=str_enum(RequestState, "state"))
    proposed_due: dt.date | None = None
    reason: str = Field(sa_type=sa.Text)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=255)
    answer: str | None = Field(default=None, sa_type=sa.Text)
