"""SmppProvider against the simulated SMSC and against misbehaving peers, over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from payamak.providers.base import OutgoingSms
from payamak.providers.smpp import (
    Inbound,
    NoReceiver,
    Receipt,
    SimulatedSmsc,
    SmppProvider,
    SmppRoute,
    SmscConfig,
    pdu,
)
from payamak.providers.smpp.client import _Throttle
from payamak.providers.smpp.link import Link

PERSIAN = "سلام، سفارش شما ثبت شد. کد پیگیری ۱۲۳۴۵"
LONG_PERSIAN = "مشتری گرامی، حراج بزرگ پاییزه از امروز آغاز شد و تا پایان هفته ادامه دارد. " * 5
GSM = "Your code is 4821 {ok} [50€]"


def run(coroutine: Coroutine[Any, Any, None], timeout: float = 30) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout))


@dataclass
class Collected:
    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)

    async def wait_receipts(self, count: int, timeout: float = 5.0) -> list[Receipt]:
        deadline = time.monotonic() + timeout
        while len(self.receipts) < count:
            assert time.monotonic() < deadline, f"{len(self.receipts)} of {count} receipts"
            await asyncio.sleep(0.01)
        return self.receipts


def route_to(port: int, **fields: Any) -> SmppRoute:
    return replace(
        SmppRoute("127.0.0.1", port, "payamak", "payamak", reconnect_min=0.05, reconnect_max=0.5), **fields
    )


@contextlib.asynccontextmanager
async def pair(
    config: SmscConfig | None = None, **route: Any
) -> AsyncIterator[tuple[SimulatedSmsc, SmppProvider, Collected]]:
    collected = Collected()
    async with SimulatedSmsc(config or SmscConfig(port=0, receipt_delay=0.01)) as smsc:
        provider = SmppProvider(
            route_to(smsc.port, **route),
            on_receipt=collected.receipts.append,
            on_inbound=collected.inbound.append,
        )
        try:
            yield smsc, provider, collected
        finally:
            await provider.close()


def sms(to: str, text: str, reference: str = "", sender: str = "3000123") -> OutgoingSms:
    return OutgoingSms(to=to, text=text, sender=sender, reference=reference or to)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A TCP server with hand-written behaviour, for peers that misbehave on purpose."""
    tasks: set[asyncio.Task[Any]] = set()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_frame(reader: asyncio.StreamReader) -> pdu.Frame:
    header = await reader.readexactly(16)
    length, command_id, status, sequence = struct.unpack(">IIII", header)
    return command_id, status, sequence, await reader.readexactly(length - 16)


