"""What a Zalo message says, as typed fields rather than rendered text.

An approved ZNS template has short typed parameters (limits fixed per parameter at
approval; links only as a button's parameter), and an OA transaction message is a
header, a line of text, a key/value table and buttons. Neither can carry the email's
paragraphs, so notices store the facts themselves (``notice_fields``) in the outbox
payload, and the Zalo plugin builds its parameters from them.

Fields (all strings, one line each):

============  ===========================================  =========================
field         what                                         example
============  ===========================================  =========================
agency        the addressee                                Sở Tài chính
report        the report, by its directive                 Báo cáo năm 2026 theo CV 6966/UBND-KTN
period        the reporting period                         Năm 2026
deadline      the deadline (local date)                    15/12/2026
days          days left, days late, or how many are late  Còn 3 ngày làm việc
stage         the ladder stage, in words                   Nhắc hạn
link          the personal submission / status link        https://…/submit/…
============  ===========================================  =========================

ZNS parameter names and limits come from configuration: a JSON file named by the
``zns://`` URL's ``params=`` (or ``HANBAOCAO_ZNS_PARAMS``)::

    {"*":        {"params": [{"name": "ten_co_quan", "field": "agency", "max": 100},
                             {"name": "link_bao_cao", "field": "link", "max": 200}]},
     "overdue":  {"template_id": "2002", "params": [...]},
     "reminder": {"template_id": "2001"}}

``*`` is shared (its template id defaults to the URL's ``template=``); a stage's own
entry (``reminder`` stands for every ``reminder-N``) overrides the template id and,
when given, the parameters. Without a file, ``DEFAULT_PARAMS`` apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.settings import settings
from models.vocabulary import normalise_phone as normalise_phone  # the registry's rule
from notifications.vocabulary import ZALO_TEXT_LIMIT, DeliveryError, Message

if TYPE_CHECKING:
    from notifications.messages import NoticeContext

FIELDS = ("agency", "report", "period", "deadline", "days", "stage", "link")
# Free text that may be shortened with "…" to fit; the others must fit as they are (a
# cut date, day count or link would say something false).
SHORTENABLE = frozenset({"agency", "report"})
STAGE_KEY = "ladder_stage"  # the raw stage name, beside the fields: picks the template

STAGE_LABELS = {
    "opened": "Mở kỳ báo cáo",
    "due-day": "Đến hạn hôm nay",
    "overdue": "Quá hạn",
    "escalation-lead": "Cơ quan chậm báo cáo",
    "escalation-recipient": "Cơ quan chậm báo cáo",
    "receipt": "Đã nhận báo cáo",
    "consolidated-status": "Tổng hợp kết quả",
    "test": "Thử nghiệm",
}
_REMINDER = re.compile(r"reminder-\d+")
_URL = re.compile(r"https?://\S+", re.ASCII)

# OA transaction message limits (characters), checked before sending.
OA_HEADER_LIMIT = 100
OA_TEXT_LIMIT = 1000
OA_TABLE_VALUE_LIMIT = 100
OA_TABLE_ROWS = 5
OA_BUTTON_TITLE = "Mở trang báo cáo"
OA_TABLE = (
    ("Cơ quan", "agency"),
    ("Kỳ báo cáo", "period"),
    ("Hạn nộp", "deadline"),
    ("Tình trạng", "days"),
    ("Nội dung", "stage"),
)


def stage_label(stage: str) -> str:
    if _REMINDER.fullmatch(stage):
        return "Nhắc hạn"
    return STAGE_LABELS.get(stage, stage)


def one_line(text: str) -> str:
    """Whitespace (CR and LF included) collapsed to single spaces."""
    return " ".join(text.split())


def notice_fields(stage: str, ctx: NoticeContext) -> dict[str, str]:
    """The fields of the message of ``stage`` rendered from ``ctx``."""
    from notifications.messages import format_date, period_label

    period = period_label(ctx.period_key)
    report = f"Báo cáo {period[:1].lower()}{period[1:]} theo {one_line(ctx.directive_number)}"
    return {
        "agency": one_line(ctx.agency),
        "report": report,
        "period": period,
        "deadline": format_date(ctx.deadline.astimezone(_tz()).date()),
        "days": _days(ctx),
        "stage": stage_label(stage),
        "link": ctx.link or "",
        STAGE_KEY: stage,
    }


def with_fields(message: Message, stage: str, ctx: NoticeContext) -> Message:
    """``message`` carrying the facts of ``ctx`` for Zalo's templates."""
    return replace(message, fields=tuple(notice_fields(stage, ctx).items()))


def _tz() -> Any:
    from models.db import TZ

    return TZ


def _days(ctx: NoticeContext) -> str:
    if ctx.receipt is not None:
        return "Đã nhận, nộp muộn" if ctx.receipt.late else "Đã nhận, đúng hạn"
    if ctx.late_agencies:
        return f"{len(ctx.late_agencies)} cơ quan chậm nộp"
    if ctx.days_late:
        return f"Quá hạn {ctx.days_late} ngày làm việc"
    if ctx.working_days_left is not None:
        left = ctx.working_days_left
        return f"Còn {left} ngày làm việc" if left else "Hạn chót là hôm nay"
    if ctx.status:
        return f"{len(ctx.status)} cơ quan"
    return "Theo hạn nộp"


# --- ZNS template parameters ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateParam:
    name: str  # the parameter's name in the approved template
    field: str  # one of FIELDS
    limit: int  # characters, as approved


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    template_id: str
    params: tuple[TemplateParam, ...]


