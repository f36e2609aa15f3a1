"""Portal fixtures: 6966/UBND-KTN's 2026 cycle opened on each backend (the ``engine``
fixture: SQLite and PostgreSQL), the app on it with a clock the test sets, signed links,
multipart bodies built by hand (so field order and odd file names are the test's), and
a real uvicorn on loopback for what only a socket shows."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from models.agency import Agency, AgencyKind
from models.db import Settings
from models.links import LinkSettings, make_token
from models.tables import Notification, Obligation, ReportCycle, Submission, SubmissionVersion
from portal.app import PortalSettings, create_app
from tests.conftest import EXAMPLES

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
OPENED = dt.datetime(2026, 11, 20, 8, 5, tzinfo=VN)
BEFORE_DUE = dt.datetime(2026, 12, 1, 9, 30, tzinfo=VN)  # the deadline is 21/12/2026 24:00
AFTER_DUE = dt.datetime(2026, 12, 23, 10, 15, tzinfo=VN)  # two working days late
SECRET = "portal-tests-secret-key-0123456789"
LINKS = LinkSettings(public_url="http://portal.test", secret_key=SECRET)
KEY = SECRET.encode()
LIMIT_MB = 1
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Seed:
    cycle_id: int
    agency_id: int  # must report in the cycle
    agency_name: str
    other_agency_id: int  # also reports in it
    outsider_id: int  # UBND tỉnh: the recipient, not a submitter
    due_at: dt.datetime
    expires: dt.datetime  # the links' expiry: closing + 30 days


@pytest.fixture
def seed(engine: Engine) -> Seed:
    """6966's annual report, its 2026 cycle opened on 20/11/2026: 110 agencies (not the lead nor the recipient's office)."""
    from directives.parse import parse_file
    from flows.demo import approve_seeds
    from models.cycles import store_cycle
    from models.registry import import_registry, load_registry, shipped_registry
    from models.store import save_directive

    with Session(engine, expire_on_commit=False) as s:
        import_registry(s, load_registry(shipped_registry()))
        save_directive(
            s,
            parse_file(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"),
            actor="t",
            issuer_province=PROVINCE,
        )
        chosen = approve_seeds(s, province=PROVINCE)
        ob = s.get(Obligation, chosen["6966-annual"])
        assert ob is not None
        cycle = store_cycle(s, ob, now=OPENED, province=PROVINCE).cycle
        s.commit()
        subs = s.exec(
            select(Submission, Agency)
            .join(Agency, col(Agency.id) == Submission.agency_id)
            .where(Submission.cycle_id == cycle.id, Agency.kind == AgencyKind.department)
            .order_by(col(Agency.name))
        ).all()
        outsider = s.exec(
            select(Agency).where(Agency.kind == AgencyKind.provincial_committee)
        ).first()
        assert outsider is not None and outsider.id not in {a.id for _, a in subs}
        (_, first), (_, second) = subs[0], subs[1]
        assert cycle.closes_at is not None
        return Seed(
            cycle_id=cycle.id or 0,
            agency_id=first.id or 0,
            agency_name=first.name,
            other_agency_id=second.id or 0,
            outsider_id=outsider.id or 0,
            due_at=cycle.due_at,
            expires=cycle.closes_at + dt.timedelta(days=30),
        )


class Clock:
    """The app's clock: what the test says it is."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)