async def accept_bind(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    command_id, _, sequence, _ = await read_frame(reader)
    assert command_id == pdu.BIND_TRANSCEIVER
    writer.write(pdu.encode_frame(pdu.BIND_TRANSCEIVER_RESP, 0, sequence, b"raw\0"))


# --- messages arrive intact --------------------------------------------------------------------------


@pytest.mark.parametrize("long_mode", ["udh", "payload"])
def test_texts_arrive_intact_and_ids_map_back(long_mode: str) -> None:
    async def scenario() -> None:
        async with pair(long_mode=long_mode) as (smsc, provider, collected):
            messages = [
                sms("+989121000001", GSM, "gsm"),
                sms("+989121000002", PERSIAN, "fa"),
                sms("+989121000003", LONG_PERSIAN, "long"),
            ]
            results = await provider.submit(messages)
            assert [r.reference for r in results] == ["gsm", "fa", "long"]
            assert all(r.accepted for r in results), results
            arrived = {s.destination: s for s in await smsc.wait_submissions(3)}
            assert arrived["989121000001"].text == GSM
            assert arrived["989121000001"].data_coding == 0
            assert arrived["989121000002"].text == PERSIAN
            assert arrived["989121000002"].data_coding == 8
            long = arrived["989121000003"]
            assert long.text == LONG_PERSIAN
            assert long.mode == long_mode
            assert long.source == "3000123"
            assert results[2].provider_id == long.message_ids[0]
            if long_mode == "udh":
                assert long.parts == 6
                assert results[2].extra == {"part_ids": " ".join(long.message_ids), "parts": "6"}
            else:
                assert long.parts == 1 and results[2].extra == {}
            # One receipt per message, even for six parts, naming the message's provider id.
            receipts = await collected.wait_receipts(3)
            await asyncio.sleep(0.1)
            assert len(collected.receipts) == 3
            assert {r.provider_id for r in receipts} == {r.provider_id for r in results}
            assert all(r.status == "delivered" and r.final for r in receipts)

    run(scenario())


def test_test_numbers_give_their_outcomes() -> None:
    async def scenario() -> None:
        async with pair(request_timeout=0.5) as (_, provider, collected):
            numbers = {digit: f"+98912000000{digit}" for digit in range(10)}
            results = await provider.submit([sms(numbers[d], PERSIAN, str(d)) for d in range(10)])
            by = {r.reference: r for r in results}
            for digit in "012347":
                assert by[digit].accepted, by[digit]
            assert by["5"].error == "smpp_status:ESME_RINVDSTADR" and not by["5"].temporary
            assert by["6"].error == "smpp_throttled:ESME_RTHROTTLED" and by["6"].temporary
            assert by["8"].error == "smpp_timeout" and by["8"].temporary
            assert by["9"].error == "smpp_status:ESME_RSYSERR" and by["9"].temporary
            assert by["5"].extra["smpp_status"] == "ESME_RINVDSTADR"
            receipts = {r.provider_id: r for r in await collected.wait_receipts(5)}
            await asyncio.sleep(0.1)
            assert len(collected.receipts) == 5  # none for …7
            outcome = {d: receipts[by[d].provider_id] for d in "01234"}  # type: ignore[index]
            assert outcome["0"].status == "delivered"
            assert outcome["1"].status == "undelivered" and outcome["1"].error == 1
            assert outcome["2"].status == "expired"
            assert outcome["3"].status == "rejected" and outcome["3"].error == 3
            assert outcome["4"].status == "blocked" and outcome["4"].error == 14
            assert outcome["4"].destination == "989120000004"
            # Throttled once: the retry goes through.
            again = await provider.submit([sms(numbers[6], PERSIAN, "6")])
            assert again[0].accepted

    run(scenario())


def test_receipt_outcome_rates() -> None:
    async def scenario() -> None:
        config = SmscConfig(port=0, receipt_delay=0, blocked_rate=0.5, expired_rate=0.5, seed=7)
        async with pair(config) as (_, provider, collected):
            results = await provider.submit([sms(f"+98912{1000000 + n}", GSM) for n in range(200)])
            assert all(r.accepted for r in results)
            statuses = {r.status for r in await collected.wait_receipts(200)}
            assert statuses == {"blocked", "expired"}

    run(scenario())


def test_a_batch_is_pipelined_through_the_window() -> None:
    async def scenario() -> None:
        # …8 is never answered: the SMSC sees exactly a window's worth before anything times out.
        async with pair(window=4, request_timeout=1.0) as (smsc, provider, _):
            task = asyncio.create_task(provider.submit([sms(f"+9891210{n}0000008", GSM) for n in range(10)]))
            await asyncio.sleep(0.5)
            assert smsc.stats.submits == 4
            results = await task
            assert [r.error for r in results] == ["smpp_timeout"] * 10
            assert smsc.stats.submits == 10

    run(scenario())


def test_sockets_have_nagle_off() -> None:
    async def scenario() -> None:
        async with pair() as (_, provider, _):
            assert await provider.wait_bound()
            link = provider._binds[0].link
            assert link is not None
            sock = link.writer.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0

    run(scenario())


def test_several_binds_share_the_load() -> None:
    async def scenario() -> None:
        async with pair(binds=3, window=8) as (smsc, provider, _):
            assert await provider.wait_bound()
            for _ in range(100):
                if smsc.bound_sessions == 3:
                    break
                await asyncio.sleep(0.01)
            assert smsc.bound_sessions == 3 and provider.bound == 3
            results = await provider.submit([sms(f"+98912{2000000 + n}", PERSIAN) for n in range(300)])
            assert all(r.accepted for r in results)
            systems = {s.system_id for s in await smsc.wait_submissions(300)}
            assert systems == {"payamak"}

    run(scenario())


def test_tps_limit_paces_the_route() -> None:
    async def scenario() -> None:
        async with pair(tps=200) as (_, provider, _):
            assert await provider.wait_bound()
            started = time.monotonic()
            results = await provider.submit([sms(f"+98912{3000000 + n}", GSM) for n in range(120)])
            elapsed = time.monotonic() - started
            assert all(r.accepted for r in results)
            assert 0.45 < elapsed < 2.0  # 120 at 200/s with a 10-message burst

    run(scenario())


def test_throttled_route_slows_down_and_failures_are_temporary() -> None:
    async def scenario() -> None:
        async with pair(SmscConfig(port=0, receipt_delay=0, max_tps=300)) as (_, provider, _):
            assert provider.rate_limit is None
            results = await provider.submit([sms(f"+98912{4000000 + n}", GSM) for n in range(1500)])
            refused = [r for r in results if not r.accepted]
            assert refused
            assert all(r.temporary and r.error and r.error.startswith("smpp_throttled:") for r in refused)
            assert provider.rate_limit is not None
            assert provider.stats.throttled == len(refused)

    run(scenario())


def test_throttle_halves_then_climbs_back() -> None:
    throttle = _Throttle(100, now=0.0)
    assert throttle.cut(1.0)
    assert throttle.rate == 50
    assert not throttle.cut(1.5)  # a window of refusals is one signal
    assert throttle.cut(2.1) and throttle.rate == 25
    throttle.reserve(3.1)
    assert throttle.rate == pytest.approx(30)  # +5 % of 100 a second
    throttle.reserve(30.0)
    assert throttle.rate == 100

    unlimited = _Throttle(None, now=0.0)
    for step in range(1000):
        assert unlimited.reserve(step / 1000) == 0.0
    assert unlimited.cut(1.0)
    assert unlimited.rate is not None and 300 < unlimited.rate < 700
    assert unlimited.reserve(1.0) > 0.0 or unlimited.tokens >= 0
    unlimited.reserve(100.0)
    assert unlimited.rate is None  # back to no limit once recovered


# --- receipts and inbound ----------------------------------------------------------------------------


def test_inbound_messages_are_reassembled_for_an_async_callback() -> None:
    async def scenario() -> None:
        seen: list[Inbound] = []

        async def on_inbound(message: Inbound) -> None:
            await asyncio.sleep(0)
            seen.append(message)

        async with SimulatedSmsc(SmscConfig(port=0)) as smsc:
            provider = SmppProvider(route_to(smsc.port), on_inbound=on_inbound)
            try:
                assert await provider.wait_bound()
                await smsc.deliver_inbound("+989121112233", "3000123", "۱۱")
                await smsc.deliver_inbound("+989121112233", "3000123", LONG_PERSIAN)
                for _ in range(100):
                    if len(seen) == 2:
                        break
                    await asyncio.sleep(0.01)
            finally:
                await provider.close()
            with pytest.raises(NoReceiver):
                await smsc.deliver_inbound("+989121112233", "3000123", "12")
        assert [(m.from_, m.to, m.text) for m in seen] == [
            ("+989121112233", "3000123", "۱۱"),
            ("+989121112233", "3000123", LONG_PERSIAN),
        ]
        assert seen[0].received_at.tzinfo is not None

    run(scenario())


def test_receipts_held_while_no_receiver_is_bound_arrive_after_reconnect() -> None:
    async def scenario() -> None:
        async with pair(SmscConfig(port=0, receipt_delay=0.3)) as (smsc, provider, collected):
            results = await provider.submit([sms(f"+98912{5000000 + n}", GSM) for n in range(20)])
            assert all(r.accepted for r in results)
            smsc.drop_connections()  # before any receipt was due
            receipts = await collected.wait_receipts(20, timeout=5)
            assert {r.provider_id for r in receipts} == {r.provider_id for r in results}

    run(scenario())


def test_bad_callbacks_and_garbage_receipts_do_not_kill_the_session() -> None:
    async def scenario() -> None:
        answers: list[int] = []

        async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accept_bind(reader, writer)
            bodies = [
                pdu.ShortMessage(
                    destination_addr="3000123", esm_class=4, short_message=b"utter garbage"
                ).encode(),
                b"\x01\x02",  # not even a deliver_sm body
                pdu.ShortMessage(
                    destination_addr="3000123", esm_class=sms_udhi(), short_message=b"\x09broken"
                ).encode(),
                pdu.ShortMessage(
                    destination_addr="3000123", esm_class=4, short_message=b"id:boom stat:DELIVRD"
                ).encode(),
                pdu.ShortMessage(
                    destination_addr="3000123", esm_class=4, short_message=b"id:fine stat:DELIVRD"
                ).encode(),
            ]
            for sequence, body in enumerate(bodies, start=100):
                writer.write(pdu.encode_frame(pdu.DELIVER_SM, 0, sequence, body))
            while len(answers) < len(bodies):
                command_id, status, _, _ = await read_frame(reader)
                if command_id == pdu.DELIVER_SM_RESP:
                    answers.append(status)
            await reader.read()  # until the client goes

        received: list[str] = []

        def on_receipt(receipt: Receipt) -> None:
            if receipt.provider_id == "boom":
                raise RuntimeError("callback bug")
            received.append(receipt.provider_id)

        async with raw_server(smsc) as port:
            provider = SmppProvider(route_to(port), on_receipt=on_receipt)
            try:
                assert await provider.wait_bound()
                for _ in range(200):
                    if len(answers) == 5 and received:
                        break
                    await asyncio.sleep(0.01)
                assert provider.bound == 1
            finally:
                await provider.close()
        assert answers == [0] * 5  # every deliver_sm acknowledged, readable or not
        assert received == ["fine"]
        assert provider.stats.unreadable_receipts == 1

    run(scenario())


def sms_udhi() -> int:
    return 0x40


# --- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("payamak", "wrong", "ESME_RINVPASWD"), ("nobody", "payamak", "ESME_RINVSYSID")],
)
def test_wrong_credentials_fail_permanently_without_a_retry_storm(
    system_id: str, password: str, status: str
) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0)) as smsc:
            route = route_to(
                smsc.port, system_id=system_id, password=password, reconnect_min=0.05, reconnect_max=5
            )
            async with SmppProvider(route) as provider:
                started = time.monotonic()
                results = await provider.submit(
                    [sms("+989121234567", GSM, "a"), sms("+989121234568", GSM, "b")]
                )
                assert time.monotonic() - started < 2
                for result in results:
                    assert not result.accepted and not result.temporary
                    assert result.error == f"smpp_bind_failed:{status}"
                assert provider.stats.last_bind_error == status
                await asyncio.sleep(1.0)
                assert smsc.stats.bind_refusals <= 2  # backed off to the longest delay

    run(scenario())


