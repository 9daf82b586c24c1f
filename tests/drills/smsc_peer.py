"""The simulated SMSC as a process of its own, with the memory a real SMSC has and a storm on demand.

    python smsc_peer.py --journal FILE [--port N] [--receipt-delay S] [--storm N] [--stats FILE]

Prints {"port": N} once it listens. Every submission it accepts is appended to the journal (the
destination and the receipt it owes) before the answer leaves the process, as a real SMSC stores
a message before acknowledging it; so `kill -9` loses nothing it ever acknowledged. A process
started on an existing journal re-sends every receipt in it once a receiver binds (a real SMSC
keeps re-sending receipts until they are acknowledged; here those already acknowledged arrive a
second time, which must change nothing).

SIGUSR1 starts a storm: `--storm` receipts (DELIVRD) for message ids this SMSC never gave out,
mixed into the receipts it owes. `--stats` is rewritten twice a second with its counters.
SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path

from payamak.providers.smpp import SimulatedSmsc, SmscConfig, pdu
from payamak.providers.smpp.server import _Session

SYSTEM_ID = "payamak"


class JournaledSmsc(SimulatedSmsc):
    def __init__(self, config: SmscConfig, journal: Path) -> None:
        super().__init__(config)
        self.journal = journal
        self.replayed = 0
        self.storm_sent = 0
        self._fd = -1

    async def start(self) -> None:
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                _destination, body = line.split(" ", 1)
                # Held until a receiver binds, then sent to it (SimulatedSmsc._route).
                self._route(None, SYSTEM_ID, bytes.fromhex(body))
                self.replayed += 1
        self._fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        await super().start()

    def _schedule(self, session: _Session, message: pdu.ShortMessage, message_id: str, outcome: str) -> None:
        super()._schedule(session, message, message_id, outcome)
        # The answer to this submit_sm is only queued on the link (it is written at the end of this
        # turn of the loop), so the journal has the message before the SMSC's answer leaves.
        body = self._due[-1][3]
        os.write(self._fd, f"{message.destination_addr} {body.hex()}\n".encode())

    def storm(self, count: int) -> None:
        """`count` receipts for ids nobody sent, through the same receipt queue as the real ones."""
        session = next((s for s in self._sessions if s.can_receive), None)
        if session is None:
            return
        for n in range(count):
            fake = pdu.ShortMessage(
                destination_addr=f"98912{n % 10_000_000:07d}", source_addr="30001234", dest_addr_ton=1
            )
            # SimulatedSmsc._schedule, not ours: these are not messages anyone submitted.
            SimulatedSmsc._schedule(self, session, fake, f"feedface{n:08x}", "delivered")
            self.storm_sent += 1

    def counters(self) -> dict[str, int]:
        stats = self.stats
        return {
            "accepted": stats.accepted,
            "receipts_sent": stats.receipts_sent,
            "receipts_acked": stats.receipts_acked,
            "replayed": self.replayed,
            "storm_sent": self.storm_sent,
            "bound": self.bound_sessions,
        }


async def main(args: argparse.Namespace) -> None:
    config = SmscConfig(port=args.port, receipt_delay=args.receipt_delay, keep=0)
    smsc = JournaledSmsc(config, Path(args.journal))
    await smsc.start()
    print(json.dumps({"port": smsc.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, smsc.storm, args.storm)

    async def write_stats() -> None:
        while True:
            if args.stats:
                tmp = Path(args.stats + ".tmp")
                tmp.write_text(json.dumps(smsc.counters()))
                tmp.replace(args.stats)
            await asyncio.sleep(0.5)

    writer = asyncio.create_task(write_stats())
    await stop.wait()
    writer.cancel()
    await smsc.close()
    if args.stats:
        Path(args.stats).write_text(json.dumps(smsc.counters()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--journal", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--receipt-delay", type=float, default=0.2)
    parser.add_argument("--storm", type=int, default=50_000)
    parser.add_argument("--stats", default="")
    asyncio.run(main(parser.parse_args()))
