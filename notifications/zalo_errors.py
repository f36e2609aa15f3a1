"""Zalo's answers: which are success, which failures are permanent, which wait, which
hold the whole channel.

Zalo answers HTTP 200 with ``error != 0`` for most failures, so the body decides, not
the status. The texts are for operators (the dashboard, ``notify test``): Vietnamese,
with Zalo's code so that they can be looked up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from models import clock
from notifications.vocabulary import ChannelFault, DeliveryError

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Invalid or expired access token: refresh the pair, then retry the send once.
TOKEN_ERRORS = frozenset({-216, -124})

# The OA may not reach this user over a consultation message: the officer must act.
NOT_FOLLOWING = (
    "cán bộ của cơ quan cần quan tâm (theo dõi) Official Account và nhắn cho OA một tin, "
    "sau đó hệ thống mới gửi được tin qua Zalo OA"
)

# Recorded and never retried: retrying cannot change the answer.
PERMANENT_ERRORS: dict[int, str] = {
    -108: "số điện thoại không hợp lệ",
    -109: "mã mẫu ZNS không hợp lệ",
    -111: "mẫu ZNS có tham số rỗng",
    -117: "OA hoặc ứng dụng không được dùng mẫu ZNS này",
    -118: "người nhận không có tài khoản Zalo đang hoạt động",
    -131: "mẫu ZNS chưa được duyệt",
    -139: "người nhận đã từ chối loại tin ZNS này",
    -141: "người nhận đã từ chối tin từ Official Account",
    -201: "tham số không hợp lệ",
    -213: NOT_FOLLOWING,
    -230: NOT_FOLLOWING,
    -1121: "một tham số của mẫu ZNS quá dài",
    -1122: "thiếu một tham số của mẫu ZNS",
}

# Daily quotas: nothing goes out before the quota resets at local midnight.
DAILY_QUOTA_ERRORS: dict[int, str] = {
    -144: "OA đã hết hạn mức tin ZNS trong ngày",
    -147: "mẫu ZNS đã hết hạn mức trong ngày",
}
RATE_LIMIT = -32  # too many requests: a minute's pause
# The whole channel is stuck until someone acts: hold its rows, alert the operator.
CHANNEL_ERRORS: dict[int, str] = {
    -115: "tài khoản ZNS đã hết số dư: cần nạp thêm",
}


class TokenRejected(Exception):
    """Zalo refused the access token (-216, -124 or HTTP 401)."""


def check_answer(response: httpx.Response) -> dict[str, Any]:
    """Zalo's JSON answer when it says success; raises otherwise."""
    status = response.status_code
    if status == 401:
        raise TokenRejected
    if status == 429:
        raise DeliveryError(
            "Zalo: bị giới hạn tần suất (HTTP 429)",
            permanent=False,
            retry_after=_retry_after(response),
        )
    if status >= 500 or status == 408:
        raise DeliveryError(f"Zalo: HTTP {status}", permanent=False)
    answer = _json_object(response)
    code = _error_code(answer)
    if code == 0 and status < 300:
        return answer
    raise error_for(code, str(answer.get("message", ""))[:200], status)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DeliveryError(
            f"Zalo: câu trả lời không phải JSON (HTTP {response.status_code})", permanent=False
        )
    return answer


def _error_code(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("error", 0))
    except (TypeError, ValueError):
        return -1  # unreadable code: an unknown error


def error_for(code: int, text: str, status: int) -> Exception:
    if code in TOKEN_ERRORS:
        return TokenRejected()
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"Zalo lỗi {code}: {PERMANENT_ERRORS[code]} ({text})", permanent=True)
    if code in CHANNEL_ERRORS:
        return ChannelFault(f"Zalo lỗi {code}: {CHANNEL_ERRORS[code]} ({text})")
    if code in DAILY_QUOTA_ERRORS:
        wait = seconds_to_local_midnight(clock.now())
        return DeliveryError(
            f"Zalo lỗi {code}: {DAILY_QUOTA_ERRORS[code]}; gửi lại sau 0 giờ ({text})",
            permanent=False,
            retry_after=wait,
        )
    if code == RATE_LIMIT:
        return DeliveryError(
            f"Zalo lỗi {code}: quá nhiều yêu cầu ({text})", permanent=False, retry_after=60.0
        )
    if code == 0:  # a 4xx without a Zalo code: the request itself is wrong
        return DeliveryError(f"Zalo: HTTP {status}", permanent=True)
    # An unknown code is a failure with its code, not an instant retry: a retry would
    # most likely get the same answer, and the code is what an operator looks up.
    return DeliveryError(f"Zalo lỗi {code} (mã chưa biết): {text}", permanent=True)


def seconds_to_local_midnight(now: datetime) -> float:
    """Seconds from ``now`` to the next 00:00 in Asia/Ho_Chi_Minh (a minute after, so a
    retry never lands a moment before the reset)."""
    local = now.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return (midnight - local).total_seconds() + 60.0


def _retry_after(response: httpx.Response, default: float = 60.0) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default
