"""The dispatcher against a real SMPP peer over loopback: outcomes, credit, retries, receipts,
inbound replies, routing, failover and shutdown."""

from __future__ import annotations

import asyncio
import datetime as dt

import sqlalchemy as sa

from payamak.billing import service as billing
from payamak.db import utcnow
from payamak.dispatch import repository as repo
from payamak.dispatch import service as dispatch
from payamak.providers.smpp import SimulatedSmsc, SmscConfig
from payamak.sending import blacklist, optouts
from payamak.sending.models import InboundMessage, Message, Send

from .conftest import Shop, all_final, fast_config, start_dispatcher, wait_for

# The simulated SMSC's test numbers: the last seven digits decide the outcome.
DELIVERED = "09120000000"
UNDELIVERED = "09120000001"
EXPIRED = "09120000002"
REJECTED = "09120000003"
BLOCKED = "09120000004"
REFUSED = "09120000005"
THROTTLED_ONCE = "09120000006"
NO_RECEIPT = "09120000007"
NEVER_ANSWERED = "09120000008"
SYSTEM_ERROR = "09120000009"


def e164(number: str) -> str:
    return "+98" + number[1:]


def test_every_outcome_and_its_credit(shop: Shop) -> None:
    numbers = [DELIVERED, UNDELIVERED, EXPIRED, REJECTED, BLOCKED, REFUSED, THROTTLED_ONCE, NO_RECEIPT, NEVER_ANSWERED,
               SYSTEM_ERROR, "09121111111", "09351111111"]  # fmt: skip

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            shop.add_route("main", port=smsc.port, config={"request_timeout": 0.5})
            send_id = shop.send(numbers)
            dispatcher = start_dispatcher(shop, fast_config(max_attempts=2))
            await dispatcher.start()
            try:

                def settled() -> bool:
                    by = shop.by_recipient()
                    waiting = {"scheduled", "queued", "submitting"}
                    return (
                        all(m.status not in waiting for m in by.values())
                        and by[e164(NO_RECEIPT)].status == "sent"
                    )

                await wait_for(settled, 30, "every message past the queue")
                await wait_for(
                    lambda: all(
                        m.status != "sent" or m.recipient == e164(NO_RECEIPT) for m in shop.messages()
                    ),
                    10,
                )
            finally:
                await dispatcher.stop()
            by = shop.by_recipient(send_id)
            assert {r: by[e164(r)].status for r in numbers} == {
                DELIVERED: "delivered", UNDELIVERED: "undelivered", EXPIRED: "expired", REJECTED: "rejected",
                BLOCKED: "blocked", REFUSED: "rejected", THROTTLED_ONCE: "delivered", NO_RECEIPT: "sent",
                NEVER_ANSWERED: "failed", SYSTEM_ERROR: "failed", "09121111111": "delivered", "09351111111": "delivered",
            }  # fmt: skip
            assert by[e164(THROTTLED_ONCE)].attempts == 2
            assert (
                by[e164(NEVER_ANSWERED)].error == "smpp_timeout" and by[e164(NEVER_ANSWERED)].maybe_duplicate
            )
            assert by[e164(SYSTEM_ERROR)].error and by[e164(SYSTEM_ERROR)].error.startswith(
                "smpp_status:ESME_RSYSERR"
            )
            assert by[e164(REFUSED)].error == "smpp_status:ESME_RINVDSTADR"
            assert by[e164(BLOCKED)].error == "receipt:blocked:14"
            assert by[e164(DELIVERED)].provider_id and by[e164(DELIVERED)].done_at is not None
            # Failed, rejected (at submit or by receipt), blocked and expired-before-delivery come
            # back; undelivered and expired-after-acceptance stay charged on this route.
            assert shop.balance() == shop.expected_balance()
            assert shop.ledger_ok()
            with shop.ctx.db.transaction(readonly=True) as session:
                assert blacklist.check_number(session, number=BLOCKED).blocked
                assert not blacklist.check_number(session, number=REJECTED).blocked
            assert dispatcher.stats.retried >= 3  # throttled once, never answered, system error

    asyncio.run(scenario())


