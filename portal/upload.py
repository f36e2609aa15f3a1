"""The upload's write path, once ``portal.storage`` has read the body (``POST
/submit/{token}`` in ``portal.submit``): check the files, store them, record them, queue
the receipt message.

The order keeps the database's write lock short:

1. the files are checked (``sniff``) and copied into the content-addressed store, with
   no transaction open;
2. one short transaction records them (``models.submissions.record``: three Core
   statements) and commits: from then on the report is received, whatever follows;
3. the agency is answered (the 303 to its receipt page, read from the versions), and
   then, in the same request (``portal.submit._after_upload``, a background task of the
   response): what the receipt message needs is read (``receipt_facts``: not the
   directive's source text), the message is rendered, and a second short transaction
   queues it, with the receipts of other uploads that waited meanwhile (``_Receipts``).
   One worker thread queues the batches while the other requests wait on the event
   loop (``after_upload``), so waiting receipts do not take the threads that the next
   uploads need.
   A failure there loses only the receipt message (logged); the upload stands, and its
   receipt page was shown all the same. A crash between 2 and 3 leaves the versions
   recorded without their receipt message. Answering first spares the agency the wait
   for its own receipt message: under a burst of uploads the answers went out after
   every earlier upload's receipt was queued.

Writers are serialised in the process (``write``): on SQLite a thread waits on an
in-process lock instead of polling SQLite's busy handler, only one connection at a time
asks for the file's write lock (another process still meets the busy handler, with its
bounded wait, then the 503), and the lock's holder writes every write queued meanwhile
in one transaction: one commit, one sync of the journal, for a batch of uploads (their
results are handed back only after that commit). PostgreSQL takes no in-process lock:
its row lock on the submission orders two uploads of the same submission, others do not
conflict, and its own commits are grouped by the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
import unicodedata
import weakref
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy import String, and_, bindparam, case
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased, defer
from sqlmodel import Session, col

from flows.events import facts_event_name
from models.agency import Agency, AgencyContact, AgencyKind
from models.db import TZ, Settings, settings
from models.links import link
from models.submissions import (
    Received,
    StoredFile,
    discard_unreferenced,
    record,
    store_file,
)
from models.tables import Directive, Obligation, ReportCycle
from models.workdays import packaged_calendar
from notifications.messages import Receipt, ReceivedFile, render
from notifications.notices import (
    CycleFacts,
    SenderSettings,
    channels_from,
    context,
    facts_from,
    message_rows,
    signer_of,
)
from notifications.outbox import enqueue_many
from notifications.vocabulary import Message
from notifications.zalo_params import with_fields
from portal.deps import Portal
from portal.storage import UploadForm, UploadRejected, sniff

T = TypeVar("T")
log = logging.getLogger("hanbaocao.portal")
NOTE_LIMIT = 2000  # characters
RECORD_ATTEMPTS = 3
BUSY = (
    "Hệ thống đang bận ghi dữ liệu nên chưa nhận được báo cáo; chưa có tệp nào được ghi "
    "nhận. Đề nghị thử nộp lại sau ít phút."
)


class WriterBusy(Exception):
    """The in-process writer lock was not free within the bounded wait."""


# --- writers, one batch at a time ---------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Job:
    work: Callable[[Connection], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Writer:
    """One SQLite database's writers in this process. A writer queues its work and takes
    the lock; whoever holds it runs everything queued so far in one transaction, so one
    commit (one sync of the journal) serves every upload that arrived meanwhile."""

    wait: float  # seconds a writer waits for its turn before "busy"
    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: list[_Job] = field(default_factory=list)
    queue_lock: threading.Lock = field(default_factory=threading.Lock)


_WRITERS: weakref.WeakKeyDictionary[Engine, _Writer] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def _writer(engine: Engine) -> _Writer:
    with _WRITERS_LOCK:
        found = _WRITERS.get(engine)
        if found is None:
            # As long as SQLite itself would wait for another writer: the same bound.
            found = _WRITERS[engine] = _Writer(settings().sqlite_busy_seconds)
        return found


def write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """``work(connection)`` in a short write transaction, committed before this returns
    its result. On SQLite the writers of this process go one batch at a time
    (``_Writer``; ``WriterBusy`` when the turn does not come within the bounded wait);
    on PostgreSQL each runs in a transaction of its own, as the row locks order them."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            return work(conn)
    writer = _writer(engine)
    job = _Job(work)
    with writer.queue_lock:
        writer.queue.append(job)
    deadline = time.monotonic() + writer.wait
    while not job.done.is_set():
        if writer.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                with writer.queue_lock:
                    batch, writer.queue = writer.queue, []
                _run(engine, batch)
            finally:
                writer.lock.release()
            continue
        with writer.queue_lock:
            if job in writer.queue:  # nobody took it: give up, nothing was written
                writer.queue.remove(job)
                raise WriterBusy
        job.done.wait()  # it is in the batch being written now
    if job.error is not None:
        raise job.error
    result: T = job.result
    return result


