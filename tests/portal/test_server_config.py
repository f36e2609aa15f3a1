"""One way to serve the portal (``portal.app.server_config``), whether by ``hanbaocao
portal``, ``hanbaocao up`` or the benchmark: the header deadline, X-Forwarded-For only
from the proxies named, no Server header, the 30 s keep-alive."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from portal.app import PortalSettings, server_config
from portal.security import RedactTokens
from portal.slow import GuardedH11Protocol


def test_the_portal_is_served_with_its_guards() -> None:
    settings = PortalSettings(header_timeout_seconds=7)
    config = server_config(FastAPI(), settings, host="127.0.0.1", port=8123)
    assert issubclass(config.http, GuardedH11Protocol)  # type: ignore[arg-type]
    assert config.http.header_timeout == 7  # type: ignore[union-attr]
    # uvicorn on its own believes X-Forwarded-For from 127.0.0.1; the portal from no one.
    assert config.proxy_headers is False
    assert config.server_header is False
    assert config.timeout_keep_alive == 30
    assert (config.host, config.port) == ("127.0.0.1", 8123)


def test_forwarded_addresses_are_believed_from_the_proxies_named() -> None:
    settings = PortalSettings(trusted_proxies="10.0.0.0/8")
    config = server_config(FastAPI(), settings)
    assert config.proxy_headers is True
    assert config.forwarded_allow_ips == ["10.0.0.0/8"]


def test_an_option_given_wins_and_the_access_log_is_redacted_once() -> None:
    config = server_config(FastAPI(), PortalSettings(), timeout_keep_alive=5)
    server_config(FastAPI(), PortalSettings())
    assert config.timeout_keep_alive == 5
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, RedactTokens) for f in filters) == 1
