"""Drill: the SMSC is killed mid-send, its port stays closed for 30 s, then it comes back.

A dispatcher process sends through an SMPP route to an SMSC process. The SMSC is killed with
SIGKILL while messages are in flight and nothing listens on its port for 30 s. Nothing may fail
for an outage that passes (the route is down: messages wait without using up their attempts), and
once the SMSC is back every message is delivered. Only the submits that were in flight when it
died (at most the route's SMPP window) may reach the SMSC twice, and each of them is flagged.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from payamak.sending.models import FINAL_STATUSES

from .conftest import Deployment, Smsc, check_books, ledger_verify_command, wait_until

TOTAL = 3000
OUTAGE_SECONDS = 30.0
SMPP_WINDOW = 64


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_smsc_down_for_thirty_seconds_loses_nothing(deployment: Deployment, tmp_path: Path) -> None:
    smsc = Smsc(tmp_path, receipt_delay=0.2)
    port = smsc.start()
    # The binds try again every second at most, so the route is back soon after the SMSC is.
    campaign = deployment.campaign(port, TOTAL, window=SMPP_WINDOW, reconnect_min=0.2, reconnect_max=1.0)
    dispatcher = deployment.dispatcher(tmp_path / "dispatcher.log", "--verbose").start()
    try:
        wait_until(
            lambda: deployment.statuses()["delivered"] >= TOTAL // 4,
            90,
            "a quarter of the messages delivered",
        )
        smsc.kill()
        down_at = time.monotonic()
        during = deployment.statuses()
        assert during["queued"] > 0, f"killed too late to prove anything: {during}"

        while time.monotonic() - down_at < OUTAGE_SECONDS:
            assert port_closed(port)
            assert dispatcher.alive, dispatcher.text()[-3000:]
            counts = deployment.statuses()
            # A transient outage fails nothing: no message may end failed, rejected or expired.
            assert set(counts) <= {"queued", "submitting", "sent", "delivered"}, counts
            time.sleep(1.0)
        waiting = deployment.statuses()
        assert waiting["queued"] > 0 and waiting["submitting"] == 0, waiting

        assert smsc.start() == port
        wait_until(lambda: deployment.final(TOTAL), 120, "every message final after the SMSC came back")
    finally:
        assert dispatcher.stop() == 0, dispatcher.text()[-3000:]
        smsc.stop()

    messages = deployment.messages()
    assert {m.status for m in messages} == {"delivered"}
    assert all(m.status in FINAL_STATUSES for m in messages)
    accepted = smsc.accepted()
    assert sorted(accepted) == sorted("98" + n[1:] for n in campaign.recipients)  # every one reached it
    twice = {d for d, n in accepted.items() if n > 1}
    flagged = {m.recipient[1:] for m in messages if m.maybe_duplicate}
    # Only submits in flight when the SMSC died may have gone twice, and each of those is flagged.
    assert len(flagged) <= SMPP_WINDOW, len(flagged)
    assert twice <= flagged, twice - flagged
    assert max(accepted.values()) <= 2
    # The restarted SMSC re-sent every receipt it had; those for messages already delivered changed
    # nothing (check_books: each message charged once, none refunded).
    assert smsc.stats()["replayed"] >= TOTAL // 4
    check_books(deployment)
    ledger_verify_command(deployment)
