"""The service on one machine (``hanbaocao up``) and the deployments on any Prefect server
(``hanbaocao sync`` / ``deploy``).

``up`` brings up, in this order, and stops in the reverse one:

1. the Prefect API: ``PREFECT_API_URL`` when it answers; otherwise ``prefect server start``
   on 127.0.0.1 as a child, with ``PREFECT_HOME=<data dir>/prefect`` (its SQLite database
   lives there) and analytics off;
2. the app database, migrated to the latest revision;
3. when ``HANBAOCAO_SMTP_URL`` is not set, a local SMTP sink that keeps every message as an
   ``.eml`` file under ``<data dir>/mail`` (``HANBAOCAO_SMTP_URL`` then points at it);
4. the deployments (``flows.deployments.sync``) on a process work pool;
5. a process worker for that pool, inside this process, until SIGINT or SIGTERM.

Why a worker and not ``serve()``: ``serve()`` registers every deployment again, one by
one, at each start before it runs anything (its cost grows with the number of
deployments: ``bench/bench_sync.py`` measures it), and stopping it pauses every schedule
unless ``pause_on_shutdown=False``. A worker needs the deployments on the server only,
and ``sync`` writes only what changed (unchanged deployments cost one paged read). So a
restart of ``up`` costs the server's own start plus about a second whatever the number
of deployments, and nothing is paused on the way down.

Processes. The server is ``flows.server.prefect_server``'s: its own process group, stopped
with SIGTERM (SIGKILL after 15 s), and on Linux sent SIGTERM by the kernel when ``up``
dies, even by SIGKILL (``PR_SET_PDEATHSIG``). The flow runs stay in ``up``'s process group,
so a SIGKILL of the group (or a terminal's Ctrl-C) reaches them too: Prefect's process
worker would start each in a session of its own, out of reach; ``LocalProcessWorker``
starts the engine directly instead (a Prefect 3.8 private switch, ``_command_configured``:
the runs need no pull steps, the flows are imported from the installed package).
``prefect worker start`` is not used as a child either: in 3.8.8 a single SIGINT or SIGTERM
does not stop it (measured: still running a minute later), and a second one SIGKILLs it,
stranding its runs.

Stopping. The first SIGINT/SIGTERM stops the worker taking runs; runs in flight get
``drain_seconds`` to finish, then are killed and marked Crashed (their claimed outbox rows
go back to pending through ``reclaim_stale``); the sink stops; the server stops. Exit
code 0. At start, runs of the embedded server's pool still "Running" with no live process
(a previous ``up`` killed outright) are marked Crashed.

Prefect reads its settings once, when it is imported: ``choose_api`` sets the PREFECT_*
variables first, and this module imports Prefect only inside its functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import httpx
from rich.console import Console
from rich.markup import escape

from flows.server import SCHEDULER_HORIZON, SCHEDULER_HORIZON_SETTING
from models import clock
from models.db import TZ, get_engine, settings

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.workers.process import (
        ProcessJobConfiguration,
        ProcessWorker,
        ProcessWorkerResult,
    )
    from sqlmodel import Session

    from flows.deployments import SyncReport
    from notifications.mailsink import MailSink

HEALTH_TIMEOUT = 120.0  # ~15 s on two cores; generous for a busy machine
DRAIN_SECONDS = 10.0


class ServiceError(RuntimeError):
    """``up`` cannot go on; the message says what to change."""


class Stopped(Exception):
    """SIGINT or SIGTERM arrived while the service was starting."""


class PortalServer(Protocol):
    """``portal.app.serving``'s shape: the portal in the background on ``port``, its URL."""

    def __call__(self, *, port: int) -> AbstractContextManager[str]: ...


@dataclass(frozen=True, slots=True)
class UpOptions:
    """``portal``: how to serve the portal (the CLI, above both, passes
    ``portal.app.serving``: flows never import the portal)."""

    port: int
    pool: str
    mail_sink: bool = True
    portal_port: int = 8000  # 0: no portal
    portal: PortalServer | None = None
    drain_seconds: float = DRAIN_SECONDS
    health_timeout: float = HEALTH_TIMEOUT


@dataclass(frozen=True, slots=True)
class Api:
    """Where the Prefect API is; ``home`` and ``port`` only for the embedded server."""

    url: str
    embedded: bool
    home: Path | None = None
    port: int | None = None

    @property
    def ui_url(self) -> str:
        return os.environ.get("PREFECT_UI_URL") or self.url.rstrip("/").removesuffix("/api")


# --- the Prefect API ------------------------------------------------------------------------


