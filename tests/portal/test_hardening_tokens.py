"""Tokens signed with the real key but carrying claims this program never writes (huge
numbers, lists, objects, strings where numbers belong): a 403 link page or no session,
never a 500. Issue 16."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from models.links import BadLink, _sign, read_token
from tests.portal.conftest import KEY, Harness

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
HUGE = 10**30


def _signed(purpose: str, claims: Any) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{body}.{_sign(KEY, purpose, body)}"


def _odd(seed_cycle: int, seed_agency: int) -> dict[str, Any]:
    good_e = 4102444800
    return {
        "huge expiry": {"p": "submit", "c": seed_cycle, "a": seed_agency, "e": HUGE},
        "negative huge expiry": {"p": "submit", "c": seed_cycle, "a": seed_agency, "e": -HUGE},
        "float expiry": {"p": "submit", "c": seed_cycle, "a": seed_agency, "e": 1e300},
        "list cycle": {"p": "submit", "c": [seed_cycle], "a": seed_agency, "e": good_e},
        "list agency": {"p": "submit", "c": seed_cycle, "a": [seed_agency], "e": good_e},
        "huge cycle": {"p": "submit", "c": HUGE, "a": seed_agency, "e": good_e},
        "huge agency": {"p": "submit", "c": seed_cycle, "a": HUGE, "e": good_e},
        "64-bit agency": {"p": "submit", "c": seed_cycle, "a": 2**40, "e": good_e},
        "object agency": {"p": "submit", "c": seed_cycle, "a": {"x": 1}, "e": good_e},
        "string cycle": {"p": "submit", "c": str(seed_cycle), "a": seed_agency, "e": good_e},
        "bool agency": {"p": "submit", "c": seed_cycle, "a": True, "e": good_e},
        "list purpose": {"p": ["submit"], "c": seed_cycle, "a": seed_agency, "e": good_e},
        "list payload": [seed_cycle, seed_agency],
        "number payload": 12,
        "missing expiry": {"p": "submit", "c": seed_cycle, "a": seed_agency},
    }


def test_odd_claims_in_signed_links_are_refused_with_403(portal: Harness) -> None:
    seed = portal.seed
    for name, claims in _odd(seed.cycle_id, seed.agency_id).items():
        for purpose, suffix in (
            ("submit", ""),
            ("submit", "/receipt/1-1"),
            ("agency", ""),
            ("agency", "/calendar.ics"),
            ("view", ""),
        ):
            if isinstance(claims, dict):
                claims = {**claims, "p": purpose} if claims.get("p") == "submit" else claims
            url = f"/{purpose}/{_signed(purpose, claims)}{suffix}"
            page = portal.client.get(url)
            assert page.status_code == 403, (name, purpose, suffix, page.status_code)
            assert "Đường dẫn" in page.text
    assert portal.written() == (0, 0, [])


@pytest.mark.parametrize("e", [HUGE, -HUGE, 1e300, [1], "soon", None, True])
def test_read_token_refuses_odd_expiries(e: Any) -> None:
    token = _signed("submit", {"p": "submit", "c": 1, "a": 2, "e": e})
    with pytest.raises(BadLink):
        read_token(token, purpose="submit", now=NOW, key=KEY)
