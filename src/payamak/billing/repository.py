"""All SQL of the billing domain. Queries of a user's data take the account id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from payamak.accounts.models import Account
from payamak.billing.models import (
    BillingConfig,
    CreditHold,
    LedgerEntry,
    Package,
    Payment,
    SandboxPayment,
    Tariff,
)

_accounts = cast(sa.Table, Account.__table__)
_holds = cast(sa.Table, CreditHold.__table__)


def add(
    session: Session, obj: Tariff | Package | Payment | SandboxPayment | LedgerEntry | CreditHold
) -> None:
    session.add(obj)
    session.flush()


# --- balance ----------------------------------------------------------------------------------


def change_balance(session: Session, *, account_id: int, delta: int) -> int | None:
    """Add `delta` to the cached balance unless that would take it below zero.

    One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the check
    and the change one step, so racing debits can never both pass. Returns the new balance, or
    None when nothing changed (no such account, or not enough credit).
    """
    stmt = (
        sa.update(_accounts)
        .where(_accounts.c.id == account_id, _accounts.c.balance + delta >= 0)
        .values(balance=_accounts.c.balance + delta)
        .returning(_accounts.c.balance)
    )
    balance: int | None = session.execute(stmt).scalar_one_or_none()
    if balance is not None:
        # An Account already loaded in this session would otherwise show the old balance.
        loaded = session.identity_map.get(identity_key(Account, account_id))
        if loaded is not None:
            set_committed_value(loaded, "balance", balance)
    return balance


def balance_of(session: Session, account_id: int) -> int | None:
    value: int | None = session.execute(
        sa.select(_accounts.c.balance).where(_accounts.c.id == account_id)
    ).scalar_one_or_none()
    return value


# --- holds ------------------------------------------------------------------------------------


def hold_for(session: Session, *, account_id: int, ref_type: str, ref_id: int) -> CreditHold | None:
    stmt = sa.select(CreditHold).where(
        CreditHold.account_id == account_id, CreditHold.ref_type == ref_type, CreditHold.ref_id == ref_id
    )
    return session.scalars(stmt).one_or_none()


def holds_for(session: Session, *, account_id: int, ref_type: str, ref_ids: Sequence[int]) -> Sequence[CreditHold]:
    if not ref_ids:
        return []
    stmt = sa.select(CreditHold).where(
        CreditHold.account_id == account_id, CreditHold.ref_type == ref_type, CreditHold.ref_id.in_(ref_ids)
    )
    return session.scalars(stmt).all()


def change_hold(
    session: Session,
    *,
    account_id: int,
    ref_type: str,
    ref_id: int,
    now: dt.datetime,
    add: int = 0,
    release: int = 0,
    settle: int = 0,
    refund: int = 0,
) -> bool:
    """Move amounts of one hold in a single conditional UPDATE; False if it would overdraw it."""
    h = _holds.c
    stmt = (
        sa.update(_holds)
        .where(
            h.account_id == account_id,
            h.ref_type == ref_type,
            h.ref_id == ref_id,
            h.amount + add - h.released - release - h.settled - settle >= 0,
            h.settled + settle - h.refunded - refund >= 0,
        )
        .values(
            amount=h.amount + add,
            released=h.released + release,
            settled=h.settled + settle,
            refunded=h.refunded + refund,
            updated_at=now,
        )
        .returning(h.id)
    )
    hold_id = session.execute(stmt).scalar_one_or_none()
    if hold_id is None:
        return False
    loaded = session.identity_map.get(identity_key(CreditHold, hold_id))
    if loaded is not None:
        session.expire(loaded)
    return True


# --- ledger -----------------------------------------------------------------------------------


def entries(
    session: Session,
    *,
    account_id: int,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    offset: int,
) -> Sequence[LedgerEntry]:
    stmt = (
        _entries_query(account_id, since, until).order_by(LedgerEntry.id.desc()).limit(limit).offset(offset)
    )
    return session.scalars(stmt).all()


def count_entries(
    session: Session, *, account_id: int, since: dt.datetime | None, until: dt.datetime | None
) -> int:
    stmt = _entries_query(account_id, since, until).with_only_columns(sa.func.count()).order_by(None)
    return int(session.execute(stmt).scalar_one())


def iter_entries(
    session: Session, *, account_id: int, since: dt.datetime | None, until: dt.datetime | None
) -> Iterator[LedgerEntry]:
    """Newest first, fetched in chunks so an export of a long history stays small in memory."""
    stmt = (
        _entries_query(account_id, since, until)
        .order_by(LedgerEntry.id.desc())
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(stmt)


def _entries_query(
    account_id: int, since: dt.datetime | None, until: dt.datetime | None
) -> sa.Select[LedgerEntry]:
    stmt = sa.select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if since is not None:
        stmt = stmt.where(LedgerEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(LedgerEntry.created_at < until)
    return stmt


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    account_id: int
    mobile: str
    balance: int
    ledger_sum: int


@dataclass(frozen=True, slots=True)
class RunningMismatch:
    account_id: int
    entry_id: int
    balance_after: int
    running: int


@dataclass(frozen=True, slots=True)
class HoldMismatch:
    account_id: int
    ref_type: str
    ref_id: int
    held: int
    ledger_held: int


def balance_mismatches(session: Session) -> list[BalanceMismatch]:
    """Accounts whose cached balance is not the sum of their ledger entries."""
    sums = (
        sa.select(LedgerEntry.account_id, sa.func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    total = sa.func.coalesce(sums.c.total, 0)
    stmt = (
        sa.select(_accounts.c.id, _accounts.c.mobile, _accounts.c.balance, total)
        .select_from(_accounts.outerjoin(sums, sums.c.account_id == _accounts.c.id))
        .where(_accounts.c.balance != total)
        .order_by(_accounts.c.id)
    )
    return [BalanceMismatch(int(a), m, int(b), int(t)) for a, m, b, t in session.execute(stmt)]


def running_mismatches(session: Session, *, limit: int = 1000) -> list[RunningMismatch]:
    """Entries whose balance_after is not the running sum up to them, or where that sum is negative."""
    running = (
        sa.func.sum(LedgerEntry.amount)
        .over(partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id)
        .label("running")
    )
    inner = sa.select(LedgerEntry.account_id, LedgerEntry.id, LedgerEntry.balance_after, running).subquery()
    stmt = (
        sa.select(inner.c.account_id, inner.c.id, inner.c.balance_after, inner.c.running)
        .where(sa.or_(inner.c.running != inner.c.balance_after, inner.c.running < 0))
        .order_by(inner.c.account_id, inner.c.id)
        .limit(limit)
    )
    return [RunningMismatch(int(a), int(i), int(b), int(r)) for a, i, b, r in session.execute(stmt)]


def hold_mismatches(session: Session) -> list[HoldMismatch]:
    """Holds whose outstanding amount differs from the sum of `held` over their entries."""
    h = _holds.c
    sums = (
        sa.select(
            LedgerEntry.account_id,
            LedgerEntry.ref_type,
            LedgerEntry.ref_id,
            sa.func.sum(LedgerEntry.held).label("held"),
        )
        .where(LedgerEntry.held != 0)
        .group_by(LedgerEntry.account_id, LedgerEntry.ref_type, LedgerEntry.ref_id)
        .subquery()
    )
    outstanding = h.amount - h.released - h.settled
    ledger_held = sa.func.coalesce(sums.c.held, 0)
    joined = _holds.outerjoin(
        sums,
        sa.and_(sums.c.account_id == h.account_id, sums.c.ref_type == h.ref_type, sums.c.ref_id == h.ref_id),
    )
    stmt = (
        sa.select(h.account_id, h.ref_type, h.ref_id, outstanding, ledger_held)
        .select_from(joined)
        .where(outstanding != ledger_held)
        .order_by(h.account_id, h.id)
    )
    return [HoldMismatch(int(a), t, int(r), int(o), int(lh)) for a, t, r, o, lh in session.execute(stmt)]


def ledger_counts(session: Session) -> tuple[int, int]:
    accounts = int(session.execute(sa.select(sa.func.count()).select_from(_accounts)).scalar_one())
    entries_ = int(session.execute(sa.select(sa.func.count()).select_from(LedgerEntry)).scalar_one())
    return accounts, entries_


# --- tariffs and settings -----------------------------------------------------------------------


def all_tariffs(session: Session) -> Sequence[Tariff]:
    stmt = sa.select(Tariff).order_by(
        Tariff.kind, Tariff.encoding, Tariff.operator, Tariff.line_prefix, Tariff.id
    )
    return session.scalars(stmt).all()


def tariff_by_key(
    session: Session, *, kind: str, encoding: str, operator: str, line_prefix: str
) -> Tariff | None:
    stmt = sa.select(Tariff).where(
        Tariff.kind == kind,
        Tariff.encoding == encoding,
        Tariff.operator == operator,
        Tariff.line_prefix == line_prefix,
    )
    return session.scalars(stmt).one_or_none()


def tariff_by_id(session: Session, tariff_id: int) -> Tariff | None:
    return session.get(Tariff, tariff_id)


def delete_tariff(session: Session, tariff: Tariff) -> None:
    session.delete(tariff)
    session.flush()


def config(session: Session) -> BillingConfig | None:
    return session.get(BillingConfig, 1)


# --- packages ---------------------------------------------------------------------------------


def packages(session: Session, *, active_only: bool) -> Sequence[Package]:
    stmt = sa.select(Package).order_by(Package.price, Package.id)
    if active_only:
        stmt = stmt.where(Package.active.is_(True))
    return session.scalars(stmt).all()


def package_by_id(session: Session, package_id: int) -> Package | None:
    return session.get(Package, package_id)


# --- payments ---------------------------------------------------------------------------------


def payment_by_authority(session: Session, authority: str) -> Payment | None:
    return session.scalars(sa.select(Payment).where(Payment.authority == authority)).one_or_none()


def payment_of(session: Session, *, account_id: int, payment_id: int) -> Payment | None:
    stmt = sa.select(Payment).where(Payment.id == payment_id, Payment.account_id == account_id)
    return session.scalars(stmt).one_or_none()


def payment_by_id(session: Session, payment_id: int) -> Payment | None:
    return session.get(Payment, payment_id)


def payments_of(session: Session, *, account_id: int, limit: int, offset: int) -> Sequence[Payment]:
    stmt = (
        sa.select(Payment)
        .where(Payment.account_id == account_id)
        .order_by(Payment.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return session.scalars(stmt).all()


def move_payment(
    session: Session, *, payment_id: int, from_states: Sequence[str], to_state: str, **values: object
) -> bool:
    """Change a payment's state only if it is still in one of `from_states`.

    The WHERE on the state is the guard that makes two concurrent callbacks credit once: only
    one UPDATE can see the payment still unpaid.
    """
    stmt = (
        sa.update(Payment)
        .where(Payment.id == payment_id, Payment.state.in_(from_states))
        .values(state=to_state, **values)
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    loaded = session.identity_map.get(identity_key(Payment, payment_id))
    if changed and loaded is not None:
        session.expire(loaded)
    return bool(changed)


# --- the sandbox gateway's own book -------------------------------------------------------------


def sandbox_payment(session: Session, authority: str) -> SandboxPayment | None:
    return session.get(SandboxPayment, authority)


def decide_sandbox(
    session: Session, *, authority: str, state: str, ref_id: str | None, now: dt.datetime
) -> bool:
    stmt = (
        sa.update(SandboxPayment)
        .where(SandboxPayment.authority == authority, SandboxPayment.state == "created")
        .values(state=state, ref_id=ref_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def mark_sandbox_verified(session: Session, *, authority: str, now: dt.datetime) -> bool:
    """True for the first verification of a paid sandbox payment only."""
    stmt = (
        sa.update(SandboxPayment)
        .where(
            SandboxPayment.authority == authority,
            SandboxPayment.state == "paid",
            SandboxPayment.verified_at.is_(None),
        )
        .values(verified_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
