"""`hanbaocao doctor`: the optional tools this machine has, and what each one enables."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from directives.ocr import PACKAGES as OCR_PACKAGES
from directives.ocr import ToolStatus, tesseract_status
from directives.office import PACKAGE as OFFICE_PACKAGE
from directives.office import office_status


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    enables: str
    packages: str  # Debian packages that provide it
    status: Callable[[], ToolStatus]


def chromium_status() -> ToolStatus:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        return ToolStatus(False, "chưa cài chromium (apt-get install chromium)")
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolStatus(False, f"chromium không chạy được ({exc}); hãy cài lại chromium")
    return ToolStatus(True, done.stdout.strip() or binary)


TOOLS = (
    Tool(
        "OCR (Tesseract, tiếng Việt)",
        "`parse` và `ingest` đọc được PDF scan và ảnh chụp (.jpg, .png, .tif)",
        OCR_PACKAGES,
        tesseract_status,
    ),
    Tool(
        "LibreOffice",
        "`parse` và `ingest` đọc được tệp Word 97-2003 (.doc)",
        OFFICE_PACKAGE,
        office_status,
    ),
    Tool(
        "Chromium (chạy ẩn)",
        "các bài kiểm thử trên trình duyệt của cổng nộp báo cáo và giao diện Prefect",
        "chromium",
        chromium_status,
    ),
)


def doctor() -> None:
    """Kiểm tra các công cụ tuỳ chọn (OCR, LibreOffice, chromium): có hay thiếu, và mỗi
    công cụ dùng để làm gì. Mọi thứ khác đã được cài bởi `make install`."""
    out = Console(soft_wrap=True)
    missing = []
    for tool in TOOLS:
        status = tool.status()
        mark = "[green]có   [/]" if status.found else "[bold red]thiếu[/]"
        out.print(f"{mark} [bold]{tool.name}[/]: {status.detail}", highlight=False)
        out.print(f"      dùng cho {tool.enables}", highlight=False)
        if not status.found:
            missing.append(tool.packages)
    if missing:
        out.print(
            f"Cài phần còn thiếu (quyền root): apt-get install {' '.join(missing)}",
            highlight=False,
        )
    else:
        out.print("Đã có đủ mọi công cụ tuỳ chọn.")