def test_no_smsc_listening_is_temporary() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with SmppProvider(route_to(port, connect_timeout=0.5)) as provider:
            started = time.monotonic()
            results = await provider.submit([sms("+989121234567", GSM)] * 50)
            assert time.monotonic() - started < 2
            assert {(r.error, r.temporary) for r in results} == {("smpp_unavailable", True)}

    run(scenario())


def test_smsc_that_never_answers_the_bind() -> None:
    async def scenario() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()

        async with raw_server(silent) as port, SmppProvider(route_to(port, connect_timeout=0.3)) as provider:
            results = await provider.submit([sms("+989121234567", GSM)])
            assert (results[0].error, results[0].temporary) == ("smpp_unavailable", True)
            for _ in range(100):
                if provider.stats.bind_failures:
                    break
                await asyncio.sleep(0.01)
            assert provider.stats.last_bind_error == "no answer"

    run(scenario())


@pytest.mark.parametrize(
    "garbage", [b"\xff" * 64, b"HTTP/1.1 400 Bad Request\r\n\r\n", struct.pack(">I", 3) * 8]
)
def test_smsc_answering_garbage_mid_window(garbage: bytes) -> None:
    async def scenario() -> None:
        connections = 0

        async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            await accept_bind(reader, writer)
            await read_frame(reader)  # the first submit_sm
            writer.write(garbage)
            await reader.read()

        async with raw_server(smsc) as port, SmppProvider(route_to(port, request_timeout=5)) as provider:
            started = time.monotonic()
            results = await provider.submit([sms(f"+98912123456{n}", GSM) for n in range(5)])
            assert time.monotonic() - started < 2  # not the request timeout
            assert all(r.temporary and not r.accepted for r in results)
            assert {r.error for r in results} <= {"smpp_connection_lost", "smpp_unavailable"}
            for _ in range(100):
                if connections >= 2:
                    break
                await asyncio.sleep(0.02)
            assert connections >= 2  # it reconnected

    run(scenario())


