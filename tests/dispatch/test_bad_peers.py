"""Peers that misbehave: an SMSC that never answers, answers garbage, drops the connection in the
middle of a window or reports receipts for ids nobody sent; an HTTP provider answering 5xx or
malformed JSON. Messages are retried and none is lost; nothing is charged twice."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from payamak.dispatch import routing
from payamak.dispatch import service as dispatch
from payamak.providers.base import OutgoingSms, Provider, SubmitResult
from payamak.providers.smpp import pdu

from .conftest import Shop, all_final, fast_config, start_dispatcher, wait_for


@dataclass
class FakeSmsc:
    """A bare SMPP server whose first `bad_sessions` connections misbehave in `mode`, and whose
    later ones answer every submit_sm and send a DELIVRD receipt for it."""

    mode: str
    bad_sessions: int = 1
    sessions: int = 0
    submits: list[str] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    port: int = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.sessions += 1
        bad = self.sessions <= self.bad_sessions
        decoder = pdu.FrameDecoder()
        answered = 0
        try:
            while data := await reader.read(65536):
                for command_id, _status, sequence, body in decoder.feed(data):
                    if command_id in pdu.BIND_COMMANDS:
                        writer.write(
                            pdu.encode_frame(
                                command_id | pdu.RESPONSE_BIT, 0, sequence, pdu.message_id_body("fake")
                            )
                        )
                        if self.mode == "unknown_receipt":
                            writer.write(pdu.encode_frame(pdu.DELIVER_SM, 0, 1, receipt("never-sent-1")))
                    elif command_id == pdu.ENQUIRE_LINK:
                        writer.write(pdu.encode_frame(pdu.ENQUIRE_LINK_RESP, 0, sequence))
                    elif command_id == pdu.UNBIND:
                        writer.write(pdu.encode_frame(pdu.UNBIND_RESP, 0, sequence))
                    elif command_id == pdu.SUBMIT_SM:
                        destination = pdu.ShortMessage.decode(body).destination_addr
                        self.submits.append(destination)
                        if self.mode == "silent" and len(self.submits) <= 10:
                            continue  # a hiccup: the first ten are never answered
                        if bad and self.mode == "garbage":
                            writer.write(b"\x00\x00\x00\x03not smpp at all")
                            await writer.drain()
                            continue
                        if bad and self.mode == "drop" and answered >= 3:
                            writer.transport.abort()
                            return
                        answered += 1
                        message_id = f"m{next(self.ids)}"
                        writer.write(
                            pdu.encode_frame(pdu.SUBMIT_SM_RESP, 0, sequence, pdu.message_id_body(message_id))
                        )
                        writer.write(
                            pdu.encode_frame(pdu.DELIVER_SM, 0, 1000 + answered, receipt(message_id))
                        )
            await writer.drain()
        except (ConnectionError, pdu.PduError):
            pass
        finally:
            writer.close()


def receipt(message_id: str) -> bytes:
    text = f"id:{message_id} sub:001 dlvrd:001 submit date:2501011200 done date:2501011200 stat:DELIVRD err:000 text:"
    return pdu.ShortMessage(destination_addr="30001234", source_addr="989121111111", esm_class=4,
                            short_message=text.encode()).encode()  # fmt: skip


def run_against(
    shop: Shop, mode: str, numbers: Sequence[str], **route_config: object
) -> tuple[FakeSmsc, object]:
    async def scenario() -> tuple[FakeSmsc, object]:
        fake = FakeSmsc(mode)
        server = await fake.start()
        shop.add_route(
            "fake", port=fake.port, config={"reconnect_min": 0.1, "reconnect_max": 0.3, **route_config}
        )
        shop.send(numbers)
        dispatcher = start_dispatcher(shop, fast_config(max_attempts=5))
        await dispatcher.start()
        try:
            await wait_for(all_final(shop, len(numbers)), 30, "all final")
        finally:
            await dispatcher.stop()
            server.close()
            await server.wait_closed()
        return fake, dispatcher.stats

    return asyncio.run(scenario())


NUMBERS = [f"0912{5_000_000 + n:07d}" for n in range(40)]


def test_smsc_that_never_answers(shop: Shop) -> None:
    fake, _ = run_against(shop, "silent", NUMBERS, request_timeout=0.4)
    messages = shop.messages()
    assert {m.status for m in messages} == {"delivered"}
    # The unanswered ones may have reached the SMSC: retried, flagged as possibly sent twice.
    unanswered = {"+" + d for d in fake.submits[:10]}
    assert {m.recipient for m in messages if m.maybe_duplicate} == unanswered
    assert all(m.attempts == 2 for m in messages if m.recipient in unanswered)
    assert sorted(set(fake.submits)) == sorted("98" + n[1:] for n in NUMBERS)
    assert len(fake.submits) == len(NUMBERS) + 10
    assert shop.balance() == shop.expected_balance()
    assert shop.ledger_ok()


def test_smsc_that_answers_garbage(shop: Shop) -> None:
    fake, _ = run_against(shop, "garbage", NUMBERS)
    assert {m.status for m in shop.messages()} == {"delivered"}
    assert fake.sessions >= 2
    assert shop.balance() == shop.expected_balance()


def test_smsc_that_drops_the_connection_mid_window(shop: Shop) -> None:
    run_against(shop, "drop", NUMBERS)
    messages = shop.messages()
    assert {m.status for m in messages} == {"delivered"}
    retried = [m for m in messages if m.attempts > 1]
    assert retried and all(m.maybe_duplicate for m in retried)
    assert len(messages) == len(NUMBERS)
    assert shop.balance() == shop.expected_balance()
    assert shop.ledger_ok()


def test_receipt_for_an_unknown_id_is_counted_and_ignored(shop: Shop) -> None:
    _, stats = run_against(shop, "unknown_receipt", NUMBERS[:3])
    assert {m.status for m in shop.messages()} == {"delivered"}
    assert stats.receipts_unknown >= 1  # type: ignore[attr-defined]
    assert shop.balance() == shop.expected_balance()


def test_unknown_receipt_changes_nothing(shop: Shop) -> None:
    """The same through the batch writer alone: no message, no credit moves."""
    from payamak.providers.smpp import Receipt

    shop.send(["09121111111"])
    before = [(m.status, m.error) for m in shop.messages()]
    waiting: dispatch.Waiting = {}
    policy = dispatch.BatchPolicy(retry=dispatch.state.RetryPolicy(), route_down_seconds=1, receipt_match_seconds=0,
                                  early_seconds=0)  # fmt: skip
    pending = dispatch.PendingReceipt(0, None, Receipt("nope", "rejected", 3, None, ""), first_seen=0.0)
    with shop.ctx.db.transaction() as session:
        report = dispatch.apply_batch(session, batch=dispatch.Batch(receipts=[pending]), index=dispatch.SentIndex(),
                                      policy=policy, waiting=waiting, staged=([], []))  # fmt: skip
    assert report.receipts_unknown == 1 and not waiting
    assert [(m.status, m.error) for m in shop.messages()] == before
    assert shop.balance() == shop.expected_balance()


def test_waiting_receipts_are_looked_up_in_the_order_they_fall_due(shop: Shop) -> None:
    """Unmatched receipts wait in the order they fall due: those not due are not even looked at,
    and one looked up in vain goes to the back for its next try."""
    import time

    from payamak.providers.smpp import Receipt

    waiting: dispatch.Waiting = {}
    policy = dispatch.BatchPolicy(retry=dispatch.state.RetryPolicy(), route_down_seconds=1, receipt_match_seconds=60,
                                  early_seconds=2, receipt_retry_seconds=1)  # fmt: skip
    now = time.monotonic()
    old = dispatch.PendingReceipt(0, None, Receipt("old", "delivered", 2, None, ""), first_seen=now - 10)
    new = [
        dispatch.PendingReceipt(0, None, Receipt(f"new{i}", "delivered", 2, None, ""), first_seen=now)
        for i in range(3)
    ]
    with shop.ctx.db.transaction() as session:
        report = dispatch.apply_batch(session, batch=dispatch.Batch(receipts=[old, *new]), index=dispatch.SentIndex(),
                                      policy=policy, waiting=waiting, staged=([], []))  # fmt: skip
    assert report.receipts_waiting == 4 and report.receipts_unknown == 0
    # The old one was due, looked up, found nowhere, and put behind the new ones for its next try.
    assert [key[1] for key in waiting] == ["new0", "new1", "new2", "old"]
    assert now + 0.9 < old.next_try < time.monotonic() + 1.1
    assert all(p.next_try == now + 2 for p in new)


# --- an HTTP provider ------------------------------------------------------------------------


class HttpProvider:
    """A minimal JSON-over-HTTP provider, as a real one would be written: 5xx and unreadable
    answers are temporary, 4xx permanent."""

    name = "http"

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=2.0)

    async def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        body = [{"to": m.to, "text": m.text, "ref": m.reference} for m in messages]
        response = await self.client.post(self.url, json=body)
        if response.status_code >= 500:
            return [
                SubmitResult(m.reference, False, error=f"http_{response.status_code}", temporary=True)
                for m in messages
            ]
        ids = response.json()["ids"]  # malformed JSON raises: the dispatcher retries the chunk
        return [SubmitResult(m.reference, True, provider_id=i) for m, i in zip(messages, ids, strict=True)]

    async def close(self) -> None:
        await self.client.aclose()


def test_http_provider_5xx_and_malformed_json_are_retried(shop: Shop) -> None:
    answers = iter(["500", "garbage"])
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        payload = json.loads(await reader.readexactly(length))
        seen.extend(item["to"] for item in payload)
        answer = next(answers, "ok")
        if answer == "500":
            status, body = "500 Internal Server Error", b"oops"
        elif answer == "garbage":
            status, body = "200 OK", b"{not json"
        else:
            status, body = "200 OK", json.dumps({"ids": [f"h{item['ref']}" for item in payload]}).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/send"
        previous = routing.FACTORIES.get("http")

        def factory(spec: routing.RouteSpec, hooks: routing.ProviderHooks) -> Provider:
            return HttpProvider(spec.config["url"])

        routing.register_factory("http", factory)
        try:
            with shop.ctx.db.transaction() as session:
                dispatch.add_route(session, principal=None, name="web", kind="http", config={"url": url})
            shop.send(["09121111111", "09351111111"])
            dispatcher = start_dispatcher(shop, fast_config(max_attempts=5, route_down_seconds=0.1))
            await dispatcher.start()
            try:
                await wait_for(lambda: {m.status for m in shop.messages()} == {"sent"}, 20, "sent")
            finally:
                await dispatcher.stop()
        finally:
            if previous is None:
                routing.FACTORIES.pop("http", None)
            else:
                routing.FACTORIES["http"] = previous
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    messages = shop.messages()
    assert {m.status for m in messages} == {"sent"}
    assert all(m.attempts == 3 and m.provider_id == f"h{m.id}" for m in messages)
    assert len(seen) == 6
    with shop.ctx.db.transaction(readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(sa.table("messages"))) == 2
    assert shop.balance() == shop.expected_balance()
