"""The grammar's patterns, each on a sentence written for it (never a corpus line).

One row per pattern the parser knows: how a duty is recognised, how its timing is read,
who reports to whom and through whom. The sentences are made up in the register of
provincial directives; the expectations follow the label conventions of the corpus
(tests/data/corpus/README.md, "Conventions" and "Edge cases").
"""

from __future__ import annotations

from typing import Any

import pytest

from directives.obligations import label_clause

NOT_A_DUTY = [
    # counts, statistics and statements that reports were (not) received
    "Số lượng báo cáo phải tổng hợp là 12 báo cáo.",
    "Sở Tài chính đã nhận được báo cáo của 15 đơn vị.",
    "Đến nay, 12 xã đã gửi báo cáo về Sở Nội vụ.",
    "Các sở chưa gửi báo cáo đúng hạn.",
    "Ngày 15/10/2025, Sở Nội vụ đã báo cáo UBND tỉnh kết quả rà soát.",
    "Trong năm 2025, toàn tỉnh đã tổ chức 25 hội nghị và ban hành 40 báo cáo chuyên đề.",
    # "trình bày" (present) and "báo cáo viên" (a rapporteur) are no reports
    "Tại cuộc họp, Phòng Nội vụ trình bày dự thảo báo cáo tổng kết công tác năm 2026.",
    "Trong thời hạn 10 ngày làm việc, Giám đốc Sở Tư pháp ra quyết định công nhận báo cáo viên "
    "pháp luật cấp tỉnh.",
    # period definitions
    "Báo cáo định kỳ hằng tháng: tính từ ngày 15 tháng trước đến ngày 14 của tháng báo cáo.",
    "Kỳ báo cáo năm được tính từ ngày 15 tháng 12 năm trước đến ngày 14 tháng 12 năm báo cáo.",
    # negated duties
    "Các đơn vị không phải báo cáo hằng tháng.",
    "Hợp tác xã nộp phí theo mức khoán thì không phải lập báo cáo tài chính gửi cơ quan thuế.",
    "Sở Y tế không yêu cầu các trạm y tế báo cáo bằng bản giấy.",
    "Sở Văn hóa thông báo kết quả xét chọn cho các đơn vị.",
    # a question answered no: only the answer states duties
    "Hỏi: Hộ kinh doanh có phải nộp báo cáo tài chính hằng năm cho cơ quan thuế không? Trả lời: "
    "Hộ kinh doanh nộp thuế khoán không phải nộp báo cáo tài chính.",
    # an advice taken up for comments is a draft for approval, not a report
    "Sở Xây dựng tham mưu UBND tỉnh báo cáo Ban Thường vụ Tỉnh ủy cho ý kiến đối với đồ án.",
    # subjects of letters, names of documents, forms, lists of report kinds
    "V/v xây dựng báo cáo tình hình kinh tế - xã hội năm 2025",
    "UBND tỉnh vừa có công văn về xây dựng báo cáo tình hình thực hiện năm 2025.",
    "Báo cáo số 123/BC-UBND ngày 10/11/2025 của UBND tỉnh về kết quả thực hiện.",
    "Theo báo cáo của Sở Y tế, đến ngày 30/10/2025 toàn tỉnh có 120 ca mắc.",
    "Sở Tư pháp chủ trì thẩm định báo cáo đánh giá tác động.",
    "Mẫu báo cáo kèm theo Phụ lục II.",
    "Báo cáo tháng, quý, 6 tháng, năm; báo cáo chuyên đề; báo cáo đột xuất.",
    "Nội dung báo cáo gồm: tình hình thực hiện, khó khăn, vướng mắc và đề xuất.",
    "Hình thức báo cáo: bằng văn bản giấy và bản điện tử gửi qua Hệ thống quản lý văn bản.",
    # a period defined, a count of what happened, a question with no answer
    "Báo cáo tháng được tính từ ngày 15 tháng trước đến hết ngày 14 của tháng báo cáo.",
    "Kỳ báo cáo quý được tính từ ngày 01 của tháng đầu quý đến ngày cuối cùng của tháng cuối quý.",
    "Báo cáo năm: thời gian chốt số liệu được tính từ ngày 15/12 năm trước đến ngày 14/12.",
    "Đến nay đã có 52/63 tỉnh gửi báo cáo về Bộ Nội vụ.",
    "Hỏi: Công ty tôi có phải báo cáo Sở Lao động hằng năm không?",
    # a lead-in that hands the requests to the lines below it
    "Để kịp thời tổng hợp, báo cáo Thủ tướng Chính phủ, Chủ tịch UBND tỉnh yêu cầu:",
]


@pytest.mark.parametrize("text", NOT_A_DUTY)
def test_states_no_duty(text: str) -> None:
    assert label_clause(text)["is_obligation"] is False


def _got(text: str) -> dict[str, Any]:
    label = label_clause(text)
    assert label["is_obligation"], text
    d = label["deadline"]
    return {
        "frequency": label["frequency"],
        "also": label["also_frequencies"],
        "kind": d["kind"],
        "day": d["day"],
        "month": d["month"],
        "date": d["date"],
        "offset": d["offset_days"],
        "working": d["working_days"],
        "submitters": label["submitters"],
        "recipient": label["recipient"],
        "via": label["via"],
    }


