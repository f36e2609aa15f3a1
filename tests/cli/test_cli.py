"""The CLI as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import cli_env, run_cli
from tests.conftest import CORPUS, EXAMPLES
from tests.directives.test_readers import RECTANGLE, pdf

ENV = cli_env(Path("/nonexistent-home"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(ENV, *args, stdin=stdin)


def test_parse_review_shows_obligations_and_flags() -> None:
    result = run("parse", str(EXAMPLES / "seed-1503-ubnd-ktth-kon-tum-2022.txt"))
    assert result.returncode == 0, result.stderr
    assert "1503/UBND-KTTH" in result.stdout
    assert "Bộ Kế hoạch và Đầu tư" in result.stdout
    assert "văn bản không nêu thời hạn — cần đặt lịch báo cáo" in result.stdout
    assert "Tần suất" in result.stdout and "How often" not in result.stdout
    assert "Traceback" not in result.stderr


def test_parse_json_is_complete() -> None:
    result = run("parse", "--json", str(EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["header"]["number"] == "6966/UBND-KTN"
    assert data["obligation_count"] == 4  # with the event-driven report to Sở Xây dựng
    labels = [c["label"] for c in data["clauses"] if c["label"]["is_obligation"]]
    assert {lbl["via"] for lbl in labels} >= {"Sở Xây dựng"}


def test_bad_files_get_a_message_not_a_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    result = run("parse", str(empty), str(binary), str(tmp_path / "missing.txt"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("lỗi:") == 3 and "error" not in result.stderr


def test_oversize_and_scanned_files(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:  # 50 MB, sparse: refused from its size, before reading
        fh.truncate(50 * 1024 * 1024)
    scanned = tmp_path / "scan.pdf"
    scanned.write_bytes(pdf(RECTANGLE))
    result = run("parse", str(huge), str(scanned))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "có dung lượng 50,0 MB, vượt giới hạn 32,0 MB" in result.stderr
    # without Tesseract it needs OCR; with it, OCR finds no letters on the blank page
    assert "cần OCR để đọc" in result.stderr or "OCR không tìm thấy chữ nào" in result.stderr


def test_clauses_round_trip_with_the_scorer(tmp_path: Path) -> None:
    out = tmp_path / "pred.jsonl"
    result = run("clauses", str(CORPUS / "clauses.jsonl"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    score = subprocess.run(
        [
            sys.executable,
            str(CORPUS / "score.py"),
            str(CORPUS / "clauses.jsonl"),
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    metrics = json.loads(score.stdout)
    assert metrics["detect_f1"] >= 0.95


def test_clauses_rejects_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "a", "text": "Sở X báo cáo UBND tỉnh hằng năm."}\nnot json\n', encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    result = run("clauses", str(src), "-o", str(out))
    assert result.returncode == 2
    assert "dòng 2: không phải JSON" in result.stderr
    assert not out.exists()


def test_clauses_from_stdin() -> None:
    line = json.dumps(
        {"id": "x", "text": "Các sở báo cáo UBND tỉnh trước ngày 15/12 hằng năm."},
        ensure_ascii=False,
    )
    result = run("clauses", "-", stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    label = json.loads(result.stdout)["label"]
    assert (label["frequency"], label["deadline"]["day"], label["deadline"]["month"]) == (
        "annual",
        15,
        12,
    )
