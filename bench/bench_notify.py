"""Email throughput: the real outbox dispatcher against a bare smtplib loop.

    .venv/bin/python bench/bench_notify.py [--messages 2000] [--apprise 300] [--rounds 3]
                                           [--in-process-sink]

All three paths send to one aiosmtpd sink on loopback, in the same run. The sink runs in
a process of its own (``bench/sink.py``, as a mail server would), so that its event loop
does not take the GIL from the sender being measured; ``--in-process-sink`` uses the
tests' ``MailSink`` in this process instead, as this bench did before 07/12/2026 (its
figures are comparable with earlier notes, and the sender's own CPU then slows the sink):

1. ``dispatch``: outbox rows in a temporary SQLite database (WAL, the app's engine),
   claimed in batches (one ``UPDATE … RETURNING``, one commit), sent with
   ``EmailTransport`` (kept-open connection, rendered by ``email.render``), recorded
   as sent with their attempt rows (one UPDATE, one INSERT, one commit per batch);
2. bare ``smtplib``: the same messages, pre-rendered to bytes, ``sendmail`` in a loop
   on ONE connection (no database, no MIME building in the timed loop: the ceiling);
3. Apprise's own ``notify()`` (one SMTP connection per message) on ``--apprise``
   messages, for the record.

The first two and the dispatch run side by side, ``--rounds`` times over (the machine is
shared: its load moves them alike); the ratios printed are the medians of the rounds'.
Target (issue 18): dispatch / bare (pre-rendered) >= 0.75. The script stops itself
(SIGALRM) after 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import apprise  # noqa: E402
from sink import SinkProcess  # noqa: E402
from sqlmodel import Session  # noqa: E402

from models.agency import Agency, AgencyKind  # noqa: E402
from models.db import make_engine  # noqa: E402
from models.schema import create_schema  # noqa: E402
from models.tables import Directive, Obligation, ReportCycle  # noqa: E402
from models.workdays import packaged_calendar  # noqa: E402
from notifications.email import EmailTransport, parse_contact, render  # noqa: E402
from notifications.mailsink import MailSink, sink_url  # noqa: E402
from notifications.outbox import dispatch, enqueue  # noqa: E402
from notifications.vocabulary import Message  # noqa: E402

Sink = MailSink | SinkProcess
# Monday 23/11/2026 09:00 in Quảng Ngãi: inside office hours on a working day.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
STAGES = 1  # one reminder per agency: rows due to one agency together would go out as one digest
SO = ["Sở Tài chính", "Sở Xây dựng", "Sở Nội vụ", "Sở Y tế", "Sở Giáo dục và Đào tạo"]


def message(n: int) -> Message:
    agency = f"{SO[n % len(SO)]} (đơn vị {n // STAGES})"
    subject = f"Nhắc hạn báo cáo năm 2026 — {agency} tỉnh Quảng Ngãi, lần {n % STAGES + 1}"
    text = (
        f"Kính gửi {agency},\n\nThực hiện Công văn số 6966/UBND-KTN ngày 24/12/2024 của "
        f"UBND tỉnh Quảng Ngãi, đề nghị quý cơ quan gửi báo cáo kết quả thực hiện năm 2026 "
        f"về Sở Xây dựng trước ngày 15/12/2026.\nMã nhắc: {n}.\n"
    )
    html = "<p>" + text.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
    return Message(subject=subject, text=text, html=html, short=subject[:120])


def payload(url: str, n: int) -> dict[str, Any]:
    m = message(n)
    return {"subject": m.subject, "text": m.text, "html": m.html, "short": m.short, "url": url}


def fill(session: Session, url: str, count: int) -> None:
    directive = Directive(source_name="bench", source_text="…", source_sha256="0" * 64)
    session.add(directive)
    session.flush()
    obligation = Obligation(
        directive_id=directive.id or 0,
        clause_index=0,
        clause_text="định kỳ hàng năm",
        clause_start=0,
        clause_end=1,
        clause_hash="0" * 64,
        frequency="annual",
    )
    session.add(obligation)
    session.flush()
    cycle = ReportCycle(
        obligation_id=obligation.id or 0,
        period_key="2026",
        window_start=date(2025, 12, 15),
        window_end=date(2026, 12, 14),
        opens_at=NOW,
        due_at=NOW + timedelta(days=20),
    )
    agencies = [
        Agency(code=f"a{i}", name=f"Đơn vị {i}", kind=AgencyKind.department, province="qn")
        for i in range(-(-count // STAGES))
    ]
    session.add_all([cycle, *agencies])
    session.flush()
    for n in range(count):
        enqueue(
            session,
            cycle_id=cycle.id or 0,
            agency_id=agencies[n // STAGES].id or 0,
            stage=f"reminder-{n % STAGES}",
            channel="email",
            payload=payload(url, n),
            at=NOW,
        )
    session.commit()


def bench_dispatch(sink: Sink, url: str, count: int, tmp: Path) -> float:
    tmp.mkdir(exist_ok=True)
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    create_schema(engine)
    with Session(engine) as session:
        fill(session, url, count)
    transport = EmailTransport()
    calendar = packaged_calendar()
    # Loaded once per worker process (importing the holidays package takes most of a
    # second): not part of sending.
    calendar.is_working_day(NOW.date())
    start = time.perf_counter()
    report = dispatch(
        lambda: Session(engine, expire_on_commit=False),
        now=NOW,
        worker="bench",
        transports={"email": transport},
        calendar=calendar,
        batch=count,
    )
    elapsed = time.perf_counter() - start
    transport.close()
    engine.dispose()
    check(sink, count, f"dispatch sent {report.sent}")
    return elapsed


def bench_bare(sink: Sink, url: str, count: int, *, prerendered: bool) -> float:
    """``sendmail`` in a loop on one connection. ``prerendered``: the messages are
    rendered before the clock starts (the transport-only ceiling); otherwise each is
    rendered in the loop, as any sender of distinct reminders must."""
    contact = parse_contact(url)
    rcpts = [a.addr_spec for a in contact.recipients]
    data = [render(contact, message(n), now=NOW) for n in range(count)] if prerendered else []
    start = time.perf_counter()
    conn = smtplib.SMTP(contact.host, contact.port, timeout=10)
    for n in range(count):
        body = data[n] if prerendered else render(contact, message(n), now=NOW)
        conn.sendmail(contact.sender.addr_spec, rcpts, body)
    conn.quit()
    elapsed = time.perf_counter() - start
    check(sink, count, "bare loop")
    return elapsed


def bench_apprise(sink: Sink, url: str, count: int) -> float:
    notifier = apprise.Apprise()
    notifier.add(url + "&format=text")
    # Apprise throttles every plugin to one send per 5.5 s (NotifyBase.request_rate_per_sec);
    # switched off here to measure its connection-per-message path, not its throttle.
    for plugin in notifier:
        plugin.request_rate_per_sec = 0
    start = time.perf_counter()
    ok = sum(
        bool(notifier.notify(body=message(n).text, title=message(n).subject)) for n in range(count)
    )
    elapsed = time.perf_counter() - start
    check(sink, count, f"apprise ok={ok}")
    return elapsed


def check(sink: Sink, count: int, what: str) -> None:
    received = len(sink.raw) if isinstance(sink, MailSink) else sink.stats()[0]
    sink.clear()
    if received != count:
        raise SystemExit(f"{what}: the sink received {received} of {count} messages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--apprise", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--in-process-sink",
        action="store_true",
        help="the tests' MailSink in this process (as before 07/12/2026) instead of bench/sink.py",
    )
    args = parser.parse_args()
    signal.alarm(600)  # bounded, whatever happens to the sink
    n = args.messages
    rounds: list[tuple[float, float, float]] = []
    sink_of: Any = MailSink if args.in_process_sink else SinkProcess
    with sink_of() as sink, tempfile.TemporaryDirectory() as tmp:
        to = f"bench-{uuid.uuid4().hex[:6]}@quangngai.gov.vn"
        url = sink_url(sink.port, to=to, name="VP UBND tỉnh")
        bench_bare(sink, url, min(n, 200), prerendered=False)  # warm-up, not counted
        for k in range(args.rounds):
            # Side by side, round after round: the machine's load moves all three alike.
            ceiling = bench_bare(sink, url, n, prerendered=True)
            bare = bench_bare(sink, url, n, prerendered=False)
            disp = bench_dispatch(sink, url, n, Path(tmp) / f"r{k}")
            rounds.append((ceiling, bare, disp))
        appr = bench_apprise(sink, url, args.apprise) if args.apprise else float("nan")
    where = " --in-process-sink" if args.in_process_sink else ""
    print(
        f"command: .venv/bin/python bench/bench_notify.py --messages {n} "
        f"--apprise {args.apprise} --rounds {args.rounds}{where}"
    )
    for k, (ceiling, bare, disp) in enumerate(rounds, 1):
        print(
            f"round {k}: bare pre-rendered {n / ceiling:5.0f} msg/s, bare rendering "
            f"{n / bare:5.0f} msg/s, dispatch {n / disp:5.0f} msg/s  "
            f"(dispatch / bare pre-rendered {ceiling / disp:.3f})"
        )
    ceiling, bare, disp = (statistics.median(r[i] for r in rounds) for i in range(3))
    print(f"bare smtplib, pre-rendered bytes:  {n / ceiling:7.0f} msg/s  (median {ceiling:.2f} s)")
    print(f"bare smtplib, rendering each:      {n / bare:7.0f} msg/s  (median {bare:.2f} s)")
    print(f"outbox dispatch (SQLite, WAL):     {n / disp:7.0f} msg/s  (median {disp:.2f} s)")
    if args.apprise:
        rate = args.apprise / appr
        print(
            f"apprise notify(), no throttle:     {rate:7.0f} msg/s  "
            f"({args.apprise} in {appr:.2f} s; {rate * bare / n:.3f} of bare)"
        )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    ratio = statistics.median(r[1] / r[2] for r in rounds)
    print(f"dispatch / bare (rendering each): {ratio:.3f}  (median of {len(rounds)} rounds)")
    top = statistics.median(r[0] / r[2] for r in rounds)
    verdict = "OK" if top >= 0.75 else "BELOW TARGET"
    print(
        f"dispatch / bare (pre-rendered): {top:.3f}  (median of {len(rounds)} rounds; "
        f"target >= 0.75) {verdict}"
    )


if __name__ == "__main__":
    main()
