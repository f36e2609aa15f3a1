"""What the portal must remember between requests, and between portal processes, to
stay safe: administrators' sessions, failed-login counters, revoked links. In the
database, so several portal processes (or a restart) agree.

**Sessions.** A login creates an ``AdminSession`` row; the cookie carries its random id
(signed, ``portal.auth``) and the row stores only the id's sha256. A session is live
while its row exists, has not ended and has not expired: logging out ends the row, so
a cookie replayed afterwards is refused although its signature is still good.

**Login throttle.** One ``LoginThrottle`` row per (user name, client address). An
attempt is *claimed* before the password is checked, with one conditional ``UPDATE …
SET failures = failures + 1 WHERE failures < :free AND not locked``: forty parallel
guesses get ``free`` tries, not whatever slips between a read and a write. The failure
that uses the last free try locks the pair for a delay that doubles with each lockout
(``LOCK_BASE`` up to the window); after it, one more try. A quiet window forgives
everything; a success deletes the row. Keyed by the pair, a stranger guessing the
administrator's name locks out only himself.

A second row per client address alone (``client_key``) keeps a budget across every user
name, with the same claim, lock and forgiveness but a larger number of free tries: one
client trying a few passwords for each of many names is slowed down too. It is keyed by
the client, so it stops only that client, never the administrator elsewhere. A success
gives back the attempt it claimed but does not clear the client's row: a guesser who
holds one good account must not be able to wipe his own record between guesses.

**Revoked links.** A ``LinkRevocation`` for an agency or a cycle (or both) refuses every
link for it issued before ``revoked_at`` (links carry their issue time, ``models.links``);
links issued afterwards work again. The submit links an agency's page makes carry the
issue time of the agency link that opened the page, not the moment they were made: a
cycle revoked after that agency link was issued refuses them as well, so an older
agency link cannot mint fresh links to a revoked cycle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, exists, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from models.db import UTCDateTime
from models.tables import Submission  # and report_cycle and agency, for the foreign keys

LOCK_BASE = dt.timedelta(seconds=30)


class AdminSession(SQLModel, table=True):
    __tablename__ = "admin_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's session id
    user: str = Field(max_length=64, index=True)
    created_at: dt.datetime = Field(sa_type=UTCDateTime)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    ended_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)  # sha256 of user name + client
    failures: int = 0
    lockouts: int = 0
    last_at: dt.datetime = Field(sa_type=UTCDateTime)
    locked_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class LinkRevocation(SQLModel, table=True):
    __tablename__ = "link_revocation"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int | None = Field(
        default=None, foreign_key="agency.id", ondelete="RESTRICT", index=True
    )
    cycle_id: int | None = Field(
        default=None, foreign_key="report_cycle.id", ondelete="CASCADE", index=True
    )
    revoked_at: dt.datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=255)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- sessions ---------------------------------------------------------------------------------


def start_session(session: Session, user: str, *, now: dt.datetime, expires: dt.datetime) -> str:
    """A new session for ``user``; its id (for the cookie). The caller commits."""
    session_id = secrets.token_urlsafe(32)
    session.add(AdminSession(id=_digest(session_id), user=user, created_at=now, expires_at=expires))
    return session_id


def session_live(session: Session, session_id: str, user: str, *, now: dt.datetime) -> bool:
    row = session.get(AdminSession, _digest(session_id))
    return row is not None and row.user == user and row.ended_at is None and now < row.expires_at


def end_session(session: Session, session_id: str, *, now: dt.datetime) -> None:
    """Logout. Expired rows of anyone go too, so the table does not grow forever."""
    session.exec(
        update(AdminSession).where(col(AdminSession.id) == _digest(session_id)).values(ended_at=now)
    )
    session.exec(delete(AdminSession).where(col(AdminSession.expires_at) <= now))


def end_user_sessions(session: Session, user: str, *, now: dt.datetime) -> int:
    """Every live session of ``user`` ends (a password change); how many."""
    result = session.exec(
        update(AdminSession)
        .where(col(AdminSession.user) == user, col(AdminSession.ended_at).is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount)


# --- login throttle ---------------------------------------------------------------------------


def throttle_key(user: str, client: str) -> str:
    return _digest(f"{user.casefold()}\x00{client}")


def client_key(client: str) -> str:
    """The key of a client's budget across all user names. Never a ``throttle_key``:
    those hold a NUL before the client, and an address holds none."""
    return _digest(f"client\x1f{client}")


def claim_attempt(
    session: Session, key: str, *, now: dt.datetime, free: int, window: dt.timedelta
) -> dt.timedelta | None:
    """Take one attempt for ``key`` (committed at once); None when taken, else how long
    until the next one may be."""
    try:
        with session.begin_nested():
            session.add(LoginThrottle(key=key, last_at=now))
    except IntegrityError:
        pass  # the row exists: another attempt of this pair came first
    unlocked = or_(
        col(LoginThrottle.locked_until).is_(None), col(LoginThrottle.locked_until) <= now
    )
    # A quiet window forgives: failures and the lockout level start again.
    session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.last_at) <= now - window, unlocked)
        .values(failures=0, lockouts=0)
    )
    claimed = session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.failures) < free, unlocked)
        .values(failures=col(LoginThrottle.failures) + 1, last_at=now)
    )
    session.commit()
    if claimed.rowcount == 1:
        return None
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).one()
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until - now
    return LOCK_BASE  # the last free tries are being checked right now


def attempt_failed(
    session: Session, key: str, *, now: dt.datetime, free: int, window: dt.timedelta
) -> None:
    """A claimed attempt failed: if it used the last free try, lock the pair for a delay
    that doubles with each lockout; one try is free again after it."""
    row = session.exec(select(LoginThrottle).where(LoginThrottle.key == key)).first()
    if row is None or row.failures < free:
        return
    delay = min(LOCK_BASE * (2**row.lockouts), window)
    session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.failures) >= free)
        .values(
            locked_until=now + delay,
            lockouts=col(LoginThrottle.lockouts) + 1,
            failures=free - 1,
            last_at=now,
        )
    )
    session.commit()


def release_attempt(session: Session, key: str) -> None:
    """Give back an attempt claimed for ``key`` that was no failure (a success, or a
    try refused by another counter before any password was checked)."""
    session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == key, col(LoginThrottle.failures) > 0)
        .values(failures=col(LoginThrottle.failures) - 1)
    )
    session.commit()


def attempt_succeeded(session: Session, key: str) -> None:
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == key))
    session.commit()


# --- revoked links ----------------------------------------------------------------------------


def revoke_links(
    session: Session,
    *,
    agency_id: int | None = None,
    cycle_id: int | None = None,
    now: dt.datetime,
    actor: str,
) -> LinkRevocation:
    """Links for the agency, the cycle, or the agency in the cycle, issued before ``now``
    stop working. The caller commits."""
    if agency_id is None and cycle_id is None:
        raise ValueError("revoke_links: name an agency, a cycle or both")
    row = LinkRevocation(agency_id=agency_id, cycle_id=cycle_id, revoked_at=now, actor=actor)
    session.add(row)
    return row


def link_revoked(
    session: Session, *, agency_id: int | None, cycle_id: int | None, issued: dt.datetime
) -> bool:
    """Whether a link for (agency, cycle) issued at ``issued`` has been revoked since."""
    params = {"agency_id": agency_id, "cycle_id": cycle_id, "issued": issued}
    return session.execute(_revoked_statement(), params).first() is not None


def unrevoked_submission(
    conn: Connection, *, agency_id: int, cycle_id: int, issued: dt.datetime
) -> int | None:
    """The id of the submission of (agency, cycle) when links for it issued at ``issued``
    still work; None when there is no such submission or they were revoked since: one
    query, on a connection (the upload asks it before it reads a byte of the body)."""
    params = {"agency_id": agency_id, "cycle_id": cycle_id, "issued": issued}
    found = conn.execute(_unrevoked_statement(), params).first()
    return None if found is None else int(found[0])


def _revocation_matches() -> tuple[Any, ...]:
    """The conditions of a revocation of links for (``agency_id``, ``cycle_id``) issued
    before ``issued``, the values bound at execution."""
    column = LinkRevocation.__table__.c  # type: ignore[attr-defined]
    agency_matches = or_(
        col(LinkRevocation.agency_id).is_(None),
        col(LinkRevocation.agency_id) == bindparam("agency_id", type_=column.agency_id.type),
    )
    cycle_matches = or_(
        col(LinkRevocation.cycle_id).is_(None),
        col(LinkRevocation.cycle_id) == bindparam("cycle_id", type_=column.cycle_id.type),
    )
    issued = bindparam("issued", type_=column.revoked_at.type)
    return agency_matches, cycle_matches, col(LinkRevocation.revoked_at) > issued


@cache
def _revoked_statement() -> Any:
    """``link_revoked``'s query, its values bound at execution (built once: every link
    opened asks it)."""
    return select(LinkRevocation.id).where(*_revocation_matches()).limit(1)


@cache
def _unrevoked_statement() -> Any:
    """``unrevoked_submission``'s query (built once)."""
    column = Submission.__table__.c  # type: ignore[attr-defined]
    revoked = exists().where(*_revocation_matches())
    return sa_select(column.id).where(
        column.cycle_id == bindparam("cycle_id", type_=column.cycle_id.type),
        column.agency_id == bindparam("agency_id", type_=column.agency_id.type),
        ~revoked,
    )
