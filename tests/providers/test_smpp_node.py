"""Interoperability with node-smpp (npm `smpp` 0.5.1), an SMPP implementation Payamak did not write.

Our client against node-smpp's server (tests/providers/node/smsc.js), and node-smpp's client
against our simulated SMSC (tests/providers/node/client.js). The peer's packages come from
tests/providers/node/package-lock.json: CI runs `npm ci --prefix tests/providers/node`; when they are
missing here and npm is on the machine, the first test installs them the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, Literal

import pytest

from payamak.providers.base import OutgoingSms
from payamak.providers.smpp import Receipt, SimulatedSmsc, SmppProvider, SmppRoute, SmscConfig

NODE_DIR = Path(__file__).with_name("node")
PERSIAN = "سلام، سفارش شما ثبت شد. کد پیگیری ۱۲۳۴۵"
LONG_PERSIAN = "مشتری گرامی، حراج بزرگ پاییزه از امروز آغاز شد و تا پایان هفته ادامه دارد. " * 4
GSM = "Your code is 4821 {ok} [50€] ~^|\\"
LONG_GSM = "Dear customer, the autumn sale starts today and runs to the end of the week. " * 3


@pytest.fixture(scope="module")
def node() -> str:
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        pytest.skip(
            "node and npm are not installed: the node-smpp interoperability tests need both (CI has them)"
        )
    if not (NODE_DIR / "node_modules" / "smpp" / "package.json").exists():
        installed = subprocess.run(
            [npm_bin, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci --prefix {NODE_DIR} failed:\n{installed.stderr}"
    return node_bin


def run(coroutine: Coroutine[Any, Any, None], timeout: float = 60) -> None:
    asyncio.run(asyncio.wait_for(coroutine, timeout))


class NodeProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def event(self, name: str, timeout: float = 20) -> dict[str, Any]:
        """The next line with this event; other lines are kept in `seen`."""
        assert self.process.stdout is not None
        while True:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            if not line:
                stderr = await self.process.stderr.read() if self.process.stderr else b""
                raise AssertionError(f"node exited before {name!r}: {stderr.decode(errors='replace')}")
            record: dict[str, Any] = json.loads(line)
            if record["event"] == name:
                return record
            if record["event"] in ("error", "timeout", "bind_failed"):
                raise AssertionError(f"node said {record}")

    async def events(self, name: str, count: int) -> list[dict[str, Any]]:
        return [await self.event(name) for _ in range(count)]


@contextlib.asynccontextmanager
async def node_process(node: str, script: str, *args: str) -> AsyncIterator[NodeProcess]:
    process = await asyncio.create_subprocess_exec(
        node, str(NODE_DIR / script), *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        yield NodeProcess(process)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


def test_our_client_against_node_smpp_server(node: str) -> None:
    async def scenario() -> None:
        async with node_process(node, "smsc.js", "--port", "0", "--receipt-delay", "0.05") as smsc:
            port = (await smsc.event("listening"))["port"]
            long_modes: tuple[Literal["udh", "payload"], ...] = ("udh", "payload")
            for long_mode in long_modes:
                receipts: list[Receipt] = []
                route = SmppRoute("127.0.0.1", port, "payamak", "payamak", long_mode=long_mode)
                async with SmppProvider(route, on_receipt=receipts.append) as provider:
                    messages = [
                        OutgoingSms("+989121230001", GSM, "3000123", f"{long_mode}-gsm"),
                        OutgoingSms("+989121230002", PERSIAN, "3000123", f"{long_mode}-fa"),
                        OutgoingSms("+989121230003", LONG_PERSIAN, "3000123", f"{long_mode}-long-fa"),
                        OutgoingSms("+989121230004", LONG_GSM, "3000123", f"{long_mode}-long-gsm"),
                        OutgoingSms("+989120000001", PERSIAN, "3000123", f"{long_mode}-undelivered"),
                    ]
                    results = await provider.submit(messages)
                    assert all(result.accepted for result in results), results
                    arrived = {record["to"]: record for record in await smsc.events("message", len(messages))}
                    for message, result in zip(messages, results, strict=True):
                        record = arrived[message.to.removeprefix("+")]
                        assert record["text"] == message.text, (long_mode, record)
                        assert record["from"] == "3000123"
                        assert record["message_ids"][0] == result.provider_id
                        if len(record["message_ids"]) > 1:
                            assert result.extra["part_ids"] == " ".join(record["message_ids"])
                    assert arrived["989121230003"]["mode"] == long_mode
                    assert arrived["989121230003"]["data_coding"] == 8
                    assert arrived["989121230001"]["data_coding"] == 0
                    for _ in range(200):
                        if len(receipts) >= len(messages):
                            break
                        await asyncio.sleep(0.01)
                    # Exactly one receipt per message (only first parts ask), matched by provider id.
                    by_id = {receipt.provider_id: receipt for receipt in receipts}
                    assert len(receipts) == len(messages)
                    assert set(by_id) == {result.provider_id for result in results}
                    undelivered = by_id[results[4].provider_id]  # type: ignore[index]
                    assert (undelivered.status, undelivered.error) == ("undelivered", 0x1F)
                    delivered = by_id[results[0].provider_id]  # type: ignore[index]
                    assert delivered.status == "delivered" and delivered.done_at is not None

    run(scenario())


def test_wrong_password_against_node_smpp_server(node: str) -> None:
    async def scenario() -> None:
        async with node_process(node, "smsc.js", "--port", "0") as smsc:
            port = (await smsc.event("listening"))["port"]
            route = SmppRoute("127.0.0.1", port, "payamak", "wrong", reconnect_max=5)
            async with SmppProvider(route) as provider:
                results = await provider.submit([OutgoingSms("+989121230001", GSM, reference="x")])
                assert (results[0].error, results[0].temporary) == ("smpp_bind_failed:ESME_RINVPASWD", False)

    run(scenario())


def test_node_smpp_client_against_our_smsc(node: str) -> None:
    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            async with node_process(node, "client.js", "--port", str(smsc.port)) as client:
                await client.event("bound")
                submitted = await client.event("submitted")
                assert submitted["statuses"] == [0] * 8
                reply = "لغو ۱۱ " * 20
                await smsc.deliver_inbound("+989121112233", "3000123", reply)
                inbound = await client.event("inbound")
                assert (inbound["from"], inbound["to"], inbound["text"]) == ("989121112233", "3000123", reply)
                assert inbound["parts"] > 1
                receipts = (await client.event("receipts"))["receipts"]
                await client.event("unbound")
                assert await client.process.wait() == 0
            arrived = list(smsc.submissions)
        assert [receipt["id"] for receipt in sorted(receipts, key=lambda r: r["id"])] == sorted(
            submitted["ids"]
        )
        assert all(receipt["state"] == 2 and "stat:DELIVRD" in receipt["text"] for receipt in receipts)
        texts = {submission.destination: submission for submission in arrived}
        assert texts["989121234501"].text == "Hello from node-smpp: 100% {ok}"
        persian = (
            "سلام! این پیام از node-smpp به شبیه‌ساز پیامک فرستاده شده است و باید کامل و بی‌کم‌وکاست برسد. "
        )
        assert texts["989121234502"].text == persian
        assert (texts["989121234503"].text, texts["989121234503"].mode) == (persian * 3, "udh")
        assert texts["989121234503"].message_ids == tuple(submitted["ids"][2:7])
        assert (texts["989121234504"].text, texts["989121234504"].mode) == (persian * 3, "payload")

    run(scenario())
