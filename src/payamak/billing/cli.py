"""Billing commands: `payamak admin grant` and `payamak ledger verify`."""

from __future__ import annotations

from typing import Annotated

import typer

ledger_app = typer.Typer(help="The credit ledger.", no_args_is_help=True)


def grant(
    mobile: Annotated[str, typer.Option(help="The account's mobile number, any usual form.")],
    amount: Annotated[str, typer.Option(help="Rials to add; negative to deduct (never below zero).")],
    reason: Annotated[str, typer.Option(help="Why; shown in the account's statement.")] = "",
) -> None:
    """Add credit to an account, or deduct it with a negative amount, with a written reason."""
    from payamak.accounts import service as accounts
    from payamak.billing import service as billing
    from payamak.cli import domain_errors, fail, settings
    from payamak.db import Database

    text = amount.strip().replace(",", "").replace("_", "")
    if not text.lstrip("+-").isdigit():
        raise fail(f"error: amount_invalid: --amount must be a whole number of rials, not {amount!r}")
    conf = settings()
    db = Database(conf.sqlalchemy_url)
    try:
        with domain_errors(), db.transaction() as session:
            account = accounts.account_by_mobile(session, mobile=mobile)
            entry = billing.grant(
                session, account_id=account.id, amount=int(text), reason=reason, actor_id=None
            )
            typer.echo(
                f"{entry.kind} {entry.amount:+,} rials to {account.mobile}; balance {entry.balance_after:,} "
                f"(entry {entry.id})"
            )
    finally:
        db.dispose()


def verify() -> None:
    """Check every account: balance == sum of its entries, no negative running balance, holds
    match their entries. Exits 1 listing every mismatch."""
    from payamak.billing import service as billing
    from payamak.cli import fail, settings
    from payamak.db import Database

    conf = settings()
    db = Database(conf.sqlalchemy_url)
    try:
        with db.transaction(readonly=True) as session:
            report = billing.verify_ledger(session)
    finally:
        db.dispose()
    if not report.ok:
        for line in report.lines():
            typer.echo(line)
        problems = len(report.balances) + len(report.running) + len(report.holds)
        raise fail(f"error: ledger_mismatch: {problems} problem(s) in the ledger")
    typer.echo(f"ok: {report.accounts} accounts, {report.entries} entries; balances equal their ledgers")


ledger_app.command("verify")(verify)


def install(app: typer.Typer, admin_app: typer.Typer) -> None:
    admin_app.command("grant")(grant)
    app.add_typer(ledger_app, name="ledger")
