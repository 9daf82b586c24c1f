"""The Kavenegar HTTP provider: the provider contract, failures, receipts and inbound SMS.

Two remote ends, both real HTTP servers on loopback:

- `FakeKavenegar`, a small stand-alone server answering as Kavenegar's documentation says, which
  can also misbehave on demand (HTTP 500, malformed JSON, no credit, a refused receptor);
- Payamak itself, whose Kavenegar-compatible API implements the same methods: the provider
  sends through a second Payamak as if it were Kavenegar, receipts and inbound SMS included.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.util
import json
import socket
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from payamak.accounts import service as accounts
from payamak.billing import service as billing
from payamak.context import Context
from payamak.providers.base import OutgoingSms, Provider
from payamak.providers.kavenegar import KavenegarConfig, KavenegarConfigError, KavenegarProvider
from payamak.providers.smpp.receipts import Inbound, Receipt
from payamak.sending import service as sending
from payamak.sending.models import InboundMessage, Message


def _load(name: str, path: Path) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


HERE = Path(__file__).parent
contract = _load("payamak_tests_provider_contract", HERE / "contract.py")
compat_conftest = _load("payamak_tests_compat_conftest", HERE.parent / "compat" / "conftest.py")
Check = Callable[[Callable[[], contextlib.AbstractAsyncContextManager[Provider]]], Awaitable[None]]
KEY = "fake-key"


# --- a stand-alone fake Kavenegar -------------------------------------------------------------


class FakeKavenegar:
    """Kavenegar's sms/send, sms/sendarray, sms/status and sms/receive, kept in memory."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | http500 | malformed | credit | busy | lost (sent, then answers 502)
        self.by_localid: dict[str, dict[str, Any]] = {}  # Kavenegar's answer to a repeated local id
        self.refused: set[str] = set()  # receptors answered with 411
        self.final: dict[int, int] = {}  # message id -> status reported by sms/status
        self.inbox: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.next_id = 1000
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                self._answer(dict(parse_qsl(body)))

            def do_GET(self) -> None:
                self._answer(dict(parse_qsl(urlsplit(self.path).query)))

            def _answer(self, params: dict[str, str]) -> None:
                status, payload = fake.handle(urlsplit(self.path).path, params)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def envelope(status: int, entries: Any = None, message: str = "تایید شد") -> tuple[int, dict[str, Any]]:
        return (status if status != 200 else 200), {"return": {"status": status, "message": message}, "entries": entries}

    def handle(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any] | bytes]:
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "v1":
            return self.envelope(404, message="متد نامشخص است")
        if parts[1] != KEY:
            return self.envelope(403, message="کد شناسائی API-Key معتبر نمی‌باشد")
        method = f"{parts[2]}/{parts[3]}"
        with self.lock:
            self.calls.append((method, params))
            if method in ("sms/send.json", "sms/sendarray.json"):
                if self.mode == "http500":
                    return 500, b"<html>Internal Server Error</html>"
                if self.mode == "malformed":
                    return 200, b'{"return": {"status": 200, "message": "\xd8\xaa'
                if self.mode == "credit":
                    return self.envelope(418, message="اعتبار شما کافی نمی‌باشد")
                if self.mode == "busy":
                    return self.envelope(409, message="سرور قادر به پاسخگوئی نیست")
            if method == "sms/sendarray.json":
                receptors = json.loads(params["receptor"])
                senders, texts = json.loads(params["sender"]), json.loads(params["message"])
                if not len(receptors) == len(senders) == len(texts):
                    return self.envelope(419)
                return self.sent(receptors, texts, senders, json.loads(params.get("localmessageids", "[]")))
            if method == "sms/send.json":
                receptors = params["receptor"].split(",")
                localids = params["localid"].split(",") if params.get("localid") else []
                return self.sent(receptors, [params["message"]] * len(receptors), ["10004346"] * len(receptors), localids)
            if method == "sms/status.json":
                ids = [int(i) for i in params["messageid"].split(",")]
                entries = [
                    {"messageid": i, "status": self.final.get(i, 4) if i < self.next_id else 100, "statustext": ""} for i in ids
                ]
                return self.envelope(200, entries)
            if method == "sms/receive.json":
                return self.envelope(200, self.inbox.pop(params["linenumber"], []))
        return self.envelope(404, message="متد نامشخص است")

    def sent(
        self, receptors: list[str], texts: list[str], senders: list[str], localids: list[str]
    ) -> tuple[int, dict[str, Any]]:
        bad = [r for r in receptors if r in self.refused]
        if bad:
            return self.envelope(411, message="دریافت کننده نامعتبر است")
        entries = []
        for i, (receptor, text, sender) in enumerate(zip(receptors, texts, senders, strict=True)):
            localid = localids[i] if localids else None
            if localid is not None and localid in self.by_localid:
                entries.append(self.by_localid[localid])  # sent before: not again
                continue
            entry = {"messageid": self.next_id, "message": text, "status": 1, "statustext": "در صف ارسال",
                     "sender": sender, "receptor": receptor, "date": 1356619709, "cost": 120}  # fmt: skip
            self.next_id += 1
            if localid is not None:
                self.by_localid[localid] = entry
            entries.append(entry)
        if self.mode == "lost":
            return 502, b"<html>Bad Gateway</html>"
        return self.envelope(200, entries)


