"""Everything configurable, in one object: the only reader of the ``HANBAOCAO_*`` variables.

Every layer asks ``settings()``; nothing else reads ``os.environ`` for ``HANBAOCAO_*``.
This module imports pydantic-settings and the standard library only, so the CLI, the
Apprise plugins and the parser's callers can read it without pulling in the database.

``settings()`` keeps one ``Settings`` and builds a new one only when the environment it
was read from changed (the demo and ``hanbaocao up`` set variables for their workers and
then read them back; tests set them with ``monkeypatch``); ``reset()`` forgets it. A
caller that needs other values (a test, a benchmark) builds its own ``Settings(...)``
and passes it down.

The README's settings table is ``markdown_table()``; a test keeps it current
(``python -m models.settings`` prints it).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "HANBAOCAO_"
# Read through an alias, not the prefix: Prefect's own names.
_FOREIGN = ("PREFECT_UI_URL", "PREFECT_API_URL")
# The default data directory depends on these.
_BASES = ("XDG_DATA_HOME", "HOME")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/hanbaocao, else ~/.local/share/hanbaocao."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hanbaocao"


def parse_networks(spec: str) -> list[Network]:
    """Addresses or networks, comma- or space-separated (``HANBAOCAO_TRUSTED_PROXIES``)."""
    return [ipaddress.ip_network(item, strict=False) for item in re.split(r"[,\s]+", spec) if item]


# --- what each variable must hold, as a refusal says it ---------------------------------
# A value that fails its rule (or cannot be read as the field's type at all) is refused in
# one Vietnamese sentence: the variable, what it was given, what it expects. Unset or empty
# optional values pass: they mean "use the default".


def _positive(value: Any) -> bool:
    return bool(value > 0)


def _not_negative(value: Any) -> bool:
    return bool(value >= 0)


def _schemes(*schemes: str) -> Callable[[Any], bool]:
    prefixes = tuple(f"{scheme}://" for scheme in schemes)
    return lambda value: not value or str(value).strip().lower().startswith(prefixes)


def _moment(value: Any) -> bool:
    if not value:
        return True
    try:
        return datetime.fromisoformat(str(value).strip()).utcoffset() is not None
    except ValueError:
        return False


def _networks(value: Any) -> bool:
    try:
        parse_networks(str(value))
    except ValueError:
        return False
    return True


_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SECONDS = "một số giây lớn hơn 0, ví dụ {}"
_COUNT = "một số nguyên lớn hơn 0, ví dụ {}"
_NUMBER = "một số lớn hơn 0, ví dụ {}"
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    # An empty value would put the database in whatever directory the process started in.
    "data_dir": (
        lambda value: str(value).strip() not in ("", "."),
        "một đường dẫn thư mục (muốn dùng mặc định thì bỏ hẳn biến này)",
    ),
    "database_url": (
        lambda value: not value or "://" in str(value),
        "một URL cơ sở dữ liệu, ví dụ postgresql+psycopg://USER@HOST:5432/DB "
        "(để trống: SQLite trong thư mục dữ liệu)",
    ),
    "province": (
        lambda value: bool(_SLUG.fullmatch(str(value))),
        "tên tỉnh viết thường không dấu, nối bằng “-”, ví dụ quang-ngai",
    ),
    "sqlite_busy_seconds": (_positive, _SECONDS.format(15)),
    "now": (_moment, "một thời điểm ISO 8601 có múi giờ, ví dụ 2026-12-21T08:00+07:00"),
    "public_url": (
        _schemes("http", "https"),
        "một địa chỉ bắt đầu bằng http:// hoặc https://, ví dụ https://baocao.example.vn",
    ),
    "upload_max_mb": (_positive, "một số MB lớn hơn 0, ví dụ 20"),
    "upload_max_files": (_positive, _COUNT.format(10)),
    "upload_zip_max_members": (_positive, _COUNT.format(1000)),
    "upload_zip_max_total_mb": (_positive, "một số MB lớn hơn 0, ví dụ 200"),
    "upload_concurrency": (_positive, _COUNT.format(20)),
    "upload_concurrency_per_agency": (_positive, _COUNT.format(4)),
    "header_timeout_seconds": (_positive, _SECONDS.format(15)),
    "body_idle_seconds": (_positive, _SECONDS.format(20)),
    "body_grace_seconds": (_not_negative, "một số giây từ 0 trở lên, ví dụ 20"),
    "body_min_rate": (_positive, "một số byte/giây lớn hơn 0, ví dụ 2048"),
    "admin_session_hours": (_positive, "một số giờ lớn hơn 0, ví dụ 8"),
    "admin_login_attempts": (_positive, _COUNT.format(5)),
    "admin_login_client_attempts": (_positive, _COUNT.format(20)),
    "admin_login_window_minutes": (_positive, "một số phút lớn hơn 0, ví dụ 15"),
    "trusted_proxies": (
        _networks,
        "các địa chỉ IP hoặc mạng, cách nhau bằng dấu phẩy, ví dụ 127.0.0.1, 10.0.0.0/8",
    ),
    "prefect_ui_url": (
        _schemes("http", "https"),
        "một địa chỉ bắt đầu bằng http:// hoặc https://, ví dụ http://127.0.0.1:4200",
    ),
    "prefect_api_url": (
        _schemes("http", "https"),
        "một địa chỉ bắt đầu bằng http:// hoặc https://, ví dụ http://127.0.0.1:4200/api",
    ),
    "smtp_url": (
        _schemes("mailto", "mailtos"),
        "một URL Apprise mailto:// hoặc mailtos://, ví dụ mailtos://user:pass@smtp.example.vn",
    ),
    "smtp_timeout": (_positive, _SECONDS.format(10)),
    "zalo_oa_url": (_schemes("zalooa"), "một URL dạng zalooa://APP_ID:SECRET@OA_ID"),
    "zns_url": (_schemes("zns"), "một URL dạng zns://APP_ID:SECRET@OA_ID"),
    "sender": (
        lambda value: value in ("office", "lead"),
        "office (Văn phòng UBND tỉnh ký) hoặc lead (Sở chủ trì ký)",
    ),
}


class Settings(BaseSettings):
    """The product's settings; each field is ``HANBAOCAO_<FIELD>`` unless it says otherwise."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", populate_by_name=True)

    # -- data ------------------------------------------------------------------------------
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="data directory (database, secret key, files, tokens); "
        "default `$XDG_DATA_HOME/hanbaocao`, else `~/.local/share/hanbaocao`",
    )
    database_url: str | None = Field(
        default=None,
        description="the app database, e.g. `postgresql+psycopg://USER@HOST:5432/DB`; "
        "default SQLite at `<data dir>/hanbaocao.db`",
    )
    province: str = Field(
        default="quang-ngai", description="the province whose registry and defaults apply"
    )
    # Bounded, so no request hangs for long: the portal then answers 503 "busy, try again".
    sqlite_busy_seconds: float = Field(
        default=15.0, description="how long a SQLite write waits for another writer's lock"
    )
    now: str | None = Field(
        default=None,
        description='fixes "now" for a whole process, ISO 8601 with offset '
        "(`2026-12-21T08:00+07:00`): a worker replaying a day, the demo",
    )
    debug: str = Field(
        default="", description="non-empty: the CLI shows an internal error's traceback"
    )

    # -- links and portal ------------------------------------------------------------------
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where agencies reach the portal (links in messages); https makes the "
        "admin cookies Secure",
    )
    secret_key: str | None = Field(
        default=None,
        description="signs the links; default a key generated once into the data directory",
    )
    upload_max_mb: float = Field(default=20, description="the most one upload may weigh, all files")
    upload_max_files: int = Field(default=10, description="files per upload")
    upload_zip_max_members: int = Field(default=1000, description="entries in one uploaded ZIP")
    upload_zip_max_total_mb: float = Field(default=200, description="what one ZIP may unpack to")
    upload_concurrency: int = Field(default=20, description="uploads at once, all agencies")
    upload_concurrency_per_agency: int = Field(default=4, description="uploads at once, per agency")
    header_timeout_seconds: float = Field(default=15, description="slow clients: request headers")
    body_idle_seconds: float = Field(default=20, description="slow clients: silence inside a body")
    body_grace_seconds: float = Field(
        default=20, description="slow clients: before the rate counts"
    )
    body_min_rate: float = Field(default=2048, description="slow clients: bytes/s on average")

    # -- administrators --------------------------------------------------------------------
    env: str = Field(
        default="production",
        description="`development` prints a one-time admin password when none is configured",
    )
    admin_user: str | None = Field(
        default=None, description="the dashboard's login (with the hash)"
    )
    admin_password_hash: str | None = Field(
        default=None, description="from `hanbaocao admin set-password USER --print-hash`"
    )
    admin_session_hours: float = Field(default=8.0, description="an admin session's lifetime")
    admin_login_attempts: int = Field(
        default=5, description="failed logins allowed per window, per (user name, client)"
    )
    admin_login_client_attempts: int = Field(
        default=20, description="failed logins allowed per window from one client, any user name"
    )
    admin_login_window_minutes: float = Field(default=15.0, description="the failed-login window")
    # Nobody's X-Forwarded-For is believed by default.
    trusted_proxies: str = Field(
        default="",
        description="reverse proxies whose X-Forwarded-For is believed (addresses, networks)",
    )
    prefect_ui_url: str = Field(
        default="http://127.0.0.1:4200",
        validation_alias=AliasChoices("prefect_ui_url", "PREFECT_UI_URL"),
        description="the Prefect UI the dashboard links to",
    )
    prefect_api_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("prefect_api_url", "PREFECT_API_URL"),
        description="the Prefect API; default the UI's `/api`",
    )

    # -- channels --------------------------------------------------------------------------
    smtp_url: str | None = Field(
        default=None, description="an Apprise mailto(s) URL without recipient (see Channels)"
    )
    smtp_timeout: int = Field(default=10, description="SMTP connect timeout, seconds (`cto=`)")
    zalo_oa_url: str | None = Field(default=None, description="`zalooa://APP_ID:SECRET@OA_ID`")
    zns_url: str | None = Field(default=None, description="`zns://APP_ID:SECRET@OA_ID`")
    zns_template: str | None = Field(default=None, description="an approved ZNS template id")
    zns_params: str | None = Field(
        default=None, description="JSON file of the ZNS templates' parameters per stage"
    )
    sender: str = Field(
        default="office", description="`office` (Văn phòng UBND tỉnh) or `lead` signs"
    )
    contact_name: str | None = Field(default=None, description="the contact officer messages name")
    contact_phone: str | None = Field(default=None, description="the contact officer's phone")
    contact_email: str | None = Field(default=None, description="the contact officer's email")

    # -- tests and benchmarks --------------------------------------------------------------
    test_pg_url: str | None = Field(
        default=None,
        description="tests: a PostgreSQL admin URL (default the local server; empty: SQLite only)",
    )
    bench_pg_url: str | None = Field(
        default=None, description="benchmarks: a PostgreSQL admin URL (default the local server)"
    )

    @field_validator("*", mode="wrap")
    @classmethod
    def _checked(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Every value read as its type and held to its rule; else one Vietnamese refusal."""
        name = info.field_name or ""
        rule, expected = _RULES.get(name, (lambda _value: True, _TYPES.get(name, "")))
        try:
            result = handler(value)
        except ValidationError:
            result, rule = None, lambda _value: False
        if not rule(result):
            raise ValueError(refusal(name, value, expected or _TYPES.get(name, "")))
        return result

    @property
    def url(self) -> str:
        """The app database's URL."""
        return self.database_url or f"sqlite:///{self.data_dir / 'hanbaocao.db'}"

    @property
    def development(self) -> bool:
        return self.env.strip().lower() in ("development", "dev")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.lower().startswith("https://")

    @property
    def ui(self) -> str:
        """The Prefect UI, without a trailing slash."""
        return self.prefect_ui_url.rstrip("/")

    @property
    def api(self) -> str:
        """The Prefect API, without a trailing slash."""
        return (self.prefect_api_url or f"{self.ui}/api").rstrip("/")


def variable_of(name: str) -> str:
    """The environment variable a field is read from (Prefect's keep their own names)."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[-1])
    return PREFIX + name.upper()


def refusal(name: str, given: Any, expected: str) -> str:
    """A refused value, as the administrator reads it: which variable, what, what instead."""
    return f"{variable_of(name)}: giá trị {given!r} không dùng được, cần {expected}"


def _expected_type(name: str) -> str:
    annotation = str(Settings.model_fields[name].annotation)
    if "int" in annotation:
        return "một số nguyên"
    if "float" in annotation:
        return "một số"
    return "một chuỗi"


_TYPES = {name: _expected_type(name) for name in Settings.model_fields}

_current: tuple[tuple[tuple[str, str], ...], Settings] | None = None
# The environment's bytes when ``_current`` was last checked. Comparing them (well under a
# microsecond) answers most calls; decoding and filtering every variable took 20-50 µs,
# and the hot paths (an upload, queueing a step) ask for the settings several times.
_raw: dict[bytes, bytes] | None = None


def _environment() -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            if k.upper().startswith(PREFIX) or k in _FOREIGN or k in _BASES
        )
    )


def settings() -> Settings:
    """The settings of this process's environment (read again only when it changed)."""
    global _current, _raw
    raw = getattr(os.environ, "_data", None)  # CPython's bytes behind os.environ
    if _current is not None and raw is not None and raw == _raw:
        return _current[1]
    environment = _environment()
    if _current is None or _current[0] != environment:
        _current = (environment, Settings())
    _raw = dict(raw) if raw is not None else None
    return _current[1]


def reset() -> None:
    """Forget the settings read (tests)."""
    global _current, _raw
    _current = None
    _raw = None


def variables() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        variable = variable_of(name)
        default: Any = "" if field.default_factory is not None else field.default
        rows.append((variable, "" if default in (None, "") else str(default), field.description))
    return [(v, d, m or "") for v, d, m in rows]


def markdown_table() -> str:
    """The README's table of variables."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, default, meaning in variables():
        shown = f"`{default}`" if default else ""
        lines.append(f"| `{variable}` | {shown} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
