"""Racing sends, releases, purchases and grants never take a balance below zero.

Each thread has its own transaction, as separate requests and dispatcher processes would. The
suite runs this on SQLite by default and on PostgreSQL when PAYAMAK_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from payamak.billing import checkout
from payamak.billing import service as billing
from payamak.billing.gateways import SandboxGateway, sandbox_decide
from payamak.context import Context
from payamak.errors import DomainError

THREADS = 24


def run_together(jobs: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_racing_holds_grants_and_releases_never_overdraw(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    give(user.id, 10_000)
    with ctx.db.transaction() as session:  # an earlier send with credit still held
        billing.hold(session, account_id=user.id, amount=4_000, ref_type="send", ref_id=1, description="")
    held_ok: list[int] = []
    lock = threading.Lock()

    def send(ref_id: int) -> Callable[[], None]:
        def job() -> None:
            with ctx.db.transaction() as session:
                billing.hold(
                    session, account_id=user.id, amount=1_000, ref_type="send", ref_id=ref_id, description=""
                )
            with lock:
                held_ok.append(ref_id)

        return job

    def top_up() -> None:
        with ctx.db.transaction() as session:
            billing.grant(session, account_id=user.id, amount=1_000, reason="race top-up", actor_id=None)

    def give_back() -> None:
        with ctx.db.transaction() as session:
            billing.release(
                session, account_id=user.id, amount=500, ref_type="send", ref_id=1, reason="failed"
            )

    jobs = [send(100 + i) for i in range(16)] + [top_up] * 4 + [give_back] * 4
    errors = run_together(jobs)
    assert all(isinstance(e, DomainError) and e.code == "insufficient_credit" for e in errors), errors
    # 6,000 spendable + 4,000 granted + 2,000 released = 12,000: at most 12 sends of 1,000 fit.
    assert 6 <= len(held_ok) <= 12 and len(errors) == 16 - len(held_ok)
    with ctx.db.transaction(readonly=True) as session:
        final = billing.balance(session, account_id=user.id)
        report = billing.verify_ledger(session)
    assert final == 12_000 - 1_000 * len(held_ok) >= 0
    assert report.ok, report.lines()


def test_racing_debits_on_many_accounts(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    users = [make_user() for _ in range(3)]
    for user in users:
        give(user.id, 2_500)

    def job(i: int) -> Callable[[], None]:
        def run() -> None:
            user = users[i % len(users)]
            with ctx.db.transaction() as session:
                billing.hold(
                    session, account_id=user.id, amount=1_000, ref_type="send", ref_id=i, description=""
                )
                billing.release(session, account_id=user.id, amount=300, ref_type="send", ref_id=i, reason="")

        return run

    errors = run_together([job(i) for i in range(THREADS)])
    assert all(isinstance(e, DomainError) and e.code == "insufficient_credit" for e in errors), errors
    with ctx.db.transaction(readonly=True) as session:
        balances = [billing.balance(session, account_id=u.id) for u in users]
        report = billing.verify_ledger(session)
    assert all(b >= 0 for b in balances) and report.ok, report.lines()
    # Each success costs 700 net but needs 1,000 free first: 2,500 -> 1,800 -> 1,100 -> 400, then no more.
    assert balances == [400, 400, 400] and len(errors) == THREADS - 9


def test_concurrent_callbacks_credit_once(ctx: Context, make_user, package) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    gateway = SandboxGateway(ctx.db, base_url="http://testserver")
    payment = checkout.start_purchase(
        ctx.db,
        gateway,
        account_id=user.id,
        package_id=package(price=500_000, credit=600_000),
        callback_url="http://x/cb",
    )
    assert payment.authority is not None
    sandbox_decide(ctx.db, authority=payment.authority, pay=True)

    def callback() -> None:
        assert payment.authority is not None
        done = checkout.complete_purchase(ctx.db, gateway, authority=payment.authority, status="OK")
        assert done.state == "paid"

    errors = run_together([callback] * 8)
    assert not errors, errors
    with ctx.db.transaction(readonly=True) as session:
        assert billing.balance(session, account_id=user.id) == 600_000
        assert [e.kind for e in billing.statement_entries(session, account_id=user.id)] == ["purchase"]
