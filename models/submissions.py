"""An agency hands in its report: files kept by content hash, one version per file.

Files live under ``<data dir>/files/ab/abcdef…`` (the sha256 of their bytes), never under
the name they were uploaded with: a name is only ever shown. Identical bytes are stored
once, and a stored file is never rewritten in place (it is written beside its place and
renamed), so a reader never sees half a file.

``receive`` stores the files and records one upload in the caller's transaction;
``record`` is its second half, for a caller that stored the files itself (the portal
stores them before it takes the write lock). A ``SubmissionVersion`` row
holds one file (its unique key is the submission and the version number), so an upload
of N files adds N consecutive versions; the first version ever marks the submission
submitted and stops its reminders. A version received after the cycle's deadline is
accepted and flagged ``late``.

Concurrency: version numbers come from one conditional ``UPDATE … SET current_version =
current_version + N … RETURNING``. PostgreSQL locks the row for the rest of the
transaction (a second upload waits, then reads the new count); SQLite takes its write
lock at that statement, which is why it comes first in ``receive``: a transaction that
begins with a write waits for the other writer instead of failing on a stale snapshot.
The unique key on (submission, version) stays as the backstop; a caller that meets
``IntegrityError`` runs the whole transaction again (files already stored are simply
found again). The UPDATE may also follow other writes in the same transaction (the
portal writes a batch of uploads in one, ``portal.upload.write``): the write lock is
then already held, which is what matters.

Recording is three Core statements (the version UPDATE, which also returns what the
receipt needs of the submission and its cycle; one INSERT of the versions; one INSERT
of the audit row): no ORM loads, so a writer holds SQLite's lock for as short as can be.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Integer, bindparam, case, func, insert, literal, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from models.cycle_controls import SubmissionExtension
from models.db import UTCDateTime, private_dir
from models.tables import (
    AuditEvent,
    ReportCycle,
    Submission,
    SubmissionState,
    SubmissionVersion,
)

FILES_DIR = "files"  # under the data directory
_COPY_CHUNK = 1 << 20
NAME_LIMIT = 255  # SubmissionVersion.file_name


@dataclass(frozen=True, slots=True)
class Incoming:
    """One uploaded file: the name to show (already a display name, see
    ``portal.storage.display_name``) and its bytes, read from the start. ``sha256`` is
    the digest the caller computed while the file streamed in; storing checks it."""

    name: str
    content: IO[bytes]
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int
    path: str  # relative to the data directory: "files/ab/abcdef…"
    added: bool = False  # this copy put it in the store (it was not there)


@dataclass(frozen=True, slots=True)
class Received:
    """What an upload recorded: everything the receipt states."""

    submission_id: int
    agency_id: int
    cycle_id: int
    due_at: dt.datetime  # the cycle's deadline
    versions: tuple[SubmissionVersion, ...]  # as inserted (without their ids)
    first: bool  # the agency's first report for the cycle
    late: bool
    at: dt.datetime

    @property
    def first_version(self) -> int:
        return self.versions[0].version

    @property
    def last_version(self) -> int:
        return self.versions[-1].version


class StoreError(ValueError):
    """The bytes read while storing are not the bytes that were announced."""


# --- the content-addressed store -----------------------------------------------------------


def relative_path(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{FILES_DIR}/{sha256[:2]}/{sha256}"


def store_file(data_dir: Path, content: IO[bytes], *, sha256: str | None = None) -> StoredFile:
    """Copy ``content`` (from its start) into the store; its digest names it. The copy is
    written beside its place, synced, and renamed into it; bytes already stored are kept
    as they are (and with ``sha256`` given, not copied again). ``sha256``, when given,
    must be the digest of what is read."""
    if sha256 is not None:  # known before reading: one look, and nothing to copy
        size, rel = content.seek(0, os.SEEK_END), relative_path(sha256)
        if _stored_size(data_dir / rel) == size:
            return StoredFile(sha256, size, rel)
    tmp = data_dir / FILES_DIR / ".incoming" / secrets.token_hex(16)
    moved = False
    digest = hashlib.sha256()
    size = 0
    try:
        content.seek(0)
        # 0600 from the start: a report is for the office, not for the machine's users.
        with os.fdopen(_create(tmp), "wb") as out:
            while chunk := content.read(_COPY_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        found = digest.hexdigest()
        if sha256 is not None and found != sha256:
            raise StoreError(f"content changed while storing: expected {sha256}, read {found}")
        rel = relative_path(found)
        final = data_dir / rel
        if sha256 is None and _stored_size(final) == size:
            return StoredFile(found, size, rel)  # already there (the copy goes below)
        try:
            os.replace(tmp, final)  # atomic; a concurrent twin writes identical bytes
        except FileNotFoundError:  # the first file of its folder
            private_dir(final.parent)
            os.replace(tmp, final)
        moved = True
        return StoredFile(found, size, rel, added=True)
    finally:
        if not moved:
            tmp.unlink(missing_ok=True)


def _stored_size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _create(path: Path) -> int:
    """A new file, mode 0600; its folder made (``private_dir``) only when missing: the
    folders are there for all but the first upload, and making sure of them cost three
    system calls per folder per upload."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        private_dir(path.parent)
        return os.open(path, flags, 0o600)


