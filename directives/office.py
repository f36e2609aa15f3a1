"""Legacy Word 97-2003 (.doc) files, converted to .docx by LibreOffice in headless mode.

LibreOffice is a Debian package (``libreoffice-writer-nogui``), not a wheel, and it is
optional: ``office_status`` says whether it is there, and ``OfficeError`` says what to
do when it is not. Each conversion runs with its own throw-away user profile, so two
conversions at once (or a LibreOffice the user has open) do not wait on each other's lock.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from directives.ocr import ToolStatus

PACKAGE = "libreoffice-writer-nogui"
_TIMEOUT = 120  # seconds; a first start of LibreOffice takes a few


class OfficeError(Exception):
    """The .doc could not be converted; the message (Vietnamese) says what to do."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def office_status() -> ToolStatus:
    binary = soffice()
    if binary is None:
        return ToolStatus(False, f"chưa cài LibreOffice (apt-get install {PACKAGE})")
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolStatus(False, f"LibreOffice không chạy được ({exc}); hãy cài lại {PACKAGE}")
    return ToolStatus(True, done.stdout.strip().splitlines()[0] if done.stdout.strip() else binary)


def doc_to_docx(data: bytes) -> bytes:
    """The .docx LibreOffice makes of a .doc's bytes; raises ``OfficeError``."""
    binary = soffice()
    if binary is None:
        raise OfficeError(
            f"cần LibreOffice để đọc (apt-get install {PACKAGE}); hoặc hãy mở bằng Word và "
            "lưu lại dưới dạng .docx"
        )
    with tempfile.TemporaryDirectory(prefix="hanbaocao-doc-") as tmp:
        work = Path(tmp)
        (work / "in.doc").write_bytes(data)
        argv = [
            binary,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(work / "out"),
            str(work / "in.doc"),
        ]
        try:
            subprocess.run(argv, capture_output=True, timeout=_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise OfficeError(
                f"LibreOffice không chuyển xong trong {_TIMEOUT} giây; hãy mở bằng Word và "
                "lưu lại dưới dạng .docx"
            ) from None
        out = work / "out" / "in.docx"
        if not out.exists():
            raise OfficeError(
                "LibreOffice không chuyển được tệp (tệp hỏng, hoặc có mật khẩu?); hãy mở "
                "bằng Word và lưu lại dưới dạng .docx"
            )
        return out.read_bytes()