def test_connection_dropped_mid_window_fails_in_flight_as_temporary_then_recovers() -> None:
    async def scenario() -> None:
        async with pair(request_timeout=5) as (smsc, provider, _):
            assert await provider.wait_bound()
            # Never answered, so these are in flight when the connection goes.
            task = asyncio.create_task(
                provider.submit([sms(f"+9891{n}00000008", GSM) for n in range(10, 20)])
            )
            while smsc.stats.submits < 10:
                await asyncio.sleep(0.01)
            assert smsc.drop_connections() == 1
            results = await task
            assert {(r.error, r.temporary) for r in results} == {("smpp_connection_lost", True)}
            assert await provider.wait_bound(5)
            again = await provider.submit([sms("+989121234567", PERSIAN)])
            assert again[0].accepted
            assert provider.stats.binds == 2

    run(scenario())


def test_reconnects_after_an_smsc_restart() -> None:
    async def scenario() -> None:
        smsc = SimulatedSmsc(SmscConfig(port=0))
        await smsc.start()
        port = smsc.port
        provider = SmppProvider(route_to(port))
        try:
            assert (await provider.submit([sms("+989121234567", GSM)]))[0].accepted
            await smsc.close()
            down = await provider.submit([sms("+989121234567", GSM)])
            assert down[0].temporary and not down[0].accepted
            smsc = SimulatedSmsc(SmscConfig(port=port))
            await smsc.start()
            assert await provider.wait_bound(5)
            assert (await provider.submit([sms("+989121234567", GSM)]))[0].accepted
        finally:
            await provider.close()
            await smsc.close()

    run(scenario())


