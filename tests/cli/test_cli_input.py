"""Bad input to `parse` and `clauses`, found by trying it, and `doctor`: a real subprocess,
real files; each failure is one line on stderr and exit 2, and nothing is left behind."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from directives.ocr import tesseract_status
from tests.cli.conftest import cli_env, run_cli
from tests.conftest import EXAMPLES
from tests.directives.test_readers import pdf, text_page
from tests.directives.test_readers_ocr import need_ocr
from tests.tools.scan import font_path

ENV = cli_env(Path("/nonexistent-home"))
ROW = {"id": "a", "text": "Các sở báo cáo UBND tỉnh trước ngày 15/12 hằng năm."}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = run_cli(env or ENV, *args)
    return result.returncode, result.stdout, result.stderr


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(ROW, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- clauses -o: only a regular file or a new path -------------------------------------------


def special_targets(tmp_path: Path) -> dict[str, Path]:
    kept = tmp_path / "kept.txt"
    kept.write_text("the symlink's target, which must stay as it is\n", encoding="utf-8")
    link, folder = "liên kết tượng trưng (symlink)", "thư mục"
    targets = {link: tmp_path / "link.jsonl", folder: tmp_path / "folder"}
    targets[link].symlink_to(kept)
    targets[folder].mkdir()
    os.mkfifo(tmp_path / "pipe")
    targets["đường ống có tên (FIFO)"] = tmp_path / "pipe"
    try:  # a null device of our own: never the machine's /dev/null
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets["tệp thiết bị"] = tmp_path / "null"
    except PermissionError:
        pass  # not root: the other kinds still run
    return targets


def test_clauses_output_must_be_a_regular_file_or_a_new_path(tmp_path: Path, source: Path) -> None:
    for kind, target in special_targets(tmp_path).items():
        before = target.lstat()
        code, stdout, stderr = run("clauses", str(source), "-o", str(target))
        assert code == 2, (kind, stderr)
        line = one_line(stderr)
        assert line.startswith(f"lỗi: {target} là {kind}, không phải tệp thông thường"), line
        assert "chưa ghi gì" in line
        after = target.lstat()
        assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), kind
        assert stdout == ""
    assert (tmp_path / "kept.txt").read_text(encoding="utf-8").startswith("the symlink")
    assert not list(tmp_path.glob("*.part")), "no .part file is left behind"


def test_clauses_output_replaces_a_regular_file_and_creates_a_new_one(
    tmp_path: Path, source: Path
) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text("stale\n", encoding="utf-8")
    for target in (old, tmp_path / "new.jsonl"):
        code, _, stderr = run("clauses", str(source), "-o", str(target))
        assert code == 0, stderr
        assert json.loads(target.read_text(encoding="utf-8"))["id"] == "a"
    assert not list(tmp_path.glob("*.part"))


def test_clauses_output_in_a_missing_folder(tmp_path: Path, source: Path) -> None:
    code, _, stderr = run("clauses", str(source), "-o", str(tmp_path / "nope" / "out.jsonl"))
    assert code == 2
    assert f"thư mục {tmp_path / 'nope'} không tồn tại" in one_line(stderr)


def test_clauses_warns_about_duplicate_ids(tmp_path: Path) -> None:
    rows = [ROW, {**ROW, "text": "Không có gì."}, {"id": "b", "text": "x"}, ROW]
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    code, stdout, stderr = run("clauses", str(path))
    assert code == 0
    assert len(stdout.splitlines()) == 4  # every row is still labelled
    warning = one_line(stderr)
    assert warning.startswith(f"cảnh báo: {path}: 1 id bị trùng:")
    assert '"a" (3 lần)' in warning and '"b"' not in warning
    assert "mỗi dòng vẫn được gán nhãn" in warning


@pytest.mark.parametrize("kind", ["missing", "directory", "not utf-8"])
def test_clauses_unreadable_input_is_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "in.jsonl"
    if kind == "directory":
        path.mkdir()
    elif kind == "not utf-8":
        path.write_bytes(b'{"id": "a", "text": "\xff"}\n')
    code, stdout, stderr = run("clauses", str(path))
    assert code == 2
    said = {
        "missing": "không có tệp hoặc thư mục này",
        "directory": "đây là một thư mục, không phải tệp",
        "not utf-8": "không phải văn bản UTF-8 (byte thứ 22)",
    }[kind]
    assert one_line(stderr) == f"lỗi: không đọc được {path}: {said}"
    assert stdout == ""
    assert "Usage" not in stderr


# --- parse: damaged and odd files ---------------------------------------------------------------


def test_a_docx_with_broken_xml_is_one_line_without_internals(tmp_path: Path) -> None:
    import zipfile

    import docx

    good = tmp_path / "good.docx"
    document = docx.Document()
    document.add_paragraph("Định kỳ hằng năm báo cáo UBND tỉnh.")
    document.save(str(good))
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as out:
        for item in src.infolist():
            data = src.read(item)
            out.writestr(
                item,
                b"<?xml version='1.0'?><foo/>" if item.filename == "word/document.xml" else data,
            )
    code, _, stderr = run("parse", str(broken))
    assert code == 2
    line = one_line(stderr)
    assert line.startswith(f"lỗi: {broken} là tài liệu Word bị hỏng")
    assert "hãy mở bằng Word và lưu lại dưới dạng .docx" in line
    assert "AttributeError" not in line and "lxml" not in line


def test_a_truncated_pdf_prints_no_library_line(tmp_path: Path) -> None:
    data = pdf(text_page("Hello"), text_page("World"))
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) * 2 // 3])
    code, stdout, stderr = run("parse", str(path))
    assert code == 2
    line = one_line(stderr)
    assert line.startswith(f"lỗi: {path} là tệp PDF bị hỏng hoặc không trọn vẹn"), line
    assert stdout == ""


def test_utf8_with_a_few_bad_bytes_stays_utf8_and_says_so(tmp_path: Path) -> None:
    """A UTF-8 clause into which a few Windows-1252/1258 bytes were pasted (curly
    quotes, a word typed in the old code page): it used to be decoded as cp1258 as a
    whole, and its obligation was lost."""
    text = (EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt").read_text(encoding="utf-8")
    clause = text[text.index("Yêu cầu Thủ trưởng") : text.index("Nơi nhận")].strip()
    data = clause.encode("utf-8").replace(
        "nghiêm túc".encode(), b"\x93nghi\xeam t\xfac\x94"
    )  # 4 bytes that are not UTF-8, for 43 Vietnamese letters that are
    path = tmp_path / "cv.txt"
    path.write_bytes(data)
    code, stdout, stderr = run("parse", "--json", str(path))
    assert code == 0, stderr
    parsed = json.loads(stdout)
    assert parsed["obligation_count"] == 1
    assert any(
        note.startswith("đã đọc theo UTF-8; 4 chỗ có byte không hợp lệ trong UTF-8")
        for note in parsed["notes"]
    ), parsed["notes"]


def test_parse_says_in_vietnamese_what_is_wrong_with_each_unreadable_file(
    tmp_path: Path,
) -> None:
    """The cases the tests above leave out, through the real CLI: what `parse` prints for
    a file it cannot open (one Vietnamese line each, exit 2, never Typer's usage box nor
    an English word), and the reader's note on UTF-8 with bad bytes, in the review."""
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(tmp_path / "pipe")
    cases = {
        tmp_path / "missing.txt": "không có tệp này; hãy kiểm tra lại đường dẫn",
        folder: "là một thư mục, không phải tệp: hãy dùng tệp .txt, .md, .docx",
        tmp_path / "pipe": "không phải tệp thông thường: hãy dùng tệp .txt",
    }
    if os.geteuid() != 0:  # root reads any file: the reader's unit test covers it
        locked = tmp_path / "locked.txt"
        locked.write_text(ROW["text"], encoding="utf-8")
        locked.chmod(0)
        cases[locked] = "không có quyền đọc tệp; hãy kiểm tra quyền truy cập của tệp"
    for path, said in cases.items():
        code, stdout, stderr = run("parse", str(path))
        assert code == 2, (path, stderr)
        line = one_line(stderr)
        assert line.startswith(f"lỗi: {path}") and said in line, line
        assert "Usage" not in stderr and "error" not in stderr
        assert stdout == ""

    bad = tmp_path / "cv.txt"  # two bytes of an old code page pasted into UTF-8 text
    bad.write_bytes(ROW["text"].encode().replace("hằng năm".encode(), b"h\xe9ng n\xe3m"))
    code, stdout, stderr = run("parse", str(bad))
    assert code == 0, stderr
    assert (
        "lưu ý: đã đọc theo UTF-8; 2 chỗ có byte không hợp lệ trong UTF-8 đã được thay bằng "
        "ký tự \ufffd: hãy đối chiếu những chỗ đó với bản gốc"
    ) in " ".join(stdout.split())