def discard_unreferenced(session: Session, data_dir: Path, digests: Sequence[str]) -> None:
    """Remove the stored files of ``digests`` that no version refers to: what an upload
    whose transaction failed stored (call it only for files that upload created)."""
    referenced = set(
        session.exec(
            select(SubmissionVersion.sha256).where(col(SubmissionVersion.sha256).in_(digests))
        )
    )
    for digest in set(digests) - referenced:
        (data_dir / relative_path(digest)).unlink(missing_ok=True)


def clean_incoming(data_dir: Path, *, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """At start: remove what crashed uploads left in ``files/.incoming`` (files not
    touched for ``older_than``: another process may be writing a fresh one); how many.
    File times are the file system's, so this compares with the machine's clock."""
    scratch = data_dir / FILES_DIR / ".incoming"
    if not scratch.is_dir():
        return 0
    limit = time.time() - older_than.total_seconds()
    removed = 0
    for entry in scratch.iterdir():
        with suppress(FileNotFoundError):
            if entry.is_file() and entry.stat().st_mtime < limit:
                entry.unlink()
                removed += 1
    return removed


def stored_file(data_dir: Path, version: SubmissionVersion) -> Path:
    """The stored file of ``version``: always inside the store, whatever the row says."""
    path = (data_dir / relative_path(version.sha256)).resolve()
    if path != (data_dir / version.stored_path).resolve():
        raise StoreError(f"version {version.id}: stored path does not match its digest")
    return path


def copy_out(data_dir: Path, version: SubmissionVersion, target: Path) -> Path:
    """Copy a version's file to ``target`` (a folder): for exports and downloads."""
    source = stored_file(data_dir, version)
    target.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(source, target / version.sha256))


# --- receiving ------------------------------------------------------------------------------


def receive(
    session: Session,
    submission_id: int,
    files: Sequence[Incoming],
    *,
    at: dt.datetime,
    data_dir: Path,
    note: str | None = None,
    actor: str = "portal",
) -> Received:
    """Store ``files`` and record them as the next versions of the submission, in the
    caller's transaction (the caller commits). See the module docstring for why the
    version UPDATE is the transaction's first statement."""
    if not files:
        raise ValueError("receive: no files")
    stored = [store_file(data_dir, f.content, sha256=f.sha256) for f in files]
    names = [f.name for f in files]
    return record(session.connection(), submission_id, names, stored, at=at, note=note, actor=actor)


def record(
    conn: Connection,
    submission_id: int,
    names: Sequence[str],
    stored: Sequence[StoredFile],
    *,
    at: dt.datetime,
    note: str | None = None,
    actor: str = "portal",
) -> Received:
    """Record files already in the store (``store_file``) as the next versions of the
    submission, on ``conn``'s transaction (the caller commits); ``names`` are their
    display names."""
    if not stored or len(names) != len(stored):
        raise ValueError("record: one name per stored file, at least one")
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: give it a time zone")
    last, agency_id, cycle_id, state, due_at = _allocate(conn, submission_id, len(stored), at)
    # An excused agency owes nothing: what it sends anyway is kept, never "late".
    late = at > due_at and state != SubmissionState.excused
    first_number = last - len(stored) + 1
    versions = tuple(
        SubmissionVersion(
            submission_id=submission_id,
            version=first_number + n,
            file_name=name[:NAME_LIMIT],
            file_size=s.size,
            sha256=s.sha256,
            stored_path=s.path,
            note=note or None,
            received_at=at,
            late=late,
        )
        for n, (name, s) in enumerate(zip(names, stored, strict=True))
    )
    conn.execute(_INSERT_VERSIONS, [_row(v) for v in versions])
    files = [{"name": v.file_name, "sha256": v.sha256, "size": v.file_size} for v in versions]
    data = {"versions": [v.version for v in versions], "files": files, "late": late}
    conn.execute(
        _INSERT_AUDIT,
        {
            "at": at,
            "actor": actor,
            "action": "submission.received",
            "entity": "submission",
            "entity_id": submission_id,
            "data": data,
        },
    )
    return Received(
        submission_id, agency_id, cycle_id, due_at, versions, first_number == 1, late, at
    )


