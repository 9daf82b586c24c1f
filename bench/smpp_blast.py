"""SMPP throughput: Persian messages through SmppProvider to an SMSC in another process, receipts on.

The SMSC is the simulated one (`payamak smsc`) or, with `--peer node`, node-smpp's server
(tests/providers/node/smsc.js; needs `npm ci --prefix tests/providers/node`). No database: this
measures the SMPP layer alone, which the dispatcher needs well above its own end-to-end target.

The baseline, measured in the same run against a fresh SMSC of the same kind, is a bare asyncio
loop that writes pre-encoded submit_sm PDUs with the same window and counts the answers and
receipts: what the socket and the peer allow with no provider logic at all. The last line printed
is the JSON summary; `ratio` is the provider's submit rate over the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from payamak.providers.base import OutgoingSms
from payamak.providers.smpp import SmppProvider, SmppRoute, pdu
from payamak.providers.smpp.link import set_nodelay

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "providers" / "node"
TEXT = "سلام، سفارش شما ثبت شد و فردا ارسال می‌شود. کد پیگیری: {n}"


@dataclass
class Phase:
    seconds: float
    receipts_seconds: float
    accepted: int
    receipts: int

    def rate(self, count: int) -> float:
        return count / self.seconds if self.seconds else 0.0

    def receipts_rate(self) -> float:
        return self.receipts / self.receipts_seconds if self.receipts_seconds else 0.0


@contextlib.asynccontextmanager
async def peer_process(peer: str, receipt_delay: float) -> AsyncIterator[int]:
    """Start an SMSC in a subprocess; yields its port."""
    if peer == "node":
        command = [
            "node",
            str(NODE_DIR / "smsc.js"),
            "--port",
            "0",
            "--receipt-delay",
            str(receipt_delay),
            "--quiet",
        ]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        port = int(json.loads(line)["port"])
    else:
        command = [
            sys.executable, "-m", "payamak", "smsc", "--port", "0", "--receipt-delay", str(receipt_delay),
            "--keep", "0",
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stderr is not None
        line = await asyncio.wait_for(process.stderr.readline(), 20)
        match = re.search(rb":(\d+) ", line)
        if match is None:
            raise RuntimeError(f"the SMSC did not say where it listens: {line!r}")
        port = int(match.group(1))
    try:
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def baseline(port: int, count: int, window: int, receipt_timeout: float) -> Phase:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    set_nodelay(writer)
    decoder = pdu.FrameDecoder()
    bind = pdu.Bind("payamak", "payamak").encode()
    writer.write(pdu.encode_frame(pdu.BIND_TRANSCEIVER, 0, 1, bind))
    while True:
        frames = decoder.feed(await reader.read(65536))
        if any(frame[0] == pdu.BIND_TRANSCEIVER_RESP for frame in frames):
            break
    prefix = pdu.submit_prefix("3000123", source_npi=1)
    frames_out = [
        pdu.encode_frame(
            pdu.SUBMIT_SM,
            0,
            seq,
            pdu.submit_body(
                prefix,
                pdu.cstring(f"98912{1_000_000 + seq}"),
                0,
                1,
                8,
                TEXT.format(n=seq).encode("utf-16-be"),
            ),
        )
        for seq in range(2, count + 2)
    ]
    answered = receipts = sent = 0
    started = time.perf_counter()
    submitted_at = 0.0
    writer.write(b"".join(frames_out[:window]))
    sent = min(window, count)
    while answered < count or receipts < count:
        data = await asyncio.wait_for(reader.read(262144), receipt_timeout)
        if not data:
            break
        out = []
        for command_id, _status, sequence, _body in decoder.feed(data):
            if command_id == pdu.SUBMIT_SM_RESP:
                answered += 1
                if sent < count:
                    out.append(frames_out[sent])
                    sent += 1
                if answered == count:
                    submitted_at = time.perf_counter()
            elif command_id == pdu.DELIVER_SM:
                receipts += 1
                out.append(pdu.encode_frame(pdu.DELIVER_SM_RESP, 0, sequence, b"\0"))
        if out:
            writer.write(b"".join(out))
    finished = time.perf_counter()
    writer.write(pdu.encode_frame(pdu.UNBIND, 0, count + 10))
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return Phase(submitted_at - started, finished - started, answered, receipts)


async def provider_run(
    port: int, count: int, window: int, binds: int, batch: int, concurrency: int, receipt_timeout: float
) -> Phase:
    receipts = 0
    last_receipt = 0.0
    done = asyncio.Event()

    def on_receipt(_receipt: object) -> None:
        nonlocal receipts, last_receipt
        receipts += 1
        if receipts >= count:
            last_receipt = time.perf_counter()
            done.set()

    route = SmppRoute("127.0.0.1", port, "payamak", "payamak", binds=binds, window=window)
    messages = [
        OutgoingSms(f"+98912{1_000_000 + n}", TEXT.format(n=n), "3000123", reference=str(n))
        for n in range(count)
    ]
    batches = [messages[start : start + batch] for start in range(0, count, batch)]
    accepted = 0
    async with SmppProvider(route, on_receipt=on_receipt) as provider:
        if not await provider.wait_bound(10):
            raise RuntimeError("could not bind")
        queue = iter(batches)
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal accepted
            for chunk in queue:
                results = await provider.submit(chunk)
                accepted += sum(result.accepted for result in results)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        submitted = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), receipt_timeout)
        finished = last_receipt or time.perf_counter()
    return Phase(submitted - started, finished - started, accepted, receipts)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--messages", type=int, default=50_000)
    parser.add_argument("--peer", choices=("payamak", "node"), default="payamak")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000, help="messages per submit() call")
    parser.add_argument("--concurrency", type=int, default=4, help="submit() calls in flight")
    parser.add_argument("--receipt-delay", type=float, default=0.0)
    parser.add_argument("--receipt-timeout", type=float, default=60.0)
    args = parser.parse_args()

    async with peer_process(args.peer, args.receipt_delay) as port:
        base = await baseline(port, args.messages, args.window, args.receipt_timeout)
    print(
        f"baseline (bare loop, window {args.window}): {base.rate(base.accepted):,.0f} submits/s, "
        f"{base.receipts_rate():,.0f} receipts/s",
        flush=True,
    )
    async with peer_process(args.peer, args.receipt_delay) as port:
        ours = await provider_run(
            port, args.messages, args.window, args.binds, args.batch, args.concurrency, args.receipt_timeout
        )
    print(
        f"SmppProvider ({args.binds} bind(s), window {args.window}): {ours.rate(ours.accepted):,.0f} submits/s, "
        f"{ours.receipts_rate():,.0f} receipts/s, {ours.accepted} accepted, {ours.receipts} receipts",
        flush=True,
    )
    rate = ours.rate(args.messages)
    baseline_rate = base.rate(args.messages)
    summary = {
        "bench": "smpp_blast",
        "peer": args.peer,
        "messages": args.messages,
        "window": args.window,
        "binds": args.binds,
        "rate": round(rate, 1),
        "receipts_rate": round(ours.receipts_rate(), 1),
        "baseline_rate": round(baseline_rate, 1),
        "baseline_receipts_rate": round(base.receipts_rate(), 1),
        "ratio": round(rate / baseline_rate, 3) if baseline_rate else None,
        "accepted": ours.accepted,
        "receipts": ours.receipts,
        "seconds": round(ours.seconds, 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