@pytest.fixture
def fake() -> Iterator[FakeKavenegar]:
    server = FakeKavenegar()
    try:
        yield server
    finally:
        server.close()


def with_fake(
    fake: FakeKavenegar, **config: Any
) -> Callable[[], contextlib.AbstractAsyncContextManager[KavenegarProvider]]:
    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[KavenegarProvider]:
        provider = KavenegarProvider.from_config({"provider": "kavenegar", "api_key": KEY, "base_url": fake.base, **config})
        try:
            yield provider
        finally:
            await provider.close()

    return factory


@pytest.mark.parametrize("check", contract.CHECKS, ids=lambda check: check.__name__)
def test_contract_against_the_fake(check: Check, fake: FakeKavenegar) -> None:
    asyncio.run(asyncio.wait_for(check(with_fake(fake)), 60))


def sms(n: int, text: str = "سلام", sender: str = "3000123") -> OutgoingSms:
    return OutgoingSms(to=f"+98912310000{n}", text=text, sender=sender, reference=f"r{n}")


def submit(factory: Callable[[], contextlib.AbstractAsyncContextManager[KavenegarProvider]], messages: list[OutgoingSms]) -> list[Any]:
    async def run() -> list[Any]:
        async with factory() as provider:
            return await provider.submit(messages)

    return asyncio.run(run())


def test_sends_as_kavenegar_documents(fake: FakeKavenegar) -> None:
    results = submit(with_fake(fake), [sms(1), OutgoingSms(to="+447700900123", text="hi", reference="x")])
    assert all(r.accepted for r in results)
    sendarray = next(params for method, params in fake.calls if method == "sms/sendarray.json")
    assert json.loads(sendarray["receptor"]) == ["09123100001"]
    assert json.loads(sendarray["sender"]) == ["3000123"] and json.loads(sendarray["message"]) == ["سلام"]
    send = next(params for method, params in fake.calls if method == "sms/send.json")
    assert send == {"receptor": "00447700900123", "message": "hi"}  # no sender: the account's default line


def test_a_retry_after_a_lost_answer_sends_nothing_twice(fake: FakeKavenegar) -> None:
    """Kavenegar sent the messages but its answer was lost: they are retried, and Kavenegar knows
    them by their local ids, so it answers with the messages it has instead of sending again."""
    fake.mode = "lost"
    messages = [
        OutgoingSms(to="+989123100001", text="سلام", sender="3000123", reference="1", idempotency_key="1"),
        OutgoingSms(to="+989123100002", text="سلام", sender="3000123", reference="2", idempotency_key="2"),
        OutgoingSms(to="+447700900123", text="hi", reference="3", idempotency_key="3"),
    ]
    lost = submit(with_fake(fake), messages)
    assert all(not r.accepted and r.temporary for r in lost), lost
    fake.mode = "ok"
    again = submit(with_fake(fake), messages)
    assert all(r.accepted for r in again)
    assert fake.next_id == 1003  # three messages sent, once each
    assert sorted(r.provider_id for r in again) == ["1000", "1001", "1002"]
    sendarray = [params for method, params in fake.calls if method == "sms/sendarray.json"]
    assert json.loads(sendarray[-1]["localmessageids"]) == ["1", "2"]
    send = [params for method, params in fake.calls if method == "sms/send.json"]
    assert send[-1]["localid"] == "3"