def _run(engine: Engine, batch: list[_Job]) -> None:
    """The batch in one transaction. When it fails, the transaction is rolled back and
    each job runs again alone, so that one job's failure (a version taken by another
    process) is that job's only; a busy or unreachable database fails them all."""
    if not batch:
        return
    try:
        with engine.begin() as conn:
            results = [job.work(conn) for job in batch]
    except OperationalError as exc:
        _finish(batch, error=exc)
    except Exception as exc:
        if len(batch) == 1:
            _finish(batch, error=exc)
        else:
            for job in batch:
                _run(engine, [job])
    else:
        for job, result in zip(batch, results, strict=True):
            job.result = result
        _finish(batch)


def _finish(batch: list[_Job], *, error: BaseException | None = None) -> None:
    for job in batch:
        if error is not None:
            job.error = error
        job.done.set()


# --- checking and recording -------------------------------------------------------------------


def clean_note(raw: str | None) -> str | None:
    """NFC, no control characters but line breaks, at most ``NOTE_LIMIT`` characters."""
    text = unicodedata.normalize("NFC", raw or "").replace("\r\n", "\n")
    text = "".join(c for c in text if c == "\n" or not unicodedata.category(c).startswith("C"))
    text = text.strip()
    if len(text) > NOTE_LIMIT:
        raise UploadRejected(400, "note-too-long", f"Ghi chú dài quá {NOTE_LIMIT} ký tự.")
    return text or None


def accept(portal: Portal, submission_id: int, form: UploadForm) -> Received:
    """Check the files, store and record them (in a worker thread: files and database);
    what was recorded. Its receipt message follows (``after_upload``)."""
    if not form.files:
        raise UploadRejected(400, "no-file", "Chưa chọn tệp báo cáo nào để nộp.")
    for f in form.files:
        f.kind = sniff(f, portal.limits.contents)
    note = clean_note(form.fields.get("note"))
    at = portal.clock()  # received when the last byte arrived, not when the page opened
    stored: list[StoredFile] = []
    try:
        for f in form.files:
            stored.append(store_file(portal.data_dir, f.file, sha256=f.sha256))
        got = _record(portal, submission_id, [f.name for f in form.files], stored, note, at)
    except BaseException:
        # What this upload added to the store goes again (unless a version refers to it).
        added = [s.sha256 for s in stored if s.added]
        with Session(portal.engine) as session:
            discard_unreferenced(session, portal.data_dir, added)
        raise
    return got


def _record(
    portal: Portal,
    submission_id: int,
    names: Sequence[str],
    stored: Sequence[StoredFile],
    note: str | None,
    at: dt.datetime,
) -> Received:
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            # record's version UPDATE is the first statement of its batch's transaction
            # or comes after other writes: the write lock is taken before any read.
            return write(
                portal.engine,
                partial(
                    record,
                    submission_id=submission_id,
                    names=names,
                    stored=stored,
                    at=at,
                    note=note,
                ),
            )
        except IntegrityError:
            # A version number taken under us (another process): the transaction again.
            if attempt == RECORD_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
        except (OperationalError, WriterBusy) as exc:
            # SQLite's bounded lock wait ran out (it already waited: no second wait), or
            # the database is unreachable: "busy, try again", never a hang.
            log.warning("upload not recorded, database busy: %s", type(exc).__name__)
            raise UploadRejected(503, "busy", BUSY) from None
    raise AssertionError("unreachable")


# --- the receipt message ----------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Pending:
    got: Received
    # Once queued (or lost): what follows it (the event, given the report's name), then
    # its waiter woken; both called in the thread that queued it.
    then: Callable[[str | None], None]
    wake: Callable[[], None]
    name: str | None = None  # the report's name, once queued


