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
    import uvicorn

    from cli.data import require_current_schema
    from models.settings import settings as current_settings
    from portal.app import create_app, server_config

    engine = require_current_schema()
    settings = current_settings()
    app = create_app(settings, engine=engine)
    uvicorn.Server(server_config(app, settings, host=host, port=port, log_level="info")).run()
