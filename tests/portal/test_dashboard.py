"""The administrators' dashboard through FastAPI's TestClient, on the seeds' four cycles
(tests/models/test_compliance.py builds them): the login (required, refused, throttled,
CSRF, cookies, no default password outside development), the matrix page, its filters,
its .xlsx/.csv exports, the links to Prefect, and `hanbaocao admin set-password`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from models.agency import Agency
from models.compliance import Column
from models.db import make_engine
from models.guards import AdminSession, LoginThrottle
from models.schema import create_schema
from portal.auth import (
    AdminAuth,
    AdminSettings,
    credentials_path,
    hash_password,
    save_credentials,
    verify_password,
)
from portal.dashboard import (
    PrefectRuns,
    PrefectSettings,
    column_headers,
    content_disposition,
    dashboard_router,
)
from portal.security import csrf_token
from tests.cli.conftest import cli_env, run_cli
from tests.models.test_compliance import NOW, Scenario, build_scenario

KEY = b"k" * 32
USER, PASSWORD = "vanphong", "mật khẩu đủ dài 2026"


@dataclass(frozen=True, slots=True)
class World:
    engine: Engine
    s: Scenario
    names: dict[int, str]  # agency id → name


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One SQLite database with the seeds' cycles for the whole module (read only)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'dash.db'}")
    create_schema(engine)
    with Session(engine, expire_on_commit=False) as session:
        s = build_scenario(session)
        names = {a.id: a.name for a in session.exec(select(Agency)) if a.id is not None}
    yield World(engine, s, names)
    engine.dispose()


@pytest.fixture(autouse=True)
def _no_login_state_between_tests(world: World) -> Iterator[None]:
    """The module shares one database: one test's sessions and failed logins (the
    throttle lives in the database) must not carry over into the next."""
    yield
    with Session(world.engine) as session:
        session.exec(delete(LoginThrottle))
        session.exec(delete(AdminSession))
        session.commit()


class Prefect:
    """The outermost network call: the Prefect API's flow-run filter, answered locally."""

    def __init__(self, runs: list[dict[str, Any]] | None = None, *, down: bool = False) -> None:
        self.runs = runs or []
        self.down = down
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(json.loads(request.content))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == "/api/flow_runs/filter"
        names = set(self.calls[-1]["flow_runs"]["name"]["any_"])
        return httpx.Response(200, json=[r for r in self.runs if r["name"] in names])


PREFECT_UI = "http://prefect.example.invalid:4200"


def make_app(
    world: World,
    data_dir: Path,
    *,
    prefect: Prefect | None = None,
    announce: list[str] | None = None,
    **settings: Any,
) -> FastAPI:
    auth = AdminAuth(
        AdminSettings(**settings),
        data_dir=data_dir,
        key=KEY,
        announce=(announce.append if announce is not None else None),
    )
    runs = PrefectRuns(
        PrefectSettings(prefect_ui_url=PREFECT_UI),
        transport=httpx.MockTransport(prefect or Prefect()),
    )
    app = FastAPI()
    app.include_router(
        dashboard_router(engine=world.engine, auth=auth, prefect=runs, clock=lambda: NOW)
    )
    return app


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with one administrator, as `hanbaocao admin set-password` leaves it."""
    save_credentials(credentials_path(tmp_path), USER, hash_password(PASSWORD))
    return tmp_path


@pytest.fixture
def client(world: World, data_dir: Path) -> TestClient:
    return TestClient(make_app(world, data_dir), follow_redirects=False)


def csrf_of(client: TestClient, path: str = "/admin/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def login(
    client: TestClient, user: str = USER, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    form = {"csrf": csrf_of(client), "user": user, "password": password, **extra}
    response: httpx.Response = client.post("/admin/login", data=form)
    return response


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    assert login(client).status_code == 303
    return client


# == reading the page ============================================================================


class MatrixTable(HTMLParser):
    """The matrix table as rows: agency name → the class of each cycle cell; and the cycle
    columns' header texts and links."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.headers: list[str] = []
        self.links: list[list[str]] = []
        self._in_matrix = False
        self._where: str | None = None
        self._row: list[str] | None = None
        self._name: list[str] = []
        self._header: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "table" and "dash-matrix" in classes:
            self._in_matrix = True
        if not self._in_matrix:
            return
        if tag == "tr":
            self._row, self._name = [], []
        elif tag == "th" and "cycle" in classes:
            self._where, self._header = "cycle", []
            self.links.append([])
        elif tag == "th" and "agency" in classes and a.get("scope") == "row":
            self._where = "agency"
        elif tag == "td" and "cell" in classes and self._row is not None:
            self._row.append(next(c for c in classes if c.startswith("c-")))
        elif tag == "a" and self._where == "cycle":
            self.links[-1].append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_matrix = False
        elif tag == "th" and self._where == "cycle":
            self.headers.append(" ".join(" ".join(self._header).split()))
            self._where = None
        elif tag == "th" and self._where == "agency":
            self._where = None
        elif tag == "tr" and self._row is not None and self._name:
            self.rows[" ".join("".join(self._name).split())] = self._row
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._where == "agency":
            self._name.append(data)
        elif self._where == "cycle":
            self._header.append(data)