DETECTION = [
    # a request with no timing and no recipient right after the verb
    (
        "Sở Tài chính đề nghị các phòng chuyên môn báo cáo tình hình sử dụng kinh phí năm 2024.",
        {"frequency": "once", "submitters": ["các phòng chuyên môn"], "recipient": None},
    ),
    # schedule lines
    (
        "+ Báo cáo quý: trước ngày 12 của tháng cuối quý",
        {"frequency": "quarterly", "kind": "day_of_period", "day": 12},
    ),
    (
        "a) Báo cáo năm được thực hiện trước ngày 20 tháng 01 của năm tiếp theo;",
        {"frequency": "annual", "kind": "day_of_period", "day": 20, "month": 1},
    ),
    (
        "Thời hạn báo cáo: trước khi đưa công trình vào sử dụng 10 ngày",
        {"frequency": "event", "kind": "relative", "offset": -10},
    ),
    (
        "n) Trước ngày 15 hằng tháng, báo cáo ước tình hình giải ngân của tháng;",
        {"frequency": "monthly", "kind": "day_of_period", "day": 15},
    ),
    # content before the recipient
    (
        "Các trường học báo cáo công tác phòng cháy lên Phòng Giáo dục và Đào tạo trước ngày 15 "
        "tháng 11 hằng năm.",
        {
            "frequency": "annual",
            "day": 15,
            "month": 11,
            "submitters": ["Các trường học"],
            "recipient": "Phòng Giáo dục và Đào tạo",
        },
    ),
    # a legal basis or a lead-in before the duty
    (
        "Căn cứ kết quả kiểm tra, các xã, phường báo cáo Ủy ban nhân dân tỉnh trước ngày 30/6/2026.",
        {"frequency": "once", "date": "2026-06-30", "submitters": ["các xã, phường"]},
    ),
    (
        "Các đơn vị gửi báo cáo về Sở Nội vụ trước ngày 25/10 theo nội dung sau:",
        {"frequency": "once", "kind": "date", "day": 25, "month": 10, "recipient": "Sở Nội vụ"},
    ),
    # "trình" and "cung cấp … cho" report
    (
        "Các đơn vị trình Ủy ban nhân dân tỉnh kết quả rà soát trước ngày 20/7/2026.",
        {"recipient": "Ủy ban nhân dân tỉnh", "date": "2026-07-20"},
    ),
    (
        "Sở Y tế cung cấp số liệu về tình hình dịch bệnh cho Sở Tài chính trước ngày 5 hằng tháng.",
        {"frequency": "monthly", "submitters": ["Sở Y tế"], "recipient": "Sở Tài chính"},
    ),
    (
        "Cơ quan chủ quản cung cấp hồ sơ theo yêu cầu của cơ quan thanh tra.",
        {"frequency": "on_request", "recipient": "cơ quan thanh tra"},
    ),
]