def api_answers(api_url: str, timeout: float = 3.0) -> bool:
    """``GET <api>/health`` answers 200 within ``timeout``."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on ``port``. SO_REUSEADDR as the server sets it: connections left in
    TIME_WAIT by a server that just stopped do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def embedded_api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def choose_api(port: int, data_dir: Path, say: Callable[[str], None]) -> Api:
    """``PREFECT_API_URL`` when it answers; otherwise the embedded server's address, with
    this process's PREFECT_* environment set for it (before Prefect is imported)."""
    if "prefect" in sys.modules:
        raise RuntimeError("choose_api must run before Prefect is imported")
    given = os.environ.get("PREFECT_API_URL", "").strip()
    if given:
        if api_answers(given):
            return Api(url=given, embedded=False)
        say(f"[yellow]PREFECT_API_URL={escape(given)} không trả lời: chạy máy chủ Prefect riêng[/]")
    if not port_free(port):
        raise ServiceError(
            f"cổng {port} trên 127.0.0.1 đang bận (một `hanbaocao up` khác?): hãy chọn "
            "--port khác, hoặc đặt PREFECT_API_URL là máy chủ đang chạy ở đó"
        )
    home = data_dir / "prefect"
    url = embedded_api_url(port)
    os.environ.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        }
    )
    # An operator's own value wins; embedded_server passes PREFECT_SERVER_* on.
    os.environ.setdefault(SCHEDULER_HORIZON_SETTING, SCHEDULER_HORIZON)
    return Api(url=url, embedded=True, home=home, port=port)


def configured_api(port: int, data_dir: Path) -> Api:
    """For the one-shot commands: ``PREFECT_API_URL`` when set, else the address where
    ``up`` runs its embedded server (this process's PREFECT_* set for it)."""
    given = os.environ.get("PREFECT_API_URL", "").strip()
    if given:
        return Api(url=given, embedded=False)
    api = Api(url=embedded_api_url(port), embedded=True, home=data_dir / "prefect", port=port)
    os.environ.update({"PREFECT_HOME": str(api.home), "PREFECT_API_URL": api.url})
    return api


