"""Zalo Official Account access tokens: storage and the single-use refresh.

An OA access token lives about 25 hours. It is renewed with a refresh token that Zalo
accepts exactly ONCE: whoever spends it must store the new pair before anyone else
reads the file, or the OA has to be re-authorised by hand. Hence ``FileTokenStore``
holds an exclusive ``flock`` across read → refresh → write, and re-reads the file
after taking the lock so that a process that lost the race uses the winner's pair
instead of spending the (now dead) refresh token a second time.

File format (``zalo_tokens.json``, mode 0600, keyed by OA id)::

    {"<oa_id>": {"access_token": "…", "refresh_token": "…", "expires_at": 1767225600.0,
                 "issued_at": 1767135600.0}}

A refresh token lives three months and is spent by its first use: an OA idle for that
long dies, hence the weekly refresh (``flows/zalo_refresh.py``). Any refusal of a
refresh is a ``ChannelFault``: the OA's messages are held and the operator alerted.

Secrets never appear in logs or exception messages; ``fingerprint`` names a token.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from models.settings import settings
from notifications.vocabulary import ChannelFault, DeliveryError

logger = logging.getLogger(__name__)

OAUTH_API = "https://oauth.zaloapp.com"
REFRESH_PATH = "/v4/oa/access_token"
TOKENS_FILENAME = "zalo_tokens.json"
# Refresh a little before the announced expiry: clocks drift and a send takes time.
EXPIRY_MARGIN_S = 300.0
REFRESH_TOKEN_LIFETIME_S = 90 * 86400.0  # "3 months", as Zalo documents it
# A refresh spends the refresh token: losing its answer to an impatient timeout costs
# the OA. It gets far more time than a send.
MIN_REFRESH_TIMEOUT_S = 30.0
REAUTHORISE = "cấp quyền lại: hanbaocao zalo authorize --oa {oa} --refresh-token …"


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access token, its single-use refresh token and when the access token dies
    (epoch seconds). ``repr`` hides both tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    issued_at: float | None = None  # when Zalo issued the pair (None: stored before we kept it)

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - EXPIRY_MARGIN_S

    @property
    def refresh_expires_at(self) -> float | None:
        return None if self.issued_at is None else self.issued_at + REFRESH_TOKEN_LIFETIME_S

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }
        if self.issued_at is not None:
            data["issued_at"] = self.issued_at
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenPair:
        issued = data.get("issued_at")
        return cls(
            str(data["access_token"]),
            str(data["refresh_token"]),
            float(data["expires_at"]),
            None if issued is None else float(issued),
        )


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a token, safe for logs."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def default_tokens_path() -> Path:
    """``zalo_tokens.json`` in the data directory (``models.settings``, which does not
    import the database layer)."""
    return settings().data_dir / TOKENS_FILENAME


Refresher = Callable[[TokenPair], TokenPair]


class TokenStore(Protocol):
    """Where the token pair of each OA lives. ``refresh`` must be atomic across
    processes: the refresher is called at most once per spent refresh token."""

    def get(self, key: str) -> TokenPair | None: ...

    def put(self, key: str, pair: TokenPair) -> None: ...

    def refresh(self, key: str, failed_access_token: str, refresher: Refresher) -> TokenPair: ...


class FileTokenStore:
    """A JSON file of token pairs, safe to share between processes on one machine."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        # The lock lives in a sidecar file: the data file is replaced atomically, and a
        # flock on a replaced inode would not exclude a process that opened the new one.
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def keys(self) -> list[str]:
        """The OA ids with a stored pair."""
        return sorted(self._read_all())

    def get(self, key: str) -> TokenPair | None:
        # No lock: writers replace the file atomically, so a reader sees old or new.
        raw = self._read_all().get(key)
        return TokenPair.from_json(raw) if raw else None

    def put(self, key: str, pair: TokenPair) -> None:
        with self._locked():
            self._write_pair(key, pair)

    def refresh(self, key: str, failed_access_token: str, refresher: Refresher) -> TokenPair:
        """Return a pair newer than ``failed_access_token``, refreshing only if nobody
        else has done it yet. The new pair is on disk before it is returned."""
        with self._locked():
            raw = self._read_all().get(key)
            if not raw:
                raise no_tokens(key)
            current = TokenPair.from_json(raw)
            if current.access_token != failed_access_token:
                logger.info("Zalo tokens of OA %s already refreshed by another process", key)
                return current
            fresh = refresher(current)
            self._write_pair(key, fresh)
            logger.info("Zalo tokens of OA %s refreshed (%s)", key, fingerprint(fresh.access_token))
            return fresh

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, even if we crash
            yield
        finally:
            os.close(fd)

    def _read_all(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data = json.loads(text) if text.strip() else {}
        return data if isinstance(data, dict) else {}

    def _write_pair(self, key: str, pair: TokenPair) -> None:
        """Read-modify-write under the caller's lock, replacing the file atomically."""
        data = self._read_all()
        data[key] = pair.to_json()
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.flush()
            os.fsync(out.fileno())  # a lost pair means re-authorising the OA by hand
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)


