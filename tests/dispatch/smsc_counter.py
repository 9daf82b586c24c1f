"""A simulated SMSC in its own process that remembers every message it was given.

    python smsc_counter.py COUNTS.json [RECEIPT_DELAY]

Prints {"port": N} once it listens; on SIGTERM or SIGINT writes {"submitted": {destination: times
submitted}, "resent_receipts": n} to COUNTS.json and exits. Tests use it to see whether any message
reached the SMSC twice, and how many receipts were sent to a dispatcher that went away without
acknowledging them (the SMSC sends those again to the next one). While it runs, COUNTS.json.live
holds {"unacknowledged": n}, the receipts sent and not yet answered, every 20 ms, so a test can
kill a dispatcher at a moment it holds some.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from typing import Any

from payamak.providers.smpp import SimulatedSmsc, SmscConfig


async def main(path: str, delay: float) -> None:
    smsc = SimulatedSmsc(SmscConfig(port=0, receipt_delay=delay, keep=2_000_000))
    resent = 0
    closed = smsc._session_closed

    def session_closed(session: Any) -> None:
        nonlocal resent
        resent += sum(future is None for _, future in [*session.outstanding.values(), *session.queue])
        closed(session)

    smsc._session_closed = session_closed  # type: ignore[method-assign]

    async def report_live() -> None:
        live, partial = f"{path}.live", f"{path}.live.tmp"
        while True:
            unacknowledged = sum(
                future is None
                for session in smsc._sessions
                for _, future in [*session.outstanding.values(), *session.queue]
            )
            with open(partial, "w") as out:
                json.dump({"unacknowledged": unacknowledged}, out)
            os.replace(partial, live)
            await asyncio.sleep(0.02)

    await smsc.start()
    reporter = asyncio.create_task(report_live())
    print(json.dumps({"port": smsc.port}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    reporter.cancel()
    counts = Counter(s.destination for s in smsc.submissions)
    await smsc.close()
    with open(path, "w") as out:
        json.dump({"submitted": dict(counts), "resent_receipts": resent}, out)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.2))
