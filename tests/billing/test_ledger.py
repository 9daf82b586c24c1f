"""The ledger: holds, releases, settling and refunds; the balance is always the sum of entries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from payamak.billing import service as billing
from payamak.billing.models import CreditHold, LedgerEntry
from payamak.cli import app as cli_app
from payamak.context import Context
from payamak.errors import Conflict, DomainError, NotFound, ValidationFailed


def balance(ctx: Context, account_id: int) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return billing.balance(session, account_id=account_id)


def entries(ctx: Context, account_id: int) -> list[LedgerEntry]:
    with ctx.db.transaction(readonly=True) as session:
        return list(billing.statement_entries(session, account_id=account_id))[::-1]


def report_ok(ctx: Context) -> bool:
    with ctx.db.transaction(readonly=True) as session:
        report = billing.verify_ledger(session)
    return report.ok


def test_hold_release_settle_refund(ctx: Context, make_user, give: Callable[[int, int], None]) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    give(user.id, 100_000)
    with ctx.db.transaction() as session:
        billing.hold(
            session, account_id=user.id, amount=30_000, ref_type="send", ref_id=40, description="ارسال ۴۰"
        )
    assert balance(ctx, user.id) == 70_000
    with ctx.db.transaction() as session:
        billing.release(
            session, account_id=user.id, amount=5_000, ref_type="send", ref_id=40, reason="rejected"
        )
        billing.release(
            session, account_id=user.id, amount=1_000, ref_type="send", ref_id=40, reason="failed"
        )
    assert balance(ctx, user.id) == 76_000
    with ctx.db.transaction() as session:
        settled = billing.settle(session, account_id=user.id, ref_type="send", ref_id=40)
        assert settled is not None and settled.amount == 0 and settled.held == -24_000
        # Nothing is held any more, so a release is refused; a refund of spent credit is not.
        with pytest.raises(Conflict) as over:
            billing.release(session, account_id=user.id, amount=1, ref_type="send", ref_id=40, reason="late")
        assert over.value.code == "release_exceeds_hold" and over.value.extra["held"] == 0
        billing.refund(
            session, account_id=user.id, amount=2_000, ref_type="send", ref_id=40, reason="late reject"
        )
    assert balance(ctx, user.id) == 78_000
    kinds = [(e.kind, e.amount, e.held, e.balance_after) for e in entries(ctx, user.id)]
    assert kinds == [
        ("grant", 100_000, 0, 100_000),
        ("hold", -30_000, 30_000, 70_000),
        ("release", 5_000, -5_000, 75_000),
        ("release", 1_000, -1_000, 76_000),
        ("settle", 0, -24_000, 76_000),
        ("refund", 2_000, 0, 78_000),
    ]
    assert all(e.ref_type == "send" and e.ref_id == 40 for e in entries(ctx, user.id)[1:])
    with ctx.db.transaction() as session:
        with pytest.raises(Conflict) as too_much:
            billing.refund(session, account_id=user.id, amount=22_001, ref_type="send", ref_id=40, reason="x")
        assert too_much.value.code == "refund_exceeds_settled" and too_much.value.extra["held"] == 22_000
    assert report_ok(ctx)


def test_short_balance_is_refused_with_needed_and_balance(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    give(user.id, 10_000)
    with ctx.db.transaction() as session, pytest.raises(DomainError) as short:
        billing.hold(session, account_id=user.id, amount=10_001, ref_type="send", ref_id=1, description="")
    assert short.value.code == "insufficient_credit"
    assert short.value.extra == {"needed": 10_001, "balance": 10_000, "shortfall": 1}
    assert balance(ctx, user.id) == 10_000 and len(entries(ctx, user.id)) == 1
    with ctx.db.transaction() as session:
        assert (
            billing.hold(
                session, account_id=user.id, amount=10_000, ref_type="send", ref_id=1, description=""
            )
            is not None
        )
    assert balance(ctx, user.id) == 0


def test_holding_again_adds_to_the_same_hold(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    give(user.id, 10_000)
    with ctx.db.transaction() as session:
        billing.hold(session, account_id=user.id, amount=3_000, ref_type="send", ref_id=7, description="")
        billing.hold(session, account_id=user.id, amount=2_000, ref_type="send", ref_id=7, description="")
        assert (
            billing.hold(session, account_id=user.id, amount=0, ref_type="send", ref_id=7, description="")
            is None
        )
        billing.release(
            session, account_id=user.id, amount=5_000, ref_type="send", ref_id=7, reason="canceled"
        )
        hold = session.scalars(sa.select(CreditHold)).one()
        assert (hold.amount, hold.released, hold.settled) == (5_000, 5_000, 0)
    assert balance(ctx, user.id) == 10_000 and report_ok(ctx)


def test_a_refused_release_changes_nothing_even_if_the_caller_goes_on(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    give(user.id, 10_000)
    with ctx.db.transaction() as session:
        billing.hold(session, account_id=user.id, amount=1_000, ref_type="send", ref_id=3, description="")
    with ctx.db.transaction() as session:
        for wrong in ({"amount": 1_001, "ref_id": 3}, {"amount": 10, "ref_id": 4}):
            with pytest.raises(Conflict):
                billing.release(session, account_id=user.id, ref_type="send", reason="", **wrong)  # type: ignore[arg-type]
        # The caller swallowed the errors and commits: no credit may appear from them.
    assert balance(ctx, user.id) == 9_000 and report_ok(ctx)


def test_release_batch_sums_per_reference(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    a, b = make_user(), make_user()
    give(a.id, 5_000)
    give(b.id, 5_000)
    with ctx.db.transaction() as session:
        billing.hold(session, account_id=a.id, amount=4_000, ref_type="send", ref_id=1, description="")
        billing.hold(session, account_id=b.id, amount=4_000, ref_type="send", ref_id=2, description="")
    releases = [
        billing.Release(b.id, "send", 2, 500),
        billing.Release(a.id, "send", 1, 100),
        billing.Release(b.id, "send", 2, 700),
        billing.Release(a.id, "send", 1, 0),
    ]
    with ctx.db.transaction() as session:
        done = billing.release_batch(session, releases=releases, reason="batch 9: failed before submit")
    assert [(e.account_id, e.amount) for e in done] == sorted([(a.id, 100), (b.id, 1_200)])
    assert balance(ctx, a.id) == 1_100 and balance(ctx, b.id) == 2_200 and report_ok(ctx)


@pytest.mark.parametrize("amount", [-1, 1.5, True])
def test_amounts_must_be_whole_non_negative_rials(ctx: Context, make_user, amount: object) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    with ctx.db.transaction() as session, pytest.raises(ValidationFailed) as bad:
        billing.hold(session, account_id=user.id, amount=amount, ref_type="send", ref_id=1, description="")  # type: ignore[arg-type]
    assert bad.value.code == "amount_invalid" and bad.value.extra["field"] == "amount"


def test_unknown_account(ctx: Context) -> None:
    with ctx.db.transaction() as session, pytest.raises(NotFound):
        billing.hold(session, account_id=999_999, amount=1, ref_type="send", ref_id=1, description="")


def test_the_orm_account_in_the_session_sees_the_new_balance(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    from payamak.accounts.models import Account

    user = make_user()
    give(user.id, 1_000)
    with ctx.db.transaction() as session:
        account = session.get(Account, user.id)
        assert account is not None and account.balance == 1_000
        billing.hold(session, account_id=user.id, amount=400, ref_type="send", ref_id=1, description="")
        assert account.balance == 600


# --- ledger verify ---------------------------------------------------------------------------


def run_cli(ctx: Context, *args: str) -> tuple[int, str]:
    env = {"PAYAMAK_DATABASE_URL": ctx.db.url, "PAYAMAK_DATA_DIR": str(ctx.settings.data_dir)}
    result = CliRunner().invoke(cli_app, list(args), env=env)
    return result.exit_code, result.output


def test_ledger_verify_passes_then_finds_tampering(ctx: Context, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user, other = make_user(), make_user()
    give(user.id, 5_000)
    give(other.id, 7_000)
    with ctx.db.transaction() as session:
        billing.hold(session, account_id=user.id, amount=1_000, ref_type="send", ref_id=1, description="")
    code, out = run_cli(ctx, "ledger", "verify")
    assert code == 0 and "ok: 2 accounts, 3 entries" in out, out

    with ctx.db.engine.begin() as conn:  # someone edits the cached balance behind the ledger's back
        conn.execute(sa.text("UPDATE accounts SET balance = balance + 500 WHERE id = :id"), {"id": other.id})
    code, out = run_cli(ctx, "ledger", "verify")
    assert code == 1
    assert f"account {other.id} ({other.mobile}): balance 7500 but entries sum to 7000" in out
    assert "ledger_mismatch" in out and f"account {user.id}" not in out

    with ctx.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET balance = 7000 WHERE id = :id"), {"id": other.id})
        conn.execute(sa.text("UPDATE credit_holds SET released = 100"))
        conn.execute(
            sa.text("UPDATE ledger_entries SET balance_after = 1 WHERE account_id = :id AND kind = 'grant'"),
            {"id": user.id},
        )
    with ctx.db.transaction(readonly=True) as session:
        report = billing.verify_ledger(session)
    assert not report.balances
    assert [(m.account_id, m.balance_after, m.running) for m in report.running] == [(user.id, 1, 5_000)]
    assert [(m.ref_id, m.held, m.ledger_held) for m in report.holds] == [(1, 900, 1_000)]


def test_ledger_verify_finds_a_negative_running_balance(ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    with ctx.db.engine.begin() as conn:  # entries written around the service, in the wrong order
        for amount, after in ((-100, 0), (100, 0)):
            conn.execute(
                sa.text(
                    "INSERT INTO ledger_entries (account_id, kind, amount, held, balance_after, ref_type, "
                    "description, created_at) VALUES (:a, 'adjustment', :m, 0, :b, 'operator', '', :t)"
                ),
                {"a": user.id, "m": amount, "b": after, "t": "2025-01-01 00:00:00"},
            )
    with ctx.db.transaction(readonly=True) as session:
        report = billing.verify_ledger(session)
    assert [(m.running, m.balance_after) for m in report.running] == [(-100, 0)]
    assert "(negative)" in report.lines()[0]


# --- admin grants ----------------------------------------------------------------------------


def test_cli_grant_and_deduct(ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("09121112233")
    code, out = run_cli(
        ctx, "admin", "grant", "--mobile", "۰۹۱۲۱۱۱۲۲۳۳", "--amount", "50000", "--reason", "هدیهٔ افتتاح"
    )
    assert code == 0 and "balance 50,000" in out, out
    code, out = run_cli(
        ctx, "admin", "grant", "--mobile", "09121112233", "--amount", "-20000", "--reason", "اصلاح"
    )
    assert code == 0 and "adjustment -20,000" in out
    code, out = run_cli(
        ctx, "admin", "grant", "--mobile", "09121112233", "--amount", "-30001", "--reason", "too much"
    )
    assert code == 1 and "insufficient_credit" in out
    code, out = run_cli(ctx, "admin", "grant", "--mobile", "09121112233", "--amount", "100")
    assert code == 1 and "reason_required" in out
    code, out = run_cli(
        ctx, "admin", "grant", "--mobile", "09121112233", "--amount", "10.5", "--reason", "half"
    )
    assert code == 1 and "amount_invalid" in out
    code, out = run_cli(
        ctx, "admin", "grant", "--mobile", "09350000000", "--amount", "10", "--reason", "nobody"
    )
    assert code == 1 and "account_not_found" in out
    assert balance(ctx, user.id) == 30_000
    grant, adjustment = entries(ctx, user.id)
    assert (grant.kind, grant.ref_type, grant.ref_id, grant.description) == (
        "grant",
        "operator",
        None,
        "هدیهٔ افتتاح",
    )
    assert (adjustment.kind, adjustment.amount) == ("adjustment", -20_000)
