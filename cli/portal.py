"""`hanbaocao portal`: the submission portal on its own (agencies' links and calendars)."""

from __future__ import annotations

from typing import Annotated

import typer


def portal(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng lắng nghe.")] = 8000,
) -> None:
    """Chạy cổng nộp báo cáo. Đường dẫn trong tin nhắn trỏ tới HANBAOCAO_PUBLIC_URL: đặt
    biến này là địa chỉ các cơ quan truy cập máy chủ (sau reverse proxy: địa chỉ https)."""
    import logging

    import uvicorn

    from cli.data import require_current_schema
    from models.settings import settings as current_settings
    from portal.app import create_app
    from portal.security import RedactTokens, trusted_networks
    from portal.slow import guarded_protocol

    engine = require_current_schema()
    settings = current_settings()
    # X-Forwarded-For only from the proxies the administrator named (none by default).
    trusted = [str(n) for n in trusted_networks(settings.trusted_proxies)]
    # The access log would print each personal link's token: it gets the path redacted.
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    uvicorn.run(
        create_app(settings, engine=engine),
        host=host,
        port=port,
        http=guarded_protocol(settings.header_timeout_seconds),
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        server_header=False,
        # Agencies fill the form for a while; the default 5 s drops idle connections
        # just as a client reuses them for the POST (seen in bench/bench_portal.py).
        timeout_keep_alive=30,
        log_level="info",
    )
