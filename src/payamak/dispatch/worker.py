"""The dispatcher: takes due messages from the queue, sends them through their routes as fast as
each route allows, and writes back results, receipts and inbound SMS in batches.

One asyncio loop per process runs four kinds of work:

claim loop
    Claims due messages (`submitting`, attempts + 1, lease) in one transaction, picks a route for
    each (routing.py), and starts one submit task per route and chunk. The claim size follows the
    rate achieved, and a claim is made only while the window has room (below).
submit tasks
    `await provider.submit(chunk)`: the SMPP provider pipelines a chunk through its binds'
    windows, so several chunks in flight keep every window full (and no more than that are handed
    to an SMPP route at once). Results go into the open batch.
receipts and inbound
    Provider callbacks append to the open batch; nothing else happens on the socket's turn. They
    return the batch's commit, which the provider waits for before acknowledging them.
flush loop
    Every `flush_interval` (or sooner once `flush_max` results are waiting) the open batch is
    swapped for an empty one and written in ONE transaction: results first (so a receipt that
    overtook its result still finds its message), then receipts, then inbound SMS, then credit
    given back (service.apply_batch). A batch that fails to write is kept and written again.
upkeep loop
    Promotes scheduled sends, takes back claims of dead dispatchers, expires messages past their
    validity, settles finished sends, writes the heartbeat and route states, reloads routes.

Database work is synchronous SQLAlchemy on dedicated threads (one on SQLite, where writers
serialise anyway; a few on PostgreSQL) so the loop keeps the sockets busy meanwhile.

The window: at most `window` messages are claimed and without a committed result at any time.
A claim takes only the room left, and room comes back only when a batch holding the results has
committed. So if the process is killed, at most `window` messages are `submitting` in the database
on its behalf: the only ones that may have reached the SMSC without our knowing, and the only ones
that can be sent twice after recovery (they are flagged `maybe_duplicate` and counted).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import functools
import logging
import os
import signal
import socket
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from payamak import metrics
from payamak.config import Settings
from payamak.db import Database, utcnow
from payamak.dispatch import repository as repo
from payamak.dispatch import service, state
from payamak.dispatch.models import RouteState
from payamak.dispatch.repository import ClaimedRow, SendInfo
from payamak.dispatch.routing import (
    SIMULATOR_KEY,
    ProviderHooks,
    RouteRuntime,
    RouteSpec,
    RouteStatus,
    RoutingTable,
)
from payamak.dispatch.service import Batch, BatchPolicy, BatchReport, Claimed, PendingReceipt, SentIndex
from payamak.dispatch.settings import DispatchSettings
from payamak.errors import StorageFull
from payamak.providers.base import OutgoingSms, SubmitResult
from payamak.providers.smpp import Inbound, Receipt, SimulatedSmsc, SmppProvider, SmscConfig

log = logging.getLogger("payamak.dispatch")


def _log_failure(what: str, *args: object) -> None:
    """Log the database step that just failed (call from an `except` block). A full disk or a
    database that went away is the operator's to fix and fails again every second until then: one
    line each time, not a traceback that would help fill the disk further."""
    exc = sys.exc_info()[1]
    if isinstance(exc, StorageFull | OperationalError):
        brief = f"{exc.code}: {exc.message_en}" if isinstance(exc, StorageFull) else str(exc).strip().splitlines()[0]
        log.error(what + ": %s", *args, brief)
    else:
        log.exception(what, *args)

T = TypeVar("T")

MIN_CLAIM = 32
IDLE_POLL = 0.2
ROUTE_RELOAD_SECONDS = 5.0
SLOW_UPKEEP_SECONDS = 10.0
EXPIRY_LOOKBACK = dt.timedelta(days=7)

_running: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def running() -> Dispatcher | None:
    """The dispatcher running in this process, if any (the admin API asks it for live route state)."""
    for dispatcher in _running:
        if not dispatcher.stopped:
            return dispatcher
    return None


# The counts a written batch reports, each added up over the dispatcher's life (`final` merged by
# status); `receipts_waiting` is a level, not a count: the latest one stands.
_SUMMED = tuple(f.name for f in fields(BatchReport) if f.name not in ("final", "receipts_waiting"))


@dataclass
class DispatcherStats(BatchReport):
    claimed: int = 0
    recovered: int = 0  # claims of dead dispatchers taken back: possibly sent twice
    expired: int = 0
    settled: int = 0
    flushes: int = 0
    flush_errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    rate: float = 0.0

    def add(self, report: BatchReport) -> None:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(report, name))
        for status, count in report.final.items():
            self.final[status] = self.final.get(status, 0) + count
        self.receipts_waiting = report.receipts_waiting
        self.flushes += 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Dispatcher:
    """Start with `await start()`, stop with `await stop()`; or `await run()` until `request_stop()`."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings | None = None,
        config: DispatchSettings | None = None,
        name: str | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        # Connections of its own: on SQLite they get a large page cache (the queue's indexes are
        # read and rewritten all the time), which the web application's many connections need not.
        self._given_db = db
        self.db = _own_database(db)
        self.settings = settings
        self.config = config or DispatchSettings()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.announce = announce or log.info
        self.stats = DispatcherStats()
        self.id: int | None = None
        self.started_at = utcnow()
        self.stopped = False
        self.smsc: SimulatedSmsc | None = None
        cfg = self.config
        self.policy = BatchPolicy(
            retry=state.RetryPolicy(cfg.max_attempts, cfg.retry_base_seconds, cfg.retry_max_seconds),
            route_down_seconds=cfg.route_down_seconds,
            receipt_match_seconds=cfg.receipt_match_seconds,
        )
        threads = 1 if db.dialect == "sqlite" else 3
        self._pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="dispatch-db")
        self._table = RoutingTable([])
        self._runtimes: dict[int, RouteRuntime] = {}
        self._retired: list[RouteRuntime] = []
        self._gates: weakref.WeakKeyDictionary[RouteRuntime, asyncio.Semaphore] = weakref.WeakKeyDictionary()
        self._sends: dict[int, SendInfo] = {}
        self._index = SentIndex()
        self._waiting: service.Waiting = {}
        self._batch = Batch()
        self._failed_batch: Batch | None = None
        self._in_flight = 0
        self._submits: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._room = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._stopping = asyncio.Event()
        # Set once everything in flight has finished: the flush and upkeep loops run until then,
        # so results keep being written and the heartbeat keeps saying this dispatcher is alive.
        self._finished = asyncio.Event()
        self._reload = asyncio.Event()
        self._claim_target = 512
        self._rate_mark = (time.monotonic(), 0)
        self._last_reload = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._final_states: list[RouteState] | None = None
        self._receipt_clock = metrics.ReceiptClock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            # Nothing was claimed yet: close what was opened and leave the queue as it was.
            for runtime in self._runtimes.values():
                with contextlib.suppress(Exception):
                    await runtime.close()
            if self.smsc is not None:
                await self.smsc.close()
                self.smsc = None
            self.stopped = True
            self._pool.shutdown(wait=False)
            if self.db is not self._given_db:
                self.db.dispose()
            raise

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        now = utcnow()
        self.started_at = now
        self.id = await self._db(self._register, now)
        await self._load_routes()
        for runtime in self._runtimes.values():
            await runtime.start()
        await self._wait_first_binds()
        recovered = await self._db(self._recover_tx)
        if recovered:
            self.announce(
                f"took back {recovered} messages claimed by a dispatcher that stopped (may be sent twice)"
            )
        _running.add(self)
        loop_tasks = (self._claim_loop(), self._flush_loop(), self._upkeep_loop())
        self._tasks = [asyncio.create_task(coro, name=f"dispatch-{i}") for i, coro in enumerate(loop_tasks)]
        self.announce(f"dispatcher {self.name} started (window {self.config.window})")

    async def run(self) -> None:
        """Start, run until `request_stop()` (or SIGTERM/SIGINT via `install_signal_handlers`), stop."""
        await self.start()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()

    def request_stop(self) -> None:
        self._stopping.set()
        self._room.set()
        self._reload.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, let what is in flight finish, write everything, unbind, say goodbye."""
        if self.stopped:
            return
        self.request_stop()
        claim_task = self._tasks[0] if self._tasks else None
        if claim_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await claim_task
        if self._submits:
            await asyncio.wait(set(self._submits), timeout=timeout)
        # What admins see after it stopped is how the routes were while it ran, not "closed".
        self._final_states = self._route_states()
        # Closing the providers unbinds them and hands over receipts they had already taken;
        # a submit still running then ends with a result that puts its messages back in the queue.
        for runtime in [*self._runtimes.values(), *self._retired]:
            try:
                await runtime.close()
            except Exception:
                log.exception("closing route %s failed", runtime.spec.name)
        if self._submits:
            await asyncio.wait(set(self._submits), timeout=5.0)
        # The flush and upkeep loops finish the round they are in (a write in progress is never
        # abandoned halfway), then end.
        self._finished.set()
        self._flush_now.set()
        self._reload.set()
        for task in self._tasks[1:]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        deadline = time.monotonic() + timeout
        while (len(self._batch) or self._failed_batch is not None) and time.monotonic() < deadline:
            if not await self._flush():
                await asyncio.sleep(0.5)
        if self._waiting:
            # Receipts still unmatched are looked up one last time; what matches nothing now is
            # counted as unknown (they were acknowledged, so the SMSC will not send them again).
            for pending in self._waiting.values():
                pending.next_try = pending.first_seen = float("-inf")
            await self._flush()
        if self._in_flight:
            log.warning("dispatcher stopping with %d messages claimed and unwritten", self._in_flight)
        try:
            await self._db(self._goodbye)
        except Exception:
            log.exception("could not record the dispatcher's stop")
        if self.smsc is not None:
            await self.smsc.close()
            self.smsc = None
        self.stopped = True
        self._pool.shutdown(wait=True)
        if self.db is not self._given_db:
            self.db.dispose()
        self.announce(
            f"dispatcher stopped: {self.stats.results} results, {self.stats.receipts} receipts, "
            f"{self.stats.recovered} taken back"
        )

    async def _db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    def _register(self, now: dt.datetime) -> int:
        with self.db.transaction() as session:
            repo.forget_dispatchers(session, stopped_before=now - dt.timedelta(days=7))
            return repo.register_dispatcher(session, name=self.name, now=now)

    def _goodbye(self) -> None:
        if self.id is None:
            return
        with self.db.transaction() as session:
            repo.stop_dispatcher(session, dispatcher_id=self.id, now=utcnow(), stats=self._public_stats())
            self._save_route_states(session)

    async def _wait_first_binds(self) -> None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            states = [rt.status().state for rt in self._runtimes.values()]
            if not states or all(s != "starting" for s in states) or any(s == "up" for s in states):
                return
            await asyncio.sleep(0.05)

    # -- routes ------------------------------------------------------------------------------

    def request_reload(self) -> None:
        """Read the routes again soon (an admin changed them in this process); any thread may call it.

        Soon, not now: the change may not have committed yet."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def later() -> None:
            loop.call_later(0.5, self._reload_now)

        loop.call_soon_threadsafe(later)

    def _reload_now(self) -> None:
        self._last_reload = 0.0
        self._reload.set()

    def route_status(self) -> dict[int | None, RouteStatus]:
        """Live state of every route this dispatcher uses; key None is the built-in simulator."""
        out: dict[int | None, RouteStatus] = {}
        for key, runtime in self._runtimes.items():
            out[None if key == SIMULATOR_KEY and runtime.spec.id is None else key] = runtime.status()
        return out

    async def _load_routes(self) -> None:
        specs = await self._db(self._read_routes)
        table = RoutingTable(specs)
        wanted = dict(table.by_key)
        if any(spec.kind == "simulator" for spec in wanted.values()):
            await self._ensure_smsc()
        for key, runtime in list(self._runtimes.items()):
            spec = wanted.get(key)
            if spec is None or spec.fingerprint() != runtime.spec.fingerprint():
                del self._runtimes[key]
                self._retire(runtime)
            else:
                runtime.spec = spec
        for key, spec in wanted.items():
            if key not in self._runtimes:
                runtime = RouteRuntime(spec, self._hooks(key))
                self._runtimes[key] = runtime
                if self.id is not None:
                    await runtime.start()
                if runtime.error:
                    log.error("route %s cannot be used: %s", spec.name, runtime.error)
        self._table = table
        self._last_reload = time.monotonic()

    def _read_routes(self) -> list[RouteSpec]:
        with self.db.transaction(readonly=True) as session:
            return [RouteSpec.of(route) for route in repo.routes(session, active_only=True)]

    def _retire(self, runtime: RouteRuntime) -> None:
        """Close a route's provider once the submits already using it are done."""
        self._retired.append(runtime)

        async def close_later() -> None:
            await asyncio.sleep(runtime.spec.config.get("request_timeout", 10.0) + 1.0)
            await runtime.close()
            with contextlib.suppress(ValueError):
                self._retired.remove(runtime)

        task = asyncio.create_task(close_later())
        self._submits.add(task)
        task.add_done_callback(self._submits.discard)

    def _ack_after_commit(self) -> asyncio.Future[None]:
        """A future the provider waits on before acknowledging: resolved when the open batch commits.

        One for the whole open batch (its receipts and inbound SMS commit together), not one each."""
        acks = self._batch.acks
        if acks:
            return acks[-1]
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acks.append(ack)
        return ack

    def _hooks(self, key: int) -> ProviderHooks:
        flush_max = self.config.flush_max
        runtimes = self._runtimes
        monotonic = time.monotonic

        # Called for every receipt, on the socket's turn: appends and returns, nothing more.
        def on_receipt(receipt: Receipt) -> asyncio.Future[None]:
            if receipt.final:
                self._receipt_clock.receipt(key, receipt.provider_id)
            runtime = runtimes.get(key)
            spec = runtime.spec if runtime is not None else None
            batch = self._batch
            receipts = batch.receipts
            receipts.append(
                PendingReceipt(
                    key,
                    spec.id if spec is not None else (None if key == SIMULATOR_KEY else key),
                    receipt,
                    monotonic(),
                    spec.refund_undelivered if spec is not None else False,
                )
            )
            if len(receipts) >= flush_max:
                self._flush_now.set()
            acks = batch.acks
            return acks[-1] if acks else self._ack_after_commit()

        def on_inbound(inbound: Inbound) -> asyncio.Future[None]:
            self._batch.inbound.append(inbound)
            return self._ack_after_commit()

        smsc = self.smsc
        return ProviderHooks(
            on_receipt=on_receipt,
            on_inbound=on_inbound,
            smsc_host=smsc.host if smsc is not None else self.config.smsc_host,
            smsc_port=smsc.port if smsc is not None else self.config.smsc_port,
        )

    async def _ensure_smsc(self) -> None:
        """Start the built-in simulated SMSC for simulator routes (and when no route exists)."""
        if self.smsc is not None:
            return
        cfg = self.config
        smsc = SimulatedSmsc(
            SmscConfig(
                host=cfg.smsc_host, port=cfg.smsc_port, receipt_delay=cfg.smsc_receipt_delay, keep=1000
            )
        )
        try:
            await smsc.start()
        except OSError:
            smsc = SimulatedSmsc(
                SmscConfig(host=cfg.smsc_host, port=0, receipt_delay=cfg.smsc_receipt_delay, keep=1000)
            )
            await smsc.start()
        self.smsc = smsc
        self.announce(f"no route configured: messages go to the simulated SMSC on {smsc.host}:{smsc.port}")

    # -- claiming and sending ----------------------------------------------------------------

    def _window(self) -> int:
        """The window, narrowed for slow routes so no claim outlives half its lease before it is sent."""
        window = self.config.window
        rates = []
        for runtime in self._runtimes.values():
            if not runtime.status().usable:
                continue
            tps = runtime.spec.config.get("tps")
            if not tps:
                return window
            rates.append(float(tps))
        if rates:
            window = min(window, max(MIN_CLAIM, int(sum(rates) * self.config.lease_seconds / 4)))
        return window

    async def _claim_loop(self) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            if time.monotonic() - self._last_reload > ROUTE_RELOAD_SECONDS:
                try:
                    await self._load_routes()
                except Exception:
                    log.exception("could not read the routes; keeping the ones in use")
                    self._last_reload = time.monotonic()
            room = self._window() - self._in_flight
            if room < min(MIN_CLAIM, self._window()):
                self._room.clear()
                await self._room.wait()
                continue
            usable = {key for key, rt in self._runtimes.items() if rt.status().usable}
            if not usable:
                await self._pause(1.0)
                continue
            size = min(room, self._claim_target, cfg.batch_max)
            try:
                claimed = await self._db(self._claim_tx, size)
            except Exception:
                _log_failure("claim failed")
                await self._pause(1.0)
                continue
            if not claimed:
                await self._pause(IDLE_POLL)
                continue
            self._in_flight += len(claimed)
            self.stats.claimed += len(claimed)
            self.stats.in_flight = self._in_flight
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            self._dispatch(claimed, usable)
            # Let the submits start before the next claim competes with them for the loop.
            await asyncio.sleep(0)

    async def _pause(self, seconds: float) -> None:
        self._reload.clear()
        # asyncio.timeout, not wait_for, which on Python 3.11 can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._reload.wait()

    def _claim_tx(self, size: int) -> list[tuple[ClaimedRow, SendInfo]]:
        if len(self._sends) > 20_000:
            self._sends.clear()
        with self.db.transaction() as session:
            now = utcnow()
            return service.claim(
                session, now=now, lease_until=now + dt.timedelta(seconds=self.config.lease_seconds),
                limit=size, known=self._sends,
            )  # fmt: skip

    def _dispatch(self, claimed: list[tuple[ClaimedRow, SendInfo]], usable: set[int]) -> None:
        now = utcnow()
        groups: dict[int, list[Claimed]] = {}
        local: list[tuple[Claimed, SubmitResult | state.Outcome]] = []
        table = self._table
        runtimes = self._runtimes
        # Messages of a claim share a handful of (line route, operator, kind): choose once for each.
        chosen_for: dict[tuple[int | None, str | None, str], RouteSpec | None] = {}
        for row, send in claimed:
            if now >= send.expires_at:
                local.append((Claimed(row, send), state.Outcome("expired", "validity_expired")))
                continue
            key = (send.line_route_id, row.operator, send.kind)
            if key in chosen_for:
                chosen = chosen_for[key]
            else:
                candidates = table.candidates(line_route_id=key[0], operator=key[1], kind=key[2])
                chosen = next((c for c in candidates if c.key in usable and c.key in runtimes), None)
                chosen_for[key] = chosen
            if chosen is None:
                due = now + dt.timedelta(seconds=self.config.route_down_seconds)
                outcome = state.Outcome("queued", "route_unavailable", due_at=due, counted=False)
                local.append((Claimed(row, send), outcome))
                continue
            group = groups.get(chosen.key)
            if group is None:
                group = groups[chosen.key] = []
            group.append(Claimed(row, send, chosen.id, chosen.key, chosen.refund_undelivered))
        if local:
            self._batch.results.extend(local)
        for route_key, items in groups.items():
            runtime = runtimes[route_key]
            # Small enough that results flow back steadily, large enough that the per-call cost
            # does not matter.
            chunk = self.config.chunk
            for start in range(0, len(items), chunk):
                task = asyncio.create_task(self._submit(runtime, items[start : start + chunk]))
                self._submits.add(task)
                task.add_done_callback(self._submits.discard)

    def _gate(self, runtime: RouteRuntime) -> asyncio.Semaphore | None:
        """How many chunks may be handed to an SMPP route at once: enough to keep every bind's
        window full. More would only wait inside the provider, where each one waiting is woken
        whenever a window slot frees (and hundreds of them cost more than the sending)."""
        provider = runtime.provider
        if not isinstance(provider, SmppProvider):
            return None
        gate = self._gates.get(runtime)
        if gate is None:
            route = provider.route
            gate = asyncio.Semaphore(max(4, -(-2 * route.binds * route.window // self.config.chunk)))
            self._gates[runtime] = gate
        return gate

    async def _submit(self, runtime: RouteRuntime, items: list[Claimed]) -> None:
        gate = self._gate(runtime)
        if gate is None:
            await self._submit_now(runtime, items)
            return
        async with gate:
            await self._submit_now(runtime, items)

    async def _submit_now(self, runtime: RouteRuntime, items: list[Claimed]) -> None:
        began = time.monotonic()
        messages = [
            OutgoingSms(
                to=item.row.recipient,
                text=item.row.text if item.row.text is not None else item.send.text,
                sender=item.send.line_number,
                reference=(reference := str(item.row.id)),
                idempotency_key=reference,
            )
            for item in items
        ]
        provider = runtime.provider
        results: list[SubmitResult]
        if provider is None:
            results = [
                SubmitResult(m.reference, False, error="route_unavailable", temporary=True) for m in messages
            ]
        else:
            try:
                results = await provider.submit(messages)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Whatever the provider did with them is unknown: retried, flagged as possibly sent.
                log.warning("route %s: submit failed: %r", runtime.spec.name, exc)
                error = f"provider_error:{type(exc).__name__}"
                results = [SubmitResult(m.reference, False, error=error, temporary=True) for m in messages]
            if len(results) != len(messages):
                log.error(
                    "route %s answered %d results for %d messages",
                    runtime.spec.name,
                    len(results),
                    len(messages),
                )
                results = list(results[: len(messages)]) + [
                    SubmitResult(m.reference, False, error="provider_error:result_count", temporary=True)
                    for m in messages[len(results) :]
                ]
        runtime.submitted += len(results)
        failures = [r for r in results if not r.accepted]
        runtime.failed += len(failures)
        # For /metrics: the submit rate per route, and the start of each message's receipt latency.
        metrics.MESSAGES_SUBMITTED.labels(route=runtime.spec.name).inc(len(results) - len(failures))
        metrics.SUBMIT_FAILURES.labels(route=runtime.spec.name).inc(len(failures))
        accepted = [r.provider_id for r in results if r.accepted and r.provider_id]
        self._receipt_clock.submitted(runtime.spec.name, runtime.spec.key, accepted, began)
        if (
            failures
            and len(failures) == len(results)
            and all(r.temporary or state.is_route_down(r.error) for r in results)
        ):
            # A route that fails a whole chunk is taken out of routing for a while, so the next
            # claims fail over to the next route instead of failing here again.
            runtime.mark_down(failures[0].error or "failing", self.config.route_down_seconds)
        batch = self._batch
        batch.results.extend(zip(items, results, strict=True))
        if len(batch.results) >= self.config.flush_max:
            self._flush_now.set()

    # -- writing -----------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        interval = self.config.flush_interval
        while not self._finished.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._flush_now.wait()
            self._flush_now.clear()
            if not await self._flush():
                await self._pause(min(5.0, interval * 20))

    async def _flush(self) -> bool:
        """Write the open batch (and any that failed before); False if writing failed."""
        batch, self._batch = self._batch, Batch()
        if self._failed_batch is not None:
            self._failed_batch.extend(batch)
            batch, self._failed_batch = self._failed_batch, None
        if not len(batch) and not self._waiting_due():
            return True
        try:
            report, waiting, staged, answers = await self._db(self._flush_tx, batch)
        except Exception:
            self.stats.flush_errors += 1
            _log_failure(
                "writing %d results and %d receipts failed; will try again",
                len(batch.results),
                len(batch.receipts),
            )
            batch.rewritten = True
            self._failed_batch = batch
            return False
        self._waiting = waiting
        batch.committed()
        self._index.commit(*staged)
        if answers:
            # Once the batch's receipts are acknowledged, not before: an answer is a whole send.
            try:
                await self._db(self._answer_tx, answers)
            except Exception:
                _log_failure("answering %d HELP replies failed", len(answers))
        self.stats.add(report)
        if report.results:
            self._in_flight -= report.results
            self.stats.in_flight = self._in_flight
            self._room.set()
            self._update_rate(report.results)
        return True

    def _flush_tx(
        self, batch: Batch
    ) -> tuple[
        BatchReport,
        service.Waiting,
        tuple[list[tuple[tuple[int, str], service.Ref]], list[tuple[int, str]]],
        list[service.HelpRequest],
    ]:
        waiting = dict(self._waiting)
        staged: tuple[list[tuple[tuple[int, str], service.Ref]], list[tuple[int, str]]] = ([], [])
        answers: list[service.HelpRequest] = []
        with self.db.transaction() as session:
            report = service.apply_batch(
                session, batch=batch, index=self._index, policy=self.policy, waiting=waiting, staged=staged,
                answers=answers if self.settings is not None else None,
            )  # fmt: skip
        return report, waiting, staged, answers

    def _answer_tx(self, answers: list[service.HelpRequest]) -> None:
        assert self.settings is not None
        with self.db.transaction() as session:
            service.answer_help(session, settings=self.settings, requests=answers)

    def _waiting_due(self) -> bool:
        now = time.monotonic()
        # Kept in the order they fall due (service.apply_batch): the first tells.
        return bool(self._waiting) and next(iter(self._waiting.values())).next_try <= now

    def _update_rate(self, done: int) -> None:
        mark, count = self._rate_mark
        count += done
        now = time.monotonic()
        if now - mark >= 1.0:
            rate = count / (now - mark)
            self.stats.rate = rate if not self.stats.rate else 0.5 * self.stats.rate + 0.5 * rate
            # Claim about a quarter second of work at a time: big enough to keep the routes busy
            # between claims, small enough to spread over routes and keep claims fresh.
            self._claim_target = max(MIN_CLAIM * 4, min(self.config.batch_max, int(self.stats.rate / 4)))
            self._rate_mark = (now, 0)
        else:
            self._rate_mark = (mark, count)

    # -- upkeep ------------------------------------------------------------------------------

    async def _upkeep_loop(self) -> None:
        cfg = self.config
        last_slow = last_beat = 0.0
        while not self._finished.is_set():
            await self._pause(cfg.housekeeping_seconds)
            if self._finished.is_set():
                return
            now = time.monotonic()
            try:
                recovered = await self._db(self._recover_tx)
                if recovered:
                    self.announce(
                        f"took back {recovered} messages from a dispatcher that died (may be sent twice)"
                    )
                if now - last_slow >= SLOW_UPKEEP_SECONDS:
                    last_slow = now
                    await self._db(self._slow_upkeep_tx)
                if now - last_beat >= cfg.heartbeat_seconds:
                    last_beat = now
                    await self._db(self._heartbeat_tx)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log_failure("queue upkeep failed; will try again")

    def _recover_tx(self) -> int:
        with self.db.transaction() as session:
            recovered = service.recover(
                session, now=utcnow(), dispatcher_id=self.id, started_at=self.started_at,
                dead_after=self.config.dead_after_seconds,
            )  # fmt: skip
        self.stats.recovered += recovered
        return recovered

    def _slow_upkeep_tx(self) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            while service.promote(session, now=now, limit=10_000) >= 10_000:
                pass
        with self.db.transaction() as session:
            expired, refunded = service.expire(session, now=now, lookback=EXPIRY_LOOKBACK)
            self.stats.expired += expired
            self.stats.refunded += refunded
        with self.db.transaction() as session:
            self.stats.settled += service.settle_finished(
                session, now=now, receipt_wait=dt.timedelta(hours=self.config.receipt_wait_hours)
            )

    def _heartbeat_tx(self) -> None:
        if self.id is None:
            return
        with self.db.transaction() as session:
            repo.heartbeat(session, dispatcher_id=self.id, now=utcnow(), stats=self._public_stats())
            self._save_route_states(session)

    def _route_states(self) -> list[RouteState]:
        now = utcnow()
        states = []
        for runtime in list(self._runtimes.values()):
            if runtime.spec.id is None:
                continue
            status = runtime.status()
            states.append(
                RouteState(
                    route_id=runtime.spec.id, state=status.state, binds_up=status.binds_up, binds=status.binds,
                    last_error=(status.last_error or "")[:200] or None, dispatcher=self.name, updated_at=now,
                )
            )  # fmt: skip
        return states

    def _save_route_states(self, session: Session) -> None:
        repo.save_route_states(session, self._final_states or self._route_states())

    def _public_stats(self) -> dict[str, Any]:
        data = self.stats.as_dict()
        data["rate"] = round(self.stats.rate, 1)
        data["routes"] = {
            runtime.spec.name: {"state": s.state, "binds_up": s.binds_up, "error": s.last_error}
            for runtime in self._runtimes.values()
            for s in (runtime.status(),)
        }
        return data

    # -- for tests and the benchmark ---------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def flush(self) -> None:
        """Write what has been collected now."""
        await self._flush()


SQLITE_CACHE_KIB = 64 * 1024


def _own_database(db: Database) -> Database:
    if db.dialect == "sqlite" and (db.url in ("sqlite://", "sqlite:///") or ":memory:" in db.url):
        return db  # a second engine would open a second, empty, in-memory database
    own = Database(db.url)
    if own.dialect == "sqlite":

        @sa_event.listens_for(own.engine, "connect")
        def _cache(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            cur.close()

    return own


async def run_dispatcher(
    db: Database,
    *,
    settings: Settings | None = None,
    config: DispatchSettings | None = None,
    announce: Callable[[str], None] | None = None,
) -> DispatcherStats:
    """Run a dispatcher until SIGTERM or SIGINT, then stop it gracefully."""
    dispatcher = Dispatcher(db=db, settings=settings, config=config, announce=announce)
    dispatcher.install_signal_handlers()
    await dispatcher.run()
    return dispatcher.stats