@pytest.mark.parametrize(
    ("mode", "error", "temporary"),
    [
        ("http500", "provider_error:http_500", True),
        ("malformed", "provider_error:malformed_response", True),
        ("busy", "provider_error:kavenegar_409", True),
        ("credit", "route_unavailable:kavenegar_418", True),
    ],
)
def test_failures_of_the_whole_call(fake: FakeKavenegar, mode: str, error: str, temporary: bool) -> None:
    fake.mode = mode
    results = submit(with_fake(fake), [sms(1), sms(2)])
    assert [r.reference for r in results] == ["r1", "r2"]
    assert all(not r.accepted and r.error.startswith(error) and r.temporary is temporary for r in results), results


def test_wrong_key_and_no_server(fake: FakeKavenegar) -> None:
    [wrong] = submit(with_fake(fake, api_key="other"), [sms(1)])
    assert not wrong.accepted and wrong.error == "route_unavailable:kavenegar_403"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    [down] = submit(with_fake(fake, base_url=closed), [sms(1)])
    assert not down.accepted and down.temporary and down.error.startswith("route_unavailable:connect")


def test_a_refused_receptor_spoils_only_its_own_message(fake: FakeKavenegar) -> None:
    fake.refused.add("09123100002")
    results = submit(with_fake(fake), [sms(1), sms(2), sms(3)])
    assert [r.accepted for r in results] == [True, False, True]
    assert results[1].error.startswith("kavenegar_411") and not results[1].temporary


def test_receipts_and_inbound_are_polled(fake: FakeKavenegar) -> None:
    receipts: list[Receipt] = []
    inbound: list[Inbound] = []

    async def run() -> None:
        provider = KavenegarProvider(
            KavenegarConfig(api_key=KEY, base_url=fake.base, poll_interval=3600, receive_lines=("3000123",)),
            on_receipt=receipts.append, on_inbound=inbound.append,
        )  # fmt: skip
        try:
            results = await provider.submit([sms(i) for i in range(1, 6)])
            ids = [int(r.provider_id) for r in results]
            fake.final.update({ids[0]: 10, ids[1]: 11, ids[2]: 14, ids[3]: 6})
            fake.inbox["3000123"] = [{"messageid": 1, "message": "11", "sender": "09121112233", "receptor": "3000123", "date": 1700000000}]
            assert await provider.poll_once() == (4, 1)
            assert provider.waiting_receipts == 1  # still "sent to the operator"
            assert await provider.poll_once() == (0, 0)
        finally:
            await provider.close()

    asyncio.run(run())
    assert [(r.status, r.error) for r in receipts] == [("delivered", 10), ("undelivered", 11), ("blocked", 14), ("rejected", 6)]
    assert inbound == [Inbound(from_="+989121112233", to="3000123", text="11", received_at=dt.datetime.fromtimestamp(1700000000, dt.UTC))]


def test_config_is_checked() -> None:
    good = KavenegarConfig.from_mapping({"provider": "kavenegar", "api_key": "k", "base_url": "http://x/", "receive_lines": ["3000"]})
    assert good.base_url == "http://x" and good.receive_lines == ("3000",)
    for bad, field in (
        ({"provider": "kavenegar"}, "api_key"),
        ({"api_key": "k", "provider": "smsir"}, "provider"),
        ({"api_key": "k", "base_url": "ftp://x"}, "base_url"),
        ({"api_key": "k", "timeout": "fast"}, "timeout"),
        ({"api_key": "k", "receive_lines": "3000"}, "receive_lines"),
        ({"api_key": "k", "password": "x"}, "password"),
    ):
        with pytest.raises(KavenegarConfigError) as caught:
            KavenegarConfig.from_mapping(bad)
        assert caught.value.field == field


