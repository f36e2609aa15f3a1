"""The Vietnamese messages: facts present in every part, local dates, escaping, Zalo length."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.calendar import DEFAULT_LADDER
from notifications.messages import (
    Contact,
    LateAgency,
    NoticeContext,
    ProvisionalDay,
    Receipt,
    ReceivedFile,
    StatusRow,
    digest,
    format_moment,
    format_size,
    period_label,
    render,
    shorten,
)
from notifications.vocabulary import ZALO_TEXT_LIMIT, Message

ICT = timezone(timedelta(hours=7))
LINK = "https://baocao.quangngai.gov.vn/nop/7Hq2xK?a=1&b=2"
AGENCY_STAGES = ["opened", "reminder-7", "reminder-3", "reminder-1", "due-day", "overdue"]
ALL_STAGES = [s.name for s in DEFAULT_LADDER.stages] + ["receipt", "consolidated-status"]


def make_ctx(**overrides: Any) -> NoticeContext:
    values: dict[str, Any] = {
        "agency": "Sở Tài chính",
        "directive_number": "6966/UBND-KTN",
        "directive_date": date(2024, 12, 24),
        "directive_subject": "V/v triển khai thực hiện Nghị định số 175/2024/NĐ-CP",
        "clause": "định kỳ hằng năm báo cáo UBND tỉnh (thông qua Sở Xây dựng) kết quả thực hiện",
        "period_key": "2026",
        "deadline": datetime(2025, 12, 22, 17, 0, tzinfo=ICT),
        "via": "Sở Xây dựng",
        "lead_deadline": datetime(2025, 12, 25, 23, 59, 59, tzinfo=ICT),
        "link": LINK,
        "sender": "Văn phòng UBND tỉnh Quảng Ngãi",
        "working_days_left": 3,
        "days_late": 2,
        "late_agencies": (
            LateAgency("UBND xã Tịnh Khê", 5),
            LateAgency("Sở Y tế", 2, datetime(2025, 12, 24, 2, 30, tzinfo=UTC)),
        ),
        "receipt": Receipt(
            files=(ReceivedFile("bao-cao-2026.pdf", 1_258_291, "ab" * 32),),
            received_at=datetime(2025, 12, 23, 2, 15, tzinfo=UTC),
            version=2,
            late=True,
        ),
        "status": (
            StatusRow("Sở Tài chính", "submitted", datetime(2025, 12, 19, 8, 0, tzinfo=ICT)),
            StatusRow("Sở Y tế", "submitted", datetime(2025, 12, 24, 9, 30, tzinfo=ICT), 2),
            StatusRow("UBND xã Tịnh Khê", "late", None, 5),
            StatusRow("Sở Nội vụ", "pending"),
        ),
        "as_of": datetime(2025, 12, 29, 8, 0, tzinfo=ICT),
    }
    values.update(overrides)
    return NoticeContext(**values)


def parts(m: Message) -> dict[str, str]:
    return {"text": m.text, "html": m.html, "short": m.short}


# == Facts in every part ===================================================================


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_stage_names_directive_period_deadline_and_clause(stage: str) -> None:
    m = render(stage, make_ctx())
    assert "6966/UBND-KTN" in m.subject
    assert "năm 2026" in m.subject
    for name, body in parts(m).items():
        assert "6966/UBND-KTN" in body, name
        assert "24/12/2024" in body, name
        assert "Năm 2026" in body, name
        assert "Thứ Hai, ngày 22/12/2025" in body, name
        assert "định kỳ hằng năm báo cáo UBND tỉnh" in body, name
    assert "V/v triển khai thực hiện Nghị định số 175/2024/NĐ-CP" in m.text
    assert "Từ ngày 15/12/2025 đến ngày 14/12/2026" in m.text  # the cut-off window


@pytest.mark.parametrize("stage", [*AGENCY_STAGES, "receipt"])
def test_messages_to_an_agency_carry_its_link(stage: str) -> None:
    m = render(stage, make_ctx())
    assert m.text.startswith("Kính gửi: Sở Tài chính")
    assert LINK in m.text and LINK in m.short
    assert 'href="https://baocao.quangngai.gov.vn/nop/7Hq2xK?a=1&amp;b=2"' in m.html


@pytest.mark.parametrize("stage", AGENCY_STAGES)
def test_agency_stage_without_a_link_is_refused(stage: str) -> None:
    with pytest.raises(ValueError, match="link"):
        render(stage, make_ctx(link=None))


def test_reminder_subject_counts_working_days_left() -> None:
    m = render("reminder-3", make_ctx())
    assert m.subject == (
        "[Nhắc hạn] Báo cáo năm 2026 theo Công văn 6966/UBND-KTN — còn 3 ngày làm việc"
    )
    # A custom ladder's "reminder-5" without a computed count uses the stage's own N.
    assert "còn 5 ngày làm việc" in render("reminder-5", make_ctx(working_days_left=None)).subject


def test_escalations_list_late_agencies_longest_first() -> None:
    for stage, to in (("escalation-lead", "Sở Xây dựng"), ("escalation-recipient", "UBND tỉnh")):
        m = render(stage, make_ctx())
        assert m.text.startswith(f"Kính gửi: {to}\n")
        assert "1 cơ quan chưa nộp, 1 cơ quan nộp sau hạn" in m.subject
        assert m.text.index("UBND xã Tịnh Khê") < m.text.index("Sở Y tế")
        assert "5 ngày làm việc" in m.text and "Chưa nộp" in m.text
        assert "Đã nộp lúc 09 giờ 30, Thứ Tư, ngày 24/12/2025" in m.text  # 02:30Z, local
        assert "UBND xã Tịnh Khê" in m.short


def test_escalation_to_the_lead_needs_a_lead() -> None:
    with pytest.raises(ValueError, match="lead"):
        render("escalation-lead", make_ctx(via=None))


def test_receipt_lists_files_and_timeliness() -> None:
    m = render("receipt", make_ctx())
    assert "bao-cao-2026.pdf" in m.text and "1,2 MB" in m.text and "ab" * 32 in m.html
    assert "phiên bản 2" in m.subject
    assert "lúc 09 giờ 15, Thứ Ba, ngày 23/12/2025" in m.text
    assert "nộp sau hạn 2 ngày làm việc" in m.text and "nộp sau hạn" in m.short


def test_consolidated_status_counts_and_table() -> None:
    m = render("consolidated-status", make_ctx())
    assert "2/4 cơ quan đã nộp" in m.subject
    assert "- Đã nộp đúng hạn: 1" in m.text and "- Đã nộp sau hạn: 1" in m.text
    assert "- Quá hạn, chưa nộp: 1" in m.text and "- Chưa nộp: 1" in m.text
    assert "UBND xã Tịnh Khê — Tình trạng: Quá hạn, chưa nộp" in m.text
    assert "<th " in m.html and "Số ngày quá hạn" in m.html


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="no message for stage 'reminderx'"):
        render("reminderx", make_ctx())


# == Dates, weekdays, periods ==============================================================


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 12, 22, 17, 0, tzinfo=ICT), "17 giờ 00, Thứ Hai, ngày 22/12/2025"),
        (datetime(2025, 12, 22, 10, 0, tzinfo=UTC), "17 giờ 00, Thứ Hai, ngày 22/12/2025"),
        # 20:00 on Sunday 21/12 in UTC is already Monday 22/12 in Vietnam.
        (datetime(2025, 12, 21, 20, 0, tzinfo=UTC), "03 giờ 00, Thứ Hai, ngày 22/12/2025"),
    ],
)
def test_deadline_shown_in_local_time(moment: datetime, expected: str) -> None:
    assert format_moment(moment) == expected
    m = render("due-day", make_ctx(deadline=moment))
    for body in parts(m).values():
        assert expected in body
        assert "21/12/2025" not in body


def test_vietnamese_weekday_names_for_a_week() -> None:
    names = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]
    for offset, name in enumerate(names):
        moment = datetime(2025, 12, 22 + offset, 8, 0, tzinfo=ICT)
        assert format_moment(moment) == f"08 giờ 00, {name}, ngày {22 + offset}/12/2025"


def test_naive_deadline_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        make_ctx(deadline=datetime(2025, 12, 22, 17, 0))


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("2026", "Năm 2026"),
        ("2026-H1", "6 tháng đầu năm 2026"),
        ("2026-H2", "6 tháng cuối năm 2026"),
        ("2026-Q1", "Quý I/2026"),
        ("2026-Q3", "Quý III/2026"),
        ("2026-Q4", "Quý IV/2026"),
        ("2026-11", "Tháng 11/2026"),
        ("2026-01", "Tháng 01/2026"),
        ("2026-W47", "Tuần 47/2026"),
        ("2026-W05", "Tuần 5/2026"),
    ],
)
def test_period_labels(key: str, label: str) -> None:
    assert period_label(key) == label


@pytest.mark.parametrize("key", ["26", "2026-Q5", "2026-H3", "2026-13", "2026-W54", "năm 2026", ""])
def test_bad_period_key_is_a_clear_error(key: str) -> None:
    with pytest.raises(ValueError, match=r"mã kỳ .* không hợp lệ"):
        period_label(key)
    with pytest.raises(ValueError, match=r"mã kỳ .* không hợp lệ"):
        make_ctx(period_key=key)


def test_period_label_in_a_quarterly_subject() -> None:
    m = render("reminder-1", make_ctx(period_key="2026-Q3", frequency="quarterly"))
    assert "Báo cáo quý III/2026 theo" in m.subject
    assert "Định kỳ hằng quý" in m.text


def test_document_kind_read_from_the_symbol() -> None:
    m = render("opened", make_ctx(directive_number="145/KH-UBND"))
    assert "theo Kế hoạch 145/KH-UBND" in m.subject
    assert "Kế hoạch số 145/KH-UBND ngày 24/12/2024" in m.text


# == HTML escaping =========================================================================

# Every tag the renderer writes; anything else in the HTML must be escaped text.
OUR_MARKUP = re.compile(
    r"<!DOCTYPE html>|<!--/?body-->|</?(?:html|head|meta|title|body|table|tr|td|th|a|p|strong|br|h3)\b[^<>]*>"
)


def test_markup_in_a_directive_subject_is_escaped() -> None:
    nasty = 'V/v <script>alert("x")</script> & <b>đầu tư</b>'
    m = render("opened", make_ctx(directive_subject=nasty))
    assert "<script>" not in m.html and "<b>" not in m.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in m.html
    assert nasty in m.text and nasty in m.short  # plain parts carry the raw words
    assert "<" not in OUR_MARKUP.sub("", m.html)


def one_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


TEXT = st.text(st.characters(codec="utf-8"), max_size=80)  # any text but lone surrogates
URL_TAIL = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp")), max_size=40)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {k: TEXT for k in ("agency", "directive_number", "directive_subject", "clause", "via")}
        | {"recipient": TEXT, "sender": TEXT}
    ),
    other=TEXT,
    tail=URL_TAIL,
    stage=st.sampled_from(ALL_STAGES),
)
def test_arbitrary_text_never_escapes_into_html(
    fields: dict[str, str], other: str, tail: str, stage: str
) -> None:
    ctx = make_ctx(
        **fields,
        link=f"https://x.vn/{tail}".split()[0] if tail.split() else "https://x.vn/",
        late_agencies=(LateAgency(other, 3),),
        receipt=Receipt((ReceivedFile(other, 10, other),), datetime.now(UTC), 1, False),
        status=(StatusRow(other, "late", None, 1),),
    )
    if not ctx.via:
        ctx = replace(ctx, via="Sở Xây dựng")
    m = render(stage, ctx)
    rest = OUR_MARKUP.sub("", m.html)
    assert "<" not in rest and ">" not in rest
    for name in ("directive_number", "directive_subject", "clause"):
        assert one_line(fields[name]) in m.text


# == Zalo short form =======================================================================


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    clause=st.text(min_size=1, max_size=200).map(lambda s: s * 40),
    subject=st.text(max_size=100).map(lambda s: s * 10),
    agency=st.text(max_size=50).map(lambda s: s * 10),
    stage=st.sampled_from(ALL_STAGES),
)
def test_short_form_fits_zalo_and_keeps_link_and_deadline(
    clause: str, subject: str, agency: str, stage: str
) -> None:
    many = tuple(LateAgency(f"{agency} {i}", i) for i in range(60))
    ctx = make_ctx(clause=clause, directive_subject=subject, agency=agency, late_agencies=many)
    m = render(stage, ctx)
    assert len(m.short) <= ZALO_TEXT_LIMIT
    assert LINK in m.short
    assert "17 giờ 00, Thứ Hai, ngày 22/12/2025" in m.short


def test_long_clause_is_cut_at_a_word_boundary() -> None:
    clause = " ".join(f"từ{i}" for i in range(2000))
    m = render("reminder-3", make_ctx(clause=clause))
    line = next(ln for ln in m.short.splitlines() if ln.startswith("Nội dung: "))
    assert line.endswith("…")
    assert line.removeprefix("Nội dung: ").removesuffix("…").split()[-1] in clause.split()
    assert len(m.short) <= ZALO_TEXT_LIMIT
    assert clause in m.text  # the email keeps the whole clause


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("ngắn", 10, "ngắn"),
        ("báo cáo kết quả thực hiện", 15, "báo cáo kết…"),
        ("abcdefghij", 5, "abcd…"),
        ("abc", 1, "…"),
    ],
)
def test_shorten(text: str, width: int, expected: str) -> None:
    assert shorten(text, width) == expected
    assert len(shorten(text, width)) <= width


def test_format_size() -> None:
    assert [format_size(n) for n in (512, 2048, 1_258_291)] == ["512 byte", "2,0 KB", "1,2 MB"]


# == Digest ================================================================================


def test_digest_of_three_messages() -> None:
    ctx = make_ctx()
    q3 = make_ctx(directive_number="145/KH-UBND", period_key="2026-Q3", link=LINK + "q3")
    items = [render("reminder-3", ctx), render("overdue", q3), render("receipt", ctx)]
    m = digest(items, agency=ctx.agency, sender=ctx.sender)
    assert m.subject.startswith("[Nhắc việc] 3 nội dung báo cáo")
    assert m.text.startswith("Kính gửi: Sở Tài chính\n")
    assert m.text.count("Kính gửi:") == 1 and m.text.count("Trân trọng.") == 1
    for i, item in enumerate(items, 1):
        assert f"{i}. {item.subject}" in m.text
        assert f"{i}. {item.subject}" in m.short
    assert "Quý III/2026" in m.text and "Quý III/2026" in m.html
    assert m.html.count("<html") == 1 and m.html.count("Nộp báo cáo</a>") == 3
    assert LINK + "q3" in m.short and LINK in m.short
    assert m.short.count("Hạn nộp: ") == 3


def test_digest_of_many_messages_still_fits_zalo() -> None:
    ctx = make_ctx()
    items = [render("reminder-3", make_ctx(link=f"{LINK}&n={i}")) for i in range(40)]
    m = digest(items, agency=ctx.agency, sender=ctx.sender)
    assert len(m.short) <= ZALO_TEXT_LIMIT
    assert "nội dung khác" in m.short
    assert f"{LINK}&n=0" in m.short


# == Unicode ===============================================================================


def test_nfd_input_comes_out_nfc() -> None:
    nfd = {
        k: unicodedata.normalize("NFD", v)
        for k, v in {
            "agency": "Sở Tài chính",
            "directive_subject": "V/v triển khai Nghị định",
            "clause": "định kỳ hằng năm báo cáo UBND tỉnh",
            "via": "Sở Xây dựng",
            "sender": "Văn phòng UBND tỉnh Quảng Ngãi",
        }.items()
    }
    assert any(unicodedata.combining(c) for c in nfd["agency"])  # the input really is NFD
    for stage in ALL_STAGES:
        m = render(stage, make_ctx(**nfd))
        for body in (m.subject, m.text, m.html, m.short):
            assert not any(unicodedata.combining(c) for c in body)
            assert unicodedata.is_normalized("NFC", body)
        assert "Văn phòng UBND tỉnh Quảng Ngãi" in m.text


def test_bad_links_are_refused() -> None:
    for link in ("javascript:alert(1)", "https://x.vn/a b", "https://x.vn/" + "a" * 2000):
        with pytest.raises(ValueError, match="link"):
            make_ctx(link=link)


# == The register an official would sign (issue 14) ========================================

END_OF_DAY = datetime(2026, 12, 21, 23, 59, 59, tzinfo=ICT)
OFFICER = Contact("Nguyễn Văn A, Phòng Tổng hợp", "0255 3822 000", "tonghop@example.invalid")


def official_ctx(**overrides: Any) -> NoticeContext:
    values: dict[str, Any] = {
        "agency": "Sở Y tế tỉnh Quảng Ngãi",
        "issuer": "UBND tỉnh Quảng Ngãi",
        "contact": OFFICER,
        "deadline": END_OF_DAY,
        "period_key": "2026",
        "lead_deadline": datetime(2026, 12, 24, 23, 59, 59, tzinfo=ICT),
    }
    values.update(overrides)
    return make_ctx(**values)


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_every_message_cites_the_issuer_and_names_a_contact_officer(stage: str) -> None:
    m = render(stage, official_ctx())
    cited = "Công văn số 6966/UBND-KTN ngày 24/12/2024 của UBND tỉnh Quảng Ngãi"
    for name, part in parts(m).items():
        assert cited in part, name
        assert "Nguyễn Văn A" in part and "0255 3822 000" in part, name
    for forbidden in ("quý cơ quan", "Quý cơ quan", "đã bắt đầu", "theo quy định", "Nơi nhận"):
        assert forbidden not in m.text and forbidden not in m.short, (stage, forbidden)
    assert "Cơ quan nhận báo cáo" in m.text


def test_a_former_issuer_is_cited_as_before_the_reorganisation() -> None:
    m = render("opened", official_ctx(issuer="UBND tỉnh Kon Tum", issuer_former=True))
    assert "ngày 24/12/2024 của UBND tỉnh Kon Tum (trước sắp xếp)" in m.text


@pytest.mark.parametrize("stage", AGENCY_STAGES)
def test_agency_messages_address_the_body_by_name(stage: str) -> None:
    m = render(stage, official_ctx())
    assert m.text.startswith("Kính gửi: Sở Y tế tỉnh Quảng Ngãi")
    assert "đề nghị Sở Y tế tỉnh Quảng Ngãi" in m.text or "Đề nghị Sở Y tế" in m.text


def test_the_cycle_opens_with_the_deadline_at_24_00_and_its_basis() -> None:
    m = render("opened", official_ctx(deadline_words="trước ngày 22/12 hằng năm"))
    assert "thông báo mở kỳ báo cáo năm 2026" in m.text
    assert "24 giờ 00, Thứ Hai, ngày 21/12/2026" in m.text
    assert "văn bản ghi: “trước ngày 22/12 hằng năm”" in m.text
    default = render("opened", official_ctx(deadline_is_default=True))
    for part in parts(default).values():
        assert "hạn mặc định do quản trị viên hệ thống đặt" in part
    assert format_moment(END_OF_DAY) == "24 giờ 00, Thứ Hai, ngày 21/12/2026"


@pytest.mark.parametrize("stage", [*AGENCY_STAGES, "lead-reminder-1", "escalation-lead"])
def test_a_deadline_depending_on_an_undecreed_day_off_says_du_kien(stage: str) -> None:
    ctx = official_ctx(provisional=(ProvisionalDay(date(2026, 11, 24), "Ngày Văn hóa Việt Nam"),))
    m = render(stage, ctx)
    for name, part in parts(m).items():
        assert "dự kiến" in part and "24/11/2026" in part, name
    assert "dự kiến" not in render(stage, official_ctx()).text


def test_the_lead_is_reminded_of_its_own_deadline_with_who_is_missing() -> None:
    m = render("lead-reminder-3", official_ctx(agency="Sở Xây dựng tỉnh Quảng Ngãi"))
    assert m.subject.startswith("[Nhắc hạn tổng hợp]")
    assert "24 giờ 00, Thứ Năm, ngày 24/12/2026" in m.subject
    assert m.text.startswith("Kính gửi: Sở Xây dựng")
    assert "UBND xã Tịnh Khê" in m.text  # the late agencies, with their delay
    nobody = render("lead-due-day", official_ctx(late_agencies=()))
    assert "các cơ quan đã gửi đủ báo cáo" in nobody.text
    with pytest.raises(ValueError, match="own deadline"):
        render("lead-due-day", official_ctx(lead_deadline=None))
    escalation = render("escalation-lead", official_ctx())
    assert "chậm nhất 24 giờ 00, Thứ Năm, ngày 24/12/2026" in escalation.text
