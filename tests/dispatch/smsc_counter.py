"""A simulated SMSC in its own process that remembers every message it was given.

    python smsc_counter.py COUNTS.json [RECEIPT_DELAY]

Prints {"port": N} once it listens; on SIGTERM or SIGINT writes {destination: times submitted}
to COUNTS.json and exits. Tests use it to see whether any message reached the SMSC twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter

from payamak.providers.smpp import SimulatedSmsc, SmscConfig


async def main(path: str, delay: float) -> None:
    smsc = SimulatedSmsc(SmscConfig(port=0, receipt_delay=delay, keep=2_000_000))
    await smsc.start()
    print(json.dumps({"port": smsc.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    counts = Counter(s.destination for s in smsc.submissions)
    await smsc.close()
    with open(path, "w") as out:
        json.dump(dict(counts), out)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.2))
