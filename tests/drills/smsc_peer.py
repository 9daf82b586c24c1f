"""The simulated SMSC as a process of its own, for tests that kill, restart or flood the processes
around it.

    python smsc_peer.py [--port N] [--receipt-delay S] [--journal FILE] [--storm N] [--stats FILE]
                        [--counts FILE]

Prints {"port": N} once it listens; SIGTERM or SIGINT stops it.

--journal: every submission it accepts is appended to the journal (the destination and the
receipt it owes) before the answer leaves the process, as a real SMSC stores a message before
acknowledging it; so `kill -9` loses nothing it ever acknowledged. A process started on an
existing journal re-sends every receipt in it once a receiver binds (a real SMSC keeps re-sending
receipts until they are acknowledged; here those already acknowledged arrive a second time, which
must change nothing).

--storm: SIGUSR1 sends that many receipts (DELIVRD) for message ids this SMSC never gave out,
mixed into the receipts it owes. --stats is rewritten twice a second with its counters.

--counts: on exit, {"submitted": {destination: times submitted}, "resent_receipts": n} is written
there: whether any message reached the SMSC twice, and how many receipts were sent to a dispatcher
that went away without acknowledging them (the SMSC sends those again to the next one). While it
runs, FILE.live holds {"unacknowledged": n}, the receipts sent and not yet answered, every 20 ms,
so a test can kill a dispatcher at a moment it holds some.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from payamak.providers.smpp import NoReceiver, SimulatedSmsc, SmscConfig, pdu

SYSTEM_ID = "payamak"


class Journal:
    """The receipts an SMSC owes, one line each: destination, then the deliver_sm body in hex."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.replayed = 0
        self._fd = -1

    def replay(self, smsc: SimulatedSmsc) -> None:
        """Owe again every receipt of an earlier run (held until a receiver binds), then journal on."""
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                _destination, body = line.split(" ", 1)
                smsc.redeliver(SYSTEM_ID, bytes.fromhex(body))
                self.replayed += 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, destination: str, body: bytes) -> None:
        # Called while the answer to the submit_sm is only queued on the link (it is written at the
        # end of this turn of the loop), so the journal has the message before the answer leaves.
        os.write(self._fd, f"{destination} {body.hex()}\n".encode())


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.journal = Journal(Path(args.journal)) if args.journal else None
        # Submissions are kept only to be counted: reassembling them costs time a storm lacks.
        keep = 2_000_000 if args.counts else 0
        self.smsc = SimulatedSmsc(
            SmscConfig(port=args.port, receipt_delay=args.receipt_delay, keep=keep),
            on_receipt=self.journal.write if self.journal else None,
        )
        self.storm_sent = 0

    def storm(self, count: int) -> None:
        """`count` receipts for ids nobody sent, through the same receipt queue as the real ones."""
        for n in range(count):
            fake = pdu.ShortMessage(
                destination_addr=f"98912{n % 10_000_000:07d}", source_addr="30001234", dest_addr_ton=1
            )
            try:
                self.smsc.queue_receipt(fake, f"feedface{n:08x}")
            except NoReceiver:
                return
            self.storm_sent += 1

    def counters(self) -> dict[str, int]:
        stats = self.smsc.stats
        return {
            "accepted": stats.accepted,
            "receipts_sent": stats.receipts_sent,
            "receipts_acked": stats.receipts_acked,
            "replayed": self.journal.replayed if self.journal else 0,
            "storm_sent": self.storm_sent,
            "bound": self.smsc.bound_sessions,
        }

    def unacknowledged(self) -> dict[str, int]:
        return {"unacknowledged": self.smsc.unacknowledged_receipts()}


def write_json(path: Path, data: object) -> None:
    """Whole or not at all: a reader never sees half a file."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(data))
    partial.replace(path)


async def keep_writing(path: Path, data: Callable[[], object], every: float) -> None:
    while True:
        write_json(path, data())
        await asyncio.sleep(every)


async def main(args: argparse.Namespace) -> None:
    peer = Peer(args)
    smsc = peer.smsc
    if peer.journal is not None:
        peer.journal.replay(smsc)
    await smsc.start()
    writers = []
    if args.stats:
        writers.append(asyncio.create_task(keep_writing(Path(args.stats), peer.counters, 0.5)))
    if args.counts:
        live = Path(f"{args.counts}.live")
        writers.append(asyncio.create_task(keep_writing(live, peer.unacknowledged, 0.02)))
    print(json.dumps({"port": smsc.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, peer.storm, args.storm)
    await stop.wait()
    for writer in writers:
        writer.cancel()
    submitted = Counter(s.destination for s in smsc.submissions)
    await smsc.close()
    if args.stats:
        write_json(Path(args.stats), peer.counters())
    if args.counts:
        # After close(): the receipts of the binds it cut count as left unanswered too.
        resent = smsc.stats.receipts_resent
        write_json(Path(args.counts), {"submitted": dict(submitted), "resent_receipts": resent})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--receipt-delay", type=float, default=0.2)
    parser.add_argument("--journal", default="")
    parser.add_argument("--storm", type=int, default=50_000)
    parser.add_argument("--stats", default="")
    parser.add_argument("--counts", default="")
    asyncio.run(main(parser.parse_args()))
