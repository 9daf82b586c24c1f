"""Twilio StatusCallbacks and STOP/START/HELP through the real dispatcher: messages sent with
Twilio's SDK go out to the simulated SMSC over loopback SMPP, and a local receiver gets the signed
callbacks the dispatcher's status changes queue (checked with Twilio's own RequestValidator);
inbound keywords come from the SMSC as a phone's replies do."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from payamak.compat import callbacks, service
from payamak.compat.models import StatusCallback
from payamak.context import Context
from payamak.db import utcnow
from payamak.dispatch import service as dispatching
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher
from payamak.sending import optouts
from payamak.sending.models import InboundMessage, Message, Send

from .conftest import SENDER_NAME, Receiver, Server, Shop, twilio

# The simulated SMSC answers by the last seven digits of the destination (docs/simulator.md).
DELIVERED = "+989120000000"
UNDELIVERED = "+989120000001"
BLOCKED = "+989120000004"
REFUSED = "+989120000005"  # submit refused: rejected by the operator
SMSC_FAILURE = "+989120000009"  # a temporary error every time, until the attempts run out
PHONE = "+989121234567"


# The shared `client` fixture of tests/conftest.py is the app's TestClient; here it is Twilio's SDK.
@pytest.fixture
def client(http_server: Server, shop: Shop) -> Client:
    return twilio(http_server, shop)


def fast_config(receipt_delay: float = 0.05) -> DispatchSettings:
    """A dispatcher with its own simulated SMSC on a free port, whose retries, receipts and upkeep
    take fractions of a second."""
    return DispatchSettings(
        smsc_port=0, smsc_receipt_delay=receipt_delay, flush_interval=0.02, housekeeping_seconds=0.1,
        heartbeat_seconds=0.3, retry_base_seconds=0.05, retry_max_seconds=0.2, route_down_seconds=0.3,
        receipt_match_seconds=1.0, max_attempts=3, lease_seconds=10.0,
    )  # fmt: skip


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def dispatch(
    ctx: Context, body: Callable[[Dispatcher], Awaitable[None]], *, receipt_delay: float = 0.05
) -> None:
    """Run a dispatcher and a callback sender, as `payamak dispatcher` does, around `body`."""

    async def run() -> None:
        config = fast_config(receipt_delay)
        dispatcher = Dispatcher(db=ctx.db, settings=ctx.settings, config=config, announce=lambda _l: None)
        sender = callbacks.CallbackSender(db=ctx.db, settings=ctx.settings, interval=0.05)
        await dispatcher.start()
        sender.start()
        try:
            await body(dispatcher)
        finally:
            await dispatcher.stop()
            await sender.stop()

    asyncio.run(run())


def statuses(receiver: Receiver, sid: str) -> list[tuple[str, str | None]]:
    return [
        (p["MessageStatus"], p.get("ErrorCode"))
        for _path, p, _sig in receiver.received
        if p["MessageSid"] == sid
    ]


def check_signatures(receiver: Receiver, shop: Shop) -> None:
    validator = RequestValidator(shop.key)
    for path, params, signature in receiver.received:
        assert path == "/status?shop=1"
        assert params["AccountSid"] == shop.account_sid
        assert validator.validate(receiver.url, params, signature), params


# With no delay the receipt usually overtakes the submit's result, and the message goes from
# submitting to delivered in one write: `sent` must still be reported, and first.
@pytest.mark.parametrize("receipt_delay", [0.05, 0.0])
def test_sent_and_delivered_are_posted_as_the_dispatcher_moves_the_message(
    client: Client, ctx: Context, shop: Shop, receiver: Receiver, receipt_delay: float
) -> None:
    message = client.messages.create(
        to=DELIVERED, from_=shop.ad_line, body="حراج پاییزه", status_callback=receiver.url
    )
    assert message.status == "queued"  # the status it is created with: not called back, as Twilio does
    quiet = client.messages.create(to=DELIVERED, from_=shop.ad_line, body="بی‌خبر")

    async def body(_dispatcher: Dispatcher) -> None:
        await wait_for(lambda: len(receiver.received) >= 2, "sent and delivered called back")

    dispatch(ctx, body, receipt_delay=receipt_delay)
    assert statuses(receiver, message.sid) == [("sent", None), ("delivered", None)]
    [(_path, params, _sig), _] = receiver.received
    assert (params["To"], params["From"], params["SmsSid"]) == (DELIVERED, shop.ad_line, message.sid)
    check_signatures(receiver, shop)
    assert client.messages(quiet.sid).fetch().status == "delivered"  # no callback asked for, none queued
    with ctx.db.transaction(readonly=True) as session:
        rows = session.execute(sa.select(StatusCallback.message_id, StatusCallback.state)).all()
    assert {(service.sid("SM", m), s) for m, s in rows} == {(message.sid, "done")}


def test_undelivered_and_failed_messages(
    client: Client, ctx: Context, shop: Shop, receiver: Receiver
) -> None:
    sids = {
        to: client.messages.create(to=to, from_=shop.ad_line, body="حراج", status_callback=receiver.url).sid
        for to in (UNDELIVERED, BLOCKED, REFUSED, SMSC_FAILURE)
    }

    async def body(_dispatcher: Dispatcher) -> None:
        await wait_for(lambda: len(receiver.received) >= 6, "every final status called back")

    dispatch(ctx, body)
    assert statuses(receiver, sids[UNDELIVERED]) == [("sent", None), ("undelivered", "30003")]
    assert statuses(receiver, sids[BLOCKED]) == [("sent", None), ("undelivered", "30007")]
    assert statuses(receiver, sids[REFUSED]) == [("undelivered", "30007")]  # refused: it never left
    assert statuses(receiver, sids[SMSC_FAILURE]) == [("failed", "30008")]  # retries are not news
    check_signatures(receiver, shop)


def test_a_message_that_expires_in_the_queue(
    client: Client, ctx: Context, shop: Shop, receiver: Receiver
) -> None:
    message = client.messages.create(
        to=DELIVERED, from_=shop.ad_line, body="دیر", status_callback=receiver.url
    )
    with ctx.db.transaction() as session:
        send_id = session.scalar(
            sa.select(Message.send_id).where(Message.id == service.sid_number(message.sid, "SM"))
        )
        session.execute(
            sa.update(Send).where(Send.id == send_id).values(expires_at=utcnow() - dt.timedelta(minutes=1))
        )

    async def body(_dispatcher: Dispatcher) -> None:
        await wait_for(lambda: len(receiver.received) >= 1, "expired called back")

    dispatch(ctx, body)
    assert statuses(receiver, message.sid) == [("failed", "30001")]  # expired before it left
    check_signatures(receiver, shop)


def test_a_native_cancel_is_called_back(
    client: Client, ctx: Context, shop: Shop, receiver: Receiver, http_server: Server
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    message = client.messages.create(
        to=DELIVERED,
        from_=shop.ad_line,
        body="فردا",
        status_callback=receiver.url,
        send_at=when,
        schedule_type="fixed",
    )
    assert message.status == "scheduled"
    with ctx.db.transaction(readonly=True) as session:
        send_id = session.scalar(
            sa.select(Message.send_id).where(Message.id == service.sid_number(message.sid, "SM"))
        )
    r = httpx.post(f"{http_server.base}/api/v1/sends/{send_id}/cancel", headers=shop.headers)
    assert r.status_code == 200, r.text
    # Canceling again changes nothing and queues nothing more.
    assert (
        httpx.post(f"{http_server.base}/api/v1/sends/{send_id}/cancel", headers=shop.headers).status_code
        == 200
    )

    async def body(_dispatcher: Dispatcher) -> None:
        await wait_for(lambda: len(receiver.received) >= 1, "canceled called back")
        await asyncio.sleep(0.3)

    dispatch(ctx, body)
    assert statuses(receiver, message.sid) == [("canceled", None)]
    check_signatures(receiver, shop)


def inbound(ctx: Context) -> list[tuple[str, str, str]]:
    with ctx.db.transaction(readonly=True) as session:
        rows = session.execute(
            sa.select(InboundMessage.line_number, InboundMessage.text, InboundMessage.action).order_by(
                InboundMessage.id
            )
        )
        return [(a, b, c) for a, b, c in rows]


def opted_out(ctx: Context, shop: Shop, line: str) -> bool:
    with ctx.db.transaction(readonly=True) as session:
        return optouts.is_opted_out(
            session, number=PHONE, line=line, account_id=shop.account_id, kind="informational"
        )


def test_stop_start_and_help_from_the_smsc(client: Client, ctx: Context, shop: Shop) -> None:
    before = len(inbound(ctx))
    seen: dict[str, Any] = {}

    def refused() -> TwilioRestException:
        with pytest.raises(TwilioRestException) as caught:
            client.messages.create(to=PHONE, from_=shop.ad_line, body="x")
        return caught.value

    async def body(dispatcher: Dispatcher) -> None:
        smsc = dispatcher.smsc
        assert smsc is not None
        await wait_for(lambda: smsc.bound_sessions > 0, "a bind")

        def replies() -> list[tuple[str, str]]:
            return [(s.source, s.text) for s in smsc.submissions if s.destination == PHONE.lstrip("+")]

        # HELP is answered from the line it was sent to, in the language it was written in.
        await smsc.deliver_inbound(PHONE, shop.ad_line, "HELP")
        await smsc.deliver_inbound(PHONE, shop.service_line, "راهنما")
        await wait_for(lambda: len(replies()) >= 2, "both answers at the phone")
        seen["replies"] = dict(replies())
        # STOP, in any of its forms, opts the phone out of the line; START and YES bring it back.
        await smsc.deliver_inbound(PHONE, shop.ad_line, "Stop")
        await smsc.deliver_inbound(PHONE, "98" + shop.service_line, "لغو")
        await wait_for(lambda: len(inbound(ctx)) >= before + 4, "the keywords stored")
        seen["stopped"] = (opted_out(ctx, shop, shop.ad_line), opted_out(ctx, shop, shop.service_line))
        seen["refused"] = await asyncio.to_thread(refused)
        await smsc.deliver_inbound(PHONE, shop.ad_line, "START")
        await smsc.deliver_inbound(PHONE, shop.service_line, "yes")
        await wait_for(lambda: len(inbound(ctx)) >= before + 6, "the keywords stored")

    dispatch(ctx, body)
    assert seen["replies"].keys() == {shop.ad_line, shop.service_line}
    assert seen["replies"][shop.ad_line] == service.REPLIES["help"][1]
    service_text = seen["replies"][shop.service_line]
    assert service_text.startswith(f"{SENDER_NAME}: {service.REPLIES['help'][0]}") and service_text.endswith(
        "لغو۱۱"
    )
    assert seen["stopped"] == (True, True)
    assert seen["refused"].code == 21610
    assert not opted_out(ctx, shop, shop.ad_line) and not opted_out(ctx, shop, shop.service_line)
    assert inbound(ctx)[before:] == [
        (shop.ad_line, "HELP", "help"), (shop.service_line, "راهنما", "help"),
        (shop.ad_line, "Stop", "stop"), (shop.service_line, "لغو", "stop"),
        (shop.ad_line, "START", "start"), (shop.service_line, "yes", "start"),
    ]  # fmt: skip
    # The answers are the account's own sends, charged like any other.
    with ctx.db.transaction(readonly=True) as session:
        answers = session.scalars(sa.select(Send).where(Send.account_id == shop.account_id)).all()
    assert sorted(s.line_number for s in answers) == sorted([shop.ad_line, shop.service_line])
    assert all(s.cost > 0 for s in answers)


def test_a_help_stored_twice_is_answered_and_charged_once(ctx: Context, shop: Shop) -> None:
    """A batch written again after a commit whose outcome was unknown stores its HELP again: the
    answer's key is the SMS itself, so the second answer is the first one."""
    outcome = service.KeywordOutcome("help", False, *service.REPLIES["help"])
    request = dispatching.HelpRequest(shop.ad_line, shop.account_id, PHONE, "HELP", outcome, utcnow())
    for _ in range(2):
        with ctx.db.transaction() as session:
            assert dispatching.answer_help(session, settings=ctx.settings, requests=[request, request]) == 2
    with ctx.db.transaction(readonly=True) as session:
        answers = session.scalars(sa.select(Send).where(Send.account_id == shop.account_id)).all()
    assert len(answers) == 1 and answers[0].line_number == shop.ad_line and answers[0].cost > 0
