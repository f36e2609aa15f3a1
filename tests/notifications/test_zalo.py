"""The Zalo plugin against the local fake Zalo server (never the real hosts)."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import apprise
import httpx
import pytest

from notifications import zalo
from notifications.fake_zalo import (
    OA_CS_PATH,
    OA_PATH,
    OAUTH_PATH,
    ZNS_PATH,
    FakeZalo,
    special_phone,
    special_user,
)
from notifications.vocabulary import ZALO_TEXT_LIMIT, ChannelFault, DeliveryError, Message
from notifications.zalo_errors import TokenRejected, check_answer
from notifications.zalo_tokens import FileTokenStore, TokenPair, pair_from_answer
from tests.ports import refusing_port

OA_ID = "4321"
APP_ID = "fake-app"
SECRET = "s3cret-K3y/+="  # URL-special characters on purpose
USER = "8421000000001"
LINK = "https://baocao.quangngai.gov.vn/submit/abc.def"
FIELDS = {
    "agency": "Sở Tài chính",
    "report": "Báo cáo quý III/2025 theo 1503/UBND-KTTH",
    "period": "Quý III/2025",
    "deadline": "15/10/2025",
    "days": "Còn 3 ngày làm việc",
    "stage": "Nhắc hạn",
    "link": LINK,
    "ladder_stage": "reminder-3",
}
MESSAGE = Message(
    subject="Nhắc hạn báo cáo quý III",
    text="(email text)",
    html="<p>(email html)</p>",
    short="Đề nghị Sở Tài chính gửi báo cáo quý III trước ngày 15/10/2025. Trân trọng!",
    fields=tuple(FIELDS.items()),
)
ZNS_DATA = {
    "ten_co_quan": "Sở Tài chính",
    "ten_bao_cao": "Báo cáo quý III/2025 theo 1503/UBND-KTTH",
    "ky_bao_cao": "Quý III/2025",
    "han_nop": "15/10/2025",
    "tinh_trang": "Còn 3 ngày làm việc",
    "noi_dung": "Nhắc hạn",
    "link_bao_cao": LINK,
}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any request to a host other than 127.0.0.1 fails the test: never the real Zalo."""
    original = httpx.HTTPTransport.handle_request

    def guarded(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1", f"test tried to reach {request.url.host}"
        return original(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", guarded)
    monkeypatch.setenv("HANBAOCAO_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    with FakeZalo(app_id=APP_ID, secret_key=SECRET, slow_seconds=60.0, lifetime=120) as server:
        yield server


@pytest.fixture
def tokens(tmp_path: Path, fake: FakeZalo) -> Path:
    path = tmp_path / "zalo_tokens.json"
    FileTokenStore(path).put(OA_ID, pair_from_answer(fake.issue_pair()))
    return path


def url_for(fake: FakeZalo, tokens: Path, schema: str, recipient: str, **params: str) -> str:
    if schema == "zns":
        params.setdefault("template", "1001")
    query = "&".join(
        f"{k}={quote(v, safe='')}"
        for k, v in {
            "api": fake.base_url,
            "oauth": fake.base_url,
            "tokens": str(tokens),
            **params,
        }.items()
    )
    return f"{schema}://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/{recipient}?{query}"


def assert_no_secret(text: str, tokens: Path | None = None) -> None:
    assert SECRET not in text and quote(SECRET, safe="") not in text
    if tokens is not None:
        pair = FileTokenStore(tokens).get(OA_ID)
        assert pair is not None
        assert pair.access_token not in text and pair.refresh_token not in text


# -- success ---------------------------------------------------------------------------

SUCCESS = [
    # (schema, recipient in URL, what the fake must have recorded)
    ("zalooa", USER, {"schema": "zalooa", "kind": "transaction", "recipient": USER}),
    (
        "zns",
        "0912345678",
        {
            "schema": "zns",
            "recipient": "84912345678",
            "template_id": "1001",
            "template_data": ZNS_DATA,
        },
    ),
    ("zns", "%2B84912345678", {"schema": "zns", "recipient": "84912345678"}),
]


@pytest.mark.parametrize(("schema", "recipient", "expected"), SUCCESS)
def test_deliver_success(
    fake: FakeZalo, tokens: Path, schema: str, recipient: str, expected: dict[str, Any]
) -> None:
    zalo.deliver(url_for(fake, tokens, schema, recipient), MESSAGE)
    [recorded] = fake.messages
    assert {k: recorded[k] for k in expected} == expected  # diacritics intact
    assert fake.refresh_calls == 0 and fake.violations == []


def test_oa_transaction_message_carries_the_facts_and_the_link_button(
    fake: FakeZalo, tokens: Path
) -> None:
    zalo.deliver(url_for(fake, tokens, "zalooa", USER), MESSAGE)
    payload = fake.messages[0]["message"]["attachment"]["payload"]
    assert payload["template_type"] == "transaction_internal" and payload["language"] == "VI"
    header, text, table = payload["elements"]
    assert header == {"type": "header", "content": MESSAGE.subject, "align": "left"}
    assert text["content"] == MESSAGE.short
    assert {row["key"]: row["value"] for row in table["content"]} == {
        "Cơ quan": "Sở Tài chính",
        "Kỳ báo cáo": "Quý III/2025",
        "Hạn nộp": "15/10/2025",
        "Tình trạng": "Còn 3 ngày làm việc",
        "Nội dung": "Nhắc hạn",
    }
    assert payload["buttons"] == [
        {"title": "Mở trang báo cáo", "type": "oa.open.url", "payload": {"url": LINK}}
    ]
    assert fake.calls == [OA_PATH] and fake.violations == []


def test_cs_reaches_recent_users_and_says_what_the_officer_must_do(
    fake: FakeZalo, tokens: Path
) -> None:
    url = url_for(fake, tokens, "zalooa", USER, type="cs")
    with pytest.raises(DeliveryError, match="quan tâm") as caught:
        zalo.deliver(url, MESSAGE)
    assert caught.value.permanent and "-230" in str(caught.value)
    fake.recent_users.add(USER)
    zalo.deliver(url, MESSAGE)
    assert fake.messages[0]["message"] == {"text": MESSAGE.short}
    assert fake.calls == [OA_CS_PATH, OA_CS_PATH] and fake.violations == []


# -- failure classes -------------------------------------------------------------------

FAILURES = [
    # (schema, recipient, extra URL params, permanent, retry_after)
    ("zalooa", special_user(-139), {}, True, None),
    ("zalooa", special_user(-141), {}, True, None),
    ("zalooa", special_user(-118), {}, True, None),
    ("zalooa", special_user(-201), {}, True, None),
    ("zalooa", special_user(-213), {}, True, None),
    ("zalooa", special_user(-999999), {}, True, None),  # unknown: a failure with its code
    ("zalooa", special_user(-32), {}, False, 60.0),
    ("zalooa", special_user(429), {}, False, 7.0),
    ("zalooa", special_user(500), {}, False, None),
    ("zalooa", special_user(999), {}, False, None),
    ("zns", special_phone(-108), {}, True, None),
    ("zns", special_phone(-118), {}, True, None),
    ("zns", special_phone(-139), {}, True, None),
    ("zns", special_phone(-141), {}, True, None),
    ("zns", special_phone(-201), {}, True, None),
    ("zns", special_phone(-32), {}, False, 60.0),
    ("zns", special_phone(429), {}, False, 7.0),
    ("zns", special_phone(500), {}, False, None),
    ("zns", special_phone(999), {}, False, None),
    ("zns", "84912345678", {"template": "unapproved"}, True, None),
]


@pytest.mark.parametrize(("schema", "recipient", "params", "permanent", "retry_after"), FAILURES)
def test_deliver_failure_classes(
    fake: FakeZalo,
    tokens: Path,
    schema: str,
    recipient: str,
    params: dict[str, str],
    permanent: bool,
    retry_after: float | None,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        zalo.deliver(url_for(fake, tokens, schema, recipient, **params), MESSAGE)
    assert (caught.value.permanent, caught.value.retry_after) == (permanent, retry_after)
    assert not isinstance(caught.value, ChannelFault)
    assert_no_secret(str(caught.value), tokens)
    assert fake.messages == [] and fake.refresh_calls == 0 and fake.violations == []


@pytest.mark.parametrize(
    ("local_time", "seconds"),
    [("2026-12-07T23:30:00+07:00", 1800 + 60), ("2026-12-07T00:00:00+07:00", 86400 + 60)],
)
@pytest.mark.parametrize("code", [-144, -147])
def test_daily_quota_waits_until_local_midnight(
    fake: FakeZalo, tokens: Path, code: int, local_time: str, seconds: float
) -> None:
    from models.clock import frozen, parse_moment

    with frozen(parse_moment(local_time)), pytest.raises(DeliveryError) as caught:
        zalo.deliver(url_for(fake, tokens, "zns", special_phone(code)), MESSAGE)
    assert not caught.value.permanent and caught.value.retry_after == seconds


def test_out_of_balance_holds_the_channel(fake: FakeZalo, tokens: Path) -> None:
    with pytest.raises(ChannelFault, match="-115"):
        zalo.deliver(url_for(fake, tokens, "zns", special_phone(-115)), MESSAGE)


def _response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


ANSWERS = [
    # (HTTP answer, expected: "ok" | "refresh" | (permanent, retry_after))
    (_response(200, {"error": 0, "message": "Success", "data": {}}), "ok"),
    (_response(200, {"error": -216, "message": "Access token is invalid"}), "refresh"),
    (_response(200, {"error": -124, "message": "Access token is invalid"}), "refresh"),
    (_response(401, {"error": -216}), "refresh"),
    (_response(401, b"Unauthorized"), "refresh"),
    (_response(200, {"error": -131, "message": "x"}), (True, None)),
    (_response(200, {"error": -1122, "message": "x"}), (True, None)),
    (_response(200, {"error": -99999, "message": "new code"}), (True, None)),
    (_response(200, {"error": "weird"}), (True, None)),
    (_response(429, b"", **{"Retry-After": "12"}), (False, 12.0)),
    (_response(429, b""), (False, 60.0)),
    (_response(503, {"error": 0}), (False, None)),
    (_response(408, b""), (False, None)),
    (_response(404, {"error": 0}), (True, None)),
    (_response(200, [1, 2]), (False, None)),
    (_response(200, b"<html>"), (False, None)),
]


@pytest.mark.parametrize(("response", "expected"), ANSWERS)
def test_check_answer_table(response: httpx.Response, expected: Any) -> None:
    if expected == "ok":
        assert check_answer(response)["error"] == 0
        return
    with pytest.raises((DeliveryError, TokenRejected)) as caught:
        check_answer(response)
    if expected == "refresh":
        assert isinstance(caught.value, TokenRejected)
    else:
        assert isinstance(caught.value, DeliveryError)
        assert (caught.value.permanent, caught.value.retry_after) == expected


@pytest.mark.parametrize("option", ["timeout", "rto"])  # rto: Apprise's read timeout
def test_timeout_is_transient_and_bounded(fake: FakeZalo, tokens: Path, option: str) -> None:
    started = time.monotonic()
    url = url_for(fake, tokens, "zalooa", special_user(998), **{option: "0.5"})
    with pytest.raises(DeliveryError) as caught:
        zalo.deliver(url, MESSAGE)
    assert not caught.value.permanent
    assert time.monotonic() - started < 20  # the fake would answer after 60 s


def test_connection_refused_is_transient(tokens: Path) -> None:
    with FakeZalo(lifetime=10) as fake, refusing_port() as port:
        # The API and OAuth hosts on a port bound and never listening: refused, and (unlike
        # a stopped fake's released port) no other process can answer there meanwhile.
        live, dead = quote(fake.base_url, safe=""), quote(f"http://127.0.0.1:{port}", safe="")
        dead_url = url_for(fake, tokens, "zalooa", "8421").replace(live, dead)
        assert dead_url.count(dead) == 2
        with pytest.raises(DeliveryError) as caught:
            zalo.deliver(dead_url, MESSAGE)
    assert not caught.value.permanent


def test_no_stored_tokens_holds_the_channel(fake: FakeZalo, tmp_path: Path) -> None:
    with pytest.raises(ChannelFault, match="hanbaocao zalo authorize --oa 4321") as caught:
        zalo.deliver(url_for(fake, tmp_path / "empty.json", "zalooa", "8421"), MESSAGE)
    assert not caught.value.permanent


# -- tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("token_error", ["code", "http401"])
@pytest.mark.parametrize(
    ("schema", "recipient", "path"), [("zalooa", "8421", OA_PATH), ("zns", "84912345678", ZNS_PATH)]
)
def test_rejected_token_is_refreshed_stored_and_retried_once(
    fake: FakeZalo, tokens: Path, token_error: str, schema: str, recipient: str, path: str
) -> None:
    fake.token_error = token_error
    old = FileTokenStore(tokens).get(OA_ID)
    fake.expire_access_tokens()
    zalo.deliver(url_for(fake, tokens, schema, recipient), MESSAGE)
    new = FileTokenStore(tokens).get(OA_ID)
    assert old is not None and new is not None
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert fake.refresh_calls == 1
    assert fake.calls.count(path) == 2 and len(fake.messages) == 1
    assert tokens.stat().st_mode & 0o777 == 0o600


def test_expired_pair_is_refreshed_before_sending(fake: FakeZalo, tokens: Path) -> None:
    store = FileTokenStore(tokens)
    pair = store.get(OA_ID)
    assert pair is not None
    store.put(OA_ID, TokenPair(pair.access_token, pair.refresh_token, time.time() - 1))
    zalo.deliver(url_for(fake, tokens, "zalooa", "8421"), MESSAGE)
    assert fake.refresh_calls == 1 and fake.calls.count(OA_PATH) == 1  # no wasted call


class StaleReader(FileTokenStore):
    """A process that read the pair just before another one refreshed it."""

    def __init__(self, path: Path, stale: TokenPair) -> None:
        super().__init__(path)
        self.stale = stale

    def get(self, key: str) -> TokenPair | None:
        return self.stale


def test_pair_refreshed_by_another_process_is_used_without_refreshing(
    fake: FakeZalo, tokens: Path
) -> None:
    stale = FileTokenStore(tokens).get(OA_ID)
    assert stale is not None
    fake.expire_access_tokens()
    newer = pair_from_answer(fake.issue_pair())
    FileTokenStore(tokens).put(OA_ID, newer)  # the other process's refresh
    zalo.deliver(url_for(fake, tokens, "zalooa", "8421"), MESSAGE, store=StaleReader(tokens, stale))
    assert fake.refresh_calls == 0 and len(fake.messages) == 1
    assert FileTokenStore(tokens).get(OA_ID) == newer


def test_store_refresh_skips_refresher_when_file_is_newer(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.put(OA_ID, TokenPair("new-access", "new-refresh", time.time() + 1000))

    def must_not_run(old: TokenPair) -> TokenPair:
        raise AssertionError("refreshed twice")

    assert store.refresh(OA_ID, "old-access", must_not_run).access_token == "new-access"


def test_spent_refresh_token_asks_to_reauthorise(fake: FakeZalo, tokens: Path) -> None:
    pair = FileTokenStore(tokens).get(OA_ID)
    assert pair is not None
    # Someone spent our refresh token without storing the result.
    httpx.post(
        fake.base_url + OAUTH_PATH,
        data={"refresh_token": pair.refresh_token, "app_id": APP_ID, "grant_type": "refresh_token"},
        headers={"secret_key": SECRET},
    )
    fake.expire_access_tokens()
    with pytest.raises(ChannelFault, match="hanbaocao zalo authorize") as caught:
        zalo.deliver(url_for(fake, tokens, "zns", "84912345678"), MESSAGE)
    assert "-14014" in str(caught.value)
    assert_no_secret(str(caught.value), tokens)
    assert FileTokenStore(tokens).get(OA_ID) == pair  # nothing half-written


def test_threads_with_separate_stores_refresh_once(tokens: Path) -> None:
    with FakeZalo(app_id=APP_ID, secret_key=SECRET, refresh_delay=0.3, lifetime=60) as fake:
        FileTokenStore(tokens).put(OA_ID, pair_from_answer(fake.issue_pair()))
        fake.expire_access_tokens()
        url = url_for(fake, tokens, "zalooa", "8421")
        barrier, errors = threading.Barrier(4), []

        def worker() -> None:
            barrier.wait()
            try:
                zalo.deliver(url, MESSAGE, store=FileTokenStore(tokens))
            except DeliveryError as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert errors == []
        assert fake.refresh_calls == 1 and len(fake.messages) == 4


def _deliver_in_child(url: str, start: Any, results: Any) -> None:
    start.wait(10)
    try:
        zalo.deliver(url, MESSAGE)
        results.put("ok")
    except DeliveryError as exc:
        results.put(repr(exc))


def test_processes_refresh_once(tokens: Path) -> None:
    with FakeZalo(app_id=APP_ID, secret_key=SECRET, refresh_delay=0.3, lifetime=60) as fake:
        FileTokenStore(tokens).put(OA_ID, pair_from_answer(fake.issue_pair()))
        fake.expire_access_tokens()
        url = url_for(fake, tokens, "zns", "84912345678")
        context = multiprocessing.get_context("spawn")
        start, results = context.Event(), context.Queue()
        children = [
            context.Process(target=_deliver_in_child, args=(url, start, results)) for _ in range(3)
        ]
        for child in children:
            child.start()
        start.set()
        outcomes = [results.get(timeout=30) for _ in children]
        for child in children:
            child.join(timeout=10)
        assert outcomes == ["ok"] * 3
        assert fake.refresh_calls == 1 and len(fake.messages) == 3


# -- URLs ------------------------------------------------------------------------------

URLS = [
    f"zalooa://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/8421",
    f"zalooa://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/8421?api=http://127.0.0.1:9&timeout=3",
    f"zns://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/0912345678?template=77",
    f"zns://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/84912345678?template=77&oauth=http://127.0.0.1:9&tokens=/x/t.json",
]


@pytest.mark.parametrize("url", URLS)
def test_privacy_and_round_trip(url: str) -> None:
    plugin = zalo.plugin_for(url)
    masked = plugin.url(privacy=True)
    assert "****" in masked
    assert_no_secret(masked)
    assert zalo.ZaloTransport().mask(url) == masked
    full = plugin.url(privacy=False)
    again = zalo.plugin_for(full)
    assert again.url(privacy=False) == full
    assert (again.secret_key, again.target, again.oa_id) == (SECRET, plugin.target, OA_ID)
    zalo.register()
    instance = apprise.Apprise.instantiate(full)
    assert instance is not None and instance.url() == full


def test_defaults_are_the_real_hosts() -> None:
    oa = zalo.plugin_for(URLS[0])
    zns = zalo.plugin_for(URLS[2])
    assert (oa.api, zns.api) == ("https://openapi.zalo.me", "https://business.openapi.zalo.me")
    assert oa.oauth == "https://oauth.zaloapp.com" and oa.http_timeout == 10.0


BAD_URLS = [
    f"zns://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/12345?template=77",  # not a phone
    f"zns://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/84912345678",  # no template
    f"zalooa://{APP_ID}@{OA_ID}/8421",  # no secret
    f"zalooa://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/",  # no recipient
    f"zalooa://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/8421?timeout=abc",
    f"zalooa://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/8421?api=ftp://x",
    f"zalo://{APP_ID}:{quote(SECRET, safe='')}@{OA_ID}/8421",  # the Bot API schema: not ours
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_invalid_urls_are_permanent_and_masked(url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        zalo.deliver(url, MESSAGE)
    assert caught.value.permanent
    assert_no_secret(str(caught.value))
    assert_no_secret(zalo.ZaloTransport().mask(url))
    zalo.register()
    assert apprise.Apprise.instantiate(url) is None


# -- Apprise ---------------------------------------------------------------------------


def test_register_is_idempotent_and_leaves_zalo_alone() -> None:
    zalo.register()
    zalo.register()
    from apprise.plugins import N_MGR

    assert N_MGR["zalooa"] is zalo.NotifyZaloOA and N_MGR["zns"] is zalo.NotifyZNS
    assert "zalo" not in N_MGR or N_MGR["zalo"] not in zalo.PLUGINS.values()


APPRISE_ROWS = [
    # (schema, recipient, expected notify() result)
    ("zalooa", "8421", True),
    ("zns", "84912345678", True),
    ("zalooa", special_user(-139), False),
    ("zalooa", special_user(999), False),
    ("zns", special_phone(-108), False),
    ("zns", special_phone(-32), False),
]


@pytest.mark.parametrize(("schema", "recipient", "expected"), APPRISE_ROWS)
def test_through_apprise(
    fake: FakeZalo, tokens: Path, schema: str, recipient: str, expected: bool
) -> None:
    zalo.register()
    notifier = apprise.Apprise()
    assert notifier.add(url_for(fake, tokens, schema, recipient))
    # ZNS takes the template's fields, as a JSON object in the body.
    body = json.dumps(FIELDS, ensure_ascii=False) if schema == "zns" else MESSAGE.short
    assert notifier.notify(body=body, title=MESSAGE.subject) is expected
    assert len(fake.messages) == int(expected) and fake.violations == []
    if expected and schema == "zalooa":
        header, text = fake.messages[0]["message"]["attachment"]["payload"]["elements"]
        assert (header["content"], text["content"]) == (MESSAGE.subject, MESSAGE.short)
    if expected and schema == "zns":
        assert fake.messages[0]["template_data"] == ZNS_DATA


def test_apprise_cs_text_has_no_carriage_return(fake: FakeZalo, tokens: Path) -> None:
    zalo.register()
    fake.recent_users.add("8421")
    notifier = apprise.Apprise()
    assert notifier.add(url_for(fake, tokens, "zalooa", "8421", type="cs"))
    assert notifier.notify(body="dòng 1\r\ndòng 2", title=MESSAGE.subject) is True
    assert fake.messages[0]["message"]["text"] == f"{MESSAGE.subject}\ndòng 1\ndòng 2"
    assert fake.violations == []


def test_apprise_zns_needs_the_fields(fake: FakeZalo, tokens: Path) -> None:
    zalo.register()
    notifier = apprise.Apprise()
    assert notifier.add(url_for(fake, tokens, "zns", "84912345678"))
    assert notifier.notify(body="free text", title="t") is False
    assert fake.calls == []  # refused before any request


def test_apprise_refreshes_expired_token(fake: FakeZalo, tokens: Path) -> None:
    zalo.register()
    fake.expire_access_tokens()
    notifier = apprise.Apprise()
    assert notifier.add(url_for(fake, tokens, "zalooa", "8421"))
    assert notifier.notify(body="Xin chào") is True
    assert fake.refresh_calls == 1


def test_transport_shares_one_client(fake: FakeZalo, tokens: Path) -> None:
    transport = zalo.ZaloTransport()
    try:
        transport.send(url_for(fake, tokens, "zalooa", "8421"), MESSAGE)
        transport.send(url_for(fake, tokens, "zns", "84912345678"), MESSAGE)
    finally:
        transport.close()
    assert [m["schema"] for m in fake.messages] == ["zalooa", "zns"]
    assert transport.channel == "zalo"


# -- truncation ------------------------------------------------------------------------

FIT = [
    # (text, limit, expected)
    ("ngắn", 10, "ngắn"),
    ("x" * 10, 10, "x" * 10),
    ("một hai ba bốn năm", 10, "một hai…"),
    ("mộthaibabốnnăm", 10, "mộthaibab…"),  # no space late enough: cut mid-word
    ("a bcdefghijklmnop", 10, "a bcdefgh…"),  # the only space is too far back
]


@pytest.mark.parametrize(("text", "limit", "expected"), FIT)
def test_fit_text(text: str, limit: int, expected: str) -> None:
    assert zalo.fit_text(text, limit) == expected
    assert len(zalo.fit_text(text, limit)) <= limit


def test_long_text_is_cut_at_a_word_before_sending(fake: FakeZalo, tokens: Path) -> None:
    long = " ".join(["Báo cáo tình hình thực hiện nhiệm vụ"] * 120)
    assert len(long) > ZALO_TEXT_LIMIT
    message = Message(subject="", text="t", html="h", short=long)
    fake.recent_users.add("8421")
    zalo.deliver(url_for(fake, tokens, "zalooa", "8421", type="cs"), message)
    sent = fake.messages[0]["message"]["text"]
    assert len(sent) <= ZALO_TEXT_LIMIT and sent.endswith("…")
    kept = sent[:-1]
    assert long.startswith(kept) and long[len(kept)] == " "


# -- Apprise conventions ---------------------------------------------------------------

PLUGIN_DIR = Path(__file__).parents[2] / "notifications" / "apprise_plugins"


@pytest.mark.parametrize("schema", ["zalooa", "zns"])
def test_apprise_command_line_loads_the_plugin_with_p(
    fake: FakeZalo, tokens: Path, schema: str
) -> None:
    import subprocess
    import sys

    apprise_cli = Path(sys.executable).with_name("apprise")
    recipient = USER if schema == "zalooa" else "0912345678"
    body = MESSAGE.short if schema == "zalooa" else json.dumps(FIELDS, ensure_ascii=False)
    done = subprocess.run(
        [str(apprise_cli), "-P", str(PLUGIN_DIR), "-vv", "-t", MESSAGE.subject, "-b", body,
         url_for(fake, tokens, schema, recipient)],
        capture_output=True, text=True, timeout=60, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(fake.messages) == 1 and fake.violations == []
    assert_no_secret(done.stdout + done.stderr, tokens)


def test_apprise_yaml_config_with_named_fields(fake: FakeZalo, tokens: Path) -> None:
    zalo.register()
    config = apprise.AppriseConfig()
    yaml = f"""
urls:
  - zalooa://:
      app_id: {APP_ID}
      secret_key: "{SECRET}"
      oa_id: {OA_ID}
      target: "{USER}"
      api: {fake.base_url}
      oauth: {fake.base_url}
      tokens: {tokens}
      type: transaction
  - zns://:
      app_id: {APP_ID}
      secret_key: "{SECRET}"
      oa_id: {OA_ID}
      target: "0912345678"
      template: "1001"
      api: {fake.base_url}
      oauth: {fake.base_url}
      tokens: {tokens}
"""
    assert config.add_config(yaml, format="yaml")
    notifier = apprise.Apprise()
    notifier.add(config)
    servers = list(notifier)
    assert [type(s) for s in servers] == [zalo.NotifyZaloOA, zalo.NotifyZNS]
    assert servers[0].notify(body=MESSAGE.short, title=MESSAGE.subject)
    assert servers[1].notify(body=json.dumps(FIELDS, ensure_ascii=False), title="")
    assert [m["schema"] for m in fake.messages] == ["zalooa", "zns"]
    assert fake.violations == []


def test_tokens_have_no_map_to_and_template_is_a_token() -> None:
    for plugin in (zalo.NotifyZaloOA, zalo.NotifyZNS):
        for name, token in plugin.template_tokens.items():
            assert token.get("map_to", name) == name, name
    assert zalo.NotifyZNS.template_tokens["template"]["required"]
    assert zalo.NotifyZNS.template_args["template"] == {"alias_of": "template"}


def test_cto_rto_and_verify_are_honoured(fake: FakeZalo, tokens: Path) -> None:
    plugin = zalo.plugin_for(url_for(fake, tokens, "zalooa", USER, cto="2.5", rto="7"))
    assert (plugin.timeouts.connect, plugin.timeouts.read) == (2.5, 7.0)
    assert plugin.verify_certificate is True
    unverified = zalo.plugin_for(url_for(fake, tokens, "zalooa", USER, verify="no"))
    assert unverified.verify_certificate is False
    assert "verify=no" in unverified.url()


def test_refresh_timeout_is_longer_than_a_send(fake: FakeZalo, tokens: Path) -> None:
    from notifications.zalo_tokens import refresh_timeout

    plugin = zalo.plugin_for(url_for(fake, tokens, "zalooa", USER, timeout="5"))
    assert refresh_timeout(plugin.http_timeout) == 30.0 > plugin.http_timeout
    assert refresh_timeout(20) == 60.0


def test_a_lost_refresh_answer_holds_the_channel(fake: FakeZalo, tokens: Path) -> None:
    fake.expire_access_tokens()
    fake.drop_refresh_answers = 1
    with pytest.raises(ChannelFault, match="mất câu trả lời"):
        zalo.deliver(url_for(fake, tokens, "zalooa", USER), MESSAGE)
    assert fake.messages == []
    # The spent token is useless now: the next refresh is refused, and says what to do.
    with pytest.raises(ChannelFault, match="hanbaocao zalo authorize"):
        zalo.deliver(url_for(fake, tokens, "zalooa", USER), MESSAGE)
    assert fake.refresh_refused == 1


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("0912345678", True),
        ("+84 35 123 4567", True),
        ("84(86)1234567", True),
        ("0212345678", False),  # a landline
        ("84951234567", False),  # 095: not a mobile prefix in use
        ("091234567", False),  # too short
    ],
)
def test_zns_takes_vietnamese_mobile_numbers_only(phone: str, ok: bool) -> None:
    assert (zalo.normalise_phone(phone) is not None) is ok