TIMING = [
    # a negated frequency is never a frequency of the clause
    (
        "Các sở không thực hiện báo cáo hằng tháng và hằng quý; định kỳ 6 tháng báo cáo UBND tỉnh "
        "trước ngày 10/6.",
        {"frequency": "semiannual", "also": [], "day": 10, "month": 6, "submitters": ["Các sở"]},
    ),
    # a day and month without a year on a one-off request
    (
        "Các đơn vị báo cáo Sở Nội vụ trước ngày 25/10.",
        {"frequency": "once", "kind": "date", "day": 25, "month": 10, "date": None},
    ),
    # two dates a year
    (
        "Các sở báo cáo Sở Tài chính trước ngày 10/6 và 10/12 hằng năm.",
        {"frequency": "semiannual", "also": [], "day": 10, "month": 6},
    ),
    (
        "Các đơn vị báo cáo Sở Xây dựng trước ngày 15 tháng 6 và trước ngày 15 tháng 12 hằng năm.",
        {"frequency": "semiannual", "also": [], "day": 15, "month": 6},
    ),
    (
        "Các hợp tác xã gửi báo cáo về Phòng Kinh tế trước ngày 20 tháng 5 và ngày 20 tháng 11 "
        "hằng năm.",
        {"frequency": "semiannual", "also": [], "day": 20, "month": 5},
    ),
    ("Các đơn vị báo cáo Sở Xây dựng đến ngày 05/01 năm sau.", {"day": 5, "month": 1}),
    (
        "Ngày 10 hằng tháng, các phòng gửi báo cáo về Văn phòng.",
        {"frequency": "monthly", "day": 10, "submitters": ["các phòng"]},
    ),
    (
        "Các xã báo cáo UBND tỉnh chậm nhất 16h00' ngày 12/3/2024.",
        {"frequency": "once", "date": "2024-03-12"},
    ),
    (
        "Các sở báo cáo UBND tỉnh trước ngày 15 (mười lăm) tháng 12 (mười hai) năm 2025.",
        {"frequency": "once", "date": "2025-12-15"},
    ),
    ("Các sở báo cáo UBND tỉnh trong quý I/2020.", {"frequency": "once"}),
    ("Các sở báo cáo UBND tỉnh 6 tháng một lần.", {"frequency": "semiannual"}),
    ("Các sở báo cáo UBND tỉnh 3 tháng một lần.", {"frequency": "quarterly"}),
    (
        "Định kỳ tháng 11 hằng năm, các sở báo cáo UBND tỉnh kết quả thực hiện.",
        {"frequency": "annual", "kind": "day_of_period", "day": None, "month": 11},
    ),
    ("Các sở báo cáo 9 tháng về Sở Tài chính.", {"frequency": "nine_months"}),
    # the period after what is reported ("kết quả/tình hình/công tác … 6 tháng")
    ("Các phòng gửi kết quả 9 tháng về Văn phòng UBND huyện.", {"frequency": "nine_months"}),
    ("Các trường báo cáo tình hình 6 tháng cho Phòng Giáo dục.", {"frequency": "semiannual"}),
    (
        "Các đơn vị gửi báo cáo 9 tháng trước ngày 20/9 hằng năm.",
        {"frequency": "nine_months", "also": [], "day": 20, "month": 9},
    ),
    (
        "Các đơn vị gửi báo cáo quý, 6 tháng, 9 tháng và năm về Sở Tài chính.",
        {"frequency": "quarterly", "also": ["semiannual", "nine_months", "annual"]},
    ),
    (
        "Các sở gửi báo cáo về Sở Tài chính trong thời hạn 05 ngày làm việc kể từ ngày kết thúc "
        "quý.",
        {"frequency": "quarterly", "kind": "relative", "offset": 5, "working": True},
    ),
    (
        "Hằng tuần, các đơn vị báo cáo Ban Chỉ đạo vào thứ Sáu.",
        {"frequency": "weekly", "kind": "day_of_period", "day": None, "month": None},
    ),
    (
        "Các đơn vị báo cáo Văn phòng trước 15 giờ thứ Năm hằng tuần.",
        {"frequency": "weekly", "kind": "day_of_period", "recipient": "Văn phòng"},
    ),
    (
        "Khi có thay đổi về nhân sự, các đơn vị báo cáo Sở Nội vụ trong thời hạn 05 ngày làm việc.",
        {"frequency": "event", "kind": "relative", "offset": 5, "working": True},
    ),
    (
        "Định kỳ hằng năm hoặc đột xuất khi có yêu cầu, các sở báo cáo UBND tỉnh.",
        {"frequency": "annual", "also": ["on_request"]},
    ),
    ("Các sở báo cáo theo chuyên đề khi có yêu cầu.", {"frequency": "on_request"}),
    (
        "Doanh nghiệp báo cáo ngay Sở Nội vụ các vụ tai nạn lao động xảy ra trên địa bàn.",
        {"frequency": "event"},
    ),
    (
        "Các đơn vị báo cáo UBND tỉnh những dấu hiệu bất thường trong quản lý ngân sách.",
        {"frequency": "event"},
    ),
    ("Các sở kịp thời báo cáo UBND tỉnh.", {"frequency": "none"}),
    (
        "Sở Công Thương theo dõi, báo cáo UBND tỉnh những vấn đề phát sinh vượt thẩm quyền.",
        {"frequency": "event", "recipient": "UBND tỉnh"},
    ),
    (
        "- Chủ động phối hợp với Sở Xây dựng để báo cáo, thông tin về các khó khăn, vướng mắc "
        "trong việc triển khai.",
        {"frequency": "event"},
    ),
    (
        "Các sở thực hiện sơ kết 6 tháng, tổng kết năm và báo cáo UBND tỉnh.",
        {"frequency": "semiannual", "also": ["annual"]},
    ),
    (
        "Các sở báo cáo UBND tỉnh theo yêu cầu tại Công văn số 123/UBND-KT.",
        {"frequency": "none"},
    ),
    (
        "Các chủ đầu tư gửi báo cáo về Sở Tài chính trước ngày 10/7 và ngày 10/01 năm sau.",
        {"frequency": "semiannual", "day": 10, "month": 7},
    ),
    (
        "Các đơn vị gửi số liệu ước thực hiện cả năm 2026 về Sở Tài chính.",
        {"frequency": "once"},
    ),
    # a question's own schedule is the asker's: the answer's is read
    (
        "Hỏi: Trường tôi hằng quý có phải báo cáo không? Trả lời: Định kỳ 6 tháng, các trường báo "
        "cáo Phòng Giáo dục và Đào tạo.",
        {"frequency": "semiannual", "also": [], "recipient": "Phòng Giáo dục và Đào tạo"},
    ),
    # "không phải báo cáo hằng tháng mà chỉ báo cáo theo quý": the duty after "mà" stands
    (
        "Các chủ dự án không phải báo cáo hằng tháng mà chỉ báo cáo cơ quan chủ quản theo quý.",
        {"frequency": "quarterly", "also": [], "recipient": "cơ quan chủ quản"},
    ),
    # advice without a timing still obliges the one who advises
    (
        "Phòng Văn hóa tổng hợp, tham mưu UBND xã báo cáo Sở Văn hóa theo quy định.",
        {"frequency": "none", "submitters": ["Phòng Văn hóa"]},
    ),
    # counted from this very letter, or from a dated event: one report
    (
        "Phòng Kinh tế rà soát, báo cáo UBND xã trong thời hạn 10 ngày kể từ ngày nhận được Văn "
        "bản này.",
        {"frequency": "once", "kind": "relative", "offset": 10},
    ),
    (
        "Các trường báo cáo kết quả Tuần lễ học tập suốt đời năm 2026 về Sở Giáo dục trong thời hạn "
        "07 ngày kể từ ngày kết thúc Tuần lễ.",
        {"frequency": "once", "kind": "relative", "recipient": "Sở Giáo dục"},
    ),
    # a period that names what is reported yields to a dated deadline
    (
        "Các trường gửi báo cáo tổng kết năm học về Phòng Giáo dục chậm nhất ngày 05/6/2026.",
        {"frequency": "once", "also": [], "date": "2026-06-05"},
    ),
    (
        "Các xã báo cáo ước thực hiện 9 tháng và dự kiến cả năm, gửi Phòng Tài chính trước ngày "
        "15/10/2026.",
        {"frequency": "once", "also": []},
    ),
    # "9 tháng" after what is reported, its "hằng năm" scoping the date only
    (
        "Các chi nhánh gửi đánh giá thu nộp 9 tháng về Văn phòng Tổng công ty trước ngày 10/10 "
        "hằng năm.",
        {"frequency": "nine_months", "also": [], "day": 10, "month": 10},
    ),
    ("Các đội báo cáo kết quả 9 tháng năm 2026 về Văn phòng.", {"frequency": "once"}),
    # reporting verbs of urgent notices and registrations (each needs its addressee)
    (
        "Khi phát hiện cháy rừng, chủ rừng phải báo ngay cho Hạt Kiểm lâm.",
        {"frequency": "event", "recipient": "Hạt Kiểm lâm"},
    ),
    (
        "Khi có người đến lưu trú, chủ cơ sở phải khai báo ngay với Công an xã.",
        {"frequency": "event", "recipient": "Công an xã"},
    ),
    (
        "Các cửa hàng đăng ký mẫu hóa đơn với Chi cục Thuế trước ngày 30/6/2026.",
        {"frequency": "once", "recipient": "Chi cục Thuế"},
    ),
    # a weekday with its part of the day
    (
        "Các tổ gửi báo cáo về Văn phòng trước 9 giờ sáng thứ Hai hằng tuần.",
        {"frequency": "weekly", "kind": "day_of_period"},
    ),
    # what happened at a named place is content, not the occasion of a report
    (
        "Sở Y tế khẩn trương báo cáo UBND tỉnh diễn biến vụ cháy xảy ra tại chợ trung tâm.",
        {"frequency": "once"},
    ),
    (
        "Các thôn lập danh sách hộ phát sinh sau sáp nhập, gửi UBND xã chậm nhất ngày 30/7/2026.",
        {"frequency": "once", "also": []},
    ),
    # a list of periods opened by the first quarter
    (
        "Các sở báo cáo kết quả quý I, 6 tháng, 9 tháng và năm về Sở Nội vụ.",
        {"frequency": "quarterly", "also": ["semiannual", "nine_months", "annual"]},
    ),
    # "6 tháng" after what a report names, its "hằng năm" scoping the date
    (
        "Doanh nghiệp gửi báo cáo tình hình tài chính 6 tháng cho Sở Tài chính trước ngày 31 tháng 7 "
        "hằng năm.",
        {"frequency": "semiannual", "also": [], "day": 31, "month": 7},
    ),
    # the last day of a period, hours as whole days, a weekday beside its date
    (
        "Các chi nhánh gửi báo cáo về Tổng công ty chậm nhất ngày cuối cùng của tháng.",
        {"frequency": "monthly", "kind": "day_of_period", "day": None, "month": None},
    ),
    (
        "Các đơn vị báo cáo Cục Thuế vào ngày cuối cùng của tháng đầu của quý tiếp theo.",
        {"frequency": "quarterly", "kind": "day_of_period", "day": None},
    ),
    (
        "Khi phát hiện ca bệnh, trạm y tế báo cáo Trung tâm Y tế trong vòng 24 giờ.",
        {"frequency": "event", "kind": "relative", "offset": 1, "working": False},
    ),
    (
        "Các xã báo cáo UBND tỉnh trước 16 giờ 00 thứ Năm ngày 20/8/2026.",
        {"frequency": "once", "kind": "date", "date": "2026-08-20"},
    ),
    # "không báo cáo" inside the name of illegal fishing negates nothing
    (
        "Các xã ven biển báo cáo kết quả chống khai thác hải sản bất hợp pháp, không báo cáo và không "
        "theo quy định về Sở Nông nghiệp trước ngày 25 hằng tháng.",
        {"frequency": "monthly", "recipient": "Sở Nông nghiệp"},
    ),
    # every two years is no annual report
    ("Định kỳ 02 năm một lần, các cơ sở báo cáo Sở Công Thương.", {"frequency": "none"}),
    # counted from a request received: whenever asked
    (
        "Sở Tư pháp cung cấp thông tin cho Công an tỉnh trong thời hạn 03 ngày làm việc kể từ ngày "
        "nhận được yêu cầu.",
        {"frequency": "on_request", "kind": "relative", "offset": 3, "working": True},
    ),
    # a relative deadline with nothing periodic said: each occurrence is reported
    (
        "Tổ công tác báo cáo Trưởng ban kết quả kiểm tra trong 07 ngày làm việc.",
        {"frequency": "event", "kind": "relative", "offset": 7, "working": True},
    ),
    (
        "Trong thời hạn 03 ngày làm việc, Phòng Tư pháp gửi báo cáo kết quả về UBND xã.",
        {"frequency": "event", "kind": "relative"},
    ),
    # a lead time counted back from an occasion named after a comma
    (
        "Chậm nhất là 20 ngày, trước ngày tổ chức hội nghị tổng kết, các phòng báo cáo UBND huyện.",
        {"frequency": "event", "kind": "relative", "submitters": ["các phòng"]},
    ),
    # a schedule replaced ("thay vì …") is no frequency of the clause
    (
        "Thay vì báo cáo hằng quý, các xã báo cáo UBND huyện 6 tháng một lần.",
        {"frequency": "semiannual", "also": [], "submitters": ["các xã"]},
    ),
    # a heading "Về việc …:" before the duty is not a letter's subject line
    (
        "3. Về việc sắp xếp trụ sở dôi dư: giao Sở Tài chính chủ trì, phối hợp với các đơn vị "
        "liên quan rà soát, báo cáo UBND tỉnh trước ngày 30 tháng 12 năm 2026.",
        {"frequency": "once", "kind": "date", "submitters": ["Sở Tài chính"]},
    ),
    # a number spelled out in brackets, and "01 năm" in a list of periods
    (
        "Định kỳ 06 (sáu) tháng hoặc đột xuất, Văn phòng UBND tỉnh báo cáo UBND tỉnh tình hình "
        "thực hiện.",
        {"frequency": "semiannual", "also": ["event"]},
    ),
    (
        "Định kỳ hằng tháng, quý, 06 tháng, 01 năm, Công an tỉnh báo cáo Bộ Công an.",
        {"frequency": "monthly", "also": ["quarterly", "semiannual", "annual"]},
    ),
    # each period with its bracketed deadline, "năm" included
    (
        "Các sở báo cáo kết quả thực hiện 6 tháng (trước ngày 15/6) và năm (trước ngày 15/12) "
        "về Sở Nội vụ.",
        {"frequency": "semiannual", "also": ["annual"], "day": 15, "month": 6},
    ),
    # a negated schedule does not stop an urgent request beside it being a one-off
    (
        "Các xã không phải báo cáo hằng tháng; khẩn trương báo cáo UBND huyện kết quả rà soát.",
        {"frequency": "once", "also": []},
    ),
    # urgency that hurries other work is no one-off report
    (
        "Các đơn vị khẩn trương triển khai kế hoạch; kịp thời báo cáo Sở Y tế để chỉ đạo.",
        {"frequency": "none"},
    ),
    (
        "UBND các xã khẩn trương gửi báo cáo về Sở Nội vụ.",
        {"frequency": "once"},
    ),
]

