"""Drill: the SMSC floods the dispatcher with 50,000 receipts for message ids nobody sent.

Mixed into the receipts of a real send, a storm of DELIVRD receipts for unknown ids arrives over
the same bind. The dispatcher acknowledges every one of them (the SMSC has none left to re-send),
keeps its heartbeat and its sending going, applies the real receipts, stays within a bounded amount
of memory, counts the unknown ones, and changes nothing because of them.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from payamak.db import utcnow
from payamak.dispatch.models import Dispatcher
from payamak.sending.models import InboundMessage

from .conftest import Deployment, Server, Smsc, check_books, ledger_verify_command, wait_until

TOTAL = 2000
STORM = 50_000


def heartbeat_age(deployment: Deployment) -> float:
    with deployment.db.transaction(readonly=True) as session:
        beat = session.scalar(
            sa.select(sa.func.max(Dispatcher.heartbeat_at)).where(Dispatcher.stopped_at.is_(None))
        )
    return (utcnow() - beat).total_seconds() if beat is not None else float("inf")


def dispatcher_stats(deployment: Deployment) -> dict[str, object]:
    with deployment.db.transaction(readonly=True) as session:
        record = session.scalars(sa.select(Dispatcher).order_by(Dispatcher.id.desc())).first()
        assert record is not None
        return dict(record.stats or {})


def test_storm_of_receipts_for_unknown_ids(deployment: Deployment, tmp_path: Path) -> None:
    smsc = Smsc(tmp_path, receipt_delay=0.5, storm=STORM)
    # 200 messages a second: the real send goes on while the storm blows.
    deployment.campaign(smsc.start(), TOTAL, tps=200)
    # Unmatched receipts are looked up in the database for 5 s (60 by default) before they count
    # as unknown: the storm's 50,000 are looked up again and again all the same, in less time.
    # The API, for /metrics (started first: on SQLite it would queue behind the storm's writes).
    server = Server(deployment.env(), tmp_path / "serve.log").start()
    log = tmp_path / "dispatcher.log"
    dispatcher = deployment.dispatcher(log, PAYAMAK_DISPATCH_RECEIPT_MATCH_SECONDS="5").start()
    try:
        wait_until(
            lambda: deployment.statuses()["delivered"] >= TOTAL // 10, 60, "the first messages delivered"
        )
        wait_until(lambda: heartbeat_age(deployment) < 1.0, 10, "a heartbeat")
        rss_before = dispatcher.rss_mb()
        assert smsc.process is not None
        smsc.process.send_signal(signal.SIGUSR1)  # the storm begins
        storm_began = time.monotonic()
        worst_beat = peak_rss = 0.0
        progress: list[int] = []

        def storm_over() -> bool:
            nonlocal worst_beat, peak_rss
            worst_beat = max(worst_beat, heartbeat_age(deployment))
            peak_rss = max(peak_rss, dispatcher.rss_mb())
            progress.append(deployment.statuses()["delivered"])
            stats = smsc.stats()
            return stats.get("storm_sent", 0) == STORM and stats.get("receipts_acked", 0) >= STORM + TOTAL

        wait_until(storm_over, 120, "every receipt acknowledged", every=0.25, state=smsc.stats)
        storm_seconds = time.monotonic() - storm_began
        wait_until(lambda: deployment.final(TOTAL), 60, "every message final", state=deployment.statuses)
        assert dispatcher.alive
        # Its loop kept turning (heartbeat every 0.5 s) and it kept sending while the storm lasted.
        assert worst_beat < 3.0, worst_beat
        assert progress[-1] > progress[0], progress
        assert peak_rss - rss_before < 150, (rss_before, peak_rss)
        # The unknown receipts are counted: in the heartbeat's stats, and as a metric.
        wait_until(
            lambda: dispatcher_stats(deployment).get("receipts_unknown") == STORM,
            90,
            "the unknown receipts counted",
            state=lambda: dispatcher_stats(deployment),
        )
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'payamak_dispatcher_receipts_unknown_total{dispatcher="' in metrics
        unknown_lines = [
            line
            for line in metrics.splitlines()
            if line.startswith("payamak_dispatcher_receipts_unknown_total")
        ]
        assert unknown_lines and float(unknown_lines[0].split()[-1]) == STORM, unknown_lines
    finally:
        server.stop()
        assert dispatcher.stop() == 0, dispatcher.text()[-3000:]
        smsc.stop()
    print(
        f"storm of {STORM} receipts over in {storm_seconds:.1f} s; heartbeat at most {worst_beat:.1f} s old; "
        f"memory {rss_before:.0f} -> {peak_rss:.0f} MB"
    )
    stats = dispatcher_stats(deployment)
    assert stats["receipts_unknown"] == STORM
    assert {m.status for m in deployment.messages()} == {"delivered"}
    with deployment.db.transaction(readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0
    check_books(deployment)
    ledger_verify_command(deployment)