def test_smsc_unbind_and_enquire_link() -> None:
    async def scenario() -> None:
        async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accept_bind(reader, writer)
            writer.write(pdu.encode_frame(pdu.ENQUIRE_LINK, 0, 7))
            writer.write(pdu.encode_frame(0x00000103, 0, 8))  # data_sm: not supported
            got = [await read_frame(reader) for _ in range(2)]
            assert got[0][:3] == (pdu.ENQUIRE_LINK_RESP, 0, 7)
            assert got[1][:3] == (pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, 8)
            writer.write(pdu.encode_frame(pdu.UNBIND, 0, 9))
            assert (await read_frame(reader))[:3] == (pdu.UNBIND_RESP, 0, 9)
            await reader.read()

        async with raw_server(smsc) as port, SmppProvider(route_to(port)) as provider:
            assert await provider.wait_bound()
            for _ in range(100):
                if provider.stats.binds >= 2:
                    break
                await asyncio.sleep(0.02)
            assert provider.stats.binds >= 2  # bound again after the SMSC's unbind

        async with pair(enquire_link_interval=0.1) as (smsc_, provider, _):
            assert await provider.wait_bound()
            await asyncio.sleep(0.5)
            assert smsc_.stats.enquire_links >= 2
            assert provider.bound == 1

    run(scenario())