PARTIES = [
    # a trailing condition is no part of the subject; one set off by commas is passed over
    (
        "Các cơ sở khi phát hiện sự cố phải báo cáo ngay cho Chi cục Bảo vệ môi trường.",
        ["Các cơ sở"],
    ),
    (
        "UBND các huyện chỉ đạo UBND cấp xã, khi phát hiện gia cầm chết, phải báo cáo ngay cho Trạm "
        "Thú y.",
        ["UBND các huyện", "UBND cấp xã"],
    ),
    # subjects qualified by a duty of their own, by their works; teams and posts
    (
        "Cơ sở thuộc đối tượng phải kiểm kê khí nhà kính lập báo cáo gửi Sở Nông nghiệp hằng năm.",
        ["Cơ sở thuộc đối tượng phải kiểm kê khí nhà kính"],
    ),
    (
        "Chủ đầu tư các công trình xây dựng báo cáo Sở Xây dựng khi xảy ra sự cố.",
        ["Chủ đầu tư các công trình xây dựng"],
    ),
    ("Các Tổ bầu cử báo cáo Ban bầu cử trước 11 giờ ngày bầu cử.", ["Các Tổ bầu cử"]),
    (
        "Các Đồn Biên phòng báo cáo Bộ Chỉ huy Bộ đội Biên phòng tỉnh hằng tuần.",
        ["Các Đồn Biên phòng"],
    ),
    # a clause that qualifies the subject before its duty
    (
        "Theo đó, doanh nghiệp thực hiện dự án khai thác khoáng sản báo cáo Sở Công Thương hằng năm.",
        ["doanh nghiệp thực hiện dự án khai thác khoáng sản"],
    ),
    (
        "Định kỳ hằng quý, các đơn vị phối hợp báo cáo kết quả về Sở Tư pháp.",
        ["các đơn vị phối hợp"],
    ),
    (
        "Sở Y tế phối hợp với Sở Tài chính báo cáo UBND tỉnh trước ngày 15/11/2026.",
        ["Sở Y tế"],
    ),
    (
        "Sở Tài chính đề nghị 12 xã chưa gửi báo cáo khẩn trương hoàn thiện, gửi Sở Tài chính.",
        ["12 xã chưa gửi báo cáo"],
    ),
    (
        "Các xã chưa hoàn thành chỉ tiêu phải báo cáo rõ nguyên nhân về UBND tỉnh trước ngày "
        "30/11/2026.",
        ["Các xã chưa hoàn thành chỉ tiêu"],
    ),
    # the report's own part of the clause says who reports
    (
        "Sở Y tế chủ trì kiểm tra các cơ sở; Trung tâm Kiểm soát bệnh tật tổng hợp, báo cáo UBND tỉnh "
        "hằng tháng.",
        ["Trung tâm Kiểm soát bệnh tật"],
    ),
    (
        "UBND tỉnh yêu cầu các sở tổ chức quán triệt Chỉ thị. Trong quá trình thực hiện, các huyện "
        "kịp thời báo cáo UBND tỉnh.",
        ["các huyện"],
    ),
    (
        "Thủ trưởng các sở; Chủ tịch UBND các xã tổ chức kê khai và báo cáo Thanh tra tỉnh trước "
        "ngày 31/3/2026.",
        ["Thủ trưởng các sở", "Chủ tịch UBND các xã"],
    ),
    # a letter's signer asks, in any words; the one asked relays
    (
        "Chủ tịch UBND tỉnh vừa ký văn bản hỏa tốc yêu cầu Giám đốc Sở Xây dựng báo cáo trước ngày "
        "20/7/2026.",
        ["Giám đốc Sở Xây dựng"],
    ),
    (
        "Bộ Y tế vừa có văn bản đề nghị Sở Y tế các tỉnh chỉ đạo các bệnh viện báo cáo trước ngày "
        "15/8/2026.",
        ["Sở Y tế các tỉnh", "các bệnh viện"],
    ),
    # an article's number and title, a heading before a colon
    (
        "Điều 14. Chế độ báo cáo 1. Định kỳ hằng năm, Sở Công Thương báo cáo Bộ Công Thương trước "
        "ngày 15/01 năm sau.",
        ["Sở Công Thương"],
    ),
    ("Điều 8. Các Công ty cấp nước báo cáo Sở Xây dựng hằng quý.", ["Các Công ty cấp nước"]),
    (
        "4. Chế độ thông tin, báo cáo: Các phòng chuyên môn báo cáo UBND xã trước ngày 20 hằng "
        "tháng.",
        ["Các phòng chuyên môn"],
    ),
    # a purpose that runs on over a comma before the one who asks
    (
        "Để có cơ sở tổng hợp, báo cáo Thủ tướng, Bộ Tài chính đề nghị các tỉnh báo cáo số thu "
        "trước ngày 10/10/2026.",
        ["các tỉnh"],
    ),
    ("Cũng tại văn bản, UBND tỉnh đề nghị các huyện báo cáo kịp thời.", ["các huyện"]),
    (
        "Sau ngày 30/6/2026, định kỳ hằng quý các đơn vị báo cáo Sở Nội vụ trước ngày 20 tháng "
        "cuối quý.",
        ["các đơn vị"],
    ),
    # hospital wards, school teams, bus stations, initials
    (
        "Các khoa lâm sàng báo cáo Phòng Điều dưỡng trước 16 giờ thứ Năm hằng tuần.",
        ["Các khoa lâm sàng"],
    ),
    ("Các tổ chuyên môn báo cáo Hiệu trưởng vào ngày 28 hằng tháng.", ["Các tổ chuyên môn"]),
    ("BHXH Việt Nam đề nghị BHXH các tỉnh báo cáo trước ngày 10/11/2026.", ["BHXH các tỉnh"]),
    # the letter named between the requester and its request
    (
        "Ngày 02/3/2026, UBND tỉnh ban hành Công văn số 88/UBND-KT yêu cầu các sở rà soát, báo cáo "
        "Sở Tài chính trước ngày 20/3/2026.",
        ["các sở"],
    ),
    (
        "Bảo hiểm xã hội các tỉnh báo cáo Bảo hiểm xã hội Việt Nam trước ngày 10 hằng tháng.",
        ["Bảo hiểm xã hội các tỉnh"],
    ),
    # a generic body after a leading condition, bound by a duty
    (
        "Trường hợp phát hiện sai sót, trong thời hạn 03 ngày làm việc, đơn vị phải báo cáo Sở Tài "
        "chính.",
        ["đơn vị"],
    ),
    (
        "Từ tháng 7/2026, định kỳ hằng tháng, tổ chức tín dụng gửi báo cáo về Ngân hàng Nhà nước.",
        ["tổ chức tín dụng"],
    ),
    # heads of sector texts: banks, groups, investors, forestry, villages, people
    ("Các chi nhánh báo cáo Ngân hàng Nhà nước tỉnh trước ngày 05 hằng tháng.", ["Các chi nhánh"]),
    (
        "Tập đoàn Dầu khí gửi báo cáo về Bộ Công Thương trước ngày 20/12 hằng năm.",
        ["Tập đoàn Dầu khí"],
    ),
    ("Nhà đầu tư báo cáo Sở Tài chính tiến độ dự án định kỳ 6 tháng.", ["Nhà đầu tư"]),
    ("Người nộp thuế gửi tờ khai cho cơ quan thuế trước ngày 20 hằng tháng.", ["Người nộp thuế"]),
    ("Hạt Kiểm lâm báo cáo Chi cục Kiểm lâm số vụ cháy rừng hằng tuần.", ["Hạt Kiểm lâm"]),
    ("Trưởng thôn báo cáo UBND xã khi có người đến tạm trú.", ["Trưởng thôn"]),
    ("Các thôn, tổ dân phố báo cáo UBND phường hằng tháng.", ["Các thôn, tổ dân phố"]),
    # an opening connective is no part of a name
    ("Theo đó, Sở Công Thương báo cáo UBND tỉnh trước ngày 30/11/2026.", ["Sở Công Thương"]),
    ("Do vậy, các huyện báo cáo Sở Nội vụ trước ngày 30/11/2026.", ["các huyện"]),
    ("Để kịp thời tổng hợp, các sở báo cáo UBND tỉnh trước ngày 30/11/2026.", ["các sở"]),
    (
        "2. Về công tác quy hoạch: Sở Xây dựng khẩn trương báo cáo UBND tỉnh trước ngày 30/11/2026.",
        ["Sở Xây dựng"],
    ),
    # the requester glued to the addressee
    (
        "Ngày 05/11/2026, UBND tỉnh yêu cầu các sở, ngành báo cáo kết quả trước ngày 30/11/2026.",
        ["các sở, ngành"],
    ),
    (
        "UBND tỉnh giao trách nhiệm các xã báo cáo Sở Tài chính trước ngày 30/11/2026.",
        ["các xã"],
    ),
    (
        "UBND tỉnh cũng yêu cầu rà soát và báo cáo kết quả về Sở Nội vụ trước ngày 31/3/2026.",
        [],
    ),
    (
        "Đề nghị Sở Y tế chỉ đạo các bệnh viện báo cáo UBND tỉnh trước ngày 30/11/2026.",
        ["Sở Y tế", "các bệnh viện"],
    ),
    # the subject running into the verb phrase
    (
        "Phòng Tài chính làm đầu mối tổng hợp, báo cáo UBND huyện trước ngày 30/11/2026.",
        ["Phòng Tài chính"],
    ),
    (
        "UBND các xã, phường, thị trấn chỉ đạo các thôn thực hiện và báo cáo UBND huyện trước "
        "ngày 20 hằng tháng.",
        ["UBND các xã, phường, thị trấn", "các thôn"],
    ),
    (
        "Các đơn vị sự nghiệp công lập trực thuộc Sở báo cáo Sở trước ngày 10 hằng tháng.",
        ["Các đơn vị sự nghiệp công lập trực thuộc Sở"],
    ),
    # news and legal Q&A recounting a request
    (
        "UBND tỉnh Quảng Nam vừa có văn bản yêu cầu các sở, ngành, địa phương báo cáo tình hình "
        "thiệt hại do mưa lũ trước ngày 20/11.",
        ["các sở, ngành, địa phương"],
    ),
    (
        "Theo Thông tư số 10/2022, định kỳ hằng năm, doanh nghiệp phải báo cáo Sở Lao động trước "
        "ngày 15/12.",
        ["doanh nghiệp"],
    ),
    (
        "Trả lời: Định kỳ 6 tháng và hằng năm, doanh nghiệp báo cáo tình hình sử dụng lao động "
        "với Sở Nội vụ.",
        ["doanh nghiệp"],
    ),
    (
        "Người sử dụng lao động có trách nhiệm báo cáo định kỳ 06 tháng và hằng năm với Sở Nội vụ.",
        ["Người sử dụng lao động"],
    ),
    (
        "Ban Quản lý dự án đầu tư xây dựng tỉnh báo cáo Sở Xây dựng trước ngày 5 hằng tháng.",
        ["Ban Quản lý dự án đầu tư xây dựng tỉnh"],
    ),
    (
        "Ban chỉ đạo phòng chống thiên tai tỉnh báo cáo UBND tỉnh trước ngày 15/12 hằng năm.",
        ["Ban chỉ đạo phòng chống thiên tai tỉnh"],
    ),
    (
        "Ngân hàng Chính sách xã hội chi nhánh tỉnh báo cáo UBND tỉnh trước ngày 5 hằng tháng.",
        ["Ngân hàng Chính sách xã hội chi nhánh tỉnh"],
    ),
    (
        "Ban quản lý dự án các công trình giao thông báo cáo Sở Xây dựng hằng quý.",
        ["Ban quản lý dự án các công trình giao thông"],
    ),
    # a passive participle qualifying the subject before its duty word
    (
        "Đơn vị được giao chủ trì phải báo cáo Sở Tài chính trước ngày 10 hằng tháng.",
        ["Đơn vị được giao chủ trì"],
    ),
    (
        "Các phòng được phân công theo dõi có trách nhiệm báo cáo UBND huyện hằng quý.",
        ["Các phòng được phân công theo dõi"],
    ),
    ("Sở Tư pháp được giao tổng hợp, báo cáo UBND tỉnh hằng năm.", ["Sở Tư pháp"]),
    # the subject right after an uncommaed schedule
    (
        "Định kỳ vào thứ Hai hằng tuần doanh nghiệp kinh doanh xăng dầu báo cáo Sở Công Thương.",
        ["doanh nghiệp kinh doanh xăng dầu"],
    ),
    (
        "Định kỳ trước ngày 10 hằng tháng các hợp tác xã gửi báo cáo về Phòng Kinh tế.",
        ["các hợp tác xã"],
    ),
    # a leading occasion before the comma ("Kết thúc …,", "Cuối mỗi quý,")
    (
        "Kết thúc đợt cao điểm, Công an tỉnh tổng hợp kết quả, báo cáo UBND tỉnh trước ngày "
        "15/01/2027.",
        ["Công an tỉnh"],
    ),
    # a question and its answer: the answer says who reports
    (
        "Hỏi: Doanh nghiệp có phải báo cáo tình hình sử dụng lao động không? Trả lời: Định kỳ 06 "
        "tháng và hằng năm, người sử dụng lao động phải báo cáo Sở Nội vụ.",
        ["người sử dụng lao động"],
    ),
    # a distributive colon inside a longer name; "có báo cáo" is the predicate
    (
        "UBND các huyện: Tư Nghĩa, Mộ Đức và Đức Phổ khẩn trương gửi báo cáo về Sở Tài chính "
        "trước ngày 20/12/2026.",
        ["UBND các huyện: Tư Nghĩa, Mộ Đức và Đức Phổ"],
    ),
    (
        "Chậm nhất ngày 10/12/2026, các phòng, ban có báo cáo kết quả gửi UBND huyện.",
        ["các phòng, ban"],
    ),
    # agency kinds
    ("Trạm Khuyến nông báo cáo Phòng Nông nghiệp trước ngày 30/11/2026.", ["Trạm Khuyến nông"]),
    ("Chủ đầu tư báo cáo Sở Xây dựng trước ngày 30/11/2026.", ["Chủ đầu tư"]),
    (
        "Công ty Điện lực tỉnh báo cáo Sở Công Thương trước ngày 30/11/2026.",
        ["Công ty Điện lực tỉnh"],
    ),
]

