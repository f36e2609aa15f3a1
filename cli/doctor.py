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
        return ToolStatus(False, "chromium is not installed (apt-get install chromium)")
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolStatus(False, f"chromium does not run ({exc}); reinstall chromium")
    return ToolStatus(True, done.stdout.strip() or binary)


TOOLS = (
    Tool(
        "OCR (Tesseract, Vietnamese)",
        "`parse` and `ingest` of scanned PDFs and photos (.jpg, .png, .tif)",
        OCR_PACKAGES,
        tesseract_status,
    ),
    Tool(
        "LibreOffice",
        "`parse` and `ingest` of legacy Word 97-2003 .doc files",
        OFFICE_PACKAGE,
        office_status,
    ),
    Tool(
        "Chromium (headless)",
        "the browser tests of the portal and the Prefect UI",
        "chromium",
        chromium_status,
    ),
)


def doctor() -> None:
    """List the optional tools (OCR, LibreOffice, chromium): found or missing, and what
    each one enables. Everything else the product needs comes with `make install`."""
    out = Console(soft_wrap=True)
    missing = []
    for tool in TOOLS:
        status = tool.status()
        mark = "[green]found  [/]" if status.found else "[bold red]missing[/]"
        out.print(f"{mark} [bold]{tool.name}[/]: {status.detail}", highlight=False)
        out.print(f"        enables {tool.enables}", highlight=False)
        if not status.found:
            missing.append(tool.packages)
    if missing:
        out.print(
            f"To install what is missing (as root): apt-get install {' '.join(missing)}",
            highlight=False,
        )
    else:
        out.print("Every optional tool is installed.")
