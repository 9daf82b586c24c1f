"""Drill: the disk under the SQLite database fills up while the product imports and sends.

The database lives on a small tmpfs of its own (mounted here, unmounted at the end), next to the
processes that use it: `payamak serve` and `payamak dispatcher`, sending to an SMSC process. The
disk is filled twice:

1. almost full, while a large import saves: the import fails as a whole with `disk_full` and a
   Persian message, and the group is left exactly as it was;
2. completely full, in the middle of sending: a new send is refused with 507 `disk_full` (nothing
   charged), and the dispatcher keeps what it cannot write instead of losing or failing it.

Once space is freed, the dispatcher goes on by itself, every message is delivered and paid for
once, the same import succeeds, and so does the same send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import (
    Deployment,
    Server,
    Smsc,
    check_books,
    ledger_verify_command,
    numbers,
    own_deployment,
    wait_until,
)

TOTAL = 3000
CUSTOMERS = 30_000
IMPORTED = 200_000
TEXT = "حراج پاییزه"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 64 MiB tmpfs: a disk that really fills up, and that nothing else shares."""
    mount = Path(tempfile.mkdtemp(prefix="payamak-drill-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)
        mount.rmdir()


def fill(path: Path, leave: int = 0) -> None:
    """Write to `path` until its filesystem has at most `leave` bytes left."""
    chunk = b"\0" * (1 << 20)
    with path.open("ab") as out:
        while True:
            stat = os.statvfs(path)
            room = stat.f_bavail * stat.f_frsize - leave
            if room <= 0:
                return
            try:
                out.write(chunk[: min(len(chunk), room)])
                out.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return


def csv(values: list[str]) -> tuple[str, bytes, str]:
    return ("numbers.csv", "\n".join(values).encode(), "text/csv")


def wait_import(server: Server, headers: dict[str, str], import_id: int) -> dict[str, object]:
    found: dict[str, object] = {}

    def finished() -> bool:
        found.update(httpx.get(f"{server.url}/api/v1/imports/{import_id}", headers=headers).json())
        return found["status"] != "running"

    wait_until(finished, 60, "the import to end", every=0.2)
    return found


def truncate_wal(database: Path) -> None:
    """Checkpoint the WAL into the database and cut it to nothing.

    A WAL keeps its size after a checkpoint and is written again from its start: until writers
    need more than that room, a full disk goes unnoticed. Cut first, the disk bites at once."""
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        wait_until(
            lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0, 30, "a checkpoint"
        )
    finally:
        conn.close()


@pytest.fixture
def deployment(small_disk: Path, tmp_path: Path) -> Iterator[Deployment]:
    """The database on the small disk (closed before the disk is unmounted)."""
    with own_deployment(f"sqlite:///{small_disk / 'payamak.db'}", tmp_path / "data") as deployment:
        yield deployment


def test_disk_fills_up_under_sqlite(deployment: Deployment, small_disk: Path, tmp_path: Path) -> None:
    database = small_disk / "payamak.db"
    smsc = Smsc(tmp_path, receipt_delay=0.2)
    server = Server(deployment.env(), tmp_path / "serve.log")
    dispatcher = deployment.dispatcher(tmp_path / "dispatcher.log")
    filler = small_disk / "filler"
    try:
        campaign = deployment.campaign(smsc.start(), TOTAL)
        line, shop = campaign.line, campaign.shop
        server.start()
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=shop.headers, timeout=120.0) as api:
            customers = api.post("/groups", json={"name": "مشتریان"}).json()["id"]
            started = api.post(
                f"/groups/{customers}/imports", files={"file": csv(numbers(CUSTOMERS, prefix="0901"))}
            )
            assert wait_import(server, shop.headers, started.json()["id"])["status"] == "done"
            # For later: a send to all of them, for tomorrow (it stays scheduled).
            tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
            campaign = {
                "kind": "advertising",
                "text": TEXT,
                "group_ids": [customers],
                "send_at": tomorrow,
                "line": line,
            }

            # 1. Nearly full: the import's one saving transaction does not fit and rolls back whole.
            group = api.post("/groups", json={"name": "نمایشگاه"}).json()["id"]
            upload = csv(numbers(IMPORTED, prefix="0935"))
            truncate_wal(database)
            fill(filler, leave=1 << 20)
            started = api.post(f"/groups/{group}/imports", files={"file": upload})
            assert started.status_code == 202, started.text
            failed = wait_import(server, shop.headers, started.json()["id"])
            assert failed["status"] == "failed", failed
            error = failed["error"]
            assert isinstance(error, dict) and error["code"] == "disk_full", failed
            assert "فضای دیسک" in str(error["detail"])  # Persian first
            assert failed["added"] == 0
            assert api.get(f"/groups/{group}").json()["size"] == 0

            # 2. Completely full, in the middle of sending.
            os.unlink(filler)
            dispatcher.start()
            wait_until(lambda: deployment.statuses()["delivered"] >= TOTAL // 4, 60, "a quarter delivered")
            truncate_wal(database)
            fill(filler)
            balance = api.get("/me").json()["balance"]
            refused = api.post("/sends", json=campaign, headers={"Idempotency-Key": "campaign-1"})
            assert refused.status_code == 507, refused.text
            assert refused.json()["error"] == "disk_full"
            assert "فضای دیسک" in refused.json()["detail"]
            wait_until(
                lambda: "disk is full" in dispatcher.text(), 30, "the dispatcher to meet the full disk"
            )
            time.sleep(2)
            stuck = deployment.statuses()
            assert dispatcher.alive, dispatcher.text()[-3000:]
            assert api.get("/me").json()["balance"] == balance  # the refused send charged nothing
            # Nothing failed for a full disk: what the dispatcher could not write, it holds.
            assert set(stuck) <= {"queued", "submitting", "sent", "delivered"}, stuck
            assert stuck["delivered"] < TOTAL, f"filled too late to prove anything: {stuck}"

            # 3. Space freed: sending goes on by itself, and the same requests now succeed.
            os.unlink(filler)
            wait_until(lambda: deployment.final(TOTAL), 120, "every message final", state=deployment.statuses)
            again = api.post(f"/groups/{group}/imports", files={"file": upload})
            assert wait_import(server, shop.headers, again.json()["id"])["status"] == "done"
            assert api.get(f"/groups/{group}").json()["size"] == IMPORTED
            accepted = api.post("/sends", json=campaign, headers={"Idempotency-Key": "campaign-1"})
            assert accepted.status_code == 201, accepted.text
            assert accepted.json()["recipients"] == CUSTOMERS
    finally:
        for process in (dispatcher, server, smsc):
            with contextlib.suppress(AssertionError):
                process.stop()

    assert dispatcher.popen is not None and dispatcher.popen.returncode == 0, dispatcher.text()[-3000:]
    assert deployment.statuses() == {"delivered": TOTAL, "scheduled": CUSTOMERS}
    accepted_by_smsc = smsc.accepted()
    # The dispatcher never died, so nothing it sent reached the SMSC twice.
    assert len(accepted_by_smsc) == TOTAL and set(accepted_by_smsc.values()) == {1}
    check_books(deployment, all_final=False)
    ledger_verify_command(deployment)