def test_undelivered_is_refunded_when_the_route_says_so(shop: Shop) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.3)) as smsc:
            shop.add_route("refunding", port=smsc.port, refund_undelivered=True)
            shop.send([UNDELIVERED, EXPIRED, DELIVERED])
            before = shop.balance()
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await wait_for(all_final(shop, 3), 20, "all final")
            finally:
                await dispatcher.stop()
            by = shop.by_recipient()
            assert by[e164(UNDELIVERED)].status == "undelivered" and by[e164(EXPIRED)].status == "expired"
            # The receipts came after the results were written (0.3 s): found by provider id.
            assert dispatcher.stats.sent == 3
            refunded = by[e164(UNDELIVERED)].price + by[e164(EXPIRED)].price
            assert shop.balance() == before + refunded == shop.expected_balance()
            assert shop.ledger_ok()

    asyncio.run(scenario())


def test_many_messages_each_sent_once(shop: Shop) -> None:
    numbers = [f"0912{3_000_000 + n:07d}" for n in range(3000)]

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.0, keep=10_000)) as smsc:
            shop.add_route("main", port=smsc.port)
            shop.send(numbers)
            dispatcher = start_dispatcher(shop, fast_config(window=500))
            await dispatcher.start()
            try:
                await wait_for(all_final(shop, len(numbers)), 60, "all final")
            finally:
                await dispatcher.stop()
            destinations = [s.destination for s in smsc.submissions]
            assert len(destinations) == len(set(destinations)) == len(numbers)
            assert dispatcher.stats.max_in_flight <= 500
            assert {m.status for m in shop.messages()} == {"delivered"}
            assert shop.balance() == shop.expected_balance()
            assert shop.ledger_ok()

    asyncio.run(scenario())


def test_no_route_uses_the_built_in_simulator(shop: Shop) -> None:
    async def scenario() -> None:
        shop.send([DELIVERED, BLOCKED])
        dispatcher = start_dispatcher(shop)
        await dispatcher.start()
        try:
            assert dispatcher.smsc is not None
            await wait_for(all_final(shop, 2), 20, "all final")
            assert dispatcher.route_status()[None].state == "up"
        finally:
            await dispatcher.stop()
        by = shop.by_recipient()
        assert by[e164(DELIVERED)].status == "delivered" and by[e164(DELIVERED)].route_id is None
        assert by[e164(BLOCKED)].status == "blocked"
        assert shop.balance() == shop.expected_balance()

    asyncio.run(scenario())


def test_wrong_credentials_leave_messages_queued_without_a_storm(shop: Shop) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0)) as smsc:
            route_id = shop.add_route(
                "bad", port=smsc.port, config={"password": "wrong", "reconnect_min": 0.2}
            )
            shop.send([DELIVERED, "09121111111"])
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await asyncio.sleep(2.0)
                status = dispatcher.route_status()[route_id]
                assert status.state == "failing" and status.last_error == "ESME_RINVPASWD"
                assert {(m.status, m.attempts) for m in shop.messages()} == {("queued", 0)}
                # The bind is retried with a growing delay, not in a loop.
                assert smsc.stats.bind_refusals <= 5
                await asyncio.sleep(0.5)  # a heartbeat writes the state for other processes
            finally:
                await dispatcher.stop()
            with shop.ctx.db.transaction(readonly=True) as session:
                views = dispatch.route_views(session, dispatch.list_routes(session, principal=None))
            assert views[0].state == "failing" and views[0].last_error == "ESME_RINVPASWD"
            assert shop.balance() == shop.expected_balance()

    asyncio.run(scenario())