ROUTES = [
    ("Phòng Nội vụ trình UBND xã dự thảo báo cáo tổng kết trước ngày 15/12/2026.", "UBND xã", None),
    # a distributive colon in the via
    (
        "Các xã gửi báo cáo về Văn phòng UBND tỉnh và các Sở: Tài chính, Xây dựng trước ngày "
        "20/12/2026 để tổng hợp, báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Văn phòng UBND tỉnh và các Sở: Tài chính, Xây dựng",
    ),
    # "phòng, chống …" is no "Phòng" (an office)
    (
        "Các huyện báo cáo kết quả công tác phòng, chống thiên tai về Sở Nông nghiệp hằng quý.",
        "Sở Nông nghiệp",
        None,
    ),
    # a purpose's report is the requester's, not the duty asked for
    (
        "Để kịp thời tổng hợp, báo cáo Thủ tướng Chính phủ, Bộ Xây dựng đề nghị các tỉnh báo cáo về "
        "Bộ Xây dựng (qua Cục Nhà ở) trước ngày 05/12/2026.",
        "Bộ Xây dựng",
        "Cục Nhà ở",
    ),
    # a bracket that says what the body is (its role) is no unit of it
    (
        "Các xã báo cáo về Sở Nông nghiệp (cơ quan thường trực Ban Chỉ huy phòng, chống thiên tai) "
        "để tổng hợp, báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Sở Nông nghiệp",
    ),
    # a chain over a semicolon: the compiler is the via, the last addressee the recipient
    (
        "Các trường báo cáo Phòng Giáo dục trước ngày 10/5 hằng năm; Phòng Giáo dục tổng hợp, báo cáo "
        "Sở Giáo dục trước ngày 25/5 hằng năm.",
        "Sở Giáo dục",
        "Phòng Giáo dục",
    ),
    # an unplanned report goes to the body named right after it
    (
        "Khi có vụ việc phức tạp, Thanh tra huyện báo cáo đột xuất Thanh tra tỉnh.",
        "Thanh tra tỉnh",
        None,
    ),
    # what is reported about (households, a land bank) is no destination
    (
        "Trưởng thôn cung cấp số liệu về hộ gia đình chính sách cho UBND xã khi có yêu cầu.",
        "UBND xã",
        None,
    ),
    (
        "Các huyện cung cấp thông tin về quỹ đất nhà ở xã hội, gửi về Sở Xây dựng trước ngày "
        "30/9/2026.",
        "Sở Xây dựng",
        None,
    ),
    (
        "Các sở chịu trách nhiệm báo cáo kịp thời kết quả thực hiện nhiệm vụ được giao về UBND tỉnh.",
        "UBND tỉnh",
        None,
    ),
    # copies are no village: "gửi 01 bản về Sở …"
    ("Các đơn vị gửi 01 bản về Sở Nội vụ trước ngày 10/10/2026.", "Sở Nội vụ", None),
    # names not cut short ("Ngân hàng" and "Hàng không" are no "hằng/hàng")
    (
        "Các khoa gửi báo cáo về Phòng Kế hoạch tổng hợp hằng tháng.",
        "Phòng Kế hoạch tổng hợp",
        None,
    ),
    ("Các chi nhánh báo cáo Vụ Thị trường trong nước hằng quý.", "Vụ Thị trường trong nước", None),
    (
        "Các điểm giao dịch báo cáo Phòng Khách hàng cá nhân hằng tuần.",
        "Phòng Khách hàng cá nhân",
        None,
    ),
    (
        "Các sở báo cáo UBND tỉnh nguyên nhân chậm giải ngân trước ngày 10/9/2026.",
        "UBND tỉnh",
        None,
    ),
    (
        "Các chi nhánh báo cáo Ngân hàng Chính sách xã hội tỉnh.",
        "Ngân hàng Chính sách xã hội tỉnh",
        None,
    ),
    ("Các hãng bay báo cáo Cục Hàng không Việt Nam hằng quý.", "Cục Hàng không Việt Nam", None),
    ("Các đơn vị báo cáo Ban An toàn giao thông tỉnh.", "Ban An toàn giao thông tỉnh", None),
    (
        "Các đơn vị báo cáo Ban Chỉ đạo về phòng, chống thiên tai tỉnh trước ngày 30/11/2026.",
        "Ban Chỉ đạo về phòng, chống thiên tai tỉnh",
        None,
    ),
    (
        "Các đơn vị báo cáo Sở Tư pháp hoặc Cục Thi hành án dân sự trước ngày 30/11/2026.",
        "Sở Tư pháp hoặc Cục Thi hành án dân sự",
        None,
    ),
    (
        "Các đơn vị gửi báo cáo về các Sở: Tư pháp, Nội vụ trước ngày 30/11/2026.",
        "các Sở: Tư pháp, Nội vụ",
        None,
    ),
    # the recipient does not run into the content or the timing
    (
        "Các xã báo cáo UBND tỉnh những vướng mắc phát sinh trước ngày 30/11/2026.",
        "UBND tỉnh",
        None,
    ),
    ("Các sở báo cáo UBND tỉnh 6 tháng một lần.", "UBND tỉnh", None),
    # the mechanical rule of recipient and via
    (
        "Các xã gửi báo cáo về Sở Nội vụ để tổng hợp, báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Sở Nội vụ",
    ),
    (
        "Các xã gửi báo cáo về Sở Nội vụ để tổng hợp, tham mưu UBND tỉnh xem xét.",
        "Sở Nội vụ",
        None,
    ),
    ("Các xã trình Sở Nội vụ hồ sơ để báo cáo UBND tỉnh.", "UBND tỉnh", "Sở Nội vụ"),
    (
        "Các sở gửi Sở Xây dựng tổng hợp và báo cáo UBND tỉnh xem xét.",
        "UBND tỉnh",
        "Sở Xây dựng",
    ),
    (
        "Các đơn vị phản ánh về Sở Nội vụ (Phòng Thi đua) để tổng hợp, báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Sở Nội vụ (Phòng Thi đua)",
    ),
    (
        "Các đơn vị báo cáo kết quả để Sở Tài chính tổng hợp, báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Sở Tài chính",
    ),
    ("Các xã báo cáo UBND tỉnh (thông qua Sở Nội vụ).", "UBND tỉnh", "Sở Nội vụ"),
    ("Các xã báo cáo UBND tỉnh qua Sở Nội vụ.", "UBND tỉnh", "Sở Nội vụ"),
    (
        "Các xã báo cáo Sở Nội vụ (Ban Thi đua - Khen thưởng).",
        "Sở Nội vụ",
        "Ban Thi đua - Khen thưởng",
    ),
    (
        "Doanh nghiệp báo cáo cơ quan chuyên môn về lao động thuộc UBND cấp tỉnh hằng năm.",
        "cơ quan chuyên môn về lao động thuộc UBND cấp tỉnh",
        None,
    ),
    (
        "Nếu có vướng mắc, các xã kịp thời báo cáo UBND tỉnh xem xét, giải quyết (qua Sở Tư pháp).",
        "UBND tỉnh",
        "Sở Tư pháp",
    ),
    (
        "Các đơn vị gửi báo cáo về VNMAC và Binh chủng Công binh trước ngày 25 hằng tháng.",
        "VNMAC và Binh chủng Công binh",
        None,
    ),
    # a channel is never a via; a second destination is not the recipient
    ("Các xã gửi báo cáo về Sở Nội vụ qua Hệ thống quản lý văn bản.", "Sở Nội vụ", None),
    (
        "Các xã gửi báo cáo về Văn phòng UBND tỉnh (qua Cổng thông tin điện tử) để tổng hợp, "
        "báo cáo UBND tỉnh.",
        "UBND tỉnh",
        "Văn phòng UBND tỉnh",
    ),
    (
        "Các xã báo cáo Sở Nội vụ, đồng thời gửi Sở Tài chính để theo dõi.",
        "Sở Nội vụ",
        None,
    ),
    (
        "Các sở gửi báo cáo về cơ quan thường trực để tổng hợp, báo cáo cơ quan cấp trên.",
        "cơ quan cấp trên",
        "cơ quan thường trực",
    ),
]


@pytest.mark.parametrize(("text", "expect"), DETECTION + TIMING, ids=lambda v: str(v)[:50])
def test_timing_and_detection(text: str, expect: dict[str, Any]) -> None:
    got = _got(text)
    assert {k: got[k] for k in expect} == expect


@pytest.mark.parametrize(("text", "submitters"), PARTIES, ids=lambda v: str(v)[:50])
def test_submitters(text: str, submitters: list[str]) -> None:
    assert _got(text)["submitters"] == submitters


@pytest.mark.parametrize(("text", "recipient", "via"), ROUTES, ids=lambda v: str(v)[:50])
def test_recipient_and_via(text: str, recipient: str, via: str | None) -> None:
    got = _got(text)
    assert (got["recipient"], got["via"]) == (recipient, via)


def test_a_bare_duration_is_no_deadline() -> None:
    """ "trong 30 ngày" with no working days and no anchor is how long the work lasts."""
    label = label_clause("Các đoàn kiểm tra làm việc trong 30 ngày và báo cáo Sở Y tế.")
    assert label["deadline"]["kind"] == "none"
