"""Zalo's typed fields: from a notice's facts to ZNS template parameters and the OA
transaction message, with lengths checked before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifications.vocabulary import DeliveryError
from notifications.zalo_params import (
    DEFAULT_PARAMS,
    STAGE_KEY,
    TemplateParam,
    TemplateSpec,
    ZnsConfig,
    notice_fields,
    template_data,
    transaction_payload,
)
from tests.notifications.test_messages import LINK, make_ctx


def _agency_ctx(**overrides: object) -> dict[str, str]:
    base = {"late_agencies": (), "receipt": None, "status": (), "days_late": None}
    return notice_fields("reminder-3", make_ctx(**{**base, **overrides}))


def test_fields_of_a_reminder() -> None:
    fields = _agency_ctx()
    assert fields == {
        "agency": "Sở Tài chính",
        "report": "Báo cáo năm 2026 theo 6966/UBND-KTN",
        "period": "Năm 2026",
        "deadline": "22/12/2025",
        "days": "Còn 3 ngày làm việc",
        "stage": "Nhắc hạn",
        "link": LINK,
        STAGE_KEY: "reminder-3",
    }


@pytest.mark.parametrize(
    ("overrides", "days"),
    [
        ({"working_days_left": 0}, "Hạn chót là hôm nay"),
        ({"days_late": 4}, "Quá hạn 4 ngày làm việc"),
        ({"working_days_left": None}, "Theo hạn nộp"),
    ],
)
def test_days_field(overrides: dict[str, object], days: str) -> None:
    assert _agency_ctx(**overrides)["days"] == days


def test_escalation_counts_the_late_agencies() -> None:
    fields = notice_fields("escalation-lead", make_ctx(receipt=None))
    assert fields["days"] == "2 cơ quan chậm nộp"
    assert fields["stage"] == "Cơ quan chậm báo cáo"


def test_deadline_is_the_local_date() -> None:
    from datetime import UTC, datetime

    # 20:00 UTC on 21/12 is already Monday 22/12 in Vietnam.
    fields = _agency_ctx(deadline=datetime(2025, 12, 21, 20, 0, tzinfo=UTC))
    assert fields["deadline"] == "22/12/2025"


def test_every_default_parameter_fits_a_real_notice() -> None:
    spec = TemplateSpec("1001", DEFAULT_PARAMS)
    data = template_data(spec, _agency_ctx())
    assert set(data) == {p.name for p in DEFAULT_PARAMS}
    assert data["link_bao_cao"] == LINK


SPEC = TemplateSpec(
    "1001",
    (
        TemplateParam("ten_co_quan", "agency", 10),
        TemplateParam("han_nop", "deadline", 5),
        TemplateParam("link_bao_cao", "link", 200),
    ),
)


def test_free_text_is_shortened_to_its_limit() -> None:
    data = template_data(SPEC, {"agency": "Sở Tài chính tỉnh", "deadline": "15/12", "link": LINK})
    assert data["ten_co_quan"] == "Sở Tài ch…" and len(data["ten_co_quan"]) == 10


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"agency": "Sở", "deadline": "15/12/2026", "link": LINK}, "han_nop .* dài 10 ký tự"),
        ({"agency": "Sở", "deadline": "", "link": LINK}, "han_nop .* trống"),
        ({"agency": "Sở", "deadline": "15/12"}, "link_bao_cao .* trống"),
        ({"agency": "Sở", "deadline": "15/12", "link": "javascript:x"}, "link_bao_cao"),
    ],
)
def test_a_bad_parameter_is_named(fields: dict[str, str], message: str) -> None:
    with pytest.raises(DeliveryError, match=message) as caught:
        template_data(SPEC, fields)
    assert caught.value.permanent


def test_values_are_one_line() -> None:
    data = template_data(SPEC, {"agency": "Sở\r\nA", "deadline": "15/12", "link": LINK})
    assert data["ten_co_quan"] == "Sở A"


def test_config_file_per_stage(tmp_path: Path) -> None:
    path = tmp_path / "zns.json"
    shared = [{"name": "ten_co_quan", "field": "agency", "max": 30}]
    path.write_text(
        json.dumps(
            {
                "*": {"params": shared},
                "overdue": {"template_id": "2002"},
                "reminder": {
                    "template_id": "2001",
                    "params": [{"name": "so_ngay", "field": "days", "max": 20}],
                },
            }
        ),
        encoding="utf-8",
    )
    config = ZnsConfig.load("1001", str(path))
    assert config.for_stage("opened") == TemplateSpec("1001", (TemplateParam(**_p(shared[0])),))
    assert config.for_stage("overdue").template_id == "2002"
    assert config.for_stage("overdue").params == config.shared.params
    assert config.for_stage("reminder-7").template_id == "2001"
    assert config.for_stage("reminder-7").params[0].name == "so_ngay"
    assert config.for_stage(None).template_id == "1001"


def _p(raw: dict[str, object]) -> dict[str, object]:
    return {"name": raw["name"], "field": raw["field"], "limit": raw["max"]}


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"*": {"params": []}}',
        '{"*": {"params": [{"name": "x", "field": "nope", "max": 3}]}}',
        '{"*": {"params": [{"name": "có dấu", "field": "agency", "max": 3}]}}',
    ],
)
def test_bad_config_is_refused_in_vietnamese(tmp_path: Path, content: str) -> None:
    path = tmp_path / "zns.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TypeError, match="Zalo ZNS: "):
        ZnsConfig.load("1001", str(path))


def test_transaction_payload_never_sends_an_empty_header_or_a_cr() -> None:
    payload = transaction_payload("1", "  ", "a\r\nb", {}, "transaction_internal")
    inner = payload["message"]["attachment"]["payload"]
    header, text = inner["elements"]
    assert header["content"] == "Thông báo hạn báo cáo"
    assert text["content"] == "a\nb"
    assert "buttons" not in inner
