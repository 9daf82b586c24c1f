"""Drill: 20 accounts send at once, each with exactly enough credit for some of its sends.

Every account fires more concurrent sends over HTTP than its credit pays for. Exactly the
affordable ones are accepted, every other one gets 402 `insufficient_credit`, no balance ever goes
below zero, and the books add up.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from .conftest import Account, Deployment, Server, check_books, ledger_verify_command, numbers

ACCOUNTS = 20
AFFORDABLE = 3  # sends each account's credit pays for, to the rial
FIRED = 6  # sends each account fires at once
RECIPIENTS = 25


def test_twenty_accounts_racing_for_the_last_rial(deployment: Deployment, tmp_path: Path) -> None:
    line = deployment.line()
    server = Server(deployment.env(), tmp_path / "serve.log").start()
    try:
        probe = deployment.account(0)
        preview = httpx.post(
            f"{server.url}/api/v1/sends/preview",
            json={
                "kind": "advertising",
                "text": "حراج پاییزه",
                "recipients": numbers(RECIPIENTS),
                "line": line,
            },
            headers=probe.headers,
        )
        assert preview.status_code == 200, preview.text
        cost = preview.json()["cost"]
        assert cost > 0
        racers = [deployment.account(AFFORDABLE * cost) for _ in range(ACCOUNTS)]

        jobs = [
            (account, numbers(RECIPIENTS, start=(a * FIRED + n) * RECIPIENTS))
            for a, account in enumerate(racers)
            for n in range(FIRED)
        ]
        start = threading.Barrier(len(jobs))
        client = httpx.Client(
            base_url=server.url, timeout=120.0, limits=httpx.Limits(max_connections=len(jobs))
        )

        def fire(job: tuple[Account, list[str]]) -> tuple[int, int, dict[str, object]]:
            account, recipients = job
            body = {"kind": "advertising", "text": "حراج پاییزه", "recipients": recipients, "line": line}
            start.wait()
            response = client.post("/api/v1/sends", json=body, headers=account.headers)
            return account.id, response.status_code, response.json()

        with client, ThreadPoolExecutor(len(jobs)) as pool:
            answers = list(pool.map(fire, jobs))
    finally:
        server.stop()

    for racer in racers:
        mine = [(status, body) for account_id, status, body in answers if account_id == racer.id]
        accepted = [body for status, body in mine if status == 201]
        refused = [body for status, body in mine if status != 201]
        assert len(accepted) == AFFORDABLE, mine
        assert len(refused) == FIRED - AFFORDABLE
        for body in refused:
            assert body["error"] == "insufficient_credit", body
            assert body["needed"] == cost and 0 <= body["balance"] < cost
            assert "موجودی کافی نیست" in str(body["detail"])  # Persian by default
        assert all(body["cost"] == cost for body in accepted)
        assert deployment.balance(racer.id) == 0
    # Nothing was sent yet: every message waits, paid for by its hold.
    assert deployment.statuses() == {"queued": ACCOUNTS * AFFORDABLE * RECIPIENTS}
    check_books(deployment, all_final=False)
    ledger_verify_command(deployment)
