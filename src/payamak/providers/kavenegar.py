"""Kavenegar's REST API as a Provider: Payamak sending out through a Kavenegar account.

Following Kavenegar's public documentation:

- submit: `POST {base}/v1/{key}/sms/sendarray.json` with JSON arrays `receptor`, `sender`,
  `message` (at most 200 per call), one entry back per message in order; messages without a
  sender go one by one through `sms/send.json`, which uses the account's default line.
- receipts: `sms/status.json?messageid=…` (at most 500 ids per call), polled while messages are
  not final; each final status becomes a `Receipt` for the dispatcher.
- inbound: `sms/receive.json?linenumber=…&isread=0` for the configured lines; each SMS becomes
  an `Inbound`.

Kavenegar answers `{"return": {"status", "message"}, "entries"}` and mirrors `return.status` in the
HTTP status. What counts as what:

- 200: accepted; an entry whose status is Kavenegar's failure (6, 11, 13, 14, 100) is refused.
- 418 (its credit ran out), 401/403 (account disabled, key refused), 407/416/429/451 (IP not
  allowed or throttled): the route cannot take messages now -> `route_unavailable:…`, which the
  dispatcher does not count as an attempt and routes around.
- 411/412/413/414/419/420/422/427 on a batch: some message of it is at fault; the batch is sent
  again one message at a time, so only the faulty ones are refused (permanently).
- HTTP 5xx, 409 (server busy), malformed JSON, a timeout or a dropped connection after sending:
  temporary (`provider_error:…`, retried; the message may have left); a connection that could not
  be made at all: `route_unavailable:connect` (it certainly did not leave).

A message's `idempotency_key` (the dispatcher gives its message id) goes as Kavenegar's local id
(`localmessageids` in sendarray, `localid` in send), for which Kavenegar answers a repeat with the
message it already has instead of sending it again: a retry after an answer that was lost does not
send twice. Local ids are unique per Kavenegar account, so an account is best not shared with
another program that sends with local ids of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from payamak.providers.base import OutgoingSms, SubmitResult
from payamak.providers.smpp.receipts import Inbound, Receipt, ReceiptStatus

log = logging.getLogger("payamak.providers.kavenegar")

DEFAULT_BASE_URL: Final = "https://api.kavenegar.com"
MAX_BATCH: Final = 200
MAX_STATUS_IDS: Final = 500

# Kavenegar message statuses -> what a receipt reports; None: not final yet.
RECEIPT_OF: Final[dict[int, ReceiptStatus | None]] = {
    1: None,  # queued
    2: None,  # scheduled
    4: None,  # sent to the operator
    5: None,  # sent to the operator
    6: "rejected",  # failed at the operator
    10: "delivered",
    11: "undelivered",
    13: "canceled",
    14: "blocked",  # the recipient refuses advertising SMS (*800#)
}
ACCEPTED_STATUSES: Final = frozenset({1, 2, 4, 5, 10})
UNKNOWN_ID: Final = 100
ROUTE_DOWN: Final = frozenset({401, 403, 407, 416, 418, 429, 451})
MESSAGE_FAULTS: Final = frozenset({411, 412, 413, 414, 419, 420, 422, 427})
TEMPORARY: Final = frozenset({409})


CONFIG_FIELDS: Final = frozenset(
    {"provider", "api_key", "base_url", "sender", "timeout", "poll_interval", "receipt_hours", "receive_lines"}
)


class KavenegarConfigError(ValueError):
    """A route config that cannot work; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class KavenegarConfig:
    api_key: str
    base_url: str = DEFAULT_BASE_URL
    sender: str = ""  # default line for messages that name none
    timeout: float = 15.0
    poll_interval: float = 10.0  # seconds between status and inbox polls
    receipt_hours: float = 48.0  # Kavenegar keeps statuses this long
    receive_lines: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> KavenegarConfig:
        """The config of a route `{"provider": "kavenegar", "api_key": …, "base_url": …}`; raises
        KavenegarConfigError naming the field that is wrong."""
        unknown = sorted(set(config) - CONFIG_FIELDS)
        if unknown:
            raise KavenegarConfigError(unknown[0], "unknown setting")
        if config.get("provider", "kavenegar") != "kavenegar":
            raise KavenegarConfigError("provider", "must be 'kavenegar'")
        key = config.get("api_key")
        if not isinstance(key, str) or not key.strip() or "/" in key:
            raise KavenegarConfigError("api_key", "required: the Kavenegar API key")
        base = config.get("base_url", DEFAULT_BASE_URL)
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise KavenegarConfigError("base_url", "must be an http(s) URL")
        numbers: dict[str, float] = {}
        for name, low, default in (("timeout", 0.5, 15.0), ("poll_interval", 0.05, 10.0), ("receipt_hours", 0.0, 48.0)):
            value = config.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
                raise KavenegarConfigError(name, f"must be a number of at least {low}")
            numbers[name] = float(value)
        sender = config.get("sender", "")
        if not isinstance(sender, str):
            raise KavenegarConfigError("sender", "must be a line number")
        lines = config.get("receive_lines", [])
        if not isinstance(lines, list | tuple) or not all(isinstance(x, str) and x for x in lines):
            raise KavenegarConfigError("receive_lines", "must be a list of line numbers")
        return cls(
            api_key=key.strip(), base_url=base.rstrip("/"), sender=sender.strip(), timeout=numbers["timeout"],
            poll_interval=numbers["poll_interval"], receipt_hours=numbers["receipt_hours"], receive_lines=tuple(lines),
        )  # fmt: skip


