"""Notification fixtures: a real SMTP server on loopback, and outbox rows on both
database backends (the models' ``engine``/``session`` fixtures: SQLite and this
machine's PostgreSQL, migrated by Alembic)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.agency import Agency, AgencyKind
from models.tables import Directive, Obligation, ReportCycle
from notifications.mailsink import MailSink
from notifications.outbox import enqueue

# Monday 23/11/2026, 09:00 in Quảng Ngãi: a working day, inside office hours.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SUBJECT = "Nhắc hạn báo cáo năm 2026 — Sở Tài chính tỉnh Quảng Ngãi"


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink() as s:
        yield s


@pytest.fixture
def session_factory(engine: Engine) -> Callable[[], Session]:
    return lambda: Session(engine, expire_on_commit=False)


@dataclass
class Cycle:
    id: int
    agency_ids: list[int]


def make_cycle(db: Session, agencies: int) -> Cycle:
    """The rows an outbox row points at: a directive, an obligation, a cycle, agencies."""
    tag = uuid.uuid4().hex[:8]
    directive = Directive(source_name="6966.txt", source_text="…", source_sha256="0" * 64)
    db.add(directive)
    db.flush()
    obligation = Obligation(
        directive_id=directive.id or 0,
        clause_index=0,
        clause_text="định kỳ hàng năm báo cáo UBND tỉnh",
        clause_start=0,
        clause_end=10,
        clause_hash="0" * 64,
        frequency="annual",
    )
    db.add(obligation)
    db.flush()
    cycle = ReportCycle(
        obligation_id=obligation.id or 0,
        period_key="2026",
        window_start=dt.date(2025, 12, 15),
        window_end=dt.date(2026, 12, 14),
        opens_at=NOW,
        due_at=NOW + dt.timedelta(days=20),
    )
    found = [
        Agency(
            code=f"qng-so-{tag}-{i}", name=f"Sở số {i}", kind=AgencyKind.department, province="qn"
        )
        for i in range(agencies)
    ]
    db.add_all([cycle, *found])
    db.flush()
    return Cycle(cycle.id or 0, [a.id or 0 for a in found])


def payload(url: str, n: int, *, subject: str = SUBJECT) -> dict[str, str]:
    """A rendered message, distinct per ``n`` (so copies of one row are recognisable)."""
    return {
        "subject": f"{subject} (#{n})",
        "text": f"Kính gửi Sở Tài chính,\nĐề nghị gửi báo cáo năm 2026 trước ngày 15/12. Số {n}.",
        "html": f"<p>Kính gửi <b>Sở Tài chính</b>,</p><p>Hạn: 15/12/2026. Số {n}.</p>",
        "short": f"Nhắc hạn báo cáo năm 2026, số {n}",
        "url": url,
    }


def fill_outbox(
    db: Session,
    url: str,
    count: int,
    *,
    at: datetime = NOW,
    stages: int = 1,
    channel: str = "email",
) -> Cycle:
    """``count`` due rows: ``count / stages`` agencies × ``stages`` stages (rows due to
    one agency together go out as one digest)."""
    cycle = make_cycle(db, max(1, -(-count // stages)))
    for n in range(count):
        enqueue(
            db,
            cycle_id=cycle.id,
            agency_id=cycle.agency_ids[n // stages],
            stage=f"reminder-{n % stages}",
            channel=channel,
            payload=payload(url, n),
            at=at,
        )
    db.commit()
    return cycle
