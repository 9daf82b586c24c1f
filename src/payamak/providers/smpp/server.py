"""A simulated SMSC: a real SMPP 3.4 server on loopback that accepts messages and sends receipts.

It stands in for an operator's SMSC in `make run`, in the tests and in the benchmarks, so it
speaks the protocol for real (any SMPP client can bind to it) and is fast: it answers every
submit_sm in the same turn of the event loop, writes all PDUs of a turn at once, and keeps
receipts in one queue ordered by due time (the delay is fixed, so appending keeps the order) that
a single task drains; no task or timer per message.

Binds: bind_transmitter, bind_receiver and bind_transceiver with the configured system_id and
password (default "payamak"/"payamak"; None accepts anything). A wrong system_id is refused with
ESME_RINVSYSID, a wrong password with ESME_RINVPASWD.

Messages: each submit_sm is answered with a new message id (16 hex digits, unique across
restarts). Concatenated messages (UDH, SAR TLVs or message_payload) are reassembled and the last
`keep` of them are kept in `submissions` for whoever wants to look.

Receipts: for a submit_sm with registered_delivery set, a deliver_sm (esm_class 0x04) after
`receipt_delay` seconds to a receiver or transceiver bind of the same system_id (the submitting
one if it is still there; held until one binds otherwise, as a real SMSC would). Each carries both
the receipted_message_id and message_state TLVs and the appendix-B text form
`id:… sub:001 dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:… err:… text:`. The outcome
is drawn with the configured rates (delivered by default), except for the test numbers below.

Test numbers: a destination whose last seven digits are one of these always behaves the same,
whatever the rates (e.g. +98 912 000 0004, 09350000004, 989010000004 are all "blocked"):

    …0000000  delivered                   stat:DELIVRD err:000, message_state 2
    …0000001  undelivered (phone off)     stat:UNDELIV err:001, message_state 5
    …0000002  expired                     stat:EXPIRED err:002, message_state 3
    …0000003  rejected by the operator    stat:REJECTD err:003, message_state 8
    …0000004  blocked: on the blacklist   stat:REJECTD err:014, message_state 8
    …0000005  submit refused              submit_sm_resp ESME_RINVDSTADR (permanent)
    …0000006  throttled once              first submit to the number: ESME_RTHROTTLED; then delivered
    …0000007  accepted, never a receipt
    …0000008  never answered              no submit_sm_resp at all (the client times out)
    …0000009  SMSC failure                submit_sm_resp ESME_RSYSERR (temporary), every time

err:014 mirrors Kavenegar's status 14 ("blocked by blacklist"); SmppProvider reports it as
`blocked` (see receipts.py). `max_tps` makes the SMSC answer ESME_RTHROTTLED to submissions beyond
that many in a second, as operators do.

Inbound messages (a phone replying, e.g. 11 or 12): `await smsc.deliver_inbound(from_, to, text)`
sends a deliver_sm (split with UDH when long) to a bound receiver and waits for its answer.

For an SMSC that remembers what it owes across restarts: `on_receipt` is told of every receipt
owed for an accepted submit_sm before the answer to it leaves, `redeliver` sends a stored receipt
again, and `queue_receipt` owes one for a message id that was never given out.
`unacknowledged_receipts()` and `stats.receipts_resent` tell how many receipts receivers hold, or
went away holding, without having answered them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from payamak import sms
from payamak.providers.smpp import pdu
from payamak.providers.smpp.concat import Assembled, Reassembler
from payamak.providers.smpp.link import Link
from payamak.providers.smpp.receipts import BLACKLIST_ERROR, STATUS_TO_STAT

log = logging.getLogger("payamak.smsc")

OUTCOMES: Final = ("delivered", "undelivered", "expired", "rejected", "blocked")
ERROR_CODES: Final = {
    "delivered": 0,
    "undelivered": 1,
    "expired": 2,
    "rejected": 3,
    "blocked": BLACKLIST_ERROR,
}

TEST_NUMBERS: Final[dict[str, str]] = {
    "0000000": "delivered",
    "0000001": "undelivered",
    "0000002": "expired",
    "0000003": "rejected",
    "0000004": "blocked",
    "0000005": "refuse",
    "0000006": "throttle_once",
    "0000007": "no_receipt",
    "0000008": "never_answer",
    "0000009": "system_error",
}

SMSC_SYSTEM_ID: Final = "payamak-smsc"


class NoReceiver(LookupError):
    """No receiver or transceiver is bound to take an inbound message."""


@dataclass(frozen=True, slots=True)
class SmscConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str | None = "payamak"
    password: str | None = "payamak"  # noqa: S105 (a simulator's well-known default)
    receipt_delay: float = 1.0
    # Shares of receipts with each failed outcome; delivered gets the rest.
    undelivered_rate: float = 0.0
    expired_rate: float = 0.0
    rejected_rate: float = 0.0
    blocked_rate: float = 0.0
    max_tps: int | None = None
    # deliver_sm sent and not yet answered, per bind.
    deliver_window: int = 4096
    # Reassembled submissions kept in `submissions`; 0 keeps none (and skips the work).
    keep: int = 10_000
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (self.undelivered_rate, self.expired_rate, self.rejected_rate, self.blocked_rate)
        if any(rate < 0 for rate in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError("outcome rates must be non-negative and add up to at most 1")
        if self.receipt_delay < 0:
            raise ValueError("receipt_delay cannot be negative")

    @property
    def delivered_rate(self) -> float:
        return max(
            0.0, 1.0 - self.undelivered_rate - self.expired_rate - self.rejected_rate - self.blocked_rate
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """A message as it reached the SMSC, parts joined and decoded."""

    system_id: str
    source: str
    destination: str
    text: str
    data_coding: int
    mode: str  # "single", "udh", "sar" or "payload"
    parts: int
    message_ids: tuple[str, ...]


@dataclass(slots=True)
class SmscStats:
    sessions: int = 0
    binds: int = 0
    bind_refusals: int = 0
    submits: int = 0  # submit_sm received
    accepted: int = 0
    refused: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    # Receipts a receiver was given (sent, or waiting for room in its window) and went away
    # without answering; each went again to the next receiver.
    receipts_resent: int = 0
    inbound_sent: int = 0
    protocol_errors: int = 0
    enquire_links: int = 0


class _Session:
    def __init__(self, smsc: SimulatedSmsc, link: Link) -> None:
        self.smsc = smsc
        self.link = link
        self.kind: int | None = None
        self.system_id = ""
        self.outstanding: dict[int, tuple[bytes, asyncio.Future[int] | None]] = {}
        self.queue: deque[tuple[bytes, asyncio.Future[int] | None]] = deque()
        self._sequence = 0
        self.alive = True

    @property
    def can_receive(self) -> bool:
        return self.alive and self.kind in (pdu.BIND_RECEIVER, pdu.BIND_TRANSCEIVER)

    @property
    def can_transmit(self) -> bool:
        return self.kind in (pdu.BIND_TRANSMITTER, pdu.BIND_TRANSCEIVER)

    def deliver(self, body: bytes, future: asyncio.Future[int] | None = None) -> None:
        if len(self.outstanding) < self.smsc.config.deliver_window and not self.queue:
            self._send_deliver(body, future)
        else:
            self.queue.append((body, future))

    def _send_deliver(self, body: bytes, future: asyncio.Future[int] | None) -> None:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        self.outstanding[self._sequence] = (body, future)
        self.link.send(pdu.encode_frame(pdu.DELIVER_SM, 0, self._sequence, body))

    def _answered(self, sequence: int, status: int) -> None:
        entry = self.outstanding.pop(sequence, None)
        if entry is None:
            return
        future = entry[1]
        if future is not None:
            if not future.done():
                future.set_result(status)
        else:
            self.smsc.stats.receipts_acked += 1
        window = self.smsc.config.deliver_window
        queue = self.queue
        while queue and len(self.outstanding) < window:
            self._send_deliver(*queue.popleft())

    async def serve(self) -> None:
        link = self.link
        smsc = self.smsc
        respond = link.send
        frame = pdu.encode_frame
        try:
            while True:
                frames = await link.read()
                if frames is None:
                    return
                for command_id, _status, sequence, body in frames:
                    if command_id == pdu.SUBMIT_SM:
                        if not self.can_transmit:
                            respond(frame(pdu.SUBMIT_SM_RESP, pdu.ESME_RINVBNDSTS, sequence))
                            continue
                        try:
                            message = pdu.ShortMessage.decode(body)
                        except pdu.PduError as exc:
                            smsc.stats.protocol_errors += 1
                            respond(frame(pdu.SUBMIT_SM_RESP, exc.status, sequence))
                            continue
                        smsc._submit(self, sequence, message)
                    elif command_id == pdu.DELIVER_SM_RESP:
                        self._answered(sequence, _status)
                    elif command_id == pdu.ENQUIRE_LINK:
                        smsc.stats.enquire_links += 1
                        respond(frame(pdu.ENQUIRE_LINK_RESP, 0, sequence))
                    elif command_id in pdu.BIND_COMMANDS:
                        self._bind(command_id, sequence, body)
                    elif command_id == pdu.UNBIND:
                        respond(frame(pdu.UNBIND_RESP, 0, sequence))
                        link.close()
                        return
                    elif command_id & pdu.RESPONSE_BIT:
                        continue  # enquire_link_resp, generic_nack: nothing to do
                    else:
                        respond(frame(pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, sequence))
        except pdu.PduError as exc:
            smsc.stats.protocol_errors += 1
            log.warning("SMSC: garbage from %s (%s); closing", link.peer, exc)
            respond(frame(pdu.GENERIC_NACK, exc.status, 0))
            link.close()
        except (ConnectionError, OSError) as exc:
            log.info("SMSC: %s dropped: %s", link.peer, exc)
        finally:
            self.alive = False
            if not link.closed:
                link.close()
            smsc._session_closed(self)

    def _bind(self, command_id: int, sequence: int, body: bytes) -> None:
        smsc = self.smsc
        response = command_id | pdu.RESPONSE_BIT
        if self.kind is not None:
            self.link.send(pdu.encode_frame(response, pdu.ESME_RALYBND, sequence))
            return
        try:
            bind = pdu.Bind.decode(body)
        except pdu.PduError as exc:
            self.link.send(pdu.encode_frame(response, exc.status, sequence))
            return
        config = smsc.config
        status = pdu.ESME_ROK
        if config.system_id is not None and bind.system_id != config.system_id:
            status = pdu.ESME_RINVSYSID
        elif config.password is not None and bind.password != config.password:
            status = pdu.ESME_RINVPASWD
        if status != pdu.ESME_ROK:
            smsc.stats.bind_refusals += 1
            log.info(
                "SMSC: refused bind of %r from %s: %s",
                bind.system_id,
                self.link.peer,
                pdu.status_name(status),
            )
            self.link.send(pdu.encode_frame(response, status, sequence))
            return
        self.kind = command_id
        self.system_id = bind.system_id
        smsc.stats.binds += 1
        self.link.send(pdu.encode_frame(response, 0, sequence, pdu.message_id_body(SMSC_SYSTEM_ID)))
        smsc._bound(self)


class SimulatedSmsc:
    """Start with `await smsc.start()` (or `async with`); `port` tells where it listens.

    `on_receipt(destination, body)`, if given, is called with the deliver_sm body of every receipt
    owed for an accepted submit_sm, in the same turn of the loop as the answer to it is queued:
    whatever it stores is stored before that answer leaves, as a real SMSC stores a message before
    acknowledging it."""

    def __init__(
        self,
        config: SmscConfig | None = None,
        *,
        on_receipt: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.config = config or SmscConfig()
        self.on_receipt = on_receipt
        self.stats = SmscStats()
        self.submissions: deque[Submission] = deque(maxlen=max(self.config.keep, 1))
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._random = random.Random(self.config.seed)
        self._ids = itertools.count(1)
        self._id_prefix = f"{int(time.time()) & 0xFFFFFFFF:08x}"
        self._reassembler = Reassembler()
        self._part_ids: dict[tuple[str, str, int], list[str]] = {}
        # (due, session, system_id, deliver_sm body) in due order.
        self._due: deque[tuple[float, _Session, str, bytes]] = deque()
        self._due_event = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._held: dict[str, deque[bytes]] = {}
        self._throttled_once: set[str] = set()
        self._second = 0
        self._second_count = 0
        self._inbound_reference = 0
        self._round_robin = itertools.count()
        self._dates: tuple[int, str] = (-1, "")
        weights = [
            self.config.delivered_rate,
            self.config.undelivered_rate,
            self.config.expired_rate,
            self.config.rejected_rate,
            self.config.blocked_rate,
        ]
        self._always_delivered = weights[0] >= 1.0
        self._cumulative = list(itertools.accumulate(weights))
        self.port = self.config.port

    async def __aenter__(self) -> SimulatedSmsc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._pump = asyncio.create_task(self._pump_receipts(), name="smsc-receipts")
        log.info("SMSC listening on %s:%d", self.config.host, self.port)

    @property
    def host(self) -> str:
        return self.config.host

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.link.abort()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def drop_connections(self) -> int:
        """Cut every connection at once, as a crashing SMSC would; how many were cut."""
        sessions = list(self._sessions)
        for session in sessions:
            session.link.abort()
        return len(sessions)

    @property
    def bound_sessions(self) -> int:
        return sum(1 for session in self._sessions if session.kind is not None and session.alive)

    def unacknowledged_receipts(self) -> int:
        """Receipts given to a receiver still connected that it has not answered yet (sent, or
        waiting for room in its window); counted on each call, so not for a hot loop."""
        return sum(
            future is None
            for session in self._sessions
            for _, future in [*session.outstanding.values(), *session.queue]
        )

    def redeliver(self, system_id: str, body: bytes) -> None:
        """Send a receipt again (a deliver_sm body, as given to `on_receipt`) to a receiver of
        `system_id` now, or to the first that binds."""
        self._route(None, system_id, body)

    def queue_receipt(
        self,
        message: pdu.ShortMessage,
        message_id: str,
        outcome: str = "delivered",
        system_id: str | None = None,
    ) -> None:
        """Owe a receipt for `message_id` as if `message` had been accepted now: it goes after the
        receipt delay, in the queue of the real ones, to a bound receiver (of `system_id`, if given).
        Raises NoReceiver if none is bound. Not reported to `on_receipt`."""
        session = self._receiver(system_id)
        if session is None:
            raise NoReceiver("no receiver or transceiver is bound")
        self._schedule(session, message, message_id, outcome)

    async def wait_submissions(self, count: int, timeout: float = 10.0) -> list[Submission]:
        """The first `count` recorded submissions, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.submissions) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.submissions)} of {count} submissions arrived")
            await asyncio.sleep(0.01)
        return list(self.submissions)[:count]

    # -- connections --------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, Link(reader, writer))
        self._sessions.add(session)
        self.stats.sessions += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.serve()
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _bound(self, session: _Session) -> None:
        held = self._held.get(session.system_id)
        if held and session.can_receive:
            while held:
                session.deliver(held.popleft())

    def _session_closed(self, session: _Session) -> None:
        self._sessions.discard(session)
        pending = [*session.outstanding.values(), *session.queue]
        session.outstanding.clear()
        session.queue.clear()
        for body, future in pending:
            if future is not None:
                if not future.done():
                    future.set_exception(ConnectionError("the receiver went away"))
            else:
                # Unanswered receipts go again to the next receiver, as an SMSC retries them.
                self.stats.receipts_resent += 1
                self._route(None, session.system_id, body)

    def _receiver(self, system_id: str | None) -> _Session | None:
        candidates = [
            session
            for session in self._sessions
            if session.can_receive and (system_id is None or session.system_id == system_id)
        ]
        if not candidates:
            return None
        return candidates[next(self._round_robin) % len(candidates)]

    def _route(self, preferred: _Session | None, system_id: str, body: bytes) -> None:
        if preferred is not None and preferred.can_receive:
            preferred.deliver(body)
            return
        session = self._receiver(system_id)
        if session is not None:
            session.deliver(body)
            return
        held = self._held.setdefault(system_id, deque(maxlen=1_000_000))
        held.append(body)

    # -- messages -----------------------------------------------------------------------------------

    def _next_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):08x}"

    def _submit(self, session: _Session, sequence: int, message: pdu.ShortMessage) -> None:
        stats = self.stats
        stats.submits += 1
        respond = session.link.send
        destination = message.destination_addr
        special = TEST_NUMBERS.get(destination[-7:]) if len(destination) >= 10 else None
        if special is not None:
            refusal = self._special_refusal(special, destination)
            if refusal == -1:
                return
            if refusal:
                stats.refused += 1
                respond(pdu.encode_frame(pdu.SUBMIT_SM_RESP, refusal, sequence))
                return
        if self.config.max_tps is not None:
            second = int(time.monotonic())
            if second != self._second:
                self._second, self._second_count = second, 0
            self._second_count += 1
            if self._second_count > self.config.max_tps:
                stats.refused += 1
                respond(pdu.encode_frame(pdu.SUBMIT_SM_RESP, pdu.ESME_RTHROTTLED, sequence))
                return
        message_id = self._next_id()
        stats.accepted += 1
        respond(pdu.encode_frame(pdu.SUBMIT_SM_RESP, 0, sequence, message_id.encode() + b"\0"))
        if self.config.keep:
            self._record(session, message, message_id)
        wanted = message.registered_delivery & 0x03
        if not wanted or special == "no_receipt":
            return
        if special in ERROR_CODES:
            outcome = special
        elif self._always_delivered:
            outcome = "delivered"
        else:
            outcome = self._draw()
        if wanted == 2 and outcome == "delivered":
            return  # receipt asked for on failure only
        body = self._schedule(session, message, message_id, outcome)
        if self.on_receipt is not None:
            self.on_receipt(destination, body)

    def _special_refusal(self, special: str, destination: str) -> int:
        """The status to refuse with, 0 to accept, -1 to never answer."""
        if special == "refuse":
            return pdu.ESME_RINVDSTADR
        if special == "system_error":
            return pdu.ESME_RSYSERR
        if special == "never_answer":
            return -1
        if special == "throttle_once" and destination not in self._throttled_once:
            self._throttled_once.add(destination)
            return pdu.ESME_RTHROTTLED
        return 0

    def _draw(self) -> str:
        value = self._random.random()
        for outcome, edge in zip(OUTCOMES, self._cumulative, strict=True):
            if value < edge:
                return outcome
        return "delivered"

    def _record(self, session: _Session, message: pdu.ShortMessage, message_id: str) -> None:
        try:
            assembled = self._reassembler.feed(message, tag=message_id)
        except pdu.PduError as exc:
            log.warning("SMSC: unreadable message to %s: %s", message.destination_addr, exc)
            return
        if assembled is not None:
            self.submissions.append(_submission(session.system_id, assembled))

    def _date(self, now: float) -> str:
        # Receipt dates have minute resolution: format once a minute, not once a message.
        minute = int(now // 60)
        if self._dates[0] != minute:
            self._dates = (minute, time.strftime("%y%m%d%H%M", time.gmtime(minute * 60)))
        return self._dates[1]

    def _schedule(self, session: _Session, message: pdu.ShortMessage, message_id: str, outcome: str) -> bytes:
        stat, state = STATUS_TO_STAT[outcome]
        error = ERROR_CODES[outcome]
        now = time.time()
        submitted = self._date(now)
        done = self._date(now + self.config.receipt_delay)
        text = (
            f"id:{message_id} sub:001 dlvrd:{'001' if outcome == 'delivered' else '000'} "
            f"submit date:{submitted} done date:{done} stat:{stat} err:{error:03d} text:"
        ).encode("ascii")
        tlvs = pdu.tlv(pdu.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0") + pdu.tlv(
            pdu.TLV_MESSAGE_STATE, bytes((state,))
        )
        if error:
            # GSM network type (3) and the error, for clients that read only TLVs.
            tlvs += pdu.tlv(pdu.TLV_NETWORK_ERROR_CODE, bytes((3,)) + error.to_bytes(2, "big"))
        body = b"".join(
            (
                b"\0",  # service_type
                bytes((message.dest_addr_ton, message.dest_addr_npi)),
                message.destination_addr.encode("latin-1"),
                b"\0",
                bytes((message.source_addr_ton, message.source_addr_npi)),
                message.source_addr.encode("latin-1"),
                b"\0",
                bytes((pdu.ESM_CLASS_RECEIPT, 0, 0, 0, 0, 0, 0, 0, 0, len(text))),
                text,
                tlvs,
            )
        )
        due = time.monotonic() + self.config.receipt_delay
        if not self._due:
            self._due_event.set()
        self._due.append((due, session, session.system_id, body))
        return body

    async def _pump_receipts(self) -> None:
        due = self._due
        while True:
            if not due:
                self._due_event.clear()
                await self._due_event.wait()
                continue
            now = time.monotonic()
            head = due[0][0]
            if head > now:
                await asyncio.sleep(head - now)
                continue
            sent = 0
            while due and due[0][0] <= now:
                _, session, system_id, body = due.popleft()
                self._route(session, system_id, body)
                sent += 1
            self.stats.receipts_sent += sent
            # Let the sessions run between large batches.
            await asyncio.sleep(0)

    # -- inbound ------------------------------------------------------------------------------------

    async def deliver_inbound(
        self, from_: str, to: str, text: str, *, system_id: str | None = None, timeout: float = 10.0
    ) -> None:
        """Send a message from phone `from_` to our line `to` to one bound receiver (of
        `system_id`, if given) and wait until it is acknowledged. Raises NoReceiver if none is
        bound, ConnectionError if it leaves first, and RuntimeError if it refuses the message."""
        session = self._receiver(system_id)
        if session is None:
            raise NoReceiver("no receiver or transceiver is bound")
        self._inbound_reference = (self._inbound_reference + 1) & 0xFF
        data_coding, parts = sms.encode_parts(text, reference=self._inbound_reference)
        if not parts:
            parts = [b""]
        source_ton, source = (1, from_[1:]) if from_.startswith("+") else (0, from_)
        dest_ton, destination = (1, to[1:]) if to.startswith("+") else (0, to)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[int]] = []
        for part in parts:
            body = pdu.ShortMessage(
                destination_addr=destination,
                source_addr=source,
                source_addr_ton=source_ton,
                source_addr_npi=1,
                dest_addr_ton=dest_ton,
                dest_addr_npi=1,
                esm_class=sms.ESM_CLASS_UDHI if len(parts) > 1 else 0,
                data_coding=data_coding,
                short_message=part,
            ).encode()
            future: asyncio.Future[int] = loop.create_future()
            futures.append(future)
            session.deliver(body, future)
        self.stats.inbound_sent += 1
        statuses = await asyncio.wait_for(asyncio.gather(*futures), timeout)
        refused = [pdu.status_name(status) for status in statuses if status != pdu.ESME_ROK]
        if refused:
            raise RuntimeError(f"receiver refused the message: {', '.join(refused)}")


def _submission(system_id: str, assembled: Assembled) -> Submission:
    return Submission(
        system_id=system_id,
        source=assembled.source,
        destination=assembled.destination,
        text=assembled.text,
        data_coding=assembled.data_coding,
        mode=assembled.mode,
        parts=assembled.parts,
        message_ids=assembled.tags,
    )


async def serve(config: SmscConfig, announce: Callable[[str], None] = print) -> None:
    """Run an SMSC until cancelled; `announce` is told where it listens and, at the end, what it did."""
    smsc = SimulatedSmsc(config)
    await smsc.start()
    who = "any system_id" if config.system_id is None else f"system_id {config.system_id!r}"
    announce(f"simulated SMSC listening on {config.host}:{smsc.port} ({who})")
    try:
        await asyncio.Event().wait()
    finally:
        stats = smsc.stats
        await smsc.close()
        announce(
            f"simulated SMSC stopped: {stats.accepted} accepted, {stats.refused} refused, "
            f"{stats.receipts_sent} receipts sent"
        )


def run(config: SmscConfig, announce: Callable[[str], None] = print) -> None:
    """`serve` until Ctrl-C (or SIGTERM-free interruption), for the command line."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, announce))
