"""Portal load: 200 agencies hand in their reports at the same moment, beside its peer.

    .venv/bin/python bench/bench_portal.py [--submissions 200] [--kb 8] [--rounds 3] [--pg]

A real uvicorn serves ``portal.app.create_app()`` in a separate process on a loopback
port, as the product serves it (``portal.app.server_config``), on SQLite in a temporary
data directory (``--pg``: a throw-away PostgreSQL database, HANBAOCAO_BENCH_PG_URL or
the tests' default, dropped afterwards). The seeds (6966/UBND-KTN and 1503/UBND-KTTH)
are approved and their cycles opened on 20/11/2026, annual ones for 2026 and 2027
(6966's annual report alone has 111 agencies a year), which gives one pending
submission per (cycle, agency); the first ``--submissions`` of them, each its own
signed link, are the clients.

Each client (httpx AsyncClient, one connection each) first GETs its page for the form's
CSRF token; when all have one, all POST at once: the CSRF field, one distinct small PDF,
a note. Timed: each POST until its 303 to the receipt (the latencies), and the whole
load until every upload's receipt message is in the outbox (the throughput: work the
portal does after answering counts; the server's CPU is read then too). Then the
database and the disk are checked: one SubmissionVersion per client, and every stored
file's sha256 (read back from disk) is what that client sent. Printed: p50/p95/max
latency and throughput, and how busy the client (this process) was until the last answer:
near 100%, the client sets the pace (the bare endpoint's round mostly measures httpx).

The peer, in the same run: a bare FastAPI endpoint that streams the request body to a
file while hashing it (sha256) and answers 303, served by the same uvicorn with the
same keep-alive (its own protocol, without the portal's header deadline) in a process
of its own and loaded by the same client code (its page carries a constant
CSRF field). Each round runs the portal (on freshly seeded data) and then the bare
endpoint; printed per round and at the end: ``portal / bare: X`` (throughput ratio,
median over the rounds) and both sides' p50/p95. On a shared two-core machine one
round's ratio ranges widely (0.58 to 1.17 seen in one run of identical work, the
server's CPU per upload from 3.0 to 6.9 ms): read the median of 15 rounds or more.

Stops itself (SIGALRM) after ``--limit`` seconds (default 900); the server process is
terminated and the temporary data removed whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import multiprocessing
import os
import re
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import HTMLResponse, RedirectResponse  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import select as sa_select  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from models.db import make_engine  # noqa: E402
from models.links import DEFAULT_GRACE, make_token  # noqa: E402
from models.scratch_db import admin_url, scratch_database  # noqa: E402
from models.settings import settings  # noqa: E402
from models.tables import (  # noqa: E402
    Notification,
    Obligation,
    ReportCycle,
    Submission,
    SubmissionVersion,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "quang-ngai"
OPENED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=VN)
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=VN)  # the app's clock: every deadline ahead
SECRET = "bench-portal-secret-key-0123456789abcdef"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PG_ADMIN_URL = admin_url(settings().bench_pg_url)
SERVER: dict[str, Any] = {
    "log_level": "warning",
    "lifespan": "off",
    "access_log": False,
    "backlog": 1024,
}
SEEDS = ("seed-6966-ubnd-ktn-quang-ngai-2024.txt", "seed-1503-ubnd-ktth-kon-tum-2022.txt")


@dataclass
class Client:
    path: str  # /submit/<token>
    submission_id: int
    name: str
    pdf: bytes
    csrf: str = ""
    latency: float = 0.0
    status: int = 0
    error: str = ""
    location: str = ""


# --- data ---------------------------------------------------------------------------------


@contextmanager
def database(pg: bool, data_dir: Path) -> Iterator[str]:
    if not pg:
        yield f"sqlite:///{data_dir / 'app.db'}"
        return
    with scratch_database(PG_ADMIN_URL, "hanbaocao_bench") as url:
        yield url


def seed(url: str, count: int) -> list[tuple[int, int, int, dt.datetime]]:
    """The seeds' cycles opened; (submission, cycle, agency, link expiry) of the first
    ``count`` pending submissions."""
    from directives.parse import parse_file
    from flows.demo import approve_seeds
    from flows.ingest import issuer_province
    from models.cycles import store_cycle
    from models.registry import import_registry, load_registry, shipped_registry
    from models.schema import create_schema
    from models.store import save_directive

    engine = make_engine(url)
    create_schema(engine)
    examples = ROOT / "examples"
    with Session(engine, expire_on_commit=False) as s:
        import_registry(s, load_registry(shipped_registry()))
        for name in SEEDS:
            parsed = parse_file(examples / name)
            province = issuer_province(parsed.header.issuer) or PROVINCE
            save_directive(s, parsed, actor="bench", issuer_province=province)
        for oid in approve_seeds(s, province=PROVINCE).values():
            ob = s.get(Obligation, oid)
            assert ob is not None
            store_cycle(s, ob, now=OPENED, province=PROVINCE)
            if ob.frequency == "annual":  # and next year's, for enough distinct links
                store_cycle(s, ob, now=OPENED, province=PROVINCE, period_key="2027")
        s.commit()
        rows = s.exec(
            select(Submission, ReportCycle)
            .join(ReportCycle, col(ReportCycle.id) == Submission.cycle_id)
            .order_by(col(Submission.id))
            .limit(count)
        ).all()
        out = [
            (sub.id or 0, cyc.id or 0, sub.agency_id, (cyc.closes_at or cyc.due_at) + DEFAULT_GRACE)
            for sub, cyc in rows
        ]
    engine.dispose()
    if len(out) < count:
        sys.exit(f"bench_portal: the seeds give only {len(out)} submissions, not {count}")
    return out


def pdf(n: int, kb: int) -> bytes:
    """A small PDF of about ``kb`` KiB, unique to client ``n``."""
    body = (f"Báo cáo kết quả thực hiện năm 2026 — đơn vị {n} — {uuid.uuid4()}\n" * 400).encode()
    body = body[: max(kb * 1024 - 200, 64)]
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length "
        + str(len(body)).encode()
        + b" >>\nstream\n"
        + body
        + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n"
    )


# --- the server (its own process) -----------------------------------------------------------


def serve(url: str, data_dir: str, concurrency: int, sock: socket.socket) -> None:
    import uvicorn

    from models.db import Settings
    from models.links import LinkSettings
    from portal.app import PortalSettings, create_app, server_config
    from portal.auth import hash_password

    # An administrator, so the dashboard does not complain at start (nobody logs in here).
    os.environ["HANBAOCAO_ADMIN_USER"] = "bench"
    os.environ["HANBAOCAO_ADMIN_PASSWORD_HASH"] = hash_password(uuid.uuid4().hex)
    # Every client admitted at once: the gate (portal.slow) would turn most of them away
    # with a 503 before their body is read, which is not what is measured here.
    settings = PortalSettings(upload_max_mb=5, upload_max_files=3, upload_concurrency=concurrency)
    app = create_app(
        settings,
        db=Settings(data_dir=Path(data_dir)),
        links=LinkSettings(public_url="http://127.0.0.1", secret_key=SECRET),
        engine=make_engine(url),
        clock=lambda: NOW.astimezone(dt.UTC),
        emit=lambda event, **_: None,
    )
    # Served as the product serves it (the header deadline, keep-alive…).
    config = server_config(app, settings, **SERVER)
    uvicorn.Server(config).run(sockets=[sock])


def bare_app(folder: str) -> FastAPI:
    """The peer: what any upload endpoint must do at the least (read the body, write it
    to disk, hash it, answer 303), with nothing of the product."""
    app = FastAPI()

    @app.get("/admin/dashboard.css")
    def alive() -> HTMLResponse:
        return HTMLResponse("")

    @app.get("/submit/{token}")
    def form(token: str) -> HTMLResponse:
        return HTMLResponse('<form><input type="hidden" name="csrf" value="bare"></form>')

    @app.post("/submit/{token}")
    async def upload(request: Request, token: str) -> RedirectResponse:
        digest = hashlib.sha256()
        path = Path(folder) / secrets.token_hex(16)
        with path.open("wb") as out:
            async for chunk in request.stream():
                digest.update(chunk)
                out.write(chunk)
        return RedirectResponse(f"/done/{path.name}/{digest.hexdigest()}", status_code=303)

    return app


def serve_bare(folder: str, sock: socket.socket) -> None:
    import uvicorn

    # uvicorn's own protocol, with the portal's keep-alive and without a Server header.
    config = uvicorn.Config(bare_app(folder), timeout_keep_alive=30, server_header=False, **SERVER)
    uvicorn.Server(config).run(sockets=[sock])


def wait_up(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/admin/dashboard.css", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    sys.exit("bench_portal: the server did not start")


# --- the load -------------------------------------------------------------------------------


async def fetch_form(http: httpx.AsyncClient, c: Client) -> None:
    try:
        page = await http.get(c.path)
    except httpx.HTTPError as exc:
        c.error = f"GET: {type(exc).__name__}: {exc}"
        return
    found = CSRF.search(page.text)
    if page.status_code != 200 or not found:
        c.error = f"GET: HTTP {page.status_code}, no CSRF field"
        return
    c.csrf = found.group(1)


async def submit(http: httpx.AsyncClient, c: Client, go: asyncio.Event) -> None:
    await go.wait()
    if c.error:
        return
    started = time.perf_counter()
    try:
        response = await http.post(
            c.path,
            data={"csrf": c.csrf, "note": "Gửi trong bài đo tải."},
            files={"files": (c.name, c.pdf, "application/pdf")},
        )
    except httpx.HTTPError as exc:
        c.error = f"POST: {type(exc).__name__}: {exc}"
        return
    finally:
        c.latency = time.perf_counter() - started
    c.status = response.status_code
    c.location = response.headers.get("location", "")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timing:
    pages: float  # wall seconds of the GETs
    answered: float  # of the POSTs until the last answer
    wall: float  # until the server's work for them is done
    cpu: float  # the server process's CPU seconds until then
    client: float  # this process's CPU seconds until the last answer (the client's)


async def load(
    base: str, clients: list[Client], pid: int, settled: Callable[[], float] | None = None
) -> Timing:
    """All forms fetched, then every POST released at once, each on a connection of its
    own: the forms' connections sat idle past uvicorn's default keep-alive (5 s) while the
    others loaded, and httpx does not retry a POST on a connection the server closed meanwhile
    (a browser opens a new one). Wall times of the GETs, of the POSTs until the last
    answer, and until the server's work for them is done (``settled``: waits for it and
    returns when it ended, ``time.time()``; the last answer without one), the server
    process's CPU time until then, and the client's own CPU time until the last answer:
    when it is busy nearly all that time, the client, not the server, sets the pace."""
    timeout = httpx.Timeout(120.0, connect=30.0)
    limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http:
        await asyncio.gather(*(fetch_form(http, c) for c in clients))
    pages = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http:
        go = asyncio.Event()
        tasks = [asyncio.create_task(submit(http, c, go)) for c in clients]
        await asyncio.sleep(0.1)  # every task waiting at the gate
        started, since, cpu = time.perf_counter(), time.time(), cpu_seconds(pid)
        mine = time.process_time()
        go.set()
        await asyncio.gather(*tasks)
        answered, client = time.perf_counter() - started, time.process_time() - mine
        done = answered if settled is None else await asyncio.to_thread(settled) - since
        cpu = cpu_seconds(pid) - cpu
        return Timing(pages, answered, max(answered, done), cpu, client)


def receipts_queued(url: str, count: int, timeout: float = 60.0) -> float:
    """Waits until ``count`` uploads have their receipt message in the outbox; when the
    last was queued (``time.time()``, from the rows' ``created_at``)."""
    engine = make_engine(url)
    # One upload per (cycle, agency) here: its receipt, on however many channels.
    uploads = (
        sa_select(func.max(Notification.created_at).label("at"))
        .where(col(Notification.stage).startswith("receipt-v"))
        .group_by(col(Notification.cycle_id), col(Notification.agency_id))
        .subquery()
    )
    receipts = sa_select(func.count(), func.max(uploads.c.at)).select_from(uploads)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with Session(engine) as s:
                found, last = s.execute(receipts).one()
            if found >= count:
                return float(last.timestamp())
            if time.monotonic() > deadline:
                sys.exit(f"bench_portal: {found} of {count} receipt messages after {timeout:.0f} s")
            time.sleep(0.02)
    finally:
        engine.dispose()


def verify(url: str, data_dir: Path, clients: list[Client]) -> list[str]:
    """What the database and the disk hold, against what was sent; the problems."""
    from models.submissions import stored_file

    problems = []
    engine = make_engine(url)
    with Session(engine) as s:
        versions = s.exec(select(SubmissionVersion)).all()
    engine.dispose()
    by_submission = {v.submission_id: v for v in versions}
    if len(versions) != len(clients):
        problems.append(f"{len(versions)} SubmissionVersion rows, {len(clients)} sent")
    for c in clients:
        v = by_submission.get(c.submission_id)
        if v is None:
            why = c.error or f"HTTP {c.status}"
            problems.append(f"submission {c.submission_id}: nothing recorded ({why})")
            continue
        sent = hashlib.sha256(c.pdf).hexdigest()
        on_disk = hashlib.sha256(stored_file(data_dir, v).read_bytes()).hexdigest()
        if not (v.sha256 == sent == on_disk) or v.file_name != c.name:
            problems.append(f"submission {c.submission_id}: file differs")
    return problems


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Figures:
    rate: float  # submissions per second
    p50: float  # seconds
    p95: float
    ok: bool
    cpu: float = 0.0  # the server's CPU seconds per submission
    busy: float = 0.0  # the client's CPU time / the time to the last answer


@contextmanager
def server_process(target: object, *args: object) -> Iterator[tuple[str, int]]:
    """``target(*args, sock)`` in a forked process on a loopback port; its base URL and
    process id."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = multiprocessing.get_context("fork").Process(
        target=target,  # type: ignore[arg-type]
        args=(*args, sock),
        daemon=True,
    )
    server.start()
    try:
        wait_up(base)
        yield base, server.pid or 0
    finally:
        server.terminate()
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
        sock.close()


def portal_round(args: argparse.Namespace, n: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="hanbaocao-bench-portal-") as tmp:
        data_dir = Path(tmp)
        with database(args.pg, data_dir) as url:
            started = time.perf_counter()
            rows = seed(url, args.submissions)
            took = time.perf_counter() - started
            print(f"round {n}: seeded {len(rows)} submissions in {took:.1f} s")
            key = SECRET.encode()
            clients = [
                Client(
                    path="/submit/"
                    + make_token("submit", cycle_id=cyc, agency_id=ag, expires=exp, key=key),
                    submission_id=sub,
                    name=f"bao-cao-{k:03d}.pdf",
                    pdf=pdf(k, args.kb),
                )
                for k, (sub, cyc, ag, exp) in enumerate(rows)
            ]
            settled = partial(receipts_queued, url, len(clients))
            with server_process(serve, url, str(data_dir), len(clients)) as (base, pid):
                timing = asyncio.run(load(base, clients, pid, settled))
            print(f"round {n}: {len(clients)} forms fetched concurrently in {timing.pages:.2f} s")
            print(
                f"round {n}: the last answer after {timing.answered:.2f} s, the last receipt "
                f"message queued after {timing.wall:.2f} s (throughput counts until then)"
            )
            backend = "PostgreSQL" if args.pg else "SQLite"
            figures = report(f"round {n}: portal ({backend})", args, clients, timing)
            problems = verify(url, data_dir, clients)
            for line in problems[:20]:
                print(f"  problem: {line}")
            verdict = "all recorded, files intact" if not problems else f"{len(problems)} problems"
            print(f"round {n}: portal check: {verdict}")
            return replace(figures, ok=figures.ok and not problems)


def bare_round(args: argparse.Namespace, n: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="hanbaocao-bench-bare-") as tmp:
        clients = [
            Client(f"/submit/bare-{k}", k, f"bao-cao-{k:03d}.pdf", pdf(k, args.kb))
            for k in range(args.submissions)
        ]
        with server_process(serve_bare, tmp) as (base, pid):
            timing = asyncio.run(load(base, clients, pid))
        figures = report(f"round {n}: bare", args, clients, timing)
        problems = []
        for c in clients:  # the body on disk is the one whose digest was answered
            parts = c.location.split("/")  # /done/<file>/<sha256>
            path = Path(tmp) / parts[-2] if len(parts) == 4 else Path(tmp) / "missing"
            on_disk = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            if on_disk != parts[-1]:
                problems.append(c.submission_id)
        print(f"round {n}: bare check: {len(problems)} problems")
        return replace(figures, ok=figures.ok and not problems)


def run(args: argparse.Namespace) -> int:
    portal: list[Figures] = []
    bare: list[Figures] = []
    for n in range(1, args.rounds + 1):
        portal.append(portal_round(args, n))
        if not args.no_bare:
            bare.append(bare_round(args, n))
        if bare and portal[-1].ok and bare[-1].ok:
            print(
                f"round {n}: portal / bare: {portal[-1].rate / bare[-1].rate:.2f} (throughput), "
                f"p50 portal / bare: {portal[-1].p50 / bare[-1].p50:.2f}"
            )
    ok = all(f.ok for f in portal + bare)
    if not bare or not ok:
        return 0 if ok else 1
    ratio = statistics.median(p.rate / b.rate for p, b in zip(portal, bare, strict=True))
    p50 = statistics.median(p.p50 / b.p50 for p, b in zip(portal, bare, strict=True))
    print(f"--- {args.rounds} rounds, medians; load: {os.getloadavg()[0]:.2f} (1 min)")
    for label, side in (("portal", portal), ("bare", bare)):
        print(
            f"{label}: {statistics.median(f.rate for f in side):.1f} submissions/s, "
            f"p50 {statistics.median(f.p50 for f in side) * 1000:.0f} ms, "
            f"p95 {statistics.median(f.p95 for f in side) * 1000:.0f} ms, "
            f"server CPU {statistics.median(f.cpu for f in side) * 1000:.1f} ms per submission, "
            f"client busy {statistics.median(f.busy for f in side):.0%}"
        )
    print(f"portal / bare: {ratio:.2f} (throughput, median of the rounds' ratios)")
    print(f"p50 portal / bare: {p50:.2f} (median of the rounds' ratios)")
    return 0 if ok else 1


def report(label: str, args: argparse.Namespace, clients: list[Client], timing: Timing) -> Figures:
    ok = sum(1 for c in clients if c.status == 303)
    latencies = [c.latency for c in clients if c.status == 303] or [0.0]
    rate = len(clients) / timing.wall
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    cpu, busy = timing.cpu / len(clients), timing.client / max(timing.answered, 1e-9)
    print(
        f"{label}: {len(clients)} concurrent submissions of {args.kb} KiB, "
        f"{ok} answered 303, done in {timing.wall:.2f} s ({rate:.1f} submissions/s); "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
        f"server CPU {cpu * 1000:.1f} ms per submission; client busy {busy:.0%}"
    )
    return Figures(rate, p50, p95, ok == len(clients), cpu, busy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--kb", type=int, default=8, help="size of each PDF in KiB")
    parser.add_argument("--pg", action="store_true", help="on a throw-away PostgreSQL database")
    parser.add_argument("--rounds", type=int, default=3, help="portal and bare, this many times")
    parser.add_argument("--no-bare", action="store_true", help="the portal alone (profiling)")
    parser.add_argument("--limit", type=int, default=900, help="stop after this many seconds")
    args = parser.parse_args()
    signal.signal(
        signal.SIGALRM, lambda *_: sys.exit(f"bench_portal: stopped after {args.limit} s")
    )
    signal.alarm(args.limit)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