@contextlib.contextmanager
def embedded_server(api: Api, *, timeout: float, console: Console) -> Iterator[None]:
    """``flows.server.prefect_server`` for ``api``, healthy, for the block; the progress
    shown meanwhile. The server's own settings in our environment (PREFECT_SERVER_*, a
    PostgreSQL PREFECT_API_DATABASE_CONNECTION_URL) are passed on."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from flows.server import ServerError, prefect_server

    assert api.embedded and api.home is not None
    own = {k: v for k, v in os.environ.items() if k.startswith(_SERVER_SETTINGS)}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        with Progress(*columns, console=console, transient=True) as progress:
            progress.add_task("Đang khởi động máy chủ Prefect…")
            try:
                server = stack.enter_context(
                    prefect_server(api.home, port=api.port, env=own, timeout=timeout)
                )
            except ServerError as exc:
                raise ServiceError(str(exc)) from None
        console.print(
            f"Máy chủ Prefect sẵn sàng sau {time.monotonic() - started:.1f} giây "
            f"(nhật ký: {escape(str(server.log_path))})"
        )
        yield


_SERVER_SETTINGS = ("PREFECT_SERVER_", "PREFECT_API_DATABASE_")


# --- the app database, mail and deployments --------------------------------------------------


def migrate_database() -> str:
    """Create or upgrade the app schema; what happened, for the console."""
    from models import migrate

    engine = get_engine()
    before = migrate.current(engine)
    migrate.upgrade(engine)
    after = migrate.current(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        return f"{where}: đã ở phiên bản mới nhất {after}"
    return f"{where}: {before or 'trống'} → {after}"


@contextlib.contextmanager
def local_mail(folder: Path) -> Iterator[MailSink]:
    """The local SMTP sink on a free loopback port, ``HANBAOCAO_SMTP_URL`` pointing at it
    for this process and the flow runs it starts."""
    from notifications.mailsink import MailSink

    sink = MailSink(folder=folder).start()
    os.environ["HANBAOCAO_SMTP_URL"] = sink.smtp_url()
    try:
        yield sink
    finally:
        sink.stop()


def schedule_anchor(session: Session) -> date:
    """The schedules' DTSTART anchor (``flows.deployments.sync``'s ``start``): the day the
    first still-approved obligation was approved, in local time. It does not move between
    restarts or machines, so a sync rewrites only what changed; today when nothing is
    approved (the sweep's schedule does not use it)."""
    from sqlmodel import func, select

    from models.tables import Obligation, ObligationStatus

    first = session.exec(
        select(func.min(Obligation.approved_at)).where(
            Obligation.status == ObligationStatus.approved
        )
    ).one()
    return (first or clock.now()).astimezone(TZ).date()


def sync_deployments(pool: str | None) -> SyncReport:
    """The approved obligations' and the sweep's deployments, onto ``pool`` (created as a
    process pool when missing), on the API the settings point at."""
    from flows.deployments import sync
    from models.db import session_scope

    engine = get_engine()
    with session_scope(engine) as session:
        start = schedule_anchor(session)
    return sync(engine, start=start, province=settings().province, work_pool_name=pool)


_ACTION_VI = {"create": "tạo", "update": "cập nhật", "delete": "xoá"}


def describe(report: SyncReport) -> list[str]:
    """The report as console lines: the counts, then what changed and what failed."""
    lines = [f"deployment: {report}"]
    for label, names in (
        ("tạo mới", report.created),
        ("cập nhật", report.updated),
        ("xoá", report.deleted),
    ):
        lines += [f"  {label}: {escape(name)}" for name in names]
    lines += [f"  bỏ qua: {escape(s.name)}: {escape(s.reason)}" for s in report.skipped]
    lines += [
        f"  [red]không {_ACTION_VI[e.action]} được[/] {escape(e.name)}: {escape(e.error)}"
        for e in report.errors
    ]
    if report.automation:
        lines.append(f"automation: {escape(report.automation)}")
    return lines


# --- the worker --------------------------------------------------------------------------------


@dataclass(slots=True)
class Runs:
    """The worker's runs in flight, and whether it may take new ones."""

    draining: bool = False
    in_flight: set[UUID] = field(default_factory=set)


@cache
def _worker_class() -> Callable[[str, str, Runs], ProcessWorker]:
    import warnings

    from prefect.workers.process import ProcessWorker

    # The same type as Prefect's ("process"): Prefect's type registry warns that "process"
    # now means this class in this process, which is what we want here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)

        class LocalProcessWorker(ProcessWorker):
            """A process worker whose flow runs stay in this process group, and which can
            stop taking runs while the ones in flight finish."""

            def __init__(self, pool: str, name: str, runs: Runs) -> None:
                super().__init__(work_pool_name=pool, name=name)
                self.runs = runs

            async def get_and_submit_flow_runs(self) -> list[FlowRun]:
                if self.runs.draining:
                    return []
                return await super().get_and_submit_flow_runs()

            async def run(
                self,
                flow_run: FlowRun,
                configuration: ProcessJobConfiguration,
                task_status: Any = None,
            ) -> ProcessWorkerResult:
                # Start `python -m prefect.engine` as our child, not in a session of its
                # own through the workspace supervisor (see the module docstring).
                configuration._command_configured = True
                self.runs.in_flight.add(flow_run.id)
                try:
                    return await super().run(flow_run, configuration, task_status)
                finally:
                    self.runs.in_flight.discard(flow_run.id)

    return LocalProcessWorker


def make_worker(pool: str, runs: Runs) -> ProcessWorker:
    return _worker_class()(pool, f"hanbaocao-up@{socket.gethostname()}", runs)


async def run_worker(
    pool: str,
    *,
    stop: asyncio.Event,
    hurry: asyncio.Event,
    drain_seconds: float,
    console: Console,
    ready: Callable[[], None],
) -> None:
    """Run the pool's flow runs until ``stop``; then drain (at most ``drain_seconds``, less
    if ``hurry``), kill what is left and mark it Crashed."""
    import anyio

    runs = Runs()
    worker = make_worker(pool, runs)

    def printer(*values: Any) -> None:
        console.print(*values, highlight=False)
        if values == (f"Worker {worker.name!r} started!",):
            ready()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: worker.start(printer=printer))
        await stop.wait()
        runs.draining = True
        if runs.in_flight:
            console.print(
                f"chờ tối đa {drain_seconds:.0f} giây cho {len(runs.in_flight)} flow run đang chạy…"
            )
        deadline = time.monotonic() + drain_seconds
        while runs.in_flight and not hurry.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        abandoned = set(runs.in_flight)
        group.cancel_scope.cancel()  # kills the runs still in flight (Prefect's process manager)
    if abandoned:
        await mark_crashed(abandoned, "hanbaocao up đã dừng khi flow run này đang chạy")


async def mark_crashed(flow_run_ids: set[UUID], message: str) -> None:
    """Crashed, unless the run reached a final state on its own after all."""
    from prefect import get_client
    from prefect.states import Crashed

    async with get_client() as client:
        for flow_run_id in flow_run_ids:
            with contextlib.suppress(Exception):  # the server may be gone already
                run = await client.read_flow_run(flow_run_id)
                if run.state is None or not run.state.is_final():
                    await client.set_flow_run_state(
                        flow_run_id, Crashed(message=message), force=True
                    )


