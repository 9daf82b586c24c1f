"""`SmppProvider`: the Provider protocol over SMPP 3.4 transceiver binds to one route's SMSC.

How it sends
    A route has `binds` TCP connections, each bound as transceiver. Each bind allows `window`
    unanswered submit_sm; a request is correlated with its answer through a dict keyed by
    sequence number (O(1), unlike libraries that scan their store per reply). `submit(messages)`
    pipelines the whole batch: it keeps writing while any bind has room in its window and picks
    the least-loaded bind, and waits only when every window is full. The PDUs produced in one turn
    of the event loop go out in one write, with TCP_NODELAY on. A route-wide token bucket (`tps`)
    paces all binds together. The encoding of the last texts sent is remembered, since a bulk send
    repeats one text for every recipient.

Long messages
    `long_mode="udh"`: one submit_sm per part, each with a concatenation header (esm_class 0x40),
    all parts of a message on the same bind and in order. `long_mode="payload"`: one submit_sm
    with the whole message in the message_payload TLV. A message's `provider_id` is the message_id
    of its first (or only) submit_sm; `extra["part_ids"]` lists every part's id, space-separated,
    and `extra["parts"]` their number.

Receipts of long messages
    Only the first part asks for a receipt (registered_delivery=1; the others 0), so a message
    has exactly one receipt and it names the message's `provider_id`: the dispatcher's lookup
    "receipt for provider id X -> our message" needs nothing else. Parts of one message go to the
    same number at the same moment, so the first part's fate (delivered, phone off, blacklisted)
    stands for the message. An SMSC that sends receipts for every part anyway sends some for
    ids the dispatcher does not know; those are to be ignored.

Failures: temporary (the caller retries) or permanent
    temporary: ESME_RTHROTTLED, ESME_RMSGQFUL (and the route slows down, see below),
               ESME_RSYSERR, ESME_RSUBMITFAIL, ESME_RX_T_APPN, ESME_RINVBNDSTS (the bind is
               re-established), ESME_RDELIVERYFAILURE, ESME_RUNKNOWNERR; no answer within
               `request_timeout` (`smpp_timeout`); connection lost with the request in flight
               (`smpp_connection_lost`); no bind up (`smpp_unavailable`); provider closed.
    permanent: every other status (ESME_RINVDSTADR, ESME_RINVSRCADR, ESME_RINVMSGLEN,
               ESME_RINVESMCLASS, ESME_RX_P_APPN, ESME_RX_R_APPN, the ESME_RINV* family, and the
               SMSC-specific range 0x400-0x4FF, which SMSCs use for content filters); text that
               cannot be encoded (`invalid_text`), an address that is not ASCII (`invalid_address`,
               `invalid_sender`); a route whose credentials the SMSC refuses
               (`smpp_bind_failed:ESME_RINVPASWD` etc.: retrying cannot help until an operator
               fixes the route; the binds themselves keep retrying at the longest backoff).
    `error` is `code` or `code:ESME_NAME`; the code before the colon is stable.

    A request in flight when its connection drops, or that timed out, may have reached the SMSC:
    retrying it can send the message twice. At most `window` messages per bind are in that state.

Throttling
    ESME_RTHROTTLED or ESME_RMSGQFUL halve the route's rate (the configured `tps`, or, on an
    unlimited route, the rate it was achieving), at most once a second since a whole window of
    refusals is one signal. The rate then climbs back by 5 % of the former rate each second
    (additive increase), to the configured limit or to no limit.

Receipts and inbound messages
    A receipt becomes a `Receipt` (see receipts.py) for `on_receipt`; a message from a phone is
    reassembled (UDH, SAR or message_payload) and decoded into an `Inbound` for `on_inbound`.
    Callbacks are called inline (keep them short, e.g. append to a buffer). One that returns None
    has its deliver_sm answered at once; one that returns an awaitable (a coroutine, or a future
    such as the dispatcher's "this batch has committed", which many receipts share) has it answered
    when that completes, in arrival order, by a single task; reading from the SMSC pauses while
    more than 10,000 wait, which in turn makes the SMSC hold back.

An SmppProvider belongs to the event loop it was first used in. Binds start on the first
`submit` (or `start()`), and `close()` unbinds them politely; it may be called more than once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import random
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, Protocol
from zoneinfo import ZoneInfo

from payamak import sms
from payamak.providers.base import OutgoingSms, SubmitResult
from payamak.providers.smpp import pdu
from payamak.providers.smpp.concat import Reassembler
from payamak.providers.smpp.link import Link
from payamak.providers.smpp.receipts import (
    DEFAULT_BLACKLIST_ERRORS,
    Inbound,
    Receipt,
    is_receipt,
    parse_receipt,
)

log = logging.getLogger("payamak.smpp")

ReceiptCallback = Callable[[Receipt], Awaitable[None] | None]
InboundCallback = Callable[[Inbound], Awaitable[None] | None]

# Outcomes that are not SMSC statuses; negative so they can never clash with one.
_TIMEOUT: Final = -1
_LOST: Final = -2
_UNAVAILABLE: Final = -3
_BIND_FAILED: Final = -4
_CLOSED: Final = -5

THROTTLE_STATUSES: Final = frozenset({pdu.ESME_RTHROTTLED, pdu.ESME_RMSGQFUL})
TEMPORARY_STATUSES: Final = THROTTLE_STATUSES | frozenset(
    {
        pdu.ESME_RSYSERR,
        pdu.ESME_RSUBMITFAIL,
        pdu.ESME_RX_T_APPN,
        pdu.ESME_RINVBNDSTS,
        pdu.ESME_RDELIVERYFAILURE,
        pdu.ESME_RUNKNOWNERR,
    }
)
# bind_resp statuses that mean the route's configuration is wrong, not that the SMSC is busy.
AUTH_STATUSES: Final = frozenset({pdu.ESME_RINVPASWD, pdu.ESME_RINVSYSID, pdu.ESME_RINVSYSTYP})

_CALLBACK_BACKLOG: Final = 10_000
# Texts whose encoding is remembered: a bulk send repeats one text for every recipient.
_ENCODED_TEXTS: Final = 64
_UDH_LENGTH: Final = 6  # 05 00 03 reference total sequence


def is_temporary(status: int) -> bool:
    """Whether a submit_sm_resp status is worth retrying later (see the module docstring)."""
    return status in TEMPORARY_STATUSES


@dataclass(frozen=True, slots=True)
class SmppRoute:
    """Where and how to reach one SMSC. Times are in seconds."""

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    binds: int = 1
    window: int = 64
    tps: int | None = None
    long_mode: Literal["udh", "payload"] = "udh"
    registered_delivery: bool = True
    # Sent as source_addr when a message names no sender.
    source_addr: str = ""
    # None: chosen per sender: "+98…" international (1/1), digits unknown/ISDN (0/1), else
    # alphanumeric (5/0).
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    enquire_link_interval: float = 30.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    request_timeout: float = 10.0
    connect_timeout: float = 5.0
    # The zone the SMSC writes receipt dates in.
    receipt_timezone: str = "UTC"
    # Error codes that turn a REJECTD receipt into "blocked" (recipient on the blacklist).
    blacklist_errors: frozenset[int] = DEFAULT_BLACKLIST_ERRORS
    name: str = "smpp"

    def __post_init__(self) -> None:
        if self.binds < 1 or self.window < 1:
            raise ValueError("a route needs at least one bind and a window of at least one")
        if self.tps is not None and self.tps <= 0:
            raise ValueError("tps must be positive, or None for no limit")
        if self.long_mode not in ("udh", "payload"):
            raise ValueError("long_mode is 'udh' or 'payload'")
        if not 0 < self.reconnect_min <= self.reconnect_max:
            raise ValueError("reconnect_min must be positive and at most reconnect_max")


@dataclass(slots=True)
class SmppStats:
    submitted: int = 0  # submit_sm PDUs written
    accepted: int = 0  # messages the SMSC accepted
    failed: int = 0  # messages that came back failed
    throttled: int = 0  # submit_sm answered with ESME_RTHROTTLED / ESME_RMSGQFUL
    receipts: int = 0
    unreadable_receipts: int = 0
    inbound: int = 0
    binds: int = 0  # successful binds, counting re-binds
    bind_failures: int = 0
    last_bind_error: str | None = None


class _Handler(Protocol):
    def reply(self, part: int, status: int, body: bytes) -> None: ...


class _FutureReply:
    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[tuple[int, bytes]]) -> None:
        self.future = future

    def reply(self, part: int, status: int, body: bytes) -> None:
        if not self.future.done():
            self.future.set_result((status, body))


class _Batch:
    __slots__ = ("done", "remaining", "results")

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.results: list[SubmitResult | None] = [None] * size
        self.remaining = size
        self.done: asyncio.Future[None] = loop.create_future()
        if size == 0:
            self.done.set_result(None)

    def finish(self, index: int, result: SubmitResult) -> None:
        self.results[index] = result
        self.remaining -= 1
        if self.remaining == 0 and not self.done.done():
            self.done.set_result(None)


class _Message:
    """Collects the answers to one message's parts and turns them into its SubmitResult."""

    __slots__ = ("batch", "failures", "ids", "index", "provider", "reference", "remaining")

    def __init__(self, provider: SmppProvider, batch: _Batch, index: int, reference: str, parts: int) -> None:
        self.provider = provider
        self.batch = batch
        self.index = index
        self.reference = reference
        self.ids: list[str] = [""] * parts
        self.failures: list[int] = []
        self.remaining = parts

    def reply(self, part: int, status: int, body: bytes) -> None:
        if status == pdu.ESME_ROK:
            self.ids[part] = pdu.decode_message_id(body)
        else:
            self.failures.append(status)
            if status in THROTTLE_STATUSES:
                self.provider._throttled()
        self.remaining -= 1
        if self.remaining == 0:
            self.batch.finish(self.index, self._result())

    def _result(self) -> SubmitResult:
        stats = self.provider.stats
        ids = self.ids
        if not self.failures:
            stats.accepted += 1
            extra = {"part_ids": " ".join(ids), "parts": str(len(ids))} if len(ids) > 1 else {}
            return SubmitResult(reference=self.reference, accepted=True, provider_id=ids[0], extra=extra)
        stats.failed += 1
        error, _ = self.provider._describe(self.failures[0])
        temporary = all(self.provider._describe(status)[1] for status in self.failures)
        extra = {}
        status = self.failures[0]
        if status >= 0:
            extra["smpp_status"] = pdu.status_name(status)
        accepted = [pid for pid in ids if pid]
        if accepted:
            # Some parts reached the SMSC: a retry sends them again under a new reference.
            extra["part_ids"] = " ".join(accepted)
        return SubmitResult(
            reference=self.reference, accepted=False, error=error, temporary=temporary, extra=extra
        )


