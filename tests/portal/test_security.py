"""Links that must not open anything, CSRF, uploads too large (stopped while streaming),
and the headers every response carries; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from portal.security import CSRF_HOURS, csrf_token
from portal.storage import BODY_OVERHEAD, MB
from tests.portal.conftest import (
    KEY,
    LIMIT_MB,
    Harness,
    Server,
    multipart,
    pdf_bytes,
)

CHUNK = 64 * 1024


def _tamper(url: str, **claims: Any) -> str:
    """The same signature over another payload: what a user editing the link gets."""
    import base64
    import json

    purpose, token = url.strip("/").split("/", 1)
    body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(claims)
    raw = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    return f"/{purpose}/{raw.rstrip(b'=').decode()}.{sig}"


def _bad_links(portal: Harness) -> dict[str, tuple[str, str]]:
    """name → (url, what the page says)."""
    seed = portal.seed
    invalid, expired = "Đường dẫn không hợp lệ", "Đường dẫn đã hết hạn"
    good = portal.url()
    return {
        "forged": (portal.url(key=b"someone-else's-key"), invalid),
        "expired": (portal.url(expires=dt.datetime(2026, 11, 30, tzinfo=dt.UTC)), expired),
        "other agency (edited)": (_tamper(good, a=seed.other_agency_id), invalid),
        "other cycle (edited)": (_tamper(good, c=seed.cycle_id + 1), invalid),
        "later expiry (edited)": (_tamper(good, e=4102444800), invalid),
        "agency link on /submit": (
            "/submit/" + portal.url("agency").split("/", 2)[2],
            invalid,
        ),
        "view link on /submit": ("/submit/" + portal.url("view").split("/", 2)[2], invalid),
        "signed, but not a submitter": (portal.url(agency_id=seed.outsider_id), invalid),
        "signed, no such cycle": (portal.url(cycle_id=999_999), invalid),
        "truncated": (good[:-5], invalid),
        "garbage": ("/submit/khong-phai-duong-dan", invalid),
        "non-ascii": ("/submit/" + good.split("/", 2)[2][:-1] + "é", invalid),
        "dots": ("/submit/..%2F..%2Fetc%2Fpasswd", invalid),
    }


def test_bad_links_get_a_clear_403_and_write_nothing(portal: Harness) -> None:
    for name, (url, says) in _bad_links(portal).items():
        page = portal.client.get(url)
        assert page.status_code in (403, 404), name
        if page.status_code == 403:
            assert says in page.text, name
            assert "Văn phòng UBND tỉnh" in page.text
            assert page.headers["cache-control"] == "no-store"
        posted = portal.upload(url, [("bao-cao.pdf", pdf_bytes())], csrf="1.x")
        assert posted.status_code in (403, 404), name
        receipt = portal.client.get(url + "/receipt/1-1")
        assert receipt.status_code in (403, 404), name
    assert portal.written() == (0, 0, [])
    assert portal.events == []


def test_every_refusal_is_403_for_links_that_reach_the_routes(portal: Harness) -> None:
    for name, (url, _) in _bad_links(portal).items():
        if name == "dots":  # an encoded slash is another path: the router's 404
            continue
        assert portal.client.get(url).status_code == 403, name


def test_agency_pages_refuse_submit_links_and_forgeries(portal: Harness) -> None:
    submit_token = portal.url().split("/", 2)[2]
    for url in (
        f"/agency/{submit_token}",
        f"/agency/{submit_token}/calendar.ics",
        portal.url("agency", key=b"forged"),
        portal.url("agency", key=b"forged") + "/calendar.ics",
        portal.url("agency", expires=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    ):
        assert portal.client.get(url).status_code == 403, url


def test_the_link_is_checked_before_the_body_is_read(portal: Harness) -> None:
    consumed = asyncio.run(_post_streaming(portal, "/submit/forged.token", chunks=10_000))
    assert consumed["status"] == 403
    assert consumed["chunks"] == 0


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "csrf",
    [None, "", "1.abc", "not-a-token", "９９.abc"],
    ids=["missing", "empty", "wrong", "garbage", "unicode digits"],
)
def test_missing_or_invalid_csrf_is_refused(portal: Harness, csrf: str | None) -> None:
    refused = portal.upload(portal.url(), [("bao-cao.pdf", pdf_bytes())], csrf=csrf)
    assert refused.status_code == 403
    assert "tải lại trang" in refused.text
    assert portal.written() == (0, 0, [])


def test_csrf_is_bound_to_the_link_and_to_time(portal: Harness) -> None:
    now = portal.clock()
    other_link = portal.url(agency_id=portal.seed.other_agency_id)
    of_other_link = csrf_token(KEY, other_link.split("/", 2)[2], now=now)
    assert (
        portal.upload(portal.url(), [("a.pdf", pdf_bytes())], csrf=of_other_link).status_code == 403
    )

    stale = csrf_token(KEY, portal.url().split("/", 2)[2], now=now - dt.timedelta(hours=CSRF_HOURS))
    assert portal.upload(portal.url(), [("a.pdf", pdf_bytes())], csrf=stale).status_code == 403

    recent = csrf_token(
        KEY, portal.url().split("/", 2)[2], now=now - dt.timedelta(hours=CSRF_HOURS - 1)
    )
    assert portal.upload(portal.url(), [("a.pdf", pdf_bytes())], csrf=recent).status_code == 200
    assert portal.written()[0] == 1


def test_csrf_after_the_file_is_refused_before_the_file_is_kept(portal: Harness) -> None:
    url = portal.url()
    token = portal.csrf(url)
    body, content_type = multipart(
        [("files", "a.pdf", pdf_bytes()), ("csrf", None, token.encode())]
    )
    refused = portal.client.post(url, content=body, headers={"content-type": content_type})
    assert refused.status_code == 403
    assert portal.written() == (0, 0, [])


def test_not_a_multipart_form_is_refused(portal: Harness) -> None:
    refused = portal.client.post(portal.url(), data={"csrf": portal.csrf(portal.url())})
    assert refused.status_code == 400
    assert portal.written() == (0, 0, [])


# --- size -----------------------------------------------------------------------------------


async def _post_streaming(
    portal: Harness,
    path: str,
    *,
    chunks: int,
    csrf: str = "",
    content_length: int | None = None,
    disconnect_after: int | None = None,
) -> dict[str, Any]:
    """POST straight into the ASGI app, one body chunk per ``receive()``, counting how
    many chunks the app asked for: a PDF of ``chunks`` x 64 KiB that is never built."""
    head, content_type = multipart([("csrf", None, csrf.encode())])
    boundary = content_type.split("boundary=")[1]
    head = head[: -len(f"--{boundary}--\r\n")]
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="lon.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(chunks):
            yield b"\x00" * CHUNK

    pieces = body()
    seen = {"chunks": 0, "bytes": 0, "status": None}
    headers = [(b"host", b"portal.test"), (b"content-type", content_type.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))

    async def receive() -> dict[str, Any]:
        if disconnect_after is not None and seen["chunks"] >= disconnect_after:
            return {"type": "http.disconnect"}
        piece = next(pieces, None)
        if piece is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        if piece is not head:
            seen["chunks"] += 1
        seen["bytes"] += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("portal.test", 80),
    }
    await portal.app(scope, receive, send)
    return seen


def test_oversize_upload_is_stopped_at_the_limit_without_reading_the_rest(portal: Harness) -> None:
    url = portal.url()
    limit = LIMIT_MB * MB
    total_chunks = 16 * 1024  # a 1 GiB body, were it read
    seen = asyncio.run(_post_streaming(portal, url, chunks=total_chunks, csrf=portal.csrf(url)))
    assert seen["status"] == 413
    assert seen["bytes"] <= limit + BODY_OVERHEAD + CHUNK
    assert seen["chunks"] < total_chunks / 100
    assert portal.written() == (0, 0, [])


def test_a_declared_oversize_body_is_refused_before_reading(portal: Harness) -> None:
    url = portal.url()
    seen = asyncio.run(
        _post_streaming(portal, url, chunks=100, csrf=portal.csrf(url), content_length=10 * MB)
    )
    assert (seen["status"], seen["chunks"]) == (413, 0)
    page = portal.upload(url, [("lon.pdf", b"%PDF-" + b"\x00" * (LIMIT_MB * MB))])
    assert page.status_code == 413 and "vượt quá dung lượng cho phép (1 MB" in page.text
    assert portal.written() == (0, 0, [])


def test_a_bad_csrf_stops_the_stream_at_the_first_file(portal: Harness) -> None:
    seen = asyncio.run(_post_streaming(portal, portal.url(), chunks=16 * 1024, csrf="1.forged"))
    assert seen["status"] == 403
    assert seen["chunks"] <= 1
    assert portal.written() == (0, 0, [])


def test_a_client_that_goes_away_mid_upload_leaves_nothing(portal: Harness) -> None:
    url = portal.url()
    seen = asyncio.run(
        _post_streaming(portal, url, chunks=100, csrf=portal.csrf(url), disconnect_after=3)
    )
    assert seen["status"] == 400 and seen["chunks"] == 3
    assert portal.written() == (0, 0, [])


def test_just_under_the_limit_is_taken(portal: Harness) -> None:
    data = b"%PDF-1.7\n" + b"\x00" * (LIMIT_MB * MB - 9)
    assert len(data) == LIMIT_MB * MB
    assert portal.upload(portal.url(), [("vua-du.pdf", data)]).status_code == 200


def test_oversize_over_a_real_socket(portal: Harness, live: Server) -> None:
    """uvicorn on loopback, a chunked body from a generator: the server answers 413 and
    the client is never asked for the whole gigabyte."""
    url = portal.url()
    token = portal.csrf(url)
    head, content_type = multipart([("csrf", None, token.encode())])
    boundary = content_type.split("boundary=")[1]
    head = (
        head[: -len(f"--{boundary}--\r\n")]
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n'
            "%PDF-1.7\n"
        ).encode()
    )
    sent = {"chunks": 0}
    total = 16 * 1024

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(total):
            sent["chunks"] += 1
            yield b"\x00" * CHUNK

    with httpx.Client(base_url=live.base, timeout=30) as client:
        try:
            reply = client.post(url, content=body(), headers={"content-type": content_type})
            assert reply.status_code == 413
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server hung up on the rest of the body: also a refusal
    assert sent["chunks"] < total / 4
    assert portal.written() == (0, 0, [])


# --- headers --------------------------------------------------------------------------------


def _assert_headers(response: httpx.Response, *, cacheable: bool = False) -> None:
    h = response.headers
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-frame-options"] == "DENY"
    if cacheable:
        assert "no-store" not in h["cache-control"]
    else:
        assert h["cache-control"] == "no-store"


def test_security_headers_on_every_response(portal: Harness) -> None:
    url = portal.url()
    responses = {
        "page": portal.client.get(url),
        "agency": portal.client.get(portal.url("agency")),
        "ics": portal.client.get(portal.url("agency") + "/calendar.ics"),
        "403": portal.client.get("/submit/forged.token"),
        "404": portal.client.get("/nowhere"),
        "405": portal.client.put(url),
        "415": portal.upload(url, [("x.pdf", b"MZ")]),
        "303": portal.upload(url, [("a.pdf", pdf_bytes())], follow=False),
    }
    responses["receipt"] = portal.client.get(responses["303"].headers["location"])
    for name, response in responses.items():
        assert response.status_code < 500, name
        _assert_headers(response)
    _assert_headers(portal.client.get("/static/portal.css"), cacheable=True)


def test_templates_carry_no_inline_script_or_style(portal: Harness) -> None:
    html = portal.client.get(portal.url()).text + portal.client.get(portal.url("agency")).text
    assert "<script" not in html and "style=" not in html and "<style" not in html


def test_a_crash_is_a_vietnamese_500_with_headers(
    portal: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("portal.submit._submit_view", boom)
    page = portal.client.get(portal.url())
    assert page.status_code == 500 and "Hệ thống gặp sự cố" in page.text
    _assert_headers(page)
