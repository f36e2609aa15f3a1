"""Whole documents: the two seed directives, every corpus document, arbitrary text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directives.parse import parse_file, parse_text
from tests.conftest import CORPUS, EXAMPLES

SEED_6966 = EXAMPLES / "seed-6966-ubnd-ktn-quang-ngai-2024.txt"
SEED_1503 = EXAMPLES / "seed-1503-ubnd-ktth-kon-tum-2022.txt"


def test_6966_obligations() -> None:
    parsed = parse_file(SEED_6966)
    assert parsed.header.number == "6966/UBND-KTN"
    obligations = [ob for _, ob in parsed.obligations]
    by_frequency: dict[str, list] = {}
    for ob in obligations:
        by_frequency.setdefault(ob.frequency, []).append(ob)

    annual = by_frequency["annual"]
    report = next(ob for ob in annual if ob.via == "Sở Xây dựng")
    assert report.recipient == "UBND tỉnh"
    assert report.submitters == [
        "Thủ trưởng các sở, ban, ngành, đơn vị trực thuộc tỉnh",
        "Chủ tịch UBND các huyện, thị xã, thành phố",
    ]
    budget = next(ob for ob in annual if ob is not report)
    assert budget.submitters == ["các cơ quan, đơn vị và địa phương"]
    # "gửi X để tổng hợp, tham mưu Y": X receives, advising Y is no hop (the conventions).
    assert budget.recipient == "các Sở: Kế hoạch và Đầu tư, Tài chính"
    assert budget.via is None
    assert budget.subject == "dự toán kinh phí thực hiện Kế hoạch"

    (on_request,) = by_frequency["on_request"]
    assert on_request.submitters == ["Sở Xây dựng"]
    assert on_request.recipient == "cơ quan cấp trên"
    # Planning and reference sentences yield nothing; an event obligation is optional.
    assert set(by_frequency) <= {"annual", "on_request", "event"}
    assert len(annual) == 2


def test_1503_only_the_untimed_submission() -> None:
    parsed = parse_file(SEED_1503)
    ((clause, ob),) = parsed.obligations
    assert ob.frequency == "none" and "no_timing" in ob.flags
    assert ob.recipient == "Bộ Kế hoạch và Đầu tư"
    assert ob.inherited_submitters == ["Sở Kế hoạch và Đầu tư"]
    assert clause.heading == "Sở Kế hoạch và Đầu tư"


def test_evidence_spans_point_into_the_document() -> None:
    parsed = parse_file(SEED_6966)
    for _, ob in parsed.obligations:
        for field, spans in ob.evidence.items():
            for ev in spans:
                words = " ".join(parsed.text[ev.start : ev.end].replace("*", " ").split())
                assert words.strip(" ,;:.") == ev.text, field


@pytest.mark.parametrize("path", sorted((CORPUS / "documents").glob("*.txt")), ids=lambda p: p.stem)
def test_every_corpus_document_parses(path: Path) -> None:
    parsed = parse_file(path)
    assert parsed.header.number
    for clause in parsed.clauses:
        assert 0 <= clause.start < clause.end <= len(parsed.text)


def test_no_obligation_document() -> None:
    parsed = parse_text(
        "ỦY BAN NHÂN DÂN TỈNH X\n\nSố: 1/UBND-VP\n\nKính gửi: Sở Tài chính.\n\nĐề nghị quý cơ quan quan tâm."
    )
    assert parsed.obligations == []


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=3000))
def test_parse_never_raises(text: str) -> None:
    parsed = parse_text(text)
    for _, ob in parsed.obligations:
        for spans in ob.evidence.values():
            for ev in spans:
                assert 0 <= ev.start <= ev.end <= len(text)


REMINDER_LETTER = """\
ỦY BAN NHÂN DÂN
TỈNH QUẢNG NGÃI

CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc

Số: 4321/UBND-TH
V/v đôn đốc thực hiện chế độ báo cáo về cải cách hành chính

Quảng Ngãi, ngày 20 tháng 11 năm 2026

Kính gửi:
- Các sở, ban, ngành tỉnh;
- UBND các xã, phường, đặc khu.

Ngày 15/3/2026, UBND tỉnh có Công văn số 500/UBND-TH đề nghị các sở, ban, ngành báo cáo \
kết quả cải cách hành chính quý I về Sở Nội vụ trước ngày 30/3/2026.

Đến nay, mới có 12/20 đơn vị gửi báo cáo; số lượng báo cáo còn thiếu là 8 báo cáo.

Để thống nhất chế độ báo cáo, Chủ tịch UBND tỉnh yêu cầu:

1. Từ năm 2027, các đơn vị không thực hiện báo cáo hằng tháng và hằng quý về cải cách hành \
chính.

2. Báo cáo định kỳ hằng năm: số liệu tính từ ngày 15/12 năm trước đến ngày 14/12 năm báo cáo.

3. Định kỳ 6 tháng, 9 tháng và hằng năm, các sở, ban, ngành, UBND các xã, phường, đặc khu gửi \
báo cáo về Sở Nội vụ để tổng hợp, báo cáo UBND tỉnh trước ngày 15/6, 15/9 và 15/12.

Nơi nhận:
- Như trên;
- Lưu: VT.

KT. CHỦ TỊCH
PHÓ CHỦ TỊCH

Nguyễn Văn A
"""


def test_reminder_letter_gives_exactly_its_live_obligations() -> None:
    """A recital, a count, a negated duty and a period definition set nothing; the
    6/9/12-month schedule sets three obligations, each with its own day."""
    parsed = parse_text(REMINDER_LETTER)
    assert parsed.header.date == "2026-11-20"
    live = [ob for _, ob in parsed.live_obligations]
    assert [(ob.frequency, ob.deadline.day, ob.deadline.month) for ob in live] == [
        ("semiannual", 15, 6),
        ("nine_months", 15, 9),
        ("annual", 15, 12),
    ]
    for ob in live:
        assert (ob.recipient, ob.via) == ("UBND tỉnh", "Sở Nội vụ")
        assert ob.submitters == ["các sở, ban, ngành", "UBND các xã, phường, đặc khu"]
    (recital,) = [ob for _, ob in parsed.obligations if "recital" in ob.flags]
    assert recital.deadline.date == "2026-03-30"
    assert len(parsed.obligations) == 4
