"""`payamak smsc`: the simulated SMSC as its own process, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys

from payamak.providers.base import OutgoingSms
from payamak.providers.smpp import Receipt, SmppProvider, SmppRoute


def test_smsc_command_serves_until_interrupted() -> None:
    async def scenario() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "payamak", "smsc", "--port", "0", "--receipt-delay", "0",
            "--system-id", "shop", "--password", "s3cret", "--blocked-rate", "1",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert process.stderr is not None
        try:
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            match = re.search(r"listening on 127\.0\.0\.1:(\d+) ", line)
            assert match, line
            receipts: list[Receipt] = []
            route = SmppRoute("127.0.0.1", int(match.group(1)), "shop", "s3cret")
            async with SmppProvider(route, on_receipt=receipts.append) as provider:
                results = await provider.submit([OutgoingSms("+989121234567", "سلام", reference="r")])
                assert results[0].accepted
                for _ in range(300):
                    if receipts:
                        break
                    await asyncio.sleep(0.01)
                assert [receipt.status for receipt in receipts] == ["blocked"]
        finally:
            process.send_signal(signal.SIGINT)
            returncode = await asyncio.wait_for(process.wait(), 30)
        assert returncode == 0
        return (await process.stderr.read()).decode()

    summary = asyncio.run(scenario())
    assert "1 accepted" in summary and "1 receipts sent" in summary


def test_smsc_command_rejects_impossible_rates() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "payamak",
            "smsc",
            "--port",
            "0",
            "--expired-rate",
            "0.7",
            "--blocked-rate",
            "0.7",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "rates" in result.stderr