DEFAULT_PARAMS = (
    TemplateParam("ten_co_quan", "agency", 100),
    TemplateParam("ten_bao_cao", "report", 100),
    TemplateParam("ky_bao_cao", "period", 50),
    TemplateParam("han_nop", "deadline", 30),
    TemplateParam("tinh_trang", "days", 50),
    TemplateParam("noi_dung", "stage", 50),
    TemplateParam("link_bao_cao", "link", 200),  # the button's URL parameter
)
_NAME = re.compile(r"^[A-Za-z0-9_]{1,50}$")


class ZnsConfig:
    """The template (id and typed parameters) to use for each stage."""

    def __init__(self, template_id: str, raw: Mapping[str, Any] | None = None) -> None:
        raw = raw or {}
        shared = raw.get("*") or {}
        self.shared = TemplateSpec(
            str(shared.get("template_id") or template_id),
            _params(shared.get("params"), "*") if "params" in shared else DEFAULT_PARAMS,
        )
        self.stages = {
            stage: TemplateSpec(
                str(entry.get("template_id") or self.shared.template_id),
                _params(entry.get("params"), stage) if "params" in entry else self.shared.params,
            )
            for stage, entry in raw.items()
            if stage != "*" and isinstance(entry, Mapping)
        }

    def for_stage(self, stage: str | None) -> TemplateSpec:
        if stage and stage in self.stages:
            return self.stages[stage]
        if stage and _REMINDER.fullmatch(stage) and "reminder" in self.stages:
            return self.stages["reminder"]
        return self.shared

    @classmethod
    def load(cls, template_id: str, path: str | None) -> ZnsConfig:
        """From ``path`` (else ``HANBAOCAO_ZNS_PARAMS``, else the defaults); a bad file
        is a TypeError, which Apprise reports as an unusable URL."""
        path = path or settings().zns_params
        if not path:
            return cls(template_id)
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TypeError(f"Zalo ZNS: không đọc được tệp tham số mẫu {path}: {exc}") from None
        if not isinstance(raw, dict):
            raise TypeError(f"Zalo ZNS: tệp tham số mẫu {path} phải là một đối tượng JSON")
        return cls(template_id, raw)


def _params(raw: Any, where: str) -> tuple[TemplateParam, ...]:
    if not isinstance(raw, list) or not raw:
        raise TypeError(f"Zalo ZNS: mục {where!r}: 'params' phải là danh sách không rỗng")
    found = []
    for item in raw:
        try:
            param = TemplateParam(str(item["name"]), str(item["field"]), int(item["max"]))
        except (TypeError, KeyError, ValueError):
            raise TypeError(
                f"Zalo ZNS: mục {where!r}: mỗi tham số cần 'name', 'field', 'max'"
            ) from None
        if not _NAME.match(param.name) or param.field not in FIELDS or param.limit < 1:
            raise TypeError(
                f"Zalo ZNS: mục {where!r}: tham số {param.name!r} không hợp lệ "
                f"(trường là một trong {', '.join(FIELDS)}; max ≥ 1)"
            )
        found.append(param)
    return tuple(found)


def template_data(spec: TemplateSpec, fields: Mapping[str, str]) -> dict[str, str]:
    """The template's parameters from ``fields``; a permanent DeliveryError naming the
    parameter when one is empty or too long (Zalo would answer -111 / -1121)."""
    data: dict[str, str] = {}
    for param in spec.params:
        value = one_line(str(fields.get(param.field) or ""))
        if not value:
            raise DeliveryError(
                f"ZNS: tham số {param.name} ({param.field}) trống: không gửi tham số rỗng",
                permanent=True,
            )
        if param.field == "link" and not _URL.fullmatch(value):
            raise DeliveryError(
                f"ZNS: tham số {param.name} không phải liên kết http(s)", permanent=True
            )
        if len(value) > param.limit:
            if param.field not in SHORTENABLE:
                raise DeliveryError(
                    f"ZNS: tham số {param.name} ({param.field}) dài {len(value)} ký tự, "
                    f"mẫu đã duyệt chỉ cho phép {param.limit}",
                    permanent=True,
                )
            value = value[: param.limit - 1].rstrip() + "…"
        data[param.name] = value
    return data


# --- OA transaction message ----------------------------------------------------------


def transaction_payload(
    user_id: str, header: str, text: str, fields: Mapping[str, str], template_type: str
) -> dict[str, Any]:
    """A ``/v3.0/oa/message/transaction`` body: header, text, a table of the fields and
    the link as a button (never inside the text's limit)."""
    header = one_line(header) or one_line(fields.get("report", "")) or "Thông báo hạn báo cáo"
    elements: list[dict[str, Any]] = [
        {"type": "header", "content": fit_text(header, OA_HEADER_LIMIT), "align": "left"},
    ]
    body = no_cr(text).strip()
    if body:
        elements.append({"type": "text", "align": "left", "content": fit_text(body, OA_TEXT_LIMIT)})
    rows = [
        {"key": key, "value": fit_text(one_line(fields[name]), OA_TABLE_VALUE_LIMIT)}
        for key, name in OA_TABLE
        if one_line(fields.get(name, ""))
    ][:OA_TABLE_ROWS]
    if rows:
        elements.append({"type": "table", "content": rows})
    payload: dict[str, Any] = {
        "template_type": template_type,
        "language": "VI",
        "elements": elements,
    }
    link = fields.get("link", "")
    if link and _URL.fullmatch(link):
        payload["buttons"] = [
            {"title": OA_BUTTON_TITLE, "type": "oa.open.url", "payload": {"url": link}}
        ]
    return {
        "recipient": {"user_id": user_id},
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


def fit_text(text: str, limit: int = ZALO_TEXT_LIMIT) -> str:
    """``text`` within ``limit`` characters, cut at the last space when one is not too
    far back (else mid-word), ending with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def no_cr(text: str) -> str:
    """Line ends as LF only: Zalo shows a CR as a stray character."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
