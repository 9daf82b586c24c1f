"""Delivers the status-callback outbox: POSTs each queued status change to its StatusCallback URL,
signed as Twilio signs (X-Twilio-Signature), retrying with backoff until the receiver answers 2xx.

The outbox is written by `service.record_status_changes` in the same transaction as the status
change, so nothing is reported that did not happen and nothing that happened is lost. Delivery is
at least once: a sender that dies between the POST and recording it sends that callback again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass

import httpx

from payamak.compat import repository as repo
from payamak.compat import service
from payamak.config import Settings
from payamak.db import Database, utcnow

log = logging.getLogger("payamak.compat.callbacks")

MAX_ATTEMPTS = 8
# A claimed callback comes back to the queue after this long if its sender never reports.
LEASE = dt.timedelta(minutes=2)


def backoff(attempts: int) -> dt.timedelta:
    """10 s, 20 s, 40 s … capped at an hour: a receiver that is down for a while still gets it."""
    return dt.timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class Delivery:
    callback_id: int
    message_id: int
    attempts: int
    url: str
    params: dict[str, str]
    signature: str | None  # None: the key could not be unsealed (the site's secret key changed)


@dataclass(slots=True)
class RunReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


class CallbackSender:
    """`await run_once()` delivers what is due; `start()`/`stop()` run it every `interval` seconds."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        client: httpx.AsyncClient | None = None,
        batch: int = 50,
        interval: float = 1.0,
        timeout: float = 10.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self._client = client
        self._own_client = client is None
        self.batch = batch
        self.interval = interval
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # Callbacks go where their owners said; redirects are not followed, as Twilio does not.
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    def _claim(self) -> list[Delivery]:
        now = utcnow()
        out = []
        with self.db.transaction() as session:
            for callback, hook, message, send in repo.claim_callbacks(
                session, now=now, lease_until=now + LEASE, limit=self.batch
            ):
                params = service.callback_params(message, send, callback.status)
                key = service.unseal(self.settings.signing_key, hook.sealed_key)
                signature = service.twilio_signature(key, hook.url, params) if key is not None else None
                out.append(Delivery(callback.id, message.id, callback.attempts, hook.url, params, signature))
        return out

    def _record(self, results: list[tuple[Delivery, str | None]]) -> RunReport:
        now = utcnow()
        report = RunReport()
        with self.db.transaction() as session:
            for delivery, error in results:
                if error is None:
                    repo.finish_callback(session, callback_id=delivery.callback_id, state="done", error=None, due_at=now, now=now)
                    report.delivered += 1
                elif delivery.attempts >= MAX_ATTEMPTS or delivery.signature is None:
                    repo.finish_callback(session, callback_id=delivery.callback_id, state="failed", error=error, due_at=now, now=now)
                    report.failed += 1
                else:
                    due = now + backoff(delivery.attempts)
                    repo.finish_callback(session, callback_id=delivery.callback_id, state="pending", error=error, due_at=due, now=now)
                    report.retried += 1
        return report

    async def _post(self, delivery: Delivery) -> str | None:
        if delivery.signature is None:
            return "signing key unavailable (the site's secret key changed)"
        try:
            response = await self.client.post(
                delivery.url,
                data=delivery.params,
                headers={"X-Twilio-Signature": delivery.signature, "User-Agent": "Payamak-StatusCallback/1.0"},
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def _post_in_order(self, group: list[Delivery]) -> list[tuple[Delivery, str | None]]:
        return [(delivery, await self._post(delivery)) for delivery in group]

    async def run_once(self) -> RunReport:
        """Deliver every callback due now (in batches); returns what happened."""
        total = RunReport()
        while True:
            deliveries = await asyncio.to_thread(self._claim)
            if not deliveries:
                return total
            # One message's changes go in the order they happened; different messages at once.
            by_message: dict[int, list[Delivery]] = {}
            for delivery in deliveries:
                by_message.setdefault(delivery.message_id, []).append(delivery)
            outcomes = await asyncio.gather(*(self._post_in_order(group) for group in by_message.values()))
            report = await asyncio.to_thread(self._record, [pair for group in outcomes for pair in group])
            total.delivered += report.delivered
            total.retried += report.retried
            total.failed += report.failed
            if len(deliveries) < self.batch:
                return total

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivering status callbacks failed; will try again")
            # asyncio.timeout, not wait_for, which on Python 3.11 can swallow a cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._stopping.wait()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="status-callbacks")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, 15)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
