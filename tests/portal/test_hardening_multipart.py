"""A multipart body that stops early — in the middle of the second file, right after a
complete first file, or without its closing boundary — is refused with 400 and nothing
is recorded (it used to be taken as a one-file upload). Issue 16."""

from __future__ import annotations

import pytest

from tests.portal.conftest import Harness, multipart, pdf_bytes


def _body(portal: Harness) -> tuple[bytes, str, str, bytes]:
    url = portal.url()
    first, second = pdf_bytes("Báo cáo 1"), pdf_bytes("Phụ lục 2") + b"x" * 4000
    body, content_type = multipart(
        [
            ("csrf", None, portal.csrf(url).encode()),
            ("files", "bao-cao.pdf", first),
            ("files", "phu-luc.pdf", second),
        ]
    )
    return body, content_type, url, second


def _cuts(body: bytes, second: bytes) -> dict[str, bytes]:
    inside_second = body.index(second) + len(second) // 2
    closing = body.rindex(b"\r\n--")
    return {
        "in the middle of the second file": body[:inside_second],
        "right after the second file's bytes": body[: body.index(second) + len(second)],
        "without the closing boundary": body[:closing],
        "closing boundary without its dashes": body[: body.rindex(b"--\r\n")] + b"\r\n",
    }


@pytest.mark.parametrize(
    "cut",
    [
        "in the middle of the second file",
        "right after the second file's bytes",
        "without the closing boundary",
        "closing boundary without its dashes",
    ],
)
def test_an_incomplete_body_is_refused_and_nothing_recorded(portal: Harness, cut: str) -> None:
    body, content_type, url, second = _body(portal)
    short = _cuts(body, second)[cut]
    response = portal.client.post(url, content=short, headers={"content-type": content_type})
    assert response.status_code == 400, (cut, response.status_code)
    assert "không đúng định dạng" in response.text
    assert portal.written() == (0, 0, [])
    assert portal.events == []


def test_the_complete_body_is_taken(portal: Harness) -> None:
    body, content_type, url, _ = _body(portal)
    response = portal.client.post(url, content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    assert portal.written()[:2] == (2, 1)