@dataclass(slots=True)
class _Receipts:
    """One database's receipt messages waiting in this process. Whoever holds ``lock``
    queues every receipt waiting so far as one batch: the cycle's facts read once per
    cycle, the agencies and contacts in one query each, the rows in one transaction.
    ``draining``: a worker thread is queueing batches for the requests that wait on
    the event loop (``after_upload``) until none is left."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: list[_Pending] = field(default_factory=list)
    queue_lock: threading.Lock = field(default_factory=threading.Lock)
    draining: bool = False


_RECEIPTS: weakref.WeakKeyDictionary[Engine, _Receipts] = weakref.WeakKeyDictionary()


def _receipts(engine: Engine) -> _Receipts:
    with _WRITERS_LOCK:
        found = _RECEIPTS.get(engine)
        if found is None:
            found = _RECEIPTS[engine] = _Receipts()
        return found


async def after_upload(portal: Portal, got: Received, then: Callable[[str | None], None]) -> None:
    """The receipt message, to the agency's channels, as its own outbox row per upload
    (stage ``receipt-v<last version>``), in a short transaction of its own after the
    versions were committed, with the receipts of other uploads queued meanwhile; then
    ``then(name)`` (the event, named from the same facts; None when the receipt failed,
    which is logged: the report is received either way). For a request after its answer,
    holding no worker thread while it waits: the upload that finds no receipt being
    queued takes one thread and queues batch after batch until none is left; the others
    wait on the event loop. Under a burst, a thread per waiting receipt took the threads
    the next uploads needed to be answered."""
    box = _receipts(portal.engine)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    pending = _Pending(got, then, partial(_wake, loop, done))
    with box.queue_lock:
        box.queue.append(pending)
        lead, box.draining = not box.draining, True
    if lead:
        await to_thread.run_sync(_drain, portal, box)
    await done


def _drain(portal: Portal, box: _Receipts) -> None:
    """Batches until the queue is empty (``draining`` ends with it, under the queue's
    lock: a receipt queued afterwards finds nobody draining and drains itself)."""
    try:
        while True:
            with box.queue_lock:
                if not box.queue:
                    box.draining = False
                    return
            _queue_waiting(portal, box)
    except BaseException:
        with box.queue_lock:
            box.draining = False
        raise


def _queue_waiting(portal: Portal, box: _Receipts) -> None:
    """Every receipt waiting when ``box.lock`` is ours, as one batch; then, the lock
    released, for each: what follows it, and its waiter woken, whatever happened."""
    batch: list[_Pending] = []
    try:
        with box.lock:
            with box.queue_lock:
                batch, box.queue = box.queue, []
            if batch:
                _queue_batch(portal, batch)
    finally:
        for one in batch:
            try:
                one.then(one.name)
            except Exception:  # its own to report; the others still follow
                log.exception("after the receipt of submission %s", one.got.submission_id)
            finally:
                one.wake()


def _wake(loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
    def resolve() -> None:
        if not done.done():
            done.set_result(None)

    with suppress(RuntimeError):  # its event loop closed meanwhile: nobody waits any more
        loop.call_soon_threadsafe(resolve)


def _queue_batch(portal: Portal, batch: list[_Pending]) -> None:
    """The batch's receipts in one go; when that fails, each alone, so that one
    receipt's failure is that receipt's only."""
    try:
        _queue_receipts(portal, batch)
    except Exception as exc:
        if len(batch) == 1:
            _log_lost(batch[0].got, exc)
        else:
            for one in batch:
                _queue_batch(portal, [one])


def _log_lost(got: Received, exc: Exception) -> None:
    log.error(
        "receipt message for submission %s v%s not queued: %s: %s",
        got.submission_id,
        got.last_version,
        type(exc).__name__,
        exc,
    )


def _queue_receipts(portal: Portal, batch: list[_Pending]) -> None:
    with Session(portal.engine, expire_on_commit=False) as session:
        found = receipt_facts(session, [p.got for p in batch])
    rows = [  # rendered before the write lock is asked for
        row
        for p, (facts, agency, channels) in zip(batch, found, strict=True)
        for row in message_rows(
            facts,
            agency,
            f"receipt-v{p.got.last_version}",
            _receipt_message(portal, facts, agency, p.got),
            at=p.got.at,
            channels=channels,
        )
    ]

    def queue(conn: Connection) -> None:
        with Session(bind=conn) as session:
            enqueue_many(session, rows)  # the batch's rows in one statement

    write(portal.engine, queue)
    for p, (facts, agency, _) in zip(batch, found, strict=True):
        p.name = facts_event_name(agency.name, facts)


Facts = tuple[CycleFacts, Agency, list[str]]


def receipt_facts(session: Session, uploads: Sequence[Received]) -> list[Facts]:
    """``notices.cycle_facts`` for each upload's receipt, with its agency and channels:
    per cycle, the cycle, its obligation and directive (without its source text), the
    lead, the recipient and the recipient's office in one query (one ``CycleFacts`` for
    all the cycle's receipts); the agencies in one query, and the signers' and agencies'
    contacts in one more."""
    province = settings().province
    config = _sender_settings()
    rows: dict[int, Any] = {}
    for cycle_id in dict.fromkeys(got.cycle_id for got in uploads):
        params = {"cycle_id": cycle_id, "province": province}
        rows[cycle_id] = session.execute(_facts_statement(), params).first()
        if rows[cycle_id] is None:
            raise LookupError(f"no report cycle {cycle_id}")
    agency_ids = list(dict.fromkeys(got.agency_id for got in uploads))
    found = session.execute(_agencies_statement(), {"ids": agency_ids}).scalars()
    agencies = {a.id: a for a in found}
    missing = [i for i in agency_ids if i not in agencies]
    if missing:
        raise LookupError(f"no agency {missing[0]}")
    signers = (signer_of(config, row[3], row[5]) for row in rows.values())
    ids = list(dict.fromkeys([*agency_ids, *(s.id for s in signers if s is not None)]))
    contacts = list(session.execute(_contacts_statement(), {"ids": ids}).scalars())
    channels = channels_from(agency_ids, ((c.agency_id, c.channel) for c in contacts))
    facts = {
        cycle_id: facts_from(*row, province=province, config=config, contacts=contacts)
        for cycle_id, row in rows.items()
    }
    return [
        (facts[got.cycle_id], agencies[got.agency_id], channels[got.agency_id]) for got in uploads
    ]


def prepare() -> None:
    """Build the statements and read the sender's settings every upload needs, at the
    app's start: a burst of first uploads otherwise built them several times over, in
    threads racing for the same caches."""
    for build in (_facts_statement, _agencies_statement, _contacts_statement):
        build()
    _sender_settings()


@cache
def _agencies_statement() -> Any:
    """The agencies of a list of ids (``ids``)."""
    ids: Any = bindparam("ids", expanding=True)
    return sa_select(Agency).where(col(Agency.id).in_(ids))


@cache
def _contacts_statement() -> Any:
    """The contact rows of a list of agencies (``ids``), in the order of their ids."""
    ids: Any = bindparam("ids", expanding=True)
    return (
        sa_select(AgencyContact)
        .where(col(AgencyContact.agency_id).in_(ids))
        .order_by(col(AgencyContact.id))
    )


@cache
def _facts_statement() -> Any:
    """A cycle's facts for its receipts in one query, its values bound at execution
    (built once)."""
    lead, recipient, office = (aliased(Agency) for _ in range(3))
    # The recipient's province (the app's when there is no recipient), as notices._office.
    province = case(
        (col(recipient.id).is_(None), bindparam("province", type_=String())),
        else_=col(recipient.province),
    )
    return (
        # sqlalchemy's select: sqlmodel's types at most four entities.
        sa_select(ReportCycle, Obligation, Directive, lead, recipient, office)
        .join(Obligation, col(Obligation.id) == ReportCycle.obligation_id)
        .join(Directive, col(Directive.id) == Obligation.directive_id)
        .outerjoin(lead, col(lead.id) == Obligation.lead_agency_id)
        .outerjoin(recipient, col(recipient.id) == Obligation.recipient_agency_id)
        .outerjoin(
            office,
            and_(col(office.kind) == AgencyKind.committee_office, col(office.province) == province),
        )
        .where(col(ReportCycle.id) == bindparam("cycle_id"))
        .order_by(col(office.id))
        .limit(1)
        .options(defer(Directive.source_text))  # type: ignore[arg-type]
    )


_SENDERS: dict[int, tuple[Settings, SenderSettings]] = {}


def _sender_settings() -> SenderSettings:
    """``SenderSettings()`` read once per set of HANBAOCAO_* variables, as ``settings()``
    is (the same variables give the same ``Settings`` object)."""
    app = settings()
    found = _SENDERS.get(id(app))
    if found is None or found[0] is not app:
        found = _SENDERS[id(app)] = (app, SenderSettings())
    return found[1]


def _receipt_message(portal: Portal, facts: CycleFacts, agency: Agency, got: Received) -> Message:
    receipt = Receipt(
        files=tuple(ReceivedFile(v.file_name, v.file_size, v.sha256) for v in got.versions),
        received_at=got.at,
        version=got.last_version,
        late=got.late,
    )
    url = link(
        "submit",
        cycle_id=got.cycle_id,
        agency_id=got.agency_id,
        expires=facts.link_expiry,
        cfg=portal.links,
        issued=got.at,
    )
    page = link(
        "agency",
        cycle_id=None,
        agency_id=got.agency_id,
        expires=facts.agency_page_expiry,
        cfg=portal.links,
        issued=got.at,
    )
    ctx = context(
        facts,
        agency.name,
        link=url,
        agency_page=page,
        receipt=receipt,
        days_late=_days_late(got),
        as_of=got.at,
    )
    return with_fields(render("receipt", ctx), "receipt", ctx)


def _days_late(got: Received) -> int | None:
    if not got.late:
        return None
    due = got.due_at.astimezone(TZ).date()
    days = packaged_calendar().working_days_between(due, got.at.astimezone(TZ).date())
    return days if days > 0 else None
