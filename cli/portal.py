"""`hanbaocao portal`: the submission portal on its own (agencies' links and calendars)."""

from __future__ import annotations

from typing import Annotated

import typer


def portal(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the submission portal. Links in messages point at HANBAOCAO_PUBLIC_URL: set it
    to the address agencies reach this server by (behind a reverse proxy, its https URL)."""
    import logging

    import uvicorn

    from cli.data import require_current_schema
    from portal.app import create_app
    from portal.security import RedactTokens

    engine = require_current_schema()
    # The access log would print each personal link's token: it gets the path redacted.
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    uvicorn.run(
        create_app(engine=engine),
        host=host,
        port=port,
        proxy_headers=True,
        server_header=False,
        # Agencies fill the form for a while; the default 5 s drops idle connections
        # just as a client reuses them for the POST (seen in bench/bench_portal.py).
        timeout_keep_alive=30,
        log_level="info",
    )
