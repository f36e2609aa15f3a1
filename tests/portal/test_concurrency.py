"""Two uploads at the same moment for the same submission: two versions, no file lost.
On SQLite and PostgreSQL: once with the race forced at the model (one transaction held
open while the other must wait), once with real concurrent requests to uvicorn."""

from __future__ import annotations

import datetime as dt
import io
import threading

import httpx
from sqlmodel import Session, col, select

from models.submissions import Incoming, Received, receive
from models.tables import Submission, SubmissionVersion
from tests.portal.conftest import BEFORE_DUE, Harness, Server, multipart, pdf_bytes, sha256


def _submission_id(portal: Harness) -> int:
    with Session(portal.engine) as s:
        sub = s.exec(
            select(Submission).where(
                Submission.cycle_id == portal.seed.cycle_id,
                Submission.agency_id == portal.seed.agency_id,
            )
        ).one()
        return sub.id or 0


def test_a_second_upload_waits_for_the_first_and_takes_the_next_version(
    portal: Harness,
) -> None:
    """A's transaction has allocated its version and is still open; B starts then. B must
    neither reuse A's number nor fail: it waits for A's commit and takes number 2."""
    sid = _submission_id(portal)
    a_data, b_data = pdf_bytes("A"), pdf_bytes("B")
    b_done = threading.Event()
    results: dict[str, Received | BaseException] = {}

    def upload_b() -> None:
        try:
            with Session(portal.engine, expire_on_commit=False) as s:
                got = receive(
                    s,
                    sid,
                    [Incoming("b.pdf", io.BytesIO(b_data))],
                    at=BEFORE_DUE + dt.timedelta(seconds=1),
                    data_dir=portal.data_dir,
                )
                s.commit()
                results["b"] = got
        except BaseException as exc:  # reported by the main thread
            results["b"] = exc
        finally:
            b_done.set()

    with Session(portal.engine, expire_on_commit=False) as a:
        results["a"] = receive(
            a, sid, [Incoming("a.pdf", io.BytesIO(a_data))], at=BEFORE_DUE, data_dir=portal.data_dir
        )
        thread = threading.Thread(target=upload_b)
        thread.start()
        assert not b_done.wait(0.5), f"B did not wait for A: {results.get('b')!r}"
        a.commit()
    thread.join(timeout=60)
    assert isinstance(results["b"], Received), results["b"]
    a_got = results["a"]
    assert isinstance(a_got, Received)
    assert (a_got.last_version, results["b"].last_version) == (1, 2)
    assert (a_got.first, results["b"].first) == (True, False)

    with Session(portal.engine) as s:
        rows = s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.version))).all()
        sub = s.get(Submission, sid)
    assert [(v.version, v.sha256) for v in rows] == [(1, sha256(a_data)), (2, sha256(b_data))]
    assert sub is not None and sub.current_version == 2 and sub.submitted_at == BEFORE_DUE
    for v in rows:
        assert (portal.data_dir / v.stored_path).read_bytes() in (a_data, b_data)


def test_concurrent_requests_to_a_real_server_all_become_versions(
    portal: Harness, live: Server
) -> None:
    url = portal.url()
    token = portal.csrf(url)
    uploads = 6
    # Version numbering under concurrency, not the per-agency cap (test_hardening_slow).
    portal.app.state.portal.gate.per_agency = uploads
    datas = [pdf_bytes(f"bản số {n} " * 2000) for n in range(uploads)]
    start = threading.Barrier(uploads)
    statuses: list[int] = []

    def post(n: int) -> None:
        body, content_type = multipart(
            [("csrf", None, token.encode()), ("files", f"bao-cao-{n}.pdf", datas[n])]
        )
        with httpx.Client(base_url=live.base, timeout=60) as client:
            start.wait()
            reply = client.post(url, content=body, headers={"content-type": content_type})
        statuses.append(reply.status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(uploads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)  # only caps a hang; how long it took is no business of this test
    assert sorted(statuses) == [303] * uploads, statuses

    with Session(portal.engine) as s:
        rows = s.exec(select(SubmissionVersion).order_by(col(SubmissionVersion.version))).all()
        sub = s.get(Submission, _submission_id(portal))
    assert [v.version for v in rows] == list(range(1, uploads + 1))
    assert sorted(v.sha256 for v in rows) == sorted(sha256(d) for d in datas)
    assert sub is not None and sub.current_version == uploads
    for v in rows:  # every file intact, under its own hash
        assert sha256((portal.data_dir / v.stored_path).read_bytes()) == v.sha256
    live.settle()  # the receipt messages are queued after the answers
    assert portal.written()[1] == uploads  # one receipt message per upload