def test_enquire_link_unanswered_drops_the_connection() -> None:
    async def scenario() -> None:
        connections = 0

        async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            await accept_bind(reader, writer)
            await reader.read()  # hears nothing more

        async with (
            raw_server(deaf) as port,
            SmppProvider(route_to(port, enquire_link_interval=0.1, request_timeout=0.2)) as provider,
        ):
            assert await provider.wait_bound()
            for _ in range(100):
                if connections >= 2:
                    break
                await asyncio.sleep(0.02)
            assert connections >= 2

    run(scenario())


def test_unsendable_messages_fail_permanently_and_alone() -> None:
    async def scenario() -> None:
        async with pair() as (_, provider, _):
            results = await provider.submit(
                [
                    sms("+989121234567", "bad \ud800 surrogate", "text"),
                    sms("+989121234567", GSM, "sender", sender="پیامک"),
                    sms("+98912123456789012345678", GSM, "address"),
                    sms("+989121234567", GSM, "fine"),
                ]
            )
            assert [(r.error, r.temporary) for r in results[:3]] == [
                ("invalid_text", False),
                ("invalid_sender", False),
                ("invalid_address", False),
            ]
            assert results[3].accepted

    run(scenario())


def test_close_while_submitting_and_after() -> None:
    async def scenario() -> None:
        async with pair(request_timeout=10) as (smsc, provider, _):
            task = asyncio.create_task(
                provider.submit([sms(f"+9891{n}00000008", GSM) for n in range(10, 15)])
            )
            while smsc.stats.submits < 5:
                await asyncio.sleep(0.01)
            started = time.monotonic()
            await provider.close()
            results = await task
            assert time.monotonic() - started < 3
            assert all(r.temporary and not r.accepted for r in results)
            after = await provider.submit([sms("+989121234567", GSM, "late")])
            assert (after[0].reference, after[0].error, after[0].temporary) == ("late", "smpp_closed", True)

    run(scenario())


def test_simulated_smsc_speaks_plain_smpp() -> None:
    """Bind, submit before bind, double bind and garbage, with no client library in the way."""

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0)) as smsc:
            reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
            body = pdu.ShortMessage(destination_addr="989121234567", short_message=b"hi").encode()
            writer.write(pdu.encode_frame(pdu.SUBMIT_SM, 0, 1, body))
            assert (await read_frame(reader))[:2] == (pdu.SUBMIT_SM_RESP, pdu.ESME_RINVBNDSTS)
            writer.write(
                pdu.encode_frame(pdu.BIND_TRANSMITTER, 0, 2, pdu.Bind("payamak", "payamak").encode())
            )
            command_id, status, _, reply = await read_frame(reader)
            assert (command_id, status, pdu.decode_message_id(reply)) == (
                pdu.BIND_TRANSMITTER_RESP,
                0,
                "payamak-smsc",
            )
            writer.write(
                pdu.encode_frame(pdu.BIND_TRANSMITTER, 0, 3, pdu.Bind("payamak", "payamak").encode())
            )
            assert (await read_frame(reader))[1] == pdu.ESME_RALYBND
            writer.write(pdu.encode_frame(pdu.SUBMIT_SM, 0, 4, b"\x00\x01"))
            assert (await read_frame(reader))[:2] == (pdu.SUBMIT_SM_RESP, pdu.ESME_RINVCMDLEN)
            writer.write(b"\x00\x00\x00\x01garbage")
            command_id, status, _, _ = await read_frame(reader)
            assert command_id == pdu.GENERIC_NACK and status == pdu.ESME_RINVCMDLEN
            assert await reader.read() == b""  # and it hung up
            writer.close()
            await writer.wait_closed()
            assert smsc.stats.protocol_errors == 2

    run(scenario())


def test_link_batches_writes() -> None:
    async def scenario() -> None:
        chunks: list[bytes] = []

        async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                chunks.append(data)

        async with raw_server(sink) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            link = Link(reader, writer)
            for sequence in range(100):
                link.send(pdu.encode_frame(pdu.ENQUIRE_LINK, 0, sequence))
            await asyncio.sleep(0.05)
            link.close()
            await link.wait_closed()
            await asyncio.sleep(0.05)
        assert len(b"".join(chunks)) == 1600
        assert len(chunks) <= 2

    run(scenario())
