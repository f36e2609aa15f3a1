"""Revoking personal links per agency or per cycle: links issued before the revocation
give the 403 page, links issued after it work; the CLI command. Issue 16."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session

from models.guards import revoke_links
from models.links import make_token
from tests.cli.conftest import cli_env, run_cli
from tests.portal.conftest import BEFORE_DUE, KEY, Harness


def _url(portal: Harness, purpose: str, issued: dt.datetime, **ids: int | None) -> str:
    cycle = ids.get("cycle_id", portal.seed.cycle_id if purpose != "agency" else None)
    token = make_token(
        purpose,
        cycle_id=cycle,
        agency_id=ids.get("agency_id", portal.seed.agency_id),
        expires=portal.seed.expires,
        key=KEY,
        issued=issued,
    )
    return f"/{purpose}/{token}"


def _revoke(portal: Harness, at: dt.datetime, **ids: int | None) -> None:
    with Session(portal.engine) as s:
        revoke_links(s, now=at, actor="test", **ids)
        s.commit()


def test_revoking_an_agency_refuses_its_older_links(portal: Harness) -> None:
    before, at, after = (BEFORE_DUE + dt.timedelta(minutes=m) for m in (-60, 0, 1))
    old_submit = _url(portal, "submit", before)
    old_agency = _url(portal, "agency", before)
    other = _url(portal, "submit", before, agency_id=portal.seed.other_agency_id)
    assert portal.client.get(old_submit).status_code == 200
    _revoke(portal, at, agency_id=portal.seed.agency_id)
    for url in (old_submit, old_agency, old_agency + "/calendar.ics", old_submit + "/receipt/1-1"):
        page = portal.client.get(url)
        assert page.status_code == 403, url
    assert "Đường dẫn không hợp lệ" in portal.client.get(old_submit).text
    refused = portal.upload(old_submit, [("bao-cao.pdf", b"%PDF-1.7\n")], csrf="1.x")
    assert refused.status_code == 403
    assert portal.client.get(other).status_code == 200  # another agency's link
    assert portal.client.get(_url(portal, "submit", after)).status_code == 200  # a new one
    assert portal.written() == (0, 0, [])


def test_revoking_a_cycle_refuses_every_agency_link_to_it(portal: Harness) -> None:
    before, at = BEFORE_DUE - dt.timedelta(hours=1), BEFORE_DUE
    mine = _url(portal, "submit", before)
    theirs = _url(portal, "submit", before, agency_id=portal.seed.other_agency_id)
    _revoke(portal, at, cycle_id=portal.seed.cycle_id)
    assert portal.client.get(mine).status_code == 403
    assert portal.client.get(theirs).status_code == 403
    for url in (mine, theirs):  # the upload too, before a byte of it is kept
        assert portal.upload(url, [("bao-cao.pdf", b"%PDF-1.7\n")], csrf="1.x").status_code == 403
    assert portal.written() == (0, 0, [])
    assert portal.client.get(_url(portal, "agency", before)).status_code == 200  # not per cycle


def test_a_link_without_an_issue_time_counts_as_old(portal: Harness) -> None:
    import base64
    import json

    from models.links import _sign

    claims = {"p": "submit", "c": portal.seed.cycle_id, "a": portal.seed.agency_id}
    claims["e"] = int(portal.seed.expires.timestamp())
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    url = f"/submit/{body}.{_sign(KEY, 'submit', body)}"
    assert portal.client.get(url).status_code == 200
    _revoke(portal, BEFORE_DUE, agency_id=portal.seed.agency_id)
    assert portal.client.get(url).status_code == 403


def test_the_cli_revokes_and_refuses_unknown_ids(tmp_path: Path) -> None:
    env = cli_env(tmp_path, HANBAOCAO_NOW="2026-12-01T09:00:00+07:00")
    assert run_cli(env, "db", "upgrade").returncode == 0
    assert run_cli(env, "agencies", "import").returncode == 0
    nothing = run_cli(env, "admin", "revoke-links")
    assert nothing.returncode == 2 and "--agency" in nothing.stderr
    unknown = run_cli(env, "admin", "revoke-links", "--cycle", "999")
    assert unknown.returncode == 2 and "không có kỳ báo cáo mã 999" in unknown.stderr
    done = run_cli(env, "admin", "revoke-links", "--agency", "1")
    assert done.returncode == 0, done.stderr
    assert "Đã thu hồi mọi đường dẫn của cơ quan mã 1" in done.stdout


def _minted(portal: Harness, agency_url: str) -> str:
    page = portal.client.get(agency_url)
    assert page.status_code == 200
    # The one open cycle's link, shown among the open cycles and the year's deadlines.
    links = {part.split('"', 1)[0] for part in page.text.split('href="/submit/')[1:]}
    assert len(links) == 1
    return f"/submit/{links.pop()}"


def test_a_revoked_cycle_covers_the_links_an_older_agency_page_makes(portal: Harness) -> None:
    before, at, after = (BEFORE_DUE + dt.timedelta(minutes=m) for m in (-60, 0, 1))
    older_page = _url(portal, "agency", before)
    assert portal.client.get(_minted(portal, older_page)).status_code == 200
    _revoke(portal, at, cycle_id=portal.seed.cycle_id)
    fresh = _minted(portal, older_page)  # made now, from an agency link issued before
    assert portal.client.get(fresh).status_code == 403
    refused = portal.upload(fresh, [("bao-cao.pdf", b"%PDF-1.7\n")], csrf="1.x")
    assert refused.status_code == 403
    newer_page = _url(portal, "agency", after)  # issued after the revocation: works again
    assert portal.client.get(_minted(portal, newer_page)).status_code == 200
    assert portal.written() == (0, 0, [])
