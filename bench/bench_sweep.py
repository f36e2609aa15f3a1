"""The sweep at scale: 20,000 due rows decided, queued and dispatched, end to end.

    .venv/bin/python bench/bench_sweep.py [--cycles 200] [--agencies 100] [--due-cycles 200]
                                          [--runs 3] [--stock-sink]

Builds ``cycles`` × ``agencies`` pending submissions (``cycles`` annual obligations of
one directive, each with its cycle of 2026) in a temporary SQLite database (distinct
agencies, so no two due rows share an addressee and each is its own message; every
agency with an email contact), ``due-cycles`` of the cycles with their next stage (a
reminder) already due, then times, on a fresh copy of the database for each run:

1. the decision: ``models.cycles.advance`` (one indexed query, one conditional UPDATE
   per cycle and stage) — target under 1 s;
2. queueing: ``notifications.notices.queue_steps`` (rendering each reminder with its
   signed links, one outbox row per agency, one INSERT per step);
3. dispatch: the real outbox dispatcher with ``EmailTransport``, addresses resolved
   from the registry (``contact_resolver``), to a loopback aiosmtpd sink in its own
   process (``bench/sink.py``: it keeps a count and the Message-IDs, and checks that
   every message arrived once).

Target (issue 18): decide + queue + dispatch under 40 s. Beside it, in the same run
and to the same sink, the peer: a bare smtplib loop sending the same messages (the
payloads as queued) on one connection, rendering each with ``email.render`` — and,
for the record, the same loop on pre-rendered bytes (the transport alone). Each run
prints its figures and the load average (the machine is shared); the summary gives
the medians. Figures only: nothing here asserts a time. Stops itself after 15 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sink import SinkProcess  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from models.agency import Agency, AgencyContact, AgencyKind, ContactChannel  # noqa: E402
from models.calendar import DEFAULT_LADDER, schedule  # noqa: E402
from models.db import TZ, make_engine  # noqa: E402
from models.schema import create_schema  # noqa: E402
from models.tables import Directive, Obligation, ObligationStatus, ReportCycle, Submission  # noqa: E402
from models.workdays import packaged_calendar  # noqa: E402

# Monday 23/11/2026 09:00 in Quảng Ngãi: a working day, inside office hours.
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
CAL = packaged_calendar()


def _ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(session.exec(stmt, params=rows).scalars())


def populate(path: Path, *, cycles: int, agencies: int, due_cycles: int) -> int:
    """The rows; returns how many submissions are due at NOW."""
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    due_total = 0
    with Session(engine) as session:
        (directive,) = _ids(
            session,
            Directive,
            [
                {
                    "number": "6966/UBND-KTN",
                    "issuer": "UBND tỉnh Quảng Ngãi",
                    "date": dt.date(2024, 12, 2),
                    "subject": "triển khai thực hiện Nghị quyết số 06-NQ/TW",
                    "source_name": "6966.txt",
                    "source_text": "…",
                    "source_sha256": "0" * 64,
                    "version": 1,
                    "created_at": NOW,
                }
            ],
        )
        # One obligation per cycle, each in its period 2026 (as a province's many
        # obligations are): cycles of one obligation over 200 different years would
        # have the work calendar span two centuries, which no sweep meets.
        obligations = _ids(
            session,
            Obligation,
            [
                {
                    "directive_id": directive,
                    "clause_index": k,
                    "clause_text": "Định kỳ hằng năm báo cáo UBND tỉnh (qua Sở Xây dựng) kết quả.",
                    "clause_start": 0,
                    "clause_end": 10,
                    "clause_hash": "0" * 64,
                    "frequency": "annual",
                    "deadline": {},
                    "status": ObligationStatus.approved,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for k in range(cycles)
            ],
        )
        agency_ids = _ids(
            session,
            Agency,
            [
                {
                    "code": f"qng-bench-{i}",
                    "name": f"Cơ quan thử số {i} tỉnh Quảng Ngãi",
                    "kind": AgencyKind.department,
                    "province": "quang-ngai",
                    "updated_at": NOW,
                }
                for i in range(agencies * cycles)
            ],
        )
        session.exec(
            insert(AgencyContact),
            params=[
                {
                    "agency_id": a,
                    "channel": ContactChannel.email,
                    "address": f"a{a}@example.invalid",
                }
                for a in agency_ids
            ],
        )
        for k in range(cycles):
            due = k < due_cycles
            # Due cycles: their "reminder-3" has just passed; the others are a year off.
            due_day = CAL.add_working_days(NOW.date(), 3 if due else 250 + k)
            due_at = dt.datetime.combine(due_day, dt.time(17, 0), tzinfo=TZ)
            opens_at = dt.datetime.combine(
                CAL.add_working_days(due_day, -20), dt.time(8, 0), tzinfo=TZ
            )
            stages = schedule(DEFAULT_LADDER, opens_at, due_at, CAL)
            nxt = next(s for s in stages if s.name == ("reminder-3" if due else "reminder-7"))
            (cycle,) = _ids(
                session,
                ReportCycle,
                [
                    {
                        "obligation_id": obligations[k],
                        "period_key": "2026",
                        "window_start": dt.date(2025, 12, 15),
                        "window_end": dt.date(2026, 12, 14),
                        "opens_at": opens_at,
                        "due_at": due_at,
                        "closes_at": due_at + dt.timedelta(days=15),
                        "state": "open",
                        "created_at": NOW,
                    }
                ],
            )
            session.exec(
                insert(Submission),
                params=[
                    {
                        "cycle_id": cycle,
                        "agency_id": a,
                        "next_action_at": nxt.at,
                        "next_action_stage": nxt.name,
                        "updated_at": NOW,
                    }
                    for a in agency_ids[k * agencies : (k + 1) * agencies]
                ],
            )
            due_total += agencies if due else 0
        session.commit()
    engine.dispose()
    return due_total


def one_run(source: Path, work: Path, payloads: list[dict[str, Any]]) -> dict[str, float]:
    """One sweep on a fresh copy; ``payloads`` receives the queued rows' payloads (read
    between the timed parts: once sent, a row keeps no body)."""
    from sqlmodel import select

    from models.cycles import advance
    from models.tables import Notification
    from notifications.contacts import contact_resolver
    from notifications.email import EmailTransport
    from notifications.notices import queue_steps
    from notifications.outbox import dispatch

    db = work / "run.db"
    shutil.copy(source, db)
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        started = time.perf_counter()
        moved = advance(session, now=NOW, calendar=CAL)
        decided = time.perf_counter() - started
        queued = queue_steps(session, moved.steps, now=NOW, calendar=CAL)
        session.commit()
        rendered = time.perf_counter() - started - decided
        payloads[:] = session.exec(select(Notification.payload)).all()
    transport = EmailTransport()

    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    started = time.perf_counter()
    report = dispatch(
        factory,
        now=NOW,
        worker="bench",
        transports={"email": transport},
        calendar=CAL,
        batch=queued.total,
        resolve_url=contact_resolver(factory),
    )
    sent_s = time.perf_counter() - started
    transport.close()
    engine.dispose()
    return {
        "examined": moved.examined,
        "decide": decided,
        "queued": queued.total,
        "queue": rendered,
        "sent": report.sent,
        "dispatch": sent_s,
    }


def bare_loop(sink_port: int, payloads: list[dict[str, Any]], *, prerendered: bool) -> float:
    """The peer: the same messages (the payloads as queued, one per due row) sent by
    ``smtplib`` on one connection to the same sink, no database in the loop: each
    rendered in the loop by the same ``email.render`` (``prerendered=False``, what any
    sender of distinct reminders must do), or all rendered before the clock starts
    (the transport alone: the ceiling)."""
    import smtplib

    from notifications.email import parse_contact, render
    from notifications.outbox import message_of

    messages = [message_of(payload) for payload in payloads]
    contact = parse_contact(
        f"mailto://127.0.0.1:{sink_port}?from=nhac-han@example.invalid&to=x@example.invalid"
    )
    rcpts = [a.addr_spec for a in contact.recipients]
    data = [render(contact, m, now=NOW) for m in messages] if prerendered else []
    start = time.perf_counter()
    conn = smtplib.SMTP(contact.host, contact.port, timeout=10)
    for k, message in enumerate(messages):
        body = data[k] if prerendered else render(contact, message, now=NOW)
        conn.sendmail(contact.sender.addr_spec, rcpts, body)
    conn.quit()
    return time.perf_counter() - start


def check(sink: SinkProcess, expected: int, what: str) -> None:
    """Every message arrived once: as many as expected, each Message-ID once."""
    received, distinct, repeated = sink.stats()
    sink.clear()
    if not received == distinct == expected or repeated:
        raise SystemExit(
            f"{what}: the sink received {received} messages, {distinct} distinct "
            f"Message-IDs ({repeated} repeated), expected {expected}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--agencies", type=int, default=100)
    parser.add_argument("--due-cycles", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--stock-sink",
        action="store_true",
        help="aiosmtpd exactly as shipped (DATA read line by line) instead of bench/sink.py's",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("bench_sweep: stopped after 15 minutes"))
    signal.alarm(900)

    with (
        tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp,
        SinkProcess(bulk=not args.stock_sink) as sink,
    ):
        os.environ["HANBAOCAO_SMTP_URL"] = (
            f"mailto://127.0.0.1:{sink.port}?from=nhac-han@example.invalid"
        )
        os.environ["HANBAOCAO_SECRET_KEY"] = "bench"
        source = Path(tmp) / "source.db"
        due = populate(
            source, cycles=args.cycles, agencies=args.agencies, due_cycles=args.due_cycles
        )
        total = args.cycles * args.agencies
        print(f"{total:,} pending submissions, {due:,} due at {NOW:%d/%m/%Y %H:%M} (local)")
        print(f"sink: aiosmtpd in its own process ({'stock' if args.stock_sink else 'bulk DATA'})")
        rounds = []
        for k in range(args.runs):
            # Side by side, round after round: the machine's load moves them alike.
            payloads: list[dict[str, Any]] = []
            load = os.getloadavg()[0]
            sink_cpu = sink.cpu_seconds()
            run = one_run(source, Path(tmp), payloads)
            run["sink_cpu"] = sink.cpu_seconds() - sink_cpu
            check(sink, due, f"run {k + 1}: dispatch sent {run['sent']}")
            if run["sent"] != due:
                raise SystemExit(f"run {k + 1}: dispatch sent {run['sent']} of {due}")
            run["bare"] = bare_loop(sink.port, payloads, prerendered=False)
            check(sink, due, f"run {k + 1}: bare loop")
            run["ceiling"] = bare_loop(sink.port, payloads, prerendered=True)
            check(sink, due, f"run {k + 1}: bare loop, pre-rendered")
            run["load"] = (load + os.getloadavg()[0]) / 2
            run["end"] = run["decide"] + run["queue"] + run["dispatch"]
            rounds.append(run)
            print(
                f"run {k + 1}: decide {run['decide']:.2f} s, queue {run['queue']:.2f} s, "
                f"dispatch {run['dispatch']:.2f} s (sink CPU {run['sink_cpu']:.1f} s) = "
                f"end to end {run['end']:.1f} s; bare smtplib {run['bare']:.1f} s, "
                f"pre-rendered {run['ceiling']:.1f} s; load average {run['load']:.2f}"
            )
        median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        n = args.runs
        print(
            f"decision (advance) over {due:,} due rows: median {median['decide'] * 1000:.0f} ms "
            f"of {n} runs (target < 1000 ms)"
        )
        print(
            f"queueing (render + signed link + outbox row): {median['queue']:.2f} s = "
            f"{due / median['queue']:,.0f} messages/s"
        )
        print(
            f"dispatch to the loopback sink: {median['dispatch']:.2f} s = "
            f"{due / median['dispatch']:,.0f} msg/s"
        )
        print(
            f"bare smtplib, the same {due:,} messages to the same sink, rendering each: "
            f"{median['bare']:.2f} s = {due / median['bare']:,.0f} msg/s"
        )
        print(
            f"bare smtplib, the same messages pre-rendered (the transport alone): "
            f"{median['ceiling']:.2f} s = {due / median['ceiling']:,.0f} msg/s"
        )
        ratio = statistics.median(r["bare"] / r["dispatch"] for r in rounds)
        print(f"dispatch / bare (rendering each) = {ratio:.2f} (median of {n} runs)")
        verdict = "OK" if median["end"] < 40 else "OVER TARGET"
        print(
            f"end to end (decide + queue + dispatch) of a {due:,}-due sweep: median "
            f"{median['end']:.1f} s of {n} runs (target < 40 s) {verdict}; "
            f"the bare peer (rendering each) {median['bare']:.1f} s"
        )
        print(f"load average (1 min): median over the runs {median['load']:.2f}")


if __name__ == "__main__":
    main()