@dataclass
class Harness:
    app: FastAPI
    client: TestClient
    engine: Engine
    data_dir: Path
    clock: Clock
    seed: Seed
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def url(
        self,
        purpose: str = "submit",
        *,
        cycle_id: int | None = -1,
        agency_id: int | None = -1,
        expires: dt.datetime | None = None,
        key: bytes = KEY,
    ) -> str:
        """A signed link path; by default the seed agency's link to the seed cycle."""
        cycle = self.seed.cycle_id if cycle_id == -1 else cycle_id
        if purpose == "agency" and cycle_id == -1:
            cycle = None
        agency = self.seed.agency_id if agency_id == -1 else agency_id
        token = make_token(
            purpose,
            cycle_id=cycle,
            agency_id=agency,
            expires=expires or self.seed.expires,
            key=key,
        )
        return f"/{purpose}/{token}"

    def csrf(self, url: str) -> str:
        page = self.client.get(url)
        assert page.status_code == 200, page.text
        found = CSRF.search(page.text)
        assert found, "the page has no CSRF field"
        return found.group(1)

    def upload(
        self,
        url: str,
        files: list[tuple[str, bytes]],
        *,
        note: str | None = None,
        csrf: str | None = "from-page",
        follow: bool = True,
    ) -> Any:
        token = self.csrf(url) if csrf == "from-page" else csrf
        parts: list[tuple[str, str | None, bytes]] = []
        if token is not None:
            parts.append(("csrf", None, token.encode()))
        parts += [("files", name, data) for name, data in files]
        if note is not None:
            parts.append(("note", None, note.encode()))
        body, content_type = multipart(parts)
        return self.client.post(
            url,
            content=body,
            headers={"content-type": content_type},
            follow_redirects=follow,
        )

    def written(self) -> tuple[int, int, list[Path]]:
        """(versions, receipt messages, stored files): what an upload leaves behind."""
        with Session(self.engine) as s:
            versions = s.exec(select(func.count()).select_from(SubmissionVersion)).one()
            receipts = s.exec(
                select(func.count())
                .select_from(Notification)
                .where(col(Notification.stage).startswith("receipt"))
            ).one()
        files_dir = self.data_dir / "files"
        stored = [p for p in files_dir.rglob("*") if p.is_file()] if files_dir.exists() else []
        return int(versions), int(receipts), stored


def make_app(engine: Engine, data_dir: Path, clock: Clock, events: list[Any], **kw: Any) -> FastAPI:
    def record(event: str, *, resource_id: str, name: str, payload: dict[str, Any]) -> None:
        events.append((event, {"resource_id": resource_id, "name": name, **payload}))

    return create_app(
        kw.pop("settings", PortalSettings(upload_max_mb=LIMIT_MB, upload_max_files=5)),
        db=Settings(data_dir=data_dir),
        links=LINKS,
        engine=engine,
        clock=clock,
        emit=kw.pop("emit", record),
    )


@pytest.fixture
def portal(engine: Engine, seed: Seed, tmp_path: Path) -> Iterator[Harness]:
    data_dir = tmp_path / "data"
    clock = Clock(BEFORE_DUE)
    events: list[Any] = []
    app = make_app(engine, data_dir, clock, events)
    with TestClient(app, base_url="http://portal.test") as client:
        yield Harness(app, client, engine, data_dir, clock, seed, events)


# --- bodies -------------------------------------------------------------------------------


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body in exactly this order; ``filename`` None for a field.
    File names are written as browsers do (raw UTF-8, quotes as %22)."""
    boundary = f"----hanbaocao{uuid.uuid4().hex}"
    out = io.BytesIO()
    for name, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename.replace(chr(34), "%22")}"'
        out.write(f"Content-Disposition: {disposition}\r\n".encode())
        if filename is not None:
            out.write(b"Content-Type: application/octet-stream\r\n")
        out.write(b"\r\n")
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def pdf_bytes(text: str = "Báo cáo năm 2026") -> bytes:
    body = text.encode()
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length "
        + str(len(body)).encode()
        + (b" >>\nstream\n" + body + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n")
    )


def docx_bytes(text: str = "Báo cáo kết quả thực hiện năm 2026") -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Chỉ tiêu", "Kết quả"])
    sheet.append(["Số hồ sơ đã số hóa", 1234])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("phu-luc/bang-so-lieu.csv", "Chỉ tiêu,Kết quả\nHồ sơ,12\n")
        z.writestr("scan-01.txt", "bản quét")
    return out.getvalue()


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a real server --------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    server: uvicorn.Server

    def settle(self) -> None:
        settle(self.server)


def settle(server: uvicorn.Server, cap: float = 60) -> None:
    """Until every request's ASGI call has ended, its work after the answer (the receipt
    message) included; ``cap`` only bounds a hang."""
    deadline = time.monotonic() + cap
    while server.server_state.tasks:
        if time.monotonic() > deadline:
            raise RuntimeError("requests still running")
        time.sleep(0.01)


@pytest.fixture
def live(portal: Harness) -> Iterator[Server]:
    """The same app under uvicorn on a loopback port of its own."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(portal.app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def count_rows(engine: Engine, model: type, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def cycle_of(engine: Engine, cycle_id: int) -> ReportCycle:
    with Session(engine) as s:
        cycle = s.get(ReportCycle, cycle_id)
        assert cycle is not None
        return cycle