# --- parse of a scan; doctor ------------------------------------------------------------------


def test_parse_of_a_photo_says_it_was_read_by_ocr(tmp_path: Path) -> None:
    need_ocr()  # skips without Tesseract, fails instead under HANBAOCAO_REQUIRE_OCR=1
    font = ImageFont.truetype(str(font_path()), 36)
    page = Image.new("RGB", (1700, 500), "white")
    draw = ImageDraw.Draw(page)
    draw.text((80, 120), "Các sở định kỳ hằng năm báo cáo UBND tỉnh", font=font, fill="black")
    draw.text((80, 200), "trước ngày 15/12 kết quả thực hiện.", font=font, fill="black")
    path = tmp_path / "photo.jpg"
    page.save(path, quality=85)
    code, stdout, stderr = run("parse", str(path))
    assert code == 0, stderr
    assert "đọc bằng OCR (Tesseract, tiếng Việt): cả văn bản, độ tin cậy trung bình" in stdout
    assert "hằng năm" in stdout


def test_doctor_lists_every_optional_tool_found_or_missing(tmp_path: Path) -> None:
    code, stdout, _ = run("doctor", env=cli_env(tmp_path, PATH=str(tmp_path)))
    assert code == 0
    for name in ("OCR (Tesseract, tiếng Việt)", "LibreOffice", "Chromium (chạy ẩn)"):
        assert f"thiếu {name}" in stdout
    assert (
        "apt-get install tesseract-ocr tesseract-ocr-vie libreoffice-writer-nogui chromium"
        in stdout
    )
    code, stdout, _ = run("doctor")
    assert code == 0
    tesseract = "có    OCR" if tesseract_status().found else "thiếu OCR"
    assert tesseract in stdout
    assert "dùng cho `parse` và `ingest` đọc được tệp Word 97-2003 (.doc)" in stdout