# --- Payamak as the remote Kavenegar ------------------------------------------------------------

LINE = "3000123"


@pytest.fixture
def remote(ctx: Context, make_user: Callable[..., Any]) -> Iterator[tuple[str, str]]:
    """A Payamak serving the Kavenegar API, and a key of an account there whose line is LINE."""
    ctx.settings.advertising_hours = "always"
    user = make_user()
    with ctx.db.transaction() as session:
        sending.add_line(session, principal=None, number=LINE, kind="advertising", owner_id=user.id)
        billing.grant(session, account_id=user.id, amount=100_000_000, reason="اعتبار آزمایشی", actor_id=None)
        _record, key = accounts.create_api_key(session, principal=accounts.Principal(account_id=user.id, role="user"), name="k")
    with compat_conftest.serve(ctx, tls=None) as server:
        yield server.base, key


# GSM_EXTENDED holds "{today}", which Payamak reads as a placeholder with no value for a number
# given directly, and refuses; every other check runs against Payamak too.
PAYAMAK_CHECKS = [c for c in contract.CHECKS if c is not contract.check_one_result_per_message_in_order]


@pytest.mark.parametrize("check", PAYAMAK_CHECKS, ids=lambda check: check.__name__)
def test_contract_against_payamak(check: Check, remote: tuple[str, str]) -> None:
    base, key = remote

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[Provider]:
        provider = KavenegarProvider.from_config({"provider": "kavenegar", "api_key": key, "base_url": base})
        try:
            yield provider
        finally:
            await provider.close()

    asyncio.run(asyncio.wait_for(check(factory), 120))


def test_through_payamak_with_receipts_and_inbound(ctx: Context, remote: tuple[str, str]) -> None:
    base, key = remote
    receipts: list[Receipt] = []
    inbound: list[Inbound] = []

    async def run() -> list[Any]:
        provider = KavenegarProvider.from_config(
            {"provider": "kavenegar", "api_key": key, "base_url": base, "poll_interval": 3600, "receive_lines": [LINE]},
            on_receipt=receipts.append, on_inbound=inbound.append,
        )  # fmt: skip
        try:
            results = await provider.submit([sms(1, sender=LINE), sms(2, sender=LINE)])
            ids = [int(r.provider_id) for r in results]
            with ctx.db.transaction() as session:  # what the remote's dispatcher would do
                session.execute(sa.update(Message).where(Message.id == ids[0]).values(status="delivered"))
                owner = session.scalar(sa.select(Message.account_id).where(Message.id == ids[0]))
                session.add(InboundMessage(line_number=LINE, account_id=owner, sender="+989121112233", text="سلام"))
            assert await provider.poll_once() == (1, 1)
            return results
        finally:
            await provider.close()

    results = asyncio.run(run())
    assert all(r.accepted for r in results)
    assert [(r.provider_id, r.status) for r in receipts] == [(results[0].provider_id, "delivered")]
    assert [(i.from_, i.to, i.text) for i in inbound] == [("+989121112233", LINE, "سلام")]


def test_the_poller_runs_by_itself(fake: FakeKavenegar) -> None:
    receipts: list[Receipt] = []

    async def run() -> None:
        provider = KavenegarProvider(KavenegarConfig(api_key=KEY, base_url=fake.base, poll_interval=0.05), on_receipt=receipts.append)
        try:
            [result] = await provider.submit([sms(1)])
            fake.final[int(result.provider_id)] = 10
            for _ in range(100):
                if receipts:
                    break
                await asyncio.sleep(0.05)
        finally:
            await provider.close()
        await provider.close()  # closing twice is harmless

    asyncio.run(run())
    assert [r.status for r in receipts] == ["delivered"]
