"""Several messages due to one agency go out as one digest; URLs come from the registry
contacts and the server's settings, never from the row."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from models.agency import AgencyContact, ContactChannel
from models.tables import Notification, NotificationState
from models.workdays import packaged_calendar
from notifications.contacts import ChannelSettings, contact_resolver
from notifications.email import EmailTransport
from notifications.mailsink import SINK_FROM, MailSink
from notifications.outbox import dispatch, enqueue
from tests.notifications.conftest import NOW, fill_outbox, make_cycle, payload

Factory = Callable[[], Session]


def _dispatch(factory: Factory, **kw: object) -> object:
    transport = EmailTransport(cooldown=0)
    try:
        return dispatch(
            factory,
            now=NOW,
            worker="w1",
            transports={"email": transport},
            calendar=packaged_calendar(),
            **kw,  # type: ignore[arg-type]
        )
    finally:
        transport.close()


def test_same_agency_same_day_is_one_digest(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    fill_outbox(session, sink.url(to="stc@quangngai.gov.vn"), 6, stages=3)  # 2 agencies × 3 stages
    report = _dispatch(session_factory)
    assert report.sent == 6  # type: ignore[attr-defined]
    mails = sink.messages()
    assert len(mails) == 2
    for mail in mails:
        assert str(mail["Subject"]).startswith("[Nhắc việc] 3 nội dung báo cáo cần thực hiện")
        text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert text.count("Nhắc hạn báo cáo năm 2026") == 3
    session.expire_all()
    states = {r.state for r in session.exec(select(Notification))}
    assert states == {NotificationState.sent}


def test_urls_come_from_contacts_and_settings(
    session: Session, session_factory: Factory, sink: MailSink
) -> None:
    cycle = make_cycle(session, 2)
    with_mail, without = cycle.agency_ids
    session.add_all(
        [
            AgencyContact(
                agency_id=with_mail, channel=ContactChannel.email, address="a@so.example.invalid"
            ),
            AgencyContact(
                agency_id=with_mail, channel=ContactChannel.email, address="b@so.example.invalid"
            ),
        ]
    )
    for agency in (with_mail, without):
        no_url = {k: v for k, v in payload("", agency).items() if k != "url"}
        enqueue(
            session,
            cycle_id=cycle.id,
            agency_id=agency,
            stage="opened",
            channel="email",
            payload=no_url,
            at=NOW,
        )
    session.commit()
    settings = ChannelSettings(smtp_url=f"mailto://127.0.0.1:{sink.port}?from={SINK_FROM}")

    report = _dispatch(session_factory, resolve_url=contact_resolver(session_factory, settings))

    assert (report.sent, report.failed) == (1, 1)  # type: ignore[attr-defined]
    (mail,) = sink.messages()
    assert {str(a) for a in mail["To"].addresses} >= {
        "a@so.example.invalid",
        "b@so.example.invalid",
    }
    session.expire_all()
    failed = session.exec(select(Notification).where(col(Notification.agency_id) == without)).one()
    assert failed.state == NotificationState.failed
    assert "no email contact" in (failed.last_error or "")