def test_failover_to_the_next_route_while_one_is_down(shop: Shop) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            dead = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
            dead_port = dead.sockets[0].getsockname()[1]
            dead.close()
            await dead.wait_closed()
            first = shop.add_route("first", port=dead_port, priority=1, config={"connect_timeout": 0.3})
            second = shop.add_route("second", port=smsc.port, priority=2)
            shop.send([DELIVERED, "09121111111", "09351111111"])
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await wait_for(all_final(shop, 3), 20, "all final")
                assert dispatcher.route_status()[first].state == "down"
            finally:
                await dispatcher.stop()
            assert {m.route_id for m in shop.messages()} == {second}
            assert {m.attempts for m in shop.messages()} == {1}

    asyncio.run(scenario())


def test_a_line_pinned_to_a_route_and_operator_routes(shop: Shop) -> None:
    async def scenario() -> None:
        async with (
            SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as a,
            SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as b,
        ):
            mci = shop.add_route("mci", port=a.port, operators="MCI", priority=1)
            rest = shop.add_route("rest", port=b.port, priority=2)
            shop.send(["09121111111", "09351111111"])
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await wait_for(all_final(shop, 2), 20, "all final")
                by = shop.by_recipient()
                assert by["+989121111111"].route_id == mci and by["+989351111111"].route_id == rest
                with shop.ctx.db.transaction() as session:
                    session.execute(sa.text("UPDATE lines SET route_id = :r"), {"r": rest})
                dispatcher.request_reload()
                shop.send(["09122222222"])
                await wait_for(all_final(shop, 3), 20, "all final")
            finally:
                await dispatcher.stop()
            assert shop.by_recipient()["+989122222222"].route_id == rest

    asyncio.run(scenario())


def test_replies_11_and_12_opt_out_and_back_in(shop: Shop) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0)) as smsc:
            shop.add_route("main", port=smsc.port)
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await wait_for(lambda: smsc.bound_sessions > 0, 10, "a bind")
                await smsc.deliver_inbound("+989121234567", shop.line, "۱۱")
                await wait_for(lambda: dispatcher.stats.inbound >= 1, 10, "the reply stored")
                with shop.ctx.db.transaction(readonly=True) as session:
                    assert optouts.is_opted_out(session, number="09121234567", line=shop.line,
                                                account_id=shop.account_id, kind="informational")  # fmt: skip
                await smsc.deliver_inbound("+989121234567", shop.line, "12")
                await smsc.deliver_inbound("+989121234567", "98" + shop.line, "سلام، کی می‌رسد؟")
                await smsc.deliver_inbound("+989121234567", "7777", "hello")
                await wait_for(lambda: dispatcher.stats.inbound >= 4, 10, "the replies stored")
            finally:
                await dispatcher.stop()
            with shop.ctx.db.transaction(readonly=True) as session:
                rows = session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)).all()
                assert [(r.line_number, r.account_id, r.sender, r.text, r.action) for r in rows] == [
                    (shop.line, shop.account_id, "+989121234567", "۱۱", "stop"),
                    (shop.line, shop.account_id, "+989121234567", "12", "start"),
                    (shop.line, shop.account_id, "+989121234567", "سلام، کی می‌رسد؟", ""),
                    ("7777", None, "+989121234567", "hello", ""),
                ]
                assert not optouts.is_opted_out(session, number="09121234567", line=shop.line,
                                                account_id=shop.account_id, kind="advertising")  # fmt: skip

    asyncio.run(scenario())


