"""Drill: the API process is killed (SIGKILL) in the middle of a campaign.

Integrators fire sends (each with an Idempotency-Key) and phonebook imports at `payamak serve`
over HTTP, concurrently; the process is killed while requests are in flight and imports run.
Then it is started again and every request whose answer was lost is sent again, as a careful
client does. No send exists twice, every accepted send has all its messages and exactly its cost
held, each import landed whole or not at all, and once a dispatcher has sent everything the books
add up to the rial.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from payamak.phonebook.models import GroupNumber
from payamak.sending.models import Message, Send

from .conftest import (
    Account,
    Deployment,
    Process,
    Server,
    check_books,
    ledger_verify_command,
    numbers,
    payamak,
    wait_until,
)

ACCOUNTS = 4
SENDS = 40  # per account
RECIPIENTS = 20
IMPORTS = 2  # per account
IMPORTED = 20_000  # numbers per import
KILL_AFTER = 50  # answers received before the kill


@dataclass
class Call:
    account: Account
    path: str
    body: dict[str, Any]
    key: str | None = None
    group: int | None = None
    status: int | None = None
    answer: dict[str, Any] | None = None

    def run(self, client: httpx.Client) -> bool:
        """True if an answer came back (any answer: a 4xx or 5xx is an answer too)."""
        headers = dict(self.account.headers)
        if self.key:
            headers["Idempotency-Key"] = self.key
        try:
            response = client.post(self.path, json=self.body, headers=headers)
        except httpx.TransportError:
            return False
        self.status, self.answer = response.status_code, response.json()
        return True


def group_sizes(deployment: Deployment, groups: list[int]) -> dict[int, int]:
    with deployment.db.transaction(readonly=True) as session:
        rows = session.execute(
            sa.select(GroupNumber.group_id, sa.func.count())
            .where(GroupNumber.group_id.in_(groups))
            .group_by(GroupNumber.group_id)
        )
        found = {group: int(n) for group, n in rows}
    return {group: found.get(group, 0) for group in groups}


def test_api_killed_mid_campaign(deployment: Deployment, tmp_path: Path) -> None:
    line = deployment.line()
    shops = [deployment.account(10**9) for _ in range(ACCOUNTS)]
    server = Server(deployment.env(), tmp_path / "serve-1.log").start()
    imports: list[Call] = []
    sends: list[Call] = []
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60.0) as client:
        for a, shop in enumerate(shops):
            for i in range(IMPORTS):
                group = client.post("/groups", json={"name": f"گروه {i}"}, headers=shop.headers).json()["id"]
                text = "\n".join(numbers(IMPORTED, start=(a * IMPORTS + i) * IMPORTED, prefix="0935"))
                imports.append(Call(shop, f"/groups/{group}/imports", {"text": text}, group=group))
            for n in range(SENDS):
                body = {
                    "kind": "advertising",
                    "text": "حراج پاییزه",
                    "line": line,
                    "recipients": numbers(RECIPIENTS, start=((a * SENDS) + n) * RECIPIENTS),
                }
                sends.append(Call(shop, "/sends", body, key=f"campaign-{a}-{n}"))
    groups = [call.group for call in imports if call.group is not None]

    # Imports first, so they are running when the process dies; then the sends, 32 at a time.
    answered = 0
    lock = threading.Lock()
    killed = threading.Event()

    def fire(call: Call, client: httpx.Client) -> None:
        nonlocal answered
        if call.run(client) and call.path == "/sends":
            with lock:
                answered += 1
                if answered == KILL_AFTER:
                    server.kill()
                    killed.set()

    with (
        httpx.Client(
            base_url=f"{server.url}/api/v1", timeout=60.0, limits=httpx.Limits(max_connections=32)
        ) as client,
        ThreadPoolExecutor(32) as pool,
    ):
        list(pool.map(lambda call: fire(call, client), [*imports, *sends]))
    assert killed.is_set()
    lost = [call for call in sends if call.status is None]
    assert lost, "killed too late to prove anything"
    assert all(call.status == 201 for call in sends if call.status is not None), [
        call.answer for call in sends if call.status not in (None, 201)
    ]

    # Dead: each import's one saving transaction committed whole, or not at all.
    for group, size in group_sizes(deployment, groups).items():
        assert size in (0, IMPORTED), (group, size)

    server = Server(deployment.env(), tmp_path / "serve-2.log").start()
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60.0) as client:
            # A careful client sends again every send it has no answer to, with the same key; and
            # sending again one that was answered must give the same send, not a second one.
            first_ids = {call.key: call.answer["id"] for call in sends if call.answer is not None}
            with ThreadPoolExecutor(8) as pool:
                assert all(pool.map(lambda call: call.run(client), sends))
            for call in sends:
                assert call.status == 201 and call.answer is not None, call.answer
                if call.key in first_ids:
                    assert call.answer["id"] == first_ids[call.key]
            # Imports not known to be done are run again (numbers already in a group are skipped).
            for call in imports:
                job = call.answer
                if job is not None:
                    job = client.get(f"/imports/{job['id']}", headers=call.account.headers).json()
                    if job["status"] == "running":  # its process died: nothing of it was saved
                        assert group_sizes(deployment, [job["group_id"]])[job["group_id"]] == 0
                if job is None or job["status"] != "done":
                    assert call.run(client) and call.status == 202, call.answer
                    assert call.answer is not None
                    import_id = call.answer["id"]
                    wait_until(
                        lambda import_id=import_id, call=call: (
                            client.get(f"/imports/{import_id}", headers=call.account.headers).json()["status"]
                            == "done"
                        ),
                        60,
                        "the import run again",
                    )
    finally:
        server.stop()

    assert group_sizes(deployment, groups) == dict.fromkeys(groups, IMPORTED)
    with deployment.db.transaction(readonly=True) as session:
        keys = Counter(session.scalars(sa.select(Send.idempotency_key)))
        per_send = Counter(session.scalars(sa.select(Message.send_id)))
        recipients = {s.id: s.recipients for s in session.scalars(sa.select(Send))}
    assert keys == Counter({call.key: 1 for call in sends})  # no send exists twice
    assert all(per_send[send_id] == n == RECIPIENTS for send_id, n in recipients.items())  # none partial
    check_books(deployment, all_final=False)  # holds are the sends' costs; balances match
    ledger_verify_command(deployment)

    # Send it all (to the built-in simulated SMSC): every message delivered, each paid for once.
    env = deployment.env(
        PAYAMAK_DISPATCH_HEARTBEAT_SECONDS="0.5", PAYAMAK_DISPATCH_HOUSEKEEPING_SECONDS="0.2"
    )
    dispatcher = Process(payamak("dispatcher"), env=env, log=tmp_path / "dispatcher.log").start()
    try:
        total = ACCOUNTS * SENDS * RECIPIENTS
        wait_until(lambda: deployment.final(total), 120, "every message final", state=deployment.statuses)
    finally:
        assert dispatcher.stop() == 0, dispatcher.text()[-3000:]
    assert deployment.statuses() == {"delivered": total}
    check_books(deployment)