async def crash_orphans(pool: str) -> int:
    """Runs of ``pool`` still Pending/Running/Cancelling whose process is gone (an ``up``
    killed outright): marked Crashed so the UI stops showing them as running. Only for
    the embedded server, whose pool's runs all ran on this machine."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType

    live = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
    async with get_client() as client:
        found = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=live))
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
            limit=200,
        )
    gone = {run.id for run in found if not _alive(run.infrastructure_pid)}
    if gone:
        await mark_crashed(gone, "tiến trình của flow run đã mất khi hanbaocao up khởi động lại")
    return len(gone)


def _alive(pid: str | None) -> bool:
    """A process with this id exists here. No id: the run never got a process (its worker
    died first). An id that is not a local pid: unknown, so assumed alive."""
    if not pid:
        return False
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- signals -------------------------------------------------------------------------------


class Signals:
    """SIGINT and SIGTERM while ``starting`` raise ``Stopped``; while a loop is attached,
    the first sets ``stop`` and any later one ``hurry`` (skip the drain); otherwise (while
    stopping) they are only counted."""

    def __init__(self) -> None:
        self.count = 0
        self.starting = True
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: tuple[asyncio.Event, asyncio.Event] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def attach(self, stop: asyncio.Event, hurry: asyncio.Event) -> None:
        """From now on, wake the running loop instead of raising."""
        self.starting = False
        self._loop = asyncio.get_running_loop()
        self._events = (stop, hurry)

    def detach(self) -> None:
        self._loop = self._events = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self._loop is not None and self._events is not None:
            event = self._events[0] if self.count == 1 else self._events[1]
            self._loop.call_soon_threadsafe(event.set)
        elif self.starting:
            self.starting = False
            raise Stopped(signal.Signals(signum).name)


# --- up ----------------------------------------------------------------------------------------


def up(options: UpOptions, console: Console) -> int:
    """The whole service until SIGINT/SIGTERM; 0 after a clean stop."""
    cfg = settings()
    data_dir = cfg.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    signals = Signals()
    signals.install()
    try:
        with contextlib.ExitStack() as stack:
            api = _start(options, console, stack, data_dir)
            asyncio.run(_run(options, api, console, signals))
            console.print("đang dừng…")
    except Stopped:
        console.print("đã dừng khi đang khởi động")
    else:
        console.print("đã dừng")
    finally:
        signals.restore()
    return 0


def _start(
    options: UpOptions, console: Console, stack: contextlib.ExitStack, data_dir: Path
) -> Api:
    """Steps 1–4 of the module docstring; each one's teardown goes on ``stack``."""
    say = console.print
    api = choose_api(options.port, data_dir, say)
    if api.embedded:
        say(f"Prefect: máy chủ đi kèm, PREFECT_HOME={escape(str(api.home))}")
        stack.enter_context(embedded_server(api, timeout=options.health_timeout, console=console))
    else:
        say(f"Prefect: {escape(api.url)}")
    say(f"cơ sở dữ liệu: {escape(migrate_database())}")
    if settings().smtp_url:
        say("thư điện tử: qua HANBAOCAO_SMTP_URL")
    elif options.mail_sink:
        sink = stack.enter_context(local_mail(data_dir / "mail"))
        folder = escape(str(sink.folder))
        say(
            f"thư điện tử: hộp thư cục bộ ở 127.0.0.1:{sink.port}, lưu thành tệp .eml "
            f"trong {folder}"
        )
    else:
        say("[yellow]thư điện tử: chưa đặt HANBAOCAO_SMTP_URL: thông báo qua email sẽ lỗi[/]")
    if api.embedded and (orphans := asyncio.run(crash_orphans(options.pool))):
        say(f"{orphans} flow run còn chạy từ lần dừng trước được đánh dấu Crashed")
    if options.portal_port and options.portal is not None:
        # Links in messages must reach this portal unless a public address is set.
        if "public_url" not in settings().model_fields_set:
            os.environ["HANBAOCAO_PUBLIC_URL"] = f"http://127.0.0.1:{options.portal_port}"
        public = settings().public_url
        url = stack.enter_context(options.portal(port=options.portal_port))
        say(
            f"cổng nộp báo cáo: {escape(url)} (đường dẫn trong tin nhắn: {escape(public)}; "
            "bảng điều khiển: /admin)"
        )
    started = time.monotonic()
    report = sync_deployments(options.pool)
    for line in describe(report):
        say(line)
    say(f"đã đồng bộ trong {time.monotonic() - started:.1f} giây vào work pool {options.pool!r}")
    return api


async def _run(options: UpOptions, api: Api, console: Console, signals: Signals) -> None:
    stop, hurry = asyncio.Event(), asyncio.Event()
    signals.attach(stop, hurry)

    def ready() -> None:
        console.print(
            f"[bold green]hanbaocao đang chạy[/]: UI {escape(api.ui_url)} · API "
            f"{escape(api.url)} · work pool {escape(repr(options.pool))}. Nhấn Ctrl-C để dừng."
        )

    try:
        await run_worker(
            options.pool,
            stop=stop,
            hurry=hurry,
            drain_seconds=options.drain_seconds,
            console=console,
            ready=ready,
        )
    finally:
        signals.detach()