def test_expired_scheduled_and_canceled_messages(shop: Shop) -> None:
    expired_send = shop.send(["09121111111", "09121111112"])
    scheduled_send = shop.send(["09121111113"])
    canceled_send = shop.send(["09121111114"])
    with shop.ctx.db.transaction() as session:
        past = utcnow() - dt.timedelta(minutes=1)
        session.execute(sa.update(Send).where(Send.id == expired_send).values(expires_at=past))
        # A send whose time came while no dispatcher ran: still `scheduled`, due now.
        session.execute(sa.update(Send).where(Send.id == scheduled_send).values(state="scheduled"))
        session.execute(
            sa.update(Message).where(Message.send_id == scheduled_send).values(status="scheduled")
        )
        from payamak.sending import service as sending

        sending.cancel(session, principal=shop.principal, send_id=canceled_send)

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05, keep=100)) as smsc:
            shop.add_route("main", port=smsc.port)
            dispatcher = start_dispatcher(shop)
            await dispatcher.start()
            try:
                await wait_for(all_final(shop, 4), 20, "all final")
            finally:
                await dispatcher.stop()
            assert [s.destination for s in smsc.submissions] == ["989121111113"]

    asyncio.run(scenario())
    statuses = {m.recipient: (m.status, m.error) for m in shop.messages()}
    assert statuses == {
        "+989121111111": ("expired", "validity_expired"),
        "+989121111112": ("expired", "validity_expired"),
        "+989121111113": ("delivered", None),
        "+989121111114": ("canceled", "canceled"),
    }
    assert shop.balance() == shop.expected_balance()
    assert shop.ledger_ok()


def test_sends_are_settled_once_finished_and_late_refunds_still_work(shop: Shop) -> None:
    send_id = shop.send([DELIVERED, NO_RECEIPT])

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            shop.add_route("main", port=smsc.port)
            dispatcher = start_dispatcher(shop, fast_config(receipt_wait_hours=0))
            await dispatcher.start()
            try:
                await wait_for(lambda: {m.status for m in shop.messages()} == {"delivered", "sent"}, 20)
                with shop.ctx.db.transaction() as session:
                    session.execute(sa.update(Send).where(Send.id == send_id).values(expires_at=utcnow()))
                await wait_for(lambda: dispatcher.stats.settled >= 1, 20, "the send settled")
            finally:
                await dispatcher.stop()

    asyncio.run(scenario())
    with shop.ctx.db.transaction() as session:
        assert session.get(Send, send_id).state == "done"  # type: ignore[union-attr]
        late = shop.by_recipient()[e164(NO_RECEIPT)]
        # A receipt long after settling: the message's credit comes back as a refund.
        dispatch.give_back(session, account_id=shop.account_id, send_id=send_id, amount=late.price, count=1)
        session.execute(sa.update(Message).where(Message.id == late.id).values(status="rejected"))
        # What the send shows as given back counts the refund after settling, too.
        given = billing.given_back(session, account_id=shop.account_id, ref_type="send", ref_ids=[send_id])
        assert given == {send_id: late.price}
    assert shop.balance() == shop.expected_balance()
    assert shop.ledger_ok()


def test_graceful_stop_leaves_nothing_claimed(shop: Shop) -> None:
    numbers = [f"0912{4_000_000 + n:07d}" for n in range(2000)]

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.5, keep=10_000)) as smsc:
            shop.add_route("main", port=smsc.port)
            shop.send(numbers)
            dispatcher = start_dispatcher(shop, fast_config(window=300))
            await dispatcher.start()
            await wait_for(lambda: dispatcher.stats.results > 300, 20, "some results")
            await dispatcher.stop()
            statuses = {m.status for m in shop.messages()}
            assert "submitting" not in statuses
            with shop.ctx.db.transaction(readonly=True) as session:
                live = repo.live_dispatchers(session, alive_since=utcnow() - dt.timedelta(hours=1))
            assert live == 0  # it said goodbye: a successor takes nothing back
            # The rest go with the next dispatcher, receipts of the first included.
            second = start_dispatcher(shop, fast_config(window=300))
            await second.start()
            try:
                await wait_for(all_final(shop, len(numbers)), 60, "all final")
            finally:
                await second.stop()
            destinations = [s.destination for s in smsc.submissions]
            assert len(destinations) == len(set(destinations)) == len(numbers)
            assert second.stats.recovered == 0
            assert shop.ledger_ok()

    asyncio.run(scenario())