def matrix_of(html: str) -> MatrixTable:
    parser = MatrixTable()
    parser.feed(html)
    return parser


# == login ======================================================================================


def test_the_dashboard_and_its_exports_need_a_login(client: TestClient) -> None:
    for path in ("/admin/", "/admin/?period=2026", "/admin/export.xlsx", "/admin/export.csv"):
        response = client.get(path)
        assert response.status_code == 303, path
        target = urlsplit(response.headers["location"])
        assert target.path == "/admin/login"
        assert parse_qs(target.query)["next"] == [path]
    assert client.get("/admin").status_code == 307


def test_a_wrong_password_or_user_is_refused(client: TestClient) -> None:
    for user, password in ((USER, "not the password"), ("nobody", PASSWORD), (USER, "")):
        response = login(client, user, password)
        assert response.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in response.text
        assert "hbc_admin=" not in response.headers.get("set-cookie", "")
    assert client.get("/admin/").status_code == 303


def test_the_right_password_opens_the_matrix_with_a_strict_cookie(client: TestClient) -> None:
    response = login(client, next="/admin/?period=2026")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/?period=2026"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("hbc_admin="))
    attributes = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/admin" in cookie.lower()
    assert "secure" not in attributes  # the public URL is http here
    page = client.get("/admin/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"


def test_cookies_are_secure_behind_an_https_public_url(world: World, data_dir: Path) -> None:
    app = make_app(world, data_dir, public_url="https://baocao.example.gov.vn")
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    response = login(client)
    cookies = response.headers.get_list("set-cookie")
    assert all("secure" in c.lower() for c in cookies) and len(cookies) == 2
    assert client.get("/admin/").status_code == 200


def test_the_login_form_needs_its_csrf_token(client: TestClient) -> None:
    csrf_of(client)  # the nonce cookie is set
    bare = client.post("/admin/login", data={"user": USER, "password": PASSWORD})
    assert bare.status_code == 403
    forged = client.post(
        "/admin/login", data={"csrf": "1.AAAA", "user": USER, "password": PASSWORD}
    )
    assert forged.status_code == 403
    # A token from another browser (another nonce) is no good in this one.
    other = TestClient(client.app, follow_redirects=False)
    stolen = csrf_of(other)
    assert (
        client.post(
            "/admin/login", data={"csrf": stolen, "user": USER, "password": PASSWORD}
        ).status_code
        == 403
    )
    assert client.get("/admin/").status_code == 303


def test_a_form_from_another_site_is_refused(client: TestClient) -> None:
    form = {"csrf": csrf_of(client), "user": USER, "password": PASSWORD}
    evil = client.post("/admin/login", data=form, headers={"origin": "https://evil.example"})
    assert evil.status_code == 400
    # Browsers say "null" under Referrer-Policy: no-referrer: the token decides then.
    ok = client.post("/admin/login", data=form, headers={"origin": "null"})
    assert ok.status_code == 303


def test_failed_logins_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert login(client, USER, "wrong password").status_code == 401
    locked = login(client)  # even the right password, for the rest of the window
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "thử lại sau" in locked.text
    assert client.get("/admin/").status_code == 303


def test_logging_in_goes_nowhere_but_the_dashboard(client: TestClient) -> None:
    for target in ("//evil.example/admin/", "https://evil.example/", "/admin//evil", "/submit/x"):
        response = login(client, next=target)
        assert response.headers["location"] == "/admin/", target
        client.cookies.clear()


def test_a_forged_or_stale_session_is_refused(client: TestClient, data_dir: Path) -> None:
    login(client)
    token = client.cookies.get("hbc_admin")
    assert token
    fresh = TestClient(client.app, follow_redirects=False)  # no cookie jar: raw headers

    def status(cookie: str | bytes) -> int:
        code: int = fresh.get("/admin/", headers={"cookie": cookie}).status_code
        return code

    assert status(f"hbc_admin={token}") == 200
    body, _, signature = token.partition(".")
    assert status(f"hbc_admin={body}.{signature[::-1]}") == 303
    assert status(f"hbc_admin={body}x.{signature}") == 303
    assert status(f"hbc_admin={body}") == 303
    assert status("hbc_admin=\u00fcn\u00efcode.\u00dfig".encode("latin-1")) == 303
    # A new password ends the sessions opened with the old one.
    save_credentials(credentials_path(data_dir), USER, hash_password("another long password"))
    assert status(f"hbc_admin={token}") == 303


def test_sessions_expire(world: World, data_dir: Path) -> None:
    moments = [NOW]
    auth = AdminAuth(AdminSettings(admin_session_hours=8), data_dir=data_dir, key=KEY)
    app = FastAPI()
    app.include_router(dashboard_router(engine=world.engine, auth=auth, clock=lambda: moments[-1]))
    client = TestClient(app, follow_redirects=False)
    assert login(client).status_code == 303
    moments.append(NOW + dt.timedelta(hours=7, minutes=59))
    assert client.get("/admin/export.csv").status_code == 200
    moments.append(NOW + dt.timedelta(hours=8))
    assert client.get("/admin/export.csv").status_code == 303


def test_logout_needs_the_token_and_ends_the_session(admin: TestClient) -> None:
    assert admin.post("/admin/logout", data={}).status_code == 403
    assert admin.get("/admin/").status_code == 200
    token = csrf_of(admin, "/admin/")
    response = admin.post("/admin/logout", data={"csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert admin.get("/admin/").status_code == 303


# == no default password ==========================================================================


def test_without_credentials_nobody_can_log_in(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(make_app(world, tmp_path / "empty"), follow_redirects=False)
    assert "admin set-password" in capsys.readouterr().err  # said when the router is built
    page = client.get("/admin/login")
    assert page.status_code == 503
    assert "hanbaocao admin set-password" in page.text
    assert 'name="password"' not in page.text
    for user, password in (("admin", "admin"), ("admin", ""), ("admin", "password")):
        response = client.post(
            "/admin/login", data={"csrf": "x", "user": user, "password": password}
        )
        assert response.status_code in (403, 503)
        assert "hbc_admin=" not in response.headers.get("set-cookie", "")
    assert client.get("/admin/").status_code == 303


def test_half_configured_credentials_are_refused_with_a_reason(
    world: World, tmp_path: Path
) -> None:
    client = TestClient(make_app(world, tmp_path, admin_user="vanphong"), follow_redirects=False)
    page = client.get("/admin/login")
    assert page.status_code == 503
    assert "HANBAOCAO_ADMIN_PASSWORD_HASH" in page.text


def test_credentials_from_the_environment(world: World, tmp_path: Path) -> None:
    app = make_app(
        world, tmp_path, admin_user="ops", admin_password_hash=hash_password("từ biến môi trường")
    )
    client = TestClient(app, follow_redirects=False)
    assert login(client, "ops", "wrong").status_code == 401
    assert login(client, "ops", "từ biến môi trường").status_code == 303


def test_development_prints_a_one_time_password(world: World, tmp_path: Path) -> None:
    said: list[str] = []
    app = make_app(world, tmp_path / "empty", announce=said, env="development")
    (line,) = said
    password = re.search(r"one-time password (\S+)", line)
    assert password and "'admin'" in line
    client = TestClient(app, follow_redirects=False)
    assert login(client, "admin", "admin").status_code == 401
    assert login(client, "admin", password.group(1)).status_code == 303
    assert client.get("/admin/").status_code == 200
    # Another process, another password; nothing was written to disk.
    said_again: list[str] = []
    make_app(world, tmp_path / "empty", announce=said_again, env="development")
    assert said_again[0] != line
    assert not (tmp_path / "empty").exists()


def test_outside_development_no_password_is_generated(world: World, tmp_path: Path) -> None:
    said: list[str] = []
    for env in ("production", "staging", ""):
        make_app(world, tmp_path / "empty", announce=said, env=env)
    assert said == []


# == the matrix ===================================================================================


def test_the_matrix_shows_every_agency_with_coloured_cells(world: World, admin: TestClient) -> None:
    s = world.s
    page = admin.get("/admin/")
    assert page.status_code == 200
    table = matrix_of(page.text)
    assert len(table.rows) == 110
    assert table.headers[0].startswith("1503/UBND-KTTH Năm 2025 Hạn 15/12/2025")
    assert table.headers[3].startswith("6966/UBND-KTN Năm 2026 Hạn 21/12/2026 đang mở")

    def row(agency: int) -> list[str]:
        return table.rows[world.names[agency]]

    assert row(s.a) == ["c-none", "c-on-time", "c-none", "c-on-time"]
    assert row(s.b) == ["c-none", "c-late", "c-none", "c-not-yet-due"]
    assert row(s.c) == ["c-none", "c-excused", "c-none", "c-not-yet-due"]
    assert row(s.d) == ["c-none", "c-missing", "c-none", "c-not-yet-due"]
    assert row(s.x) == ["c-on-time", "c-missing", "c-missing", "c-not-yet-due"]
    every = [c for cells in table.rows.values() for c in cells]
    assert every.count("c-on-time") == 3 and every.count("c-late") == 2
    assert every.count("c-missing") == 107 and every.count("c-not-yet-due") == 109
    # Rates: per agency (row), per obligation, overall; and the legend.
    assert re.search(r"Tỉ lệ đúng hạn: <b>2,7 %</b>", page.text)  # 3 / 112
    assert "1,8 %" in page.text  # 6966: 2 / 110
    assert "50,0 %" in page.text  # 1503: 1 / 2
    assert "33,3 %" in page.text  # agency x: 1 / 3
    for label in ("Đã nộp đúng hạn", "Đã nộp sau hạn", "Quá hạn, chưa nộp", "Chưa đến hạn"):
        assert label in page.text
    b_name = world.names[s.b]
    assert f"{b_name} — 6966/UBND-KTN · Năm 2025: Đã nộp sau hạn, nộp lúc 24/12/2025 10:00" in (
        page.text
    )


def test_filters_narrow_the_matrix(world: World, admin: TestClient) -> None:
    s = world.s
    only_1503 = matrix_of(admin.get(f"/admin/?directive={s.directive_1503}").text)
    assert list(only_1503.rows) == [world.names[s.x]]
    assert only_1503.rows[world.names[s.x]] == ["c-on-time", "c-missing"]
    year = matrix_of(admin.get("/admin/?period=2026").text)
    assert [h.split(" Hạn")[0] for h in year.headers] == [
        "1503/UBND-KTTH Năm 2026",
        "6966/UBND-KTN Năm 2026",
    ]
    lead = admin.get(f"/admin/?lead={s.lead}&period=2025")
    assert [h.split(" Hạn")[0] for h in matrix_of(lead.text).headers] == ["6966/UBND-KTN Năm 2025"]
    assert re.search(rf'<option value="{s.lead}" selected>', lead.text)
    assert "/admin/export.xlsx?lead=" in lead.text and "period=2025" in lead.text
    nothing = admin.get("/admin/?period=2024")
    assert nothing.status_code == 200 and "Chưa có kỳ báo cáo nào khớp bộ lọc" in nothing.text
    for bad in ("directive=abc", "period=2026%25", "lead=-1"):
        assert admin.get(f"/admin/?{bad}").status_code == 400, bad
    refused = admin.get("/admin/?agency=%3Cb%3Ex").text  # said in Vietnamese, escaped
    assert "Bộ lọc không hợp lệ" in refused and "cần là một số hiệu" in refused
    assert "<b>x" not in refused and "not an id" not in refused
    assert "chỉ nhận 0 hoặc 1" in admin.get("/admin/?overdue=2").text


def test_the_page_links_each_cycle_to_its_prefect_runs(world: World, data_dir: Path) -> None:
    s = world.s
    prefect = Prefect(
        [
            {
                "id": "0b5c6a3e-1111-4c6f-9d7e-2f1e0c4b9a01",
                "name": "6966/UBND-KTN · Năm 2026",
                "parameters": {"obligation_id": s.ob_6966, "period_key": "2026"},
                "start_time": "2026-11-20T01:00:00Z",
                "state": {"type": "COMPLETED", "name": "Completed"},
            },
            {  # the same name for another obligation: not this cycle's run
                "id": "99999999-2222-4c6f-9d7e-2f1e0c4b9a02",
                "name": "6966/UBND-KTN · Năm 2026",
                "parameters": {"obligation_id": 999},
            },
        ]
    )
    client = TestClient(make_app(world, data_dir, prefect=prefect), follow_redirects=False)
    login(client)
    table = matrix_of(client.get("/admin/").text)
    (call,) = prefect.calls
    assert call["flows"]["name"]["any_"] == ["open-cycle"]
    assert sorted(call["flow_runs"]["name"]["any_"]) == sorted(
        f"{n} · Năm {y}" for n in ("1503/UBND-KTTH", "6966/UBND-KTN") for y in (2025, 2026)
    )
    c26 = table.links[3]
    assert f"{PREFECT_UI}/runs/flow-run/0b5c6a3e-1111-4c6f-9d7e-2f1e0c4b9a01" in c26
    assert not any("99999999" in link for link in c26)
    assert f"{PREFECT_UI}/artifacts/key/cycle-6966-ubnd-ktn-o{s.ob_6966}-2026" in c26
    assert "Lượt chạy 20/11/2026 08:00 · Completed" in client.get("/admin/").text
    # A cycle without a known run is searched by name in the runs list.
    c25 = table.links[1]
    search = next(link for link in c25 if "/runs?" in link)
    assert parse_qs(urlsplit(search).query)["flow-run-search"] == ["6966/UBND-KTN · Năm 2025"]


def test_prefect_down_never_fails_the_page(world: World, data_dir: Path) -> None:
    prefect = Prefect(down=True)
    client = TestClient(make_app(world, data_dir, prefect=prefect), follow_redirects=False)
    login(client)
    for _ in range(2):
        page = client.get("/admin/")
        assert page.status_code == 200
        table = matrix_of(page.text)
        assert all(any("/runs?flow-run-search=" in link for link in links) for links in table.links)
    assert len(prefect.calls) == 1  # then left alone for a while


def test_prefect_unreachable_for_real(world: World, data_dir: Path) -> None:
    auth = AdminAuth(AdminSettings(), data_dir=data_dir, key=KEY)
    # A port nobody listens on (the TCP discard port on loopback): refused at once.
    runs = PrefectRuns(PrefectSettings(prefect_ui_url="http://127.0.0.1:9"), timeout=1.0)
    app = FastAPI()
    app.include_router(
        dashboard_router(engine=world.engine, auth=auth, prefect=runs, clock=lambda: NOW)
    )
    client = TestClient(app, follow_redirects=False)
    login(client)
    started = time.monotonic()
    assert client.get("/admin/").status_code == 200
    # Refused at once, bounded by the 1 s timeout at worst: the cap only catches a hang.
    assert time.monotonic() - started < 60


# == exports =======================================================================================


def disposition(response: httpx.Response) -> tuple[str, str]:
    value = response.headers["content-disposition"]
    assert value.startswith("attachment;")
    ascii_name = re.search(r'filename="([^"]+)"', value)
    utf8_name = re.search(r"filename\*=UTF-8''(\S+)", value)
    assert ascii_name and utf8_name, value
    assert ascii_name.group(1).isascii()
    return ascii_name.group(1), unquote(utf8_name.group(1))


def test_the_xlsx_export_is_the_filtered_matrix(world: World, admin: TestClient) -> None:
    s = world.s
    response = admin.get(f"/admin/export.xlsx?lead={s.lead}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    ascii_name, name = disposition(response)
    assert name.endswith(".xlsx") and "Sở Xây dựng" in name and "Tình hình" in name
    assert ascii_name.endswith(".xlsx") and "so-xay-dung" in ascii_name
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "TÌNH HÌNH THỰC HIỆN CHẾ ĐỘ BÁO CÁO"
    header_at = next(i for i, row in enumerate(values) if row[0] == "STT")
    header = values[header_at]
    assert header == [
        "STT",
        "Cơ quan",
        "6966/UBND-KTN · Năm 2025",
        "6966/UBND-KTN · Năm 2026",
        "Đúng hạn",
        "Sau hạn",
        "Quá hạn, chưa nộp",
        "Tỉ lệ đúng hạn (%)",
    ]
    rows = {row[1]: row for row in values[header_at + 1 :]}
    assert len(rows) == 110
    assert rows[world.names[s.a]][2:] == ["Đã nộp đúng hạn", "Đã nộp đúng hạn", 2, 0, 0, 100]
    late = "Đã nộp sau hạn — trễ 3 ngày làm việc"  # the days late, as the page's mark "!3"
    assert rows[world.names[s.b]][2:] == [late, "Chưa đến hạn", 0, 1, 0, 0]
    assert rows[world.names[s.c]][2:] == ["Không phải nộp", "Chưa đến hạn", 0, 0, 0, None]
    missing = "Quá hạn, chưa nộp — trễ 248 ngày làm việc"
    assert rows[world.names[s.d]][2:] == [missing, "Chưa đến hạn", 0, 0, 1, 0]
    heading = [row[0] for row in values[1:header_at] if row[0]]
    assert "Cơ quan tổng hợp: Sở Xây dựng tỉnh Quảng Ngãi" in heading
    assert "Số liệu tính đến: 18/12/2026 12:00" in heading


def test_the_csv_export_is_the_filtered_matrix(world: World, admin: TestClient) -> None:
    s = world.s
    response = admin.get(f"/admin/export.csv?directive={s.directive_1503}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    _, name = disposition(response)
    assert name == "Tình hình thực hiện chế độ báo cáo - 1503-UBND-KTTH.csv"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        [
            "STT",
            "Cơ quan",
            "1503/UBND-KTTH · Năm 2025",
            "1503/UBND-KTTH · Năm 2026",
            "Đúng hạn",
            "Sau hạn",
            "Quá hạn, chưa nộp",
            "Tỉ lệ đúng hạn (%)",
        ],
        [
            "1",
            world.names[s.x],
            "Đã nộp đúng hạn",
            "Quá hạn, chưa nộp — trễ 3 ngày làm việc",
            *("1", "0", "1", "50.0"),
        ],
    ]
    everything = admin.get("/admin/export.csv")
    all_rows = list(csv.reader(io.StringIO(everything.content.decode("utf-8-sig"))))
    assert len(all_rows) == 1 + 110 and len(all_rows[0]) == 2 + 4 + 4
    assert admin.get("/admin/export.pdf").status_code == 404


# == the portal app ==================================================================================


def test_inside_the_portal_app(world: World, data_dir: Path) -> None:
    """Mounted on ``portal.app.create_app``: its frame, its security headers, its clock."""
    from models.db import Settings
    from models.links import LinkSettings
    from portal.app import create_app

    db = Settings(data_dir=data_dir)
    links = LinkSettings(secret_key=KEY.decode())
    app = create_app(db=db, links=links, engine=world.engine, clock=lambda: NOW)
    if not any(str(getattr(r, "path", "")).startswith("/admin") for r in app.routes):
        # Until create_app includes the dashboard itself, the line it needs:
        app.include_router(dashboard_router(data_dir=db.data_dir, key=app.state.portal.key))
    client = TestClient(app, follow_redirects=False)
    login_page = client.get("/admin/login")
    assert "default-src 'none'" in login_page.headers["content-security-policy"]
    assert login(client).status_code == 303
    page = client.get("/admin/")
    assert page.status_code == 200 and len(matrix_of(page.text).rows) == 110
    assert 'href="/static/portal.css"' in page.text and 'href="/admin/dashboard.css"' in page.text
    assert " style=" not in page.text and "<script" not in page.text  # the CSP allows neither
    css = client.get("/admin/dashboard.css")
    assert css.status_code == 200 and ".c-missing" in css.text


# == hanbaocao admin set-password =====================================================================


def test_set_password_asks_twice_and_stores_a_salted_hash(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    done = run_cli(env, "admin", "set-password", USER, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "data" / "admin-users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["users"][USER]
    assert stored.startswith("scrypt$") and PASSWORD not in path.read_text()
    assert verify_password(PASSWORD, stored) and not verify_password("wrong", stored)
    # Again: a new salt, so a new hash; a second user is added beside the first.
    run_cli(env, "admin", "set-password", USER, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    again = json.loads(path.read_text())["users"][USER]
    assert again != stored and verify_password(PASSWORD, again)
    run_cli(env, "admin", "set-password", "ops", stdin="other password 1\nother password 1\n")
    assert sorted(json.loads(path.read_text())["users"]) == ["ops", USER]


def test_set_password_refuses_mismatch_short_and_bad_names(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    path = tmp_path / "data" / "admin-users.json"
    differ = run_cli(env, "admin", "set-password", USER, stdin=f"{PASSWORD}\n{PASSWORD}x\n")
    assert differ.returncode == 1 and "hai lần nhập mật khẩu không khớp" in differ.stderr
    short = run_cli(env, "admin", "set-password", USER, stdin="short\nshort\n")
    assert short.returncode == 1 and "ít nhất 10 ký tự" in short.stderr
    bad = run_cli(env, "admin", "set-password", "../etc", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert bad.returncode == 2
    assert not path.exists()


def test_set_password_can_print_the_hash_for_the_environment(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    done = run_cli(
        env, "admin", "set-password", "ops", "--print-hash", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert lines["HANBAOCAO_ADMIN_USER"] == "ops"
    assert verify_password(PASSWORD, lines["HANBAOCAO_ADMIN_PASSWORD_HASH"])
    assert not (tmp_path / "data" / "admin-users.json").exists()


# == pieces ==========================================================================================


def column(
    cycle_id: int, obligation_id: int, period_key: str, title: str = "6966/UBND-KTN"
) -> Column:
    return Column(
        cycle_id=cycle_id,
        obligation_id=obligation_id,
        directive_id=1,
        title=title,
        directive_number=title,
        directive_subject=None,
        obligation_subject=None,
        frequency="annual",
        period_key=period_key,
        due_at=NOW,
        state="open",
        lead_agency_id=None,
        lead=None,
    )


def test_two_obligations_of_one_directive_never_share_a_header() -> None:
    columns = [column(1, 3, "2026"), column(2, 4, "2026"), column(3, 3, "2025-H1")]
    assert column_headers(columns) == {
        1: "6966/UBND-KTN · Năm 2026 (nghĩa vụ #3)",
        2: "6966/UBND-KTN · Năm 2026 (nghĩa vụ #4)",
        3: "6966/UBND-KTN · 6 tháng đầu năm 2025",
    }


@pytest.mark.parametrize(
    ("name", "ascii_name", "encoded"),
    [
        (
            "Tình hình - 6966-UBND-KTN.xlsx",
            "tinh-hinh-6966-ubnd-ktn.xlsx",
            "T%C3%ACnh%20h%C3%ACnh%20-%206966-UBND-KTN.xlsx",
        ),
        ('a"b;c.csv', "a-b-c.csv", "a%22b%3Bc.csv"),
        ("Đắk Lắk.csv", "dak-lak.csv", "%C4%90%E1%BA%AFk%20L%E1%BA%AFk.csv"),
    ],
)
def test_content_disposition_is_rfc_5987(name: str, ascii_name: str, encoded: str) -> None:
    assert content_disposition(name) == (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
    )


def test_the_router_takes_the_data_dir_and_key_of_the_app(world: World, data_dir: Path) -> None:
    app = FastAPI()
    app.include_router(
        dashboard_router(engine=world.engine, data_dir=data_dir, key=KEY, clock=lambda: NOW)
    )
    client = TestClient(app, follow_redirects=False)
    assert login(client).status_code == 303
    token = client.cookies.get("hbc_admin")
    mine = AdminAuth(data_dir=data_dir, key=KEY, engine=world.engine)
    assert token and mine.session_user(token, now=NOW) == USER
    other = AdminAuth(data_dir=data_dir, key=b"x" * 32, engine=world.engine)
    assert other.session_user(token, now=NOW) is None


def test_a_broken_credentials_file_is_reported_without_its_path(
    world: World, tmp_path: Path
) -> None:
    path = credentials_path(tmp_path)
    path.write_text('{"users": {"vanphong": "plaintext password"}}')
    client = TestClient(make_app(world, tmp_path), follow_redirects=False)
    page = client.get("/admin/login")
    assert page.status_code == 503
    assert "admin-users.json" in page.text and str(tmp_path) not in page.text
    nonce = client.cookies.get("hbc_admin_csrf")
    assert nonce
    form = {"csrf": csrf_token(KEY, nonce, now=NOW), "user": USER, "password": "plaintext password"}
    response = client.post("/admin/login", data=form)
    assert response.status_code == 503 and "hbc_admin=" not in response.headers.get(
        "set-cookie", ""
    )
