"""Drill: PostgreSQL restarts twice while a dispatcher sends (a fast restart, then a crash-like one).

A cluster of the drill's own (never the machine's shared one) is restarted with `pg_ctl restart
-m fast` and then `-m immediate` (no checkpoint: crash recovery) while a `payamak dispatcher`
process sends through an SMSC process. The dispatcher is not restarted: it keeps what it could not
write and writes it once the database answers again. Every message ends delivered, none is
charged twice, and none reaches the SMSC twice (the dispatcher itself never died).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from payamak.db import utcnow
from payamak.dispatch import service as dispatch
from payamak.dispatch.state import RetryPolicy
from payamak.providers.base import SubmitResult
from payamak.providers.smpp import Receipt

from .conftest import (
    Deployment,
    PrivateCluster,
    Smsc,
    check_books,
    ledger_verify_command,
    numbers,
    own_deployment,
    wait_until,
)

TOTAL = 4000


def test_postgres_restarted_mid_send(private_postgres: PrivateCluster, tmp_path: Path) -> None:
    smsc = Smsc(tmp_path, receipt_delay=0.2)
    with own_deployment(private_postgres.url(), tmp_path / "data") as deployment:
        try:
            campaign = deployment.campaign(smsc.start(), TOTAL, prefix="0935")
            dispatcher = deployment.dispatcher(tmp_path / "dispatcher.log").start()
            try:
                for share, mode in ((4, "fast"), (2, "immediate")):
                    wait_until(
                        lambda share=share: deployment.statuses()["delivered"] >= TOTAL // share,
                        90,
                        f"1/{share} of the messages delivered",
                    )
                    private_postgres.restart(mode)
                    assert dispatcher.alive, dispatcher.text()[-3000:]
                    assert not deployment.final(TOTAL), "restarted too late to prove anything"
                wait_until(
                    lambda: deployment.final(TOTAL),
                    120,
                    "every message final after the restarts",
                    state=deployment.statuses,
                )
                assert dispatcher.alive
            finally:
                assert dispatcher.stop() == 0, dispatcher.text()[-3000:]
        finally:
            smsc.stop()

        messages = deployment.messages()
        assert {m.status for m in messages} == {"delivered"}
        accepted = smsc.accepted()
        assert sorted(accepted) == sorted("98" + n[1:] for n in campaign.recipients)
        # The dispatcher lived through both restarts, so it knew the fate of every submit it made.
        assert set(accepted.values()) == {1}
        assert not any(m.maybe_duplicate for m in messages)
        check_books(deployment)
        ledger_verify_command(deployment)


@pytest.mark.parametrize("outcome", ["delivered", "rejected"])
def test_batch_rewritten_after_an_unknown_commit_keeps_its_receipts(
    deployment: Deployment, outcome: str
) -> None:
    """What the drill above runs into now and then, made certain.

    A connection lost during COMMIT leaves its outcome unknown: the dispatcher keeps the batch and
    writes it again with what came since. If the first commit did happen, the message is already
    `sent` when its result is written again, and a receipt that came meanwhile must still apply."""
    deployment.line()
    shop = deployment.account(10**6)
    deployment.send(shop, numbers(1))
    policy = dispatch.BatchPolicy(retry=RetryPolicy(), route_down_seconds=1, receipt_match_seconds=60)
    index = dispatch.SentIndex()
    waiting: dispatch.Waiting = {}
    now = utcnow()
    with deployment.db.transaction() as session:
        [(row, send)] = dispatch.claim(
            session, now=now, lease_until=now + dt.timedelta(minutes=2), limit=10, known={}
        )
    first = dispatch.Batch(
        results=[(dispatch.Claimed(row, send), SubmitResult(str(row.id), True, provider_id="p1"))]
    )
    # Written and committed, but the dispatcher heard an error: it keeps the batch and its maps as
    # they were, and marks the batch as one whose write may have happened (Dispatcher._flush).
    with deployment.db.transaction() as session:
        dispatch.apply_batch(
            session, batch=first, index=index, policy=policy, waiting=dict(waiting), staged=([], [])
        )
    first.rewritten = True
    receipt = Receipt("p1", outcome, 0, now, "")
    first.extend(
        dispatch.Batch(receipts=[dispatch.PendingReceipt(0, None, receipt, first_seen=time.monotonic())])
    )
    for _ in range(2):  # and if that write's outcome is unknown too, once more: nothing changes twice
        with deployment.db.transaction() as session:
            dispatch.apply_batch(
                session, batch=first, index=index, policy=policy, waiting=waiting, staged=([], [])
            )
    assert [m.status for m in deployment.messages()] == [outcome]
    check_books(deployment)  # a rejected message's price came back once