# Built once: building and coercing a statement cost more than running it.
_INSERT_VERSIONS = insert(SubmissionVersion)
_INSERT_AUDIT = insert(AuditEvent)


def _row(version: SubmissionVersion) -> dict[str, object]:
    return version.model_dump(exclude={"id"})


def _allocate(
    conn: Connection, submission_id: int, count: int, at: dt.datetime
) -> tuple[int, int, int, str, dt.datetime]:
    """Reserve ``count`` version numbers; the last one, the agency, the cycle, the
    submission's state after the update and the cycle's deadline. The submission is
    marked submitted (first time: at ``at``) and its reminders stop, as
    ``mark_submitted`` does, but in one statement so that two uploads can never read the
    same count. An excused submission stays excused, without a submission time: the
    files are only kept."""
    params = {"submission_id": submission_id, "count": count, "at": at}
    found = conn.execute(_allocate_statement(), params).first()
    if found is None:
        raise LookupError(f"no submission {submission_id}")
    last, agency_id, cycle_id, state, due = found
    return int(last), int(agency_id), int(cycle_id), str(state), _aware(due)


@cache
def _allocate_statement() -> Any:
    """The version UPDATE, its values bound at execution (built once)."""
    excused = col(Submission.state) == SubmissionState.excused
    common = (
        select(col(ReportCycle.due_at))
        .where(col(ReportCycle.id) == col(Submission.cycle_id))
        .scalar_subquery()
    )
    own = (  # an agency given more time (models.actions.extend) is late after its own
        select(col(SubmissionExtension.due_at))
        .where(col(SubmissionExtension.submission_id) == col(Submission.id))
        .scalar_subquery()
    )
    due_at = func.coalesce(own, common, type_=UTCDateTime())
    return (
        update(Submission)
        .where(col(Submission.id) == bindparam("submission_id"))
        .values(
            current_version=col(Submission.current_version) + bindparam("count", type_=Integer()),
            state=case((excused, col(Submission.state)), else_=literal(SubmissionState.submitted)),
            # The first report's time stays: a later version is an update, not the report.
            submitted_at=case(
                (excused, col(Submission.submitted_at)),
                else_=func.coalesce(
                    col(Submission.submitted_at), bindparam("at", type_=UTCDateTime())
                ),
            ),
            next_action_at=None,
            next_action_stage=None,
        )
        .returning(
            col(Submission.current_version),
            col(Submission.agency_id),
            col(Submission.cycle_id),
            col(Submission.state),
            due_at.label("due_at"),
        )
    )


def _aware(value: dt.datetime | str) -> dt.datetime:
    """The deadline from the RETURNING subquery: SQLite hands it back untyped (a naive
    UTC text), PostgreSQL as an aware datetime."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def versions_of(session: Session, submission_id: int) -> list[SubmissionVersion]:
    """Every version of a submission, newest first."""
    stmt = (
        select(SubmissionVersion)
        .where(SubmissionVersion.submission_id == submission_id)
        .order_by(col(SubmissionVersion.version).desc())
    )
    return list(session.exec(stmt))


def versions_between(
    session: Session, submission_id: int, first: int, last: int
) -> list[SubmissionVersion]:
    """Versions ``first``..``last`` of a submission, oldest first (one upload's files)."""
    stmt = (
        select(SubmissionVersion)
        .where(
            SubmissionVersion.submission_id == submission_id,
            col(SubmissionVersion.version) >= first,
            col(SubmissionVersion.version) <= last,
        )
        .order_by(col(SubmissionVersion.version))
    )
    return list(session.exec(stmt))