def no_tokens(oa_id: str) -> ChannelFault:
    return ChannelFault(
        f"chưa có token Zalo nào cho OA {oa_id}: "
        f"hanbaocao zalo authorize --oa {oa_id} --refresh-token …"
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pair_from_answer(answer: dict[str, Any], now: float | None = None) -> TokenPair:
    """The OAuth answer; Zalo sends ``expires_in`` as a string of seconds."""
    expires_in = float(answer.get("expires_in") or 0)
    start = time.time() if now is None else now
    return TokenPair(
        str(answer["access_token"]), str(answer["refresh_token"]), start + expires_in, start
    )


def refresh_timeout(send_timeout: float) -> float:
    return max(MIN_REFRESH_TIMEOUT_S, 3 * send_timeout)


def request_new_pair(
    client: httpx.Client,
    *,
    oauth_base: str,
    app_id: str,
    secret_key: str,
    refresh_token: str,
    timeout: float,
    oa_id: str = "",
) -> TokenPair:
    """Spend ``refresh_token`` at Zalo's OAuth server (``timeout`` is the refresh's
    own, longer than a send's). A request that never left (connection refused or not
    established) is transient. Anything else that fails is a ``ChannelFault``: a
    refusal means the OA must be re-authorised, and a lost answer leaves a refresh
    token that Zalo may already have spent."""
    reauthorise = REAUTHORISE.format(oa=oa_id or "OA_ID")
    try:
        response = client.post(
            oauth_base.rstrip("/") + REFRESH_PATH,
            data={"refresh_token": refresh_token, "app_id": app_id, "grant_type": "refresh_token"},
            headers={"secret_key": secret_key},
            timeout=timeout,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # Name the failure only: httpx messages can carry request details.
        raise DeliveryError(
            f"Zalo: không kết nối được máy chủ cấp token ({type(exc).__name__})", permanent=False
        ) from None
    except httpx.HTTPError as exc:
        raise ChannelFault(
            f"Zalo: mất câu trả lời khi làm mới token của OA {oa_id} ({type(exc).__name__}); "
            f"refresh token có thể đã bị dùng — nếu lần làm mới sau bị từ chối, {reauthorise}"
        ) from None
    return _pair_or_raise(response, reauthorise)


def _pair_or_raise(response: httpx.Response, reauthorise: str) -> TokenPair:
    if response.status_code >= 500:
        raise DeliveryError(
            f"Zalo: máy chủ cấp token trả HTTP {response.status_code}", permanent=False
        )
    try:
        answer = response.json()
    except ValueError:
        raise ChannelFault(
            f"Zalo: máy chủ cấp token trả lời không phải JSON; {reauthorise}"
        ) from None
    if isinstance(answer, dict) and answer.get("access_token") and answer.get("refresh_token"):
        return pair_from_answer(answer)
    code = answer.get("error") if isinstance(answer, dict) else None
    name = answer.get("error_name", "") if isinstance(answer, dict) else ""
    raise ChannelFault(f"Zalo từ chối refresh token (lỗi {code} {name}): {reauthorise}")
