"""Twilio StatusCallback: the outbox written with each status change, and its delivery, signed so
that Twilio's own RequestValidator (official SDK) accepts it."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from payamak.compat import callbacks, service
from payamak.compat.models import StatusCallback
from payamak.context import Context
from payamak.sending import optouts
from payamak.sending.models import Message

from .conftest import Receiver, Server, Shop, twilio


def set_status(ctx: Context, message_id: int, status: str) -> int:
    """What the dispatcher does: change a status, and in the same transaction record the change."""
    with ctx.db.transaction() as session:
        session.execute(sa.update(Message).where(Message.id == message_id).values(status=status))
        return service.record_status_changes(session, message_ids=[message_id])


def deliver(ctx: Context) -> callbacks.RunReport:
    async def run() -> callbacks.RunReport:
        sender = callbacks.CallbackSender(db=ctx.db, settings=ctx.settings)
        try:
            return await sender.run_once()
        finally:
            await sender.stop()

    return asyncio.run(run())


def outbox(ctx: Context) -> list[tuple[str, str, int]]:
    with ctx.db.transaction(readonly=True) as session:
        rows = session.execute(sa.select(StatusCallback.status, StatusCallback.state, StatusCallback.attempts).order_by(StatusCallback.id))
        return [(a, b, c) for a, b, c in rows]


def test_status_changes_are_posted_signed(
    http_server: Server, ctx: Context, shop: Shop, receiver: Receiver
) -> None:
    client: Client = twilio(http_server, shop)
    message = client.messages.create(to="+989121234567", from_=shop.ad_line, body="حراج", status_callback=receiver.url)
    message_id = service.sid_number(message.sid, "SM")
    assert message_id is not None
    assert outbox(ctx) == []  # queued is not news

    assert set_status(ctx, message_id, "sent") == 1
    assert set_status(ctx, message_id, "sent") == 0  # the same change twice queues nothing
    assert set_status(ctx, message_id, "delivered") == 1
    report = deliver(ctx)
    assert (report.delivered, report.retried, report.failed) == (2, 0, 0)

    validator = RequestValidator(shop.key)
    assert [params["MessageStatus"] for _path, params, _sig in receiver.received] == ["sent", "delivered"]
    for path, params, signature in receiver.received:
        assert path == "/status?shop=1"
        assert params["MessageSid"] == message.sid and params["AccountSid"] == shop.account_sid
        assert params["To"] == "+989121234567" and params["From"] == shop.ad_line
        assert validator.validate(receiver.url, params, signature)
        assert not RequestValidator("pmk_other").validate(receiver.url, params, signature)
        assert not validator.validate(receiver.url, {**params, "MessageStatus": "failed"}, signature)
    assert outbox(ctx) == [("sent", "done", 1), ("delivered", "done", 1)]
    assert deliver(ctx).delivered == 0


def test_failed_delivery_is_retried_later(http_server: Server, ctx: Context, shop: Shop, receiver: Receiver) -> None:
    message = twilio(http_server, shop).messages.create(
        to="+989121234567", from_=shop.ad_line, body="حراج", status_callback=receiver.url
    )
    message_id = service.sid_number(message.sid, "SM")
    assert message_id is not None
    receiver.status = 500
    set_status(ctx, message_id, "undelivered")
    report = deliver(ctx)
    assert (report.delivered, report.retried) == (0, 1)
    assert outbox(ctx) == [("undelivered", "pending", 1)]
    assert deliver(ctx).retried == 0  # not due again yet
    [(_path, params, _sig)] = receiver.received
    assert params["MessageStatus"] == "undelivered" and params["ErrorCode"] == "30003"


def test_cancel_reports_canceled(http_server: Server, ctx: Context, shop: Shop, receiver: Receiver) -> None:
    import datetime as dt

    client = twilio(http_server, shop)
    message = client.messages.create(
        to="+989121234567", from_=shop.ad_line, body="فردا", status_callback=receiver.url,
        send_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), schedule_type="fixed",
    )  # fmt: skip
    client.messages(message.sid).update(status="canceled")
    assert deliver(ctx).delivered == 1
    assert [p["MessageStatus"] for _path, p, _s in receiver.received] == ["canceled"]


def test_messages_without_a_callback_cost_nothing(http_server: Server, ctx: Context, shop: Shop) -> None:
    message = twilio(http_server, shop).messages.create(to="+989121234567", from_=shop.ad_line, body="حراج")
    message_id = service.sid_number(message.sid, "SM")
    assert message_id is not None
    assert set_status(ctx, message_id, "delivered") == 0
    with ctx.db.transaction() as session:
        assert service.record_status_changes(session) == 0
        assert service.record_status_changes(session, message_ids=[10**12]) == 0


def test_sealed_key_round_trip() -> None:
    sealed = service.seal(b"secret", "pmk_abc")
    assert service.unseal(b"secret", sealed) == "pmk_abc"
    assert service.unseal(b"another secret", sealed) is None
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    assert service.unseal(b"secret", tampered) is None
    assert service.unseal(b"secret", "not base64!") is None
    assert service.seal(b"secret", "pmk_abc") != sealed  # a fresh nonce every time


# --- STOP / START / HELP ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "word"),
    [("STOP", "stop"), ("unsubscribe", "stop"), (" Cancel ", "stop"), ("END", "stop"), ("quit", "stop"),
     ("START", "start"), ("unstop", "start"), ("YES", "start"), ("help", "help"), ("INFO", "help"),
     ("11", "stop"), ("۱۲", "start"), ("stop please", None), ("سلام", None)],
)  # fmt: skip
def test_keywords(text: str, word: str | None) -> None:
    assert service.keyword(text) == word


def test_keywords_opt_out_and_back_in(ctx: Context, shop: Shop) -> None:
    def opted() -> bool:
        with ctx.db.transaction(readonly=True) as session:
            return optouts.is_opted_out(session, number="09121234567", line=shop.ad_line, account_id=shop.account_id, kind="advertising")

    def say(text: str) -> service.KeywordOutcome | None:
        with ctx.db.transaction() as session:
            return service.handle_keyword(session, line=shop.ad_line, from_number="+989121234567", text=text, account_id=shop.account_id)

    stop = say("STOP")
    assert stop is not None and stop.keyword == "stop" and stop.changed and "START" in stop.reply_en
    assert opted()
    help_ = say("HELP")
    assert help_ is not None and not help_.changed and "STOP" in help_.reply_en and "۱۱" in help_.reply_fa
    assert opted()
    yes = say("YES")
    assert yes is not None and yes.keyword == "start" and yes.changed
    assert not opted()
    assert say("سلام") is None