class _Unavailable(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Throttle:
    """Token bucket for the route, with multiplicative decrease on refusals and additive increase.

    `rate` None means no limit. Tokens may go negative: a caller reserves its slot and sleeps
    until it comes, which keeps concurrent submitters in order without a queue."""

    __slots__ = (
        "base",
        "ceiling",
        "last_cut",
        "rate",
        "tokens",
        "updated",
        "window_count",
        "window_rate",
        "window_start",
    )

    def __init__(self, tps: int | None, now: float) -> None:
        self.base: float | None = float(tps) if tps else None
        self.rate: float | None = self.base
        self.ceiling: float | None = self.base
        self.tokens = self._burst()
        self.updated = now
        self.last_cut = -math.inf
        self.window_start = now
        self.window_count = 0
        self.window_rate = 0.0

    def _burst(self) -> float:
        # 50 ms worth: an SMSC counting per second never sees more than its limit in any second.
        return max(1.0, (self.rate or 0.0) * 0.05)

    def reserve(self, now: float) -> float:
        """Take one token; how long to wait before sending."""
        self.window_count += 1
        if now - self.window_start >= 1.0:
            self.window_rate = self.window_count / (now - self.window_start)
            self.window_start, self.window_count = now, 0
        rate = self.rate
        if rate is None:
            return 0.0
        elapsed = now - self.updated
        self.updated = now
        if now - self.last_cut >= 1.0 and self.ceiling is not None and rate < self.ceiling:
            rate = min(self.ceiling, rate + self.ceiling * 0.05 * elapsed)
            if rate >= self.ceiling and self.base is None:
                self.rate = self.ceiling = None
                return 0.0
            self.rate = rate
        self.tokens = min(self._burst(), self.tokens + elapsed * rate) - 1.0
        return 0.0 if self.tokens >= 0.0 else -self.tokens / rate

    def cut(self, now: float) -> bool:
        if now - self.last_cut < 1.0:
            return False
        self.last_cut = now
        if self.rate is not None:
            self.tokens = min(self._burst(), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        else:
            achieved = max(self.window_rate, self.window_count / max(now - self.window_start, 1e-3))
            self.ceiling = max(achieved, 2.0)
            self.rate = self.ceiling
            self.tokens = 0.0
            self.updated = now
        self.rate = max(1.0, self.rate / 2)
        self.tokens = min(self.tokens, self._burst())
        return True


class _Bind:
    """One TCP connection bound as transceiver, re-established after it drops."""

    def __init__(self, provider: SmppProvider, index: int) -> None:
        self.provider = provider
        self.index = index
        self.link: Link | None = None
        self.bound = False
        self.pending: dict[int, tuple[float, _Handler, int, bool]] = {}
        self.in_flight = 0
        self.auth_error: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.last_rx = 0.0
        self._sequence = 0
        self._enquire_sequence: int | None = None
        self._unbinding = False

    def next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    # -- requests -----------------------------------------------------------------------------

    def send_submit(self, body: bytes, handler: _Handler, part: int, now: float) -> None:
        assert self.link is not None
        sequence = self.next_sequence()
        self.pending[sequence] = (now + self.provider.route.request_timeout, handler, part, True)
        self.in_flight += 1
        self.link.send(pdu.encode_frame(pdu.SUBMIT_SM, 0, sequence, body))

    async def request(self, command_id: int, body: bytes, timeout: float) -> tuple[int, bytes]:
        link = self.link
        if link is None or link.closed:
            return _LOST, b""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        sequence = self.next_sequence()
        self.pending[sequence] = (loop.time() + timeout, _FutureReply(future), 0, False)
        link.send(pdu.encode_frame(command_id, 0, sequence, body))
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
            # arrives as the answer does, and a bind cancelled by close() then stayed up forever.
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self.pending.pop(sequence, None)
            return _TIMEOUT, b""

    def reply(self, part: int, status: int, body: bytes) -> None:
        """Answer to our enquire_link (the bind is its own handler for it)."""
        self._enquire_sequence = None
        if status in (_TIMEOUT, _LOST) and self.link is not None and not self.link.closed:
            log.warning(
                "%s bind %d: no answer to enquire_link, reconnecting", self.provider.route.name, self.index
            )
            self.link.abort()

    def fail_all(self, status: int) -> None:
        # Cleared in place: the read loop holds a reference to this dict.
        pending = list(self.pending.values())
        self.pending.clear()
        freed = False
        for _, handler, part, counted in pending:
            if counted:
                self.in_flight -= 1
                freed = True
            handler.reply(part, status, b"")
        self._enquire_sequence = None
        if freed:
            self.provider._wake()

    def sweep(self, now: float) -> None:
        """Fail requests whose time is up. The dict is in sending order, so the oldest come first."""
        pending = self.pending
        expired = []
        for sequence, entry in pending.items():
            if entry[0] > now:
                break
            expired.append(sequence)
        freed = False
        for sequence in expired:
            _, handler, part, counted = pending.pop(sequence)
            if counted:
                self.in_flight -= 1
                freed = True
            handler.reply(part, _TIMEOUT, b"")
        if freed:
            self.provider._wake()

    # -- connection -------------------------------------------------------------------------------

    async def run(self) -> None:
        route = self.provider.route
        delay = route.reconnect_min
        while not self.provider.closed:
            outcome = await self._session()
            if self.provider.closed:
                break
            if outcome == "bound":
                delay = route.reconnect_min
            elif outcome == "auth":
                delay = route.reconnect_max
            # Jitter spreads the binds of many dispatchers that lost the same SMSC at once.
            await self.provider._sleep(random.uniform(delay / 2, delay))
            if outcome != "bound":
                delay = min(delay * 2, route.reconnect_max)

    async def _session(self) -> str:
        provider = self.provider
        route = provider.route
        name = f"{route.name} bind {self.index}"
        reader_task: asyncio.Task[None] | None = None
        keepalive: asyncio.Task[None] | None = None
        outcome = "failed"
        try:
            async with asyncio.timeout(route.connect_timeout):  # not wait_for: see request()
                reader, writer = await asyncio.open_connection(route.host, route.port)
            link = Link(reader, writer)
            self.link = link
            self.last_rx = asyncio.get_running_loop().time()
            reader_task = asyncio.create_task(self._read(link))
            body = pdu.Bind(route.system_id, route.password, route.system_type).encode()
            status, reply = await self.request(pdu.BIND_TRANSCEIVER, body, route.connect_timeout)
            if status != pdu.ESME_ROK:
                reason = (
                    "no answer" if status == _TIMEOUT else pdu.status_name(status) if status > 0 else "closed"
                )
                provider.stats.bind_failures += 1
                provider.stats.last_bind_error = reason
                if status in AUTH_STATUSES:
                    self.auth_error = reason
                    outcome = "auth"
                    log.error("%s: SMSC %s:%d refused the bind: %s", name, route.host, route.port, reason)
                else:
                    log.warning("%s: bind failed: %s", name, reason)
                return outcome
            self.auth_error = None
            self.bound = True
            outcome = "bound"
            provider.stats.binds += 1
            log.info("%s: bound to %s (%s)", name, link.peer, pdu.decode_message_id(reply) or "?")
            provider._wake()
            keepalive = asyncio.create_task(self._keepalive(link))
            await reader_task
        except (OSError, TimeoutError) as exc:
            provider.stats.last_bind_error = (
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            )
            log.warning(
                "%s: connection to %s:%d failed: %s", name, route.host, route.port, exc or type(exc).__name__
            )
        finally:
            self.bound = False
            for task in (keepalive, reader_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if self.link is not None:
                self.link.abort()
                self.link = None
            self.fail_all(_CLOSED if provider.closed else _LOST)
            provider._wake()
        return outcome

    async def _read(self, link: Link) -> None:
        provider = self.provider
        loop = asyncio.get_running_loop()
        pending = self.pending
        quickack = _quickack(link)
        try:
            while True:
                frames = await link.read()
                if quickack is not None:
                    quickack()
                if frames is None:
                    if not self._unbinding:
                        log.warning("%s bind %d: SMSC closed the connection", provider.route.name, self.index)
                    return
                self.last_rx = loop.time()
                freed = False
                for command_id, status, sequence, body in frames:
                    if command_id & pdu.RESPONSE_BIT:
                        entry = pending.pop(sequence, None)
                        if entry is None:
                            if command_id == pdu.GENERIC_NACK:
                                log.warning(
                                    "%s: generic_nack %s", provider.route.name, pdu.status_name(status)
                                )
                            continue
                        if entry[3]:
                            self.in_flight -= 1
                            freed = True
                        entry[1].reply(entry[2], status, body)
                        if status == pdu.ESME_RINVBNDSTS and self.bound:
                            log.warning("%s: SMSC says we are not bound; re-binding", provider.route.name)
                            link.abort()
                            return
                    elif command_id == pdu.DELIVER_SM:
                        provider._deliver(body, _acknowledger(link, sequence))
                    elif command_id == pdu.ENQUIRE_LINK:
                        link.send(pdu.encode_frame(pdu.ENQUIRE_LINK_RESP, 0, sequence))
                    elif command_id == pdu.UNBIND:
                        link.send(pdu.encode_frame(pdu.UNBIND_RESP, 0, sequence))
                        log.warning("%s bind %d: SMSC unbound us", provider.route.name, self.index)
                        link.close()
                        return
                    else:
                        link.send(pdu.encode_frame(pdu.GENERIC_NACK, pdu.ESME_RINVCMDID, sequence))
                if freed:
                    provider._wake()
                # Stop reading while callbacks lag far behind: the SMSC's own window then holds
                # back further deliver_sm instead of our memory growing without bound.
                while len(provider._backlog) > _CALLBACK_BACKLOG and not link.closed:
                    await asyncio.sleep(0.01)
        except pdu.PduError as exc:
            log.error(
                "%s bind %d: garbage from the SMSC (%s); reconnecting", provider.route.name, self.index, exc
            )
            link.send(pdu.encode_frame(pdu.GENERIC_NACK, exc.status, 0))
            link.close()
        except (ConnectionError, OSError) as exc:
            log.warning("%s bind %d: connection lost: %s", provider.route.name, self.index, exc)
        finally:
            # Whatever ended the connection, nothing more will be answered on it: fail what waits
            # now rather than at its timeout.
            self.bound = False
            if not link.closed:
                link.abort()
            self.fail_all(_CLOSED if provider.closed else _LOST)

    async def _keepalive(self, link: Link) -> None:
        route = self.provider.route
        loop = asyncio.get_running_loop()
        tick = max(0.01, min(1.0, route.request_timeout / 4, route.enquire_link_interval / 2))
        while not link.closed:
            await asyncio.sleep(tick)
            now = loop.time()
            self.sweep(now)
            if self._enquire_sequence is None and now - self.last_rx >= route.enquire_link_interval:
                sequence = self.next_sequence()
                self._enquire_sequence = sequence
                self.pending[sequence] = (now + route.request_timeout, self, 0, False)
                link.send(pdu.encode_frame(pdu.ENQUIRE_LINK, 0, sequence))

    async def unbind(self) -> None:
        if self.bound and self.link is not None and not self.link.closed:
            self._unbinding = True
            status, _ = await self.request(pdu.UNBIND, b"", min(2.0, self.provider.route.request_timeout))
            if status != pdu.ESME_ROK:
                log.info("%s bind %d: unbind not answered (%s)", self.provider.route.name, self.index, status)
            if self.link is not None:
                self.link.close()


class SmppProvider:
    """Provider over SMPP 3.4; see the module docstring for behaviour and error codes."""

    def __init__(
        self,
        route: SmppRoute,
        *,
        on_receipt: ReceiptCallback | None = None,
        on_inbound: InboundCallback | None = None,
    ) -> None:
        self.route = route
        self.name = route.name
        self.stats = SmppStats()
        self.closed = False
        self._on_receipt = on_receipt
        self._on_inbound = on_inbound
        self._zone = ZoneInfo(route.receipt_timezone)
        self._binds = [_Bind(self, index) for index in range(route.binds)]
        self._waiters: list[asyncio.Future[None]] = []
        self._throttle: _Throttle | None = None
        self._reference = random.randrange(256)
        self._prefixes: dict[str, bytes] = {}
        # text -> (data_coding, its parts without concatenation headers, or the whole payload)
        self._encoded: dict[str, tuple[int, list[bytes]]] = {}
        self._reassembler = Reassembler()
        self._backlog: deque[tuple[Awaitable[Any], Callable[[], None]]] = deque()
        self._backlog_task: asyncio.Task[None] | None = None
        self._started = False
        self._closing: asyncio.Future[None] | None = None
        self._sleepers: set[asyncio.Future[None]] = set()

    async def __aenter__(self) -> SmppProvider:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the binds (they connect in the background); idempotent."""
        if self._started or self.closed:
            return
        self._started = True
        self._throttle = _Throttle(self.route.tps, asyncio.get_running_loop().time())
        for bind in self._binds:
            bind.task = asyncio.create_task(bind.run(), name=f"smpp-bind-{self.route.name}-{bind.index}")

    async def wait_bound(self, timeout: float | None = None) -> bool:
        """Whether at least one bind is up within `timeout` seconds (default: the connect timeout)."""
        await self.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.route.connect_timeout if timeout is None else timeout)
        while not any(bind.bound for bind in self._binds):
            if self.closed or loop.time() >= deadline or all(bind.auth_error for bind in self._binds):
                return False
            await self._wait_change(deadline)
        return True

    @property
    def bound(self) -> int:
        """How many binds are up now."""
        return sum(bind.bound for bind in self._binds)

    async def close(self) -> None:
        if self._closing is not None:
            await asyncio.shield(self._closing)
            return
        self._closing = asyncio.get_running_loop().create_future()
        self.closed = True
        try:
            self._wake()
            for sleeper in list(self._sleepers):
                if not sleeper.done():
                    sleeper.set_result(None)
            await asyncio.gather(*(bind.unbind() for bind in self._binds), return_exceptions=True)
            for bind in self._binds:
                if bind.task is not None:
                    bind.task.cancel()
            tasks = [bind.task for bind in self._binds if bind.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)
            for bind in self._binds:
                bind.fail_all(_CLOSED)
            # Receipts already acknowledged to the SMSC exist nowhere else: hand them over.
            task = self._backlog_task
            if task is not None and not task.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), 5.0)
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            self._closing.set_result(None)

    async def _sleep(self, seconds: float) -> None:
        """A sleep that close() cuts short."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.add(future)
        handle = asyncio.get_running_loop().call_later(seconds, _set_none, future)
        try:
            await future
        finally:
            handle.cancel()
            self._sleepers.discard(future)

    # -- sending ----------------------------------------------------------------------------------

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_change(self, deadline: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        handle = loop.call_at(deadline, _set_none, waiter) if deadline is not None else None
        try:
            await waiter
        finally:
            if handle is not None:
                handle.cancel()

    async def _acquire(self, stick_to: _Bind | None, deadline: float) -> _Bind:
        """A bound bind with room in its window; `stick_to` for the later parts of a message."""
        loop = asyncio.get_running_loop()
        window = self.route.window
        while True:
            if self.closed:
                raise _Unavailable(_CLOSED)
            if stick_to is not None:
                if not stick_to.bound:
                    raise _Unavailable(_LOST)
                if stick_to.in_flight < window:
                    return stick_to
                await self._wait_change(None)
                continue
            best: _Bind | None = None
            any_bound = False
            for bind in self._binds:
                if bind.bound:
                    any_bound = True
                    if bind.in_flight < window and (best is None or bind.in_flight < best.in_flight):
                        best = bind
            if best is not None:
                return best
            if any_bound:
                await self._wait_change(None)
                continue
            if all(bind.auth_error for bind in self._binds):
                raise _Unavailable(_BIND_FAILED)
            if loop.time() >= deadline:
                raise _Unavailable(_UNAVAILABLE)
            await self._wait_change(deadline)

    def _throttled(self) -> None:
        self.stats.throttled += 1
        if self._throttle is not None and self._throttle.cut(asyncio.get_running_loop().time()):
            log.warning("%s: SMSC is throttling; rate now %.0f/s", self.route.name, self._throttle.rate or 0)

    @property
    def rate_limit(self) -> float | None:
        """The route's current messages-per-second limit (None: none)."""
        return self._throttle.rate if self._throttle is not None else None

    def _describe(self, status: int) -> tuple[str, bool]:
        """(error, temporary) for a failed part."""
        if status == _TIMEOUT:
            return "smpp_timeout", True
        if status == _LOST:
            return "smpp_connection_lost", True
        if status == _UNAVAILABLE:
            return "smpp_unavailable", True
        if status == _CLOSED:
            return "smpp_closed", True
        if status == _BIND_FAILED:
            reasons = {bind.auth_error for bind in self._binds if bind.auth_error}
            return f"smpp_bind_failed:{','.join(sorted(reasons)) or 'unknown'}", False
        name = pdu.status_name(status)
        if status in THROTTLE_STATUSES:
            return f"smpp_throttled:{name}", True
        return f"smpp_status:{name}", is_temporary(status)

    def _prefix(self, sender: str) -> bytes:
        prefix = self._prefixes.get(sender)
        if prefix is None:
            route = self.route
            address = sender or route.source_addr
            if address.startswith("+") and address[1:].isdigit():
                ton, npi, address = 1, 1, address[1:]
            elif address.isdigit() or not address:
                ton, npi = 0, 1
            else:
                ton, npi = 5, 0
            prefix = pdu.submit_prefix(
                address,
                source_ton=ton if route.source_ton is None else route.source_ton,
                source_npi=npi if route.source_npi is None else route.source_npi,
                dest_ton=route.dest_ton,
                dest_npi=route.dest_npi,
            )
            if len(self._prefixes) < 10_000:
                self._prefixes[sender] = prefix
        return prefix

    def _encode(self, message: OutgoingSms) -> list[bytes] | SubmitResult:
        """submit_sm bodies for a message, or the permanent failure that stops it being sent."""
        try:
            prefix = self._prefix(message.sender)
        except pdu.PduError:
            return SubmitResult(reference=message.reference, accepted=False, error="invalid_sender")
        try:
            destination = pdu.cstring(message.to.removeprefix("+"), "destination_addr", 21)
        except pdu.PduError:
            return SubmitResult(reference=message.reference, accepted=False, error="invalid_address")
        receipt = 1 if self.route.registered_delivery else 0
        try:
            if self.route.long_mode == "payload":
                data_coding, (payload,) = self._encoded_text(message.text, payload=True)
                single = sms.UCS2_SINGLE * 2 if data_coding == sms.DATA_CODING_UCS2 else sms.GSM7_SINGLE
                if len(payload) <= single:
                    return [pdu.submit_body(prefix, destination, 0, receipt, data_coding, payload)]
                tlvs = pdu.tlv(pdu.TLV_MESSAGE_PAYLOAD, payload)
                return [pdu.submit_body(prefix, destination, 0, receipt, data_coding, b"", tlvs)]
            self._reference = reference = (self._reference + 1) & 0xFF
            data_coding, parts = self._encoded_text(message.text, payload=False)
        except (ValueError, pdu.PduError):
            # A lone surrogate, more than 255 parts, or a payload past 64 KiB.
            return SubmitResult(reference=message.reference, accepted=False, error="invalid_text")
        if len(parts) <= 1:
            return [pdu.submit_body(prefix, destination, 0, receipt, data_coding, parts[0] if parts else b"")]
        total = len(parts)
        return [
            pdu.submit_body(
                prefix, destination, sms.ESM_CLASS_UDHI, receipt if index == 0 else 0, data_coding,
                bytes((5, 0, 3, reference, total, index + 1)) + part,
            )
            for index, part in enumerate(parts)
        ]  # fmt: skip

    def _encoded_text(self, text: str, *, payload: bool) -> tuple[int, list[bytes]]:
        """data_coding and the text's parts without their concatenation headers (with `payload`,
        the whole message as one part); remembered for the texts seen last (a route sends in one
        `long_mode`, so the text alone is the key)."""
        found = self._encoded.get(text)
        if found is not None:
            return found
        if payload:
            data_coding, whole = sms.encode(text)
            found = (data_coding, [whole])
        else:
            data_coding, parts = sms.encode_parts(text, reference=0)
            found = (data_coding, parts if len(parts) <= 1 else [part[_UDH_LENGTH:] for part in parts])
        if len(self._encoded) >= _ENCODED_TEXTS:
            self._encoded.clear()
        self._encoded[text] = found
        return found

    async def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One result per message, in order. Never raises for a message's failure."""
        loop = asyncio.get_running_loop()
        batch = _Batch(len(messages), loop)
        if self.closed:
            for index, message in enumerate(messages):
                batch.finish(
                    index, SubmitResult(message.reference, False, error="smpp_closed", temporary=True)
                )
            return [result for result in batch.results if result is not None]
        await self.start()
        throttle = self._throttle
        assert throttle is not None
        deadline = loop.time() + self.route.connect_timeout
        stats = self.stats
        for index, message in enumerate(messages):
            bodies = self._encode(message)
            if isinstance(bodies, SubmitResult):
                stats.failed += 1
                batch.finish(index, bodies)
                continue
            tracker = _Message(self, batch, index, message.reference, len(bodies))
            bind: _Bind | None = None
            for part, body in enumerate(bodies):
                # The token first, then the window slot: nothing may yield between taking a slot
                # and filling it, or concurrent submitters could overfill a window.
                wait = throttle.reserve(loop.time())
                if wait > 0.0:
                    await asyncio.sleep(wait)
                try:
                    bind = await self._acquire(bind, deadline)
                except _Unavailable as exc:
                    for unsent in range(part, len(bodies)):
                        tracker.reply(unsent, exc.status, b"")
                    break
                bind.send_submit(body, tracker, part, loop.time())
                stats.submitted += 1
        await batch.done
        return [result for result in batch.results if result is not None]

    # -- receiving --------------------------------------------------------------------------------

    def _deliver(self, body: bytes, ack: Callable[[], None]) -> None:
        """Hand a deliver_sm to its callback; `ack` answers the SMSC.

        When the callback returns an awaitable (the dispatcher's: done once the receipt is
        committed), the answer waits for it, so a receipt is never acknowledged and then lost in
        a crash: the SMSC sends again whatever it saw no answer to.
        """
        try:
            message = pdu.ShortMessage.decode(body)
        except pdu.PduError as exc:
            log.warning("%s: unreadable deliver_sm acknowledged and dropped: %s", self.route.name, exc)
            ack()
            return
        if is_receipt(message.esm_class):
            receipt = parse_receipt(message, zone=self._zone, blacklist_errors=self.route.blacklist_errors)
            if receipt is None:
                self.stats.unreadable_receipts += 1
                ack()
                return
            self.stats.receipts += 1
            if self._on_receipt is not None:
                self._emit(self._on_receipt, receipt, ack)
            else:
                ack()
            return
        try:
            assembled = self._reassembler.feed(message)
        except pdu.PduError as exc:
            log.warning("%s: inbound message with a broken header dropped: %s", self.route.name, exc)
            ack()
            return
        if assembled is None or self._on_inbound is None:
            ack()  # a part kept for reassembly, or nobody listening
            if assembled is not None:
                self.stats.inbound += 1
            return
        self.stats.inbound += 1
        inbound = Inbound(
            from_=_address(message.source_addr, message.source_addr_ton),
            to=_address(message.destination_addr, message.dest_addr_ton),
            text=assembled.text,
            received_at=datetime.now(UTC),
        )
        self._emit(self._on_inbound, inbound, ack)

    def _emit(
        self, callback: Callable[[Any], Awaitable[None] | None], value: Receipt | Inbound, ack: Callable[[], None]
    ) -> None:
        try:
            result = callback(value)
        except Exception:
            log.exception("%s: callback failed for %r", self.route.name, value)
            ack()
            return
        if isinstance(result, asyncio.Future) or (result is not None and inspect.isawaitable(result)):
            self._backlog.append((result, ack))
            if self._backlog_task is None or self._backlog_task.done():
                self._backlog_task = asyncio.create_task(self._drain_backlog(0))
        else:
            ack()

    async def _drain_backlog(self, down_to: int) -> None:
        backlog = self._backlog
        while len(backlog) > down_to:
            awaitable, ack = backlog.popleft()
            try:
                await awaitable
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not acknowledged: the SMSC will send it again.
                log.exception("%s: callback failed", self.route.name)
                continue
            ack()
            # Those behind it waiting on the same thing (the dispatcher's batch commit) are done too.
            while len(backlog) > down_to and backlog[0][0] is awaitable:
                backlog.popleft()[1]()


def _acknowledger(link: Any, sequence: int) -> Callable[[], None]:
    def ack() -> None:
        # The connection may have closed meanwhile; the SMSC then re-sends on the next bind.
        with contextlib.suppress(Exception):
            link.send(pdu.encode_frame(pdu.DELIVER_SM_RESP, 0, sequence, b"\0"))

    return ack


def _quickack(link: Link) -> Callable[[], None] | None:
    """Something that makes the kernel acknowledge what we receive at once (Linux), or None.

    An SMSC that writes each PDU on its own with Nagle's algorithm on (node's default, and many
    servers') sends its next PDU only once the last was acknowledged, and Linux delays an
    acknowledgement by up to 40 ms when it has no data to carry it, as when our deliver_sm_resp
    wait for the receipts to be written. The mode lapses, so it is set again after each read."""
    option = getattr(socket, "TCP_QUICKACK", None)
    sock = link.writer.get_extra_info("socket")
    if option is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None

    def quickack() -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)

    return quickack


def _set_none(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _address(value: str, ton: int) -> str:
    """International numbers as E.164 ("+98…"); anything else as the SMSC wrote it."""
    if ton == 1 and value.isdigit():
        return "+" + value
    return value
