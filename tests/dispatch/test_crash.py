"""`payamak dispatcher` as a real process: killed mid-send and started again, nothing is lost, nothing
is charged twice, and at most a window of messages can reach the SMSC twice (flagged and counted).
Two dispatchers on one PostgreSQL database never send the same message twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from payamak.sending.models import Message

from .conftest import Shop

SMSC_PEER = Path(__file__).resolve().parent.parent / "drills" / "smsc_peer.py"
WINDOW = 400
FINAL = ("delivered", "undelivered", "expired", "rejected", "failed", "blocked", "canceled")


@contextmanager
def smsc_process(tmp_path: Path, receipt_delay: float = 0.2) -> Iterator[tuple[int, Path]]:
    counts = tmp_path / "counts.json"
    process = subprocess.Popen(
        [sys.executable, str(SMSC_PEER), "--counts", str(counts), "--receipt-delay", str(receipt_delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(json.loads(process.stdout.readline())["port"])
        yield port, counts
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def dispatcher_process(shop: Shop, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PAYAMAK_DATABASE_URL": shop.ctx.settings.sqlalchemy_url,
        "PAYAMAK_DATA_DIR": str(tmp_path / "data"),
        "PAYAMAK_DISPATCH_WINDOW": str(WINDOW),
        "PAYAMAK_DISPATCH_HEARTBEAT_SECONDS": "0.5",
        "PAYAMAK_DISPATCH_HOUSEKEEPING_SECONDS": "0.2",
        "PAYAMAK_DISPATCH_LEASE_SECONDS": "60",
    }
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "payamak", "dispatcher"], env=env, stdout=log, stderr=log
        )


@contextmanager
def writes_blocked(shop: Shop) -> Iterator[None]:
    """No other connection can change messages meanwhile: SQLite's write lock, taken by BEGIN
    IMMEDIATE; on PostgreSQL a lock on the table that lets reads through."""
    with shop.ctx.db.engine.connect() as connection, connection.begin() as transaction:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE messages IN EXCLUSIVE MODE")
        yield
        transaction.rollback()


def unacknowledged_receipts(counts_file: Path) -> int:
    return int(json.loads(Path(f"{counts_file}.live").read_text())["unacknowledged"])


def counts_by_status(shop: Shop) -> dict[str, int]:
    with shop.ctx.db.transaction(readonly=True) as session:
        rows = session.execute(sa.select(Message.status, sa.func.count()).group_by(Message.status))
        return {status: int(n) for status, n in rows}


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {counts_by_status_last}"
        time.sleep(0.1)


counts_by_status_last: dict[str, int] = {}


def done(shop: Shop, total: int) -> bool:
    global counts_by_status_last
    counts_by_status_last = counts_by_status(shop)
    return sum(counts_by_status_last.get(s, 0) for s in FINAL) == total


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


@pytest.mark.parametrize("receipt_delay", [0.0, 0.3])
def test_killed_dispatcher_loses_nothing_and_charges_once(
    shop: Shop, tmp_path: Path, receipt_delay: float
) -> None:
    """Killed while it sends: its window of claims is taken back by the next one.

    Receipts keep arriving until the kill, so the process dies with receipts read from the socket
    and not yet written. They were not acknowledged (a receipt is acknowledged only once it has
    committed), so the SMSC sends them again to the next dispatcher, and each message still ends
    in one final state, charged once. With no delay most receipts overtake their message's result
    and are written with it; with a short one they come for messages already written as sent,
    which a receipt acknowledged and lost would leave `sent` for ever."""
    total = 8000
    numbers = [f"0912{7_000_000 + n:07d}" for n in range(total)]

    def sent() -> int:
        counts = counts_by_status(shop)
        return sum(n for status, n in counts.items() if status not in ("queued", "submitting"))

    with smsc_process(tmp_path, receipt_delay=receipt_delay) as (port, counts_file):
        shop.add_route("smsc", port=port)
        shop.send(numbers)
        first = dispatcher_process(shop, tmp_path, "first")
        try:
            wait_until(lambda: sent() >= total // 4, 120, "a quarter sent")
            # While it cannot write, the receipts that come in stay in the process, unwritten. If
            # the block caught it with its whole window written and its next claim waiting, none
            # come: let it go on a moment and block it again.
            for _ in range(8):
                with writes_blocked(shop):
                    time.sleep(0.5)
                    if unacknowledged_receipts(counts_file) > 0:
                        first.send_signal(signal.SIGKILL)
                        first.wait(10)
                        break
                time.sleep(0.05)
            else:
                pytest.fail("never caught the dispatcher holding unwritten receipts")
        finally:
            if first.poll() is None:
                first.kill()
        left = counts_by_status(shop)
        stranded = left.get("submitting", 0)
        assert stranded <= WINDOW, left
        assert left.get("queued", 0) > 0, "killed too late to prove anything"

        second = dispatcher_process(shop, tmp_path, "second")
        try:
            wait_until(lambda: done(shop, total), 180, "every message final")
        finally:
            stop(second)
    seen = json.loads(counts_file.read_text())
    counts = seen["submitted"]
    assert seen["resent_receipts"] > 0, "no receipt was in the killed process: the kill proved nothing"
    messages = shop.messages()
    assert len(messages) == total
    assert {m.status for m in messages} == {"delivered"}
    assert all(m.done_at is not None and m.provider_id for m in messages)
    assert sorted(counts) == sorted("98" + n[1:] for n in numbers)  # every one reached the SMSC
    twice = {d for d, n in counts.items() if n > 1}
    flagged = {m.recipient[1:] for m in messages if m.maybe_duplicate}
    assert len(flagged) == stranded <= WINDOW
    assert twice <= flagged  # only messages flagged as possibly sent twice were
    assert all(n <= 2 for n in counts.values())
    log = (tmp_path / "second.log").read_text()
    assert f"took back {stranded} messages" in log or stranded == 0
    # Each message charged once: the ledger adds up, and the balance is the price of what was sent.
    assert shop.ledger_ok()
    assert shop.balance() == shop.expected_balance()


@pytest.mark.postgres
def test_two_dispatchers_never_send_a_message_twice(shop: Shop, tmp_path: Path) -> None:
    total = 10_000
    numbers = [f"0935{1_000_000 + n:07d}" for n in range(total)]
    with smsc_process(tmp_path) as (port, counts_file):
        shop.add_route("smsc", port=port)
        shop.send(numbers)
        workers = [dispatcher_process(shop, tmp_path, f"d{i}") for i in range(2)]
        try:
            wait_until(lambda: done(shop, total), 180, "every message final")
        finally:
            for worker in workers:
                stop(worker)
    counts = json.loads(counts_file.read_text())["submitted"]
    assert sorted(counts) == sorted("98" + n[1:] for n in numbers)
    assert set(counts.values()) == {1}
    messages = shop.messages()
    assert {m.status for m in messages} == {"delivered"} and not any(m.maybe_duplicate for m in messages)
    # Both took part.
    logs = [(tmp_path / f"d{i}.log").read_text() for i in range(2)]
    results = [json.loads(log.strip().splitlines()[-1])["results"] for log in logs]
    assert all(r > 0 for r in results) and sum(results) == total
    assert shop.ledger_ok()
    assert shop.balance() == shop.expected_balance()
