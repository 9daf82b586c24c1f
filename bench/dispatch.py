"""Dispatcher end to end: queued rows -> submit_sm -> submit_sm_resp and receipt recorded.

Creates an account with credit, a line, a route to an SMSC in another process and one send with
N recipients through the real sending service, then runs the dispatcher until every message has
its receipt written (all final). The SMSC is the simulated one (`payamak smsc`) or, with
`--peer node`, node-smpp's server (tests/providers/node/smsc.js; `npm ci --prefix
tests/providers/node` first).

The baseline, measured in the same run against a fresh SMSC of the same kind, is the same SMPP
client (`SmppProvider`, same binds and window) blasting the same number of messages with no
database at all (bench/smpp_blast.py's `provider_run`), until every receipt is in; it runs before
and after the dispatcher and the mean is taken. `ratio` = end-to-end rate / blast rate.

The database is a temporary SQLite file unless `--database-url` names one; that one must be a
scratch database (migrated here; anything already queued in it is sent too).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a numbers.py, which would shadow the standard library's `numbers` for everything
# imported after it; this script's own folder comes off the path, and smpp_blast is loaded by file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from payamak.accounts import service as accounts  # noqa: E402
from payamak.accounts.security import Passwords  # noqa: E402
from payamak.accounts.service import Principal  # noqa: E402
from payamak.billing import service as billing  # noqa: E402
from payamak.config import Settings  # noqa: E402
from payamak.db import Database, upgrade  # noqa: E402
from payamak.dispatch import repository as dispatch_repo  # noqa: E402
from payamak.dispatch import service as dispatch  # noqa: E402
from payamak.dispatch.settings import DispatchSettings  # noqa: E402
from payamak.dispatch.worker import Dispatcher  # noqa: E402
from payamak.sending import service as sending  # noqa: E402

_spec = importlib.util.spec_from_file_location("smpp_blast", _HERE / "smpp_blast.py")
assert _spec is not None and _spec.loader is not None
smpp_blast = importlib.util.module_from_spec(_spec)
sys.modules["smpp_blast"] = smpp_blast
_spec.loader.exec_module(smpp_blast)
peer_process, provider_run = smpp_blast.peer_process, smpp_blast.provider_run

TEXT = "سلام، سفارش شما ثبت شد و فردا ارسال می‌شود. با سپاس"


def children_cpu() -> float:
    """CPU seconds of the child processes that have ended (the SMSC, once it is stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prepare(
    db: Database, settings: Settings, *, count: int, port: int, window: int, binds: int, tag: str
) -> int:
    """An account, a line pinned to a route to the SMSC, and a send to `count` numbers; its id."""
    with db.transaction() as session:
        account = accounts.create_user(
            session,
            passwords=Passwords(time_cost=1, memory_kib=1024),
            mobile=f"0912{int(tag) % 10_000_000:07d}",
            password="bench password 1",
            admin=False,
        )
        billing.grant(session, account_id=account.id, amount=10**13, reason="bench credit", actor_id=None)
        route = dispatch.add_route(
            session, principal=None, name=f"bench-{tag}", kind="smpp",
            config={"host": "127.0.0.1", "port": port, "system_id": "payamak", "password": "payamak",
                    "window": window, "binds": binds},
        )  # fmt: skip
        line = sending.add_line(
            session,
            principal=None,
            number=f"3000{int(tag) % 100_000_000:08d}",
            kind="advertising",
            route_id=route.id,
        )
        account_id, line_number = account.id, line.number
    started = time.perf_counter()
    with db.transaction() as session:
        send = sending.accept(
            session,
            settings=settings,
            principal=Principal(account_id=account_id, role="user"),
            request=sending.SendRequest(
                kind="advertising",
                text=TEXT,
                line=line_number,
                recipients=[f"0912{1_000_000 + n:07d}" for n in range(count)],
            ),
        )
        send_id = send.id
    print(f"queued {count:,} messages in {time.perf_counter() - started:.1f} s (send {send_id})", flush=True)
    return send_id


async def end_to_end(
    db: Database, config: DispatchSettings, count: int, timeout: float
) -> tuple[float, Dispatcher]:
    dispatcher = Dispatcher(db=db, config=config, announce=lambda _line: None)
    await dispatcher.start()
    started = time.perf_counter()
    deadline = started + timeout
    try:
        while sum(dispatcher.stats.final.values()) < count:
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"{sum(dispatcher.stats.final.values())} of {count} final after {timeout} s"
                )
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        await dispatcher.stop()
    return seconds, dispatcher


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--messages", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default=None, help="scratch database (default: a temporary SQLite file)"
    )
    parser.add_argument("--peer", choices=("ours", "node"), default="ours")
    parser.add_argument("--window", type=int, default=64, help="SMPP window per bind")
    parser.add_argument("--binds", type=int, default=1)
    parser.add_argument("--receipt-delay", type=float, default=0.0, help="seconds from submit to receipt")
    parser.add_argument(
        "--dispatch-window", type=int, default=None, help="dispatcher window (PAYAMAK_DISPATCH_WINDOW)"
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-baseline", action="store_true", help="dispatcher only (for profiling)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    peer = "node" if args.peer == "node" else "payamak"
    tmp = tempfile.TemporaryDirectory(prefix="payamak-bench-")
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url, data_dir=Path(tmp.name), advertising_hours="always")
    config = (
        DispatchSettings() if args.dispatch_window is None else DispatchSettings(window=args.dispatch_window)
    )

    per_message = 1e6 / args.messages

    async def blast() -> float:
        peer_cpu = children_cpu()
        async with peer_process(peer, args.receipt_delay) as port:
            cpu = time.process_time()
            phase = await provider_run(port, args.messages, args.window, args.binds, 1000, 4, args.timeout)
            cpu = time.process_time() - cpu
        peer_cpu = children_cpu() - peer_cpu
        rate = args.messages / phase.receipts_seconds if phase.receipts_seconds else 0.0
        print(
            f"baseline: SmppProvider alone, no database: {rate:,.0f} messages/s with receipts "
            f"({phase.accepted:,} accepted, {phase.receipts:,} receipts; {cpu * per_message:.0f} µs CPU a message, "
            f"the SMSC {peer_cpu * per_message:.0f} µs)",
            flush=True,
        )
        return rate

    # The blast runs before and after the dispatcher and the two are averaged, so that a machine
    # getting busier or quieter during the run does not tilt the ratio.
    before = 0.0 if args.skip_baseline else await blast()
    peer_cpu = children_cpu()
    async with peer_process(peer, args.receipt_delay) as port:
        tag = str(int(time.time() * 1000) % 10_000_000)
        send_id = prepare(
            db, settings, count=args.messages, port=port, window=args.window, binds=args.binds, tag=tag
        )
        # The event loop runs on this thread; the rest of the process's CPU is the database threads'.
        cpu, loop_cpu = time.process_time(), time.thread_time()
        seconds, dispatcher = await end_to_end(db, config, args.messages, args.timeout)
        cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
    peer_cpu = children_cpu() - peer_cpu
    print(
        f"dispatcher: {args.messages / seconds:,.0f} messages/s end to end "
        f"({cpu * per_message:.0f} µs CPU a message in this process: {loop_cpu * per_message:.0f} on the event "
        f"loop's thread, {(cpu - loop_cpu) * per_message:.0f} on the database threads; the SMSC {peer_cpu * per_message:.0f} µs)",
        flush=True,
    )
    baseline_rate = 0.0 if args.skip_baseline else (before + await blast()) / 2
    with db.transaction(readonly=True) as session:
        counts = dispatch_repo.count_by_status(session, send_id=send_id)
        ledger_ok = billing.verify_ledger(session).ok
    db.dispose()
    tmp.cleanup()
    finals = ("delivered", "undelivered", "expired", "rejected", "failed", "blocked")
    if sum(counts.get(status, 0) for status in finals) != args.messages or not ledger_ok:
        raise SystemExit(f"the run is not valid: statuses {counts}, ledger {'ok' if ledger_ok else 'wrong'}")
    rate = args.messages / seconds
    stats = dispatcher.stats
    print(
        f"dispatcher ({db.dialect}, window {config.window}): {args.messages:,} messages in {seconds:.2f} s = "
        f"{rate:,.0f} messages/s end to end; statuses {counts}; {stats.flushes} writes, "
        f"ledger {'ok' if ledger_ok else 'WRONG'}; sent-then-receipt {stats.sent:,}, waited receipts {stats.receipts_waiting}, max in flight {stats.max_in_flight}",
        flush=True,
    )
    summary = {
        "bench": "dispatch",
        "rate": round(rate, 1),
        "baseline_rate": round(baseline_rate, 1),
        "ratio": round(rate / baseline_rate, 3) if baseline_rate else None,
        "seconds": round(seconds, 3),
        "peer": args.peer,
        "database": db.dialect,
        "messages": args.messages,
        "receipt_delay": args.receipt_delay,
        "cpu_us": round(cpu * per_message, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