def receptor(e164: str) -> str:
    """How Kavenegar takes a number: 09… for Iran, 00… for the rest of the world."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


def e164_of(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+98" + digits[1:]
    if digits.startswith("98"):
        return "+" + digits
    return "+98" + digits if len(digits) == 10 and digits.startswith("9") else digits


class CallFailed(Exception):
    """A call whose answer says nothing about single messages: `error` goes on every result."""

    def __init__(self, error: str, *, temporary: bool, status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.temporary = temporary
        self.status = status


@dataclass(slots=True)
class _Pending:
    submitted: float  # monotonic


class KavenegarProvider:
    """Sends through Kavenegar; polls for receipts and inbound SMS while there is someone to tell."""

    name = "kavenegar"

    def __init__(
        self,
        config: KavenegarConfig,
        *,
        on_receipt: Callable[[Receipt], None] | None = None,
        on_inbound: Callable[[Inbound], None] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.config = config
        self.on_receipt = on_receipt
        self.on_inbound = on_inbound
        self._client = client
        self._own_client = client is None
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._poller: asyncio.Task[None] | None = None
        self._closed = False
        self.last_error: str | None = None

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        on_receipt: Callable[[Receipt], None] | None = None,
        on_inbound: Callable[[Inbound], None] | None = None,
    ) -> KavenegarProvider:
        return cls(KavenegarConfig.from_mapping(config), on_receipt=on_receipt, on_inbound=on_inbound)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout)
        return self._client

    def _url(self, scope: str, method: str) -> str:
        return f"{self.config.base_url}/v1/{self.config.api_key}/{scope}/{method}.json"

    # -- one call -----------------------------------------------------------------------------

    async def call(self, scope: str, method: str, data: Mapping[str, str]) -> Any:
        """POST one method; its `entries`, or CallFailed saying how to treat the failure."""
        try:
            response = await self.client.post(self._url(scope, method), data=dict(data))
        except httpx.ConnectError as exc:
            raise CallFailed(f"route_unavailable:connect:{type(exc).__name__}", temporary=True) from exc
        except httpx.HTTPError as exc:
            # Sent, perhaps taken: the answer is what was lost.
            raise CallFailed(f"provider_error:{type(exc).__name__}", temporary=True) from exc
        if response.status_code >= 500:
            raise CallFailed(f"provider_error:http_{response.status_code}", temporary=True, status=response.status_code)
        try:
            body = response.json()
            status = int(body["return"]["status"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CallFailed(f"provider_error:malformed_response:http_{response.status_code}", temporary=True) from exc
        if status == 200:
            return body.get("entries")
        message = str(body["return"].get("message", ""))[:60]
        if status in ROUTE_DOWN:
            raise CallFailed(f"route_unavailable:kavenegar_{status}", temporary=True, status=status)
        if status in TEMPORARY:
            raise CallFailed(f"provider_error:kavenegar_{status}", temporary=True, status=status)
        raise CallFailed(f"kavenegar_{status}:{message}", temporary=False, status=status)

    # -- submit -------------------------------------------------------------------------------

    async def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        if not messages:
            return []
        if self._closed:
            return [SubmitResult(m.reference, False, error="route_unavailable:closed", temporary=True) for m in messages]
        self._ensure_poller()
        results: list[SubmitResult | None] = [None] * len(messages)
        with_sender = [i for i, m in enumerate(messages) if m.sender or self.config.sender]
        without = [i for i, m in enumerate(messages) if not (m.sender or self.config.sender)]
        chunks = [with_sender[s : s + MAX_BATCH] for s in range(0, len(with_sender), MAX_BATCH)]
        outcomes = await asyncio.gather(
            *(self._sendarray([messages[i] for i in chunk]) for chunk in chunks),
            *(self._send_one(messages[i]) for i in without),
        )
        for chunk, chunk_results in zip(chunks, outcomes[: len(chunks)], strict=True):
            for i, result in zip(chunk, chunk_results, strict=True):
                results[i] = result
        for i, one in zip(without, outcomes[len(chunks) :], strict=True):
            results[i] = one[0]
        done = [r for r in results if r is not None]
        assert len(done) == len(messages)
        return done

    async def _sendarray(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        data = {
            "receptor": json.dumps([receptor(m.to) for m in batch]),
            "sender": json.dumps([m.sender or self.config.sender for m in batch]),
            "message": json.dumps([m.text for m in batch], ensure_ascii=False),
        }
        if all(m.idempotency_key for m in batch):  # the array must have one for every receptor
            data["localmessageids"] = json.dumps([m.idempotency_key for m in batch], ensure_ascii=False)
        try:
            entries = await self.call("sms", "sendarray", data)
        except CallFailed as exc:
            if exc.status in MESSAGE_FAULTS and len(batch) > 1:
                # One message spoils the whole call: send each alone so only it is refused.
                singles = await asyncio.gather(*(self._sendarray([m]) for m in batch))
                return [r[0] for r in singles]
            return self._failed(batch, exc)
        return self._results(batch, entries)

    async def _send_one(self, message: OutgoingSms) -> list[SubmitResult]:
        try:
            params = {"receptor": receptor(message.to), "message": message.text}
            if message.idempotency_key:
                params["localid"] = message.idempotency_key
            entries = await self.call("sms", "send", params)
        except CallFailed as exc:
            return self._failed([message], exc)
        return self._results([message], entries)

    def _failed(self, batch: Sequence[OutgoingSms], exc: CallFailed) -> list[SubmitResult]:
        self.last_error = exc.error
        return [SubmitResult(m.reference, False, error=exc.error, temporary=exc.temporary) for m in batch]

    def _results(self, batch: Sequence[OutgoingSms], entries: Any) -> list[SubmitResult]:
        if not isinstance(entries, list) or len(entries) != len(batch):
            # Accepted, but we cannot tell which id is whose: retrying could send twice, so the
            # messages count as possibly sent.
            error = "provider_error:malformed_entries"
            return [SubmitResult(m.reference, False, error=error, temporary=True) for m in batch]
        out = []
        now = time.monotonic()
        for message, entry in zip(batch, entries, strict=True):
            try:
                message_id, status = str(int(entry["messageid"])), int(entry["status"])
            except (KeyError, TypeError, ValueError):
                out.append(SubmitResult(message.reference, False, error="provider_error:malformed_entry", temporary=True))
                continue
            if status in ACCEPTED_STATUSES and message_id != "0":
                out.append(SubmitResult(message.reference, True, provider_id=message_id, extra={"status": str(status)}))
                if self.on_receipt is not None:
                    self._pending[message_id] = _Pending(now)
                    self._pending.move_to_end(message_id)
                    while len(self._pending) > 200_000:
                        self._pending.popitem(last=False)
            else:
                out.append(SubmitResult(message.reference, False, error=f"kavenegar_status:{status}"))
        return out

    # -- receipts and inbound -----------------------------------------------------------------

    def _ensure_poller(self) -> None:
        if self._poller is None and not self._closed and (self.on_receipt or (self.on_inbound and self.config.receive_lines)):
            self._poller = asyncio.get_running_loop().create_task(self._poll_loop(), name="kavenegar-poll")

    async def start(self) -> None:
        """Start polling for receipts and inbound SMS now (it also starts with the first submit)."""
        self._ensure_poller()

    async def _poll_loop(self) -> None:
        # Waits first: right after a submit nothing has news yet.
        while not self._closed:
            await asyncio.sleep(self.config.poll_interval)
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("polling Kavenegar failed; will try again")

    async def poll_once(self) -> tuple[int, int]:
        """Ask for the status of every message still waiting and for new inbound SMS once;
        returns (receipts, inbound) handed on."""
        return await self._poll_receipts(), await self._poll_inbound()

    async def _poll_receipts(self) -> int:
        if self.on_receipt is None or not self._pending:
            return 0
        horizon = time.monotonic() - self.config.receipt_hours * 3600
        for message_id in [k for k, v in self._pending.items() if v.submitted < horizon]:
            del self._pending[message_id]
        ids = list(self._pending)
        handed = 0
        for start in range(0, len(ids), MAX_STATUS_IDS):
            chunk = ids[start : start + MAX_STATUS_IDS]
            try:
                entries = await self.call("sms", "status", {"messageid": ",".join(chunk)})
            except CallFailed as exc:
                self.last_error = exc.error
                return handed
            for entry in entries if isinstance(entries, list) else []:
                try:
                    message_id, status = str(int(entry["messageid"])), int(entry["status"])
                except (KeyError, TypeError, ValueError):
                    continue
                if message_id not in self._pending:
                    continue
                if status == UNKNOWN_ID:
                    del self._pending[message_id]  # Kavenegar forgot it: no receipt will come
                    continue
                final = RECEIPT_OF.get(status)
                if final is None:
                    continue
                del self._pending[message_id]
                self.on_receipt(
                    Receipt(
                        provider_id=message_id, status=final, error=status, done_at=dt.datetime.now(dt.UTC),
                        raw=json.dumps(entry, ensure_ascii=False),
                    )
                )  # fmt: skip
                handed += 1
        return handed

    async def _poll_inbound(self) -> int:
        if self.on_inbound is None:
            return 0
        handed = 0
        for line in self.config.receive_lines:
            try:
                entries = await self.call("sms", "receive", {"linenumber": line, "isread": "0"})
            except CallFailed as exc:
                self.last_error = exc.error
                continue
            for entry in entries if isinstance(entries, list) else []:
                try:
                    sender, text = str(entry["sender"]), str(entry["message"])
                    when = dt.datetime.fromtimestamp(int(entry.get("date") or time.time()), dt.UTC)
                except (KeyError, TypeError, ValueError, OverflowError, OSError):
                    continue
                to = str(entry.get("receptor") or line)
                self.on_inbound(Inbound(from_=e164_of(sender), to=to, text=text, received_at=when))
                handed += 1
        return handed

    @property
    def waiting_receipts(self) -> int:
        return len(self._pending)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
