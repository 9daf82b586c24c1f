"""Billing: prices, packages, payments and the ledger. Never commits.

Credit moves only through the ledger. Every movement is one conditional UPDATE of the account's
cached balance (`balance = balance + delta WHERE balance + delta >= 0`) followed by one inserted
entry, in the caller's transaction; so the balance always equals the sum of the entries and
never goes below zero, however many sends and purchases race.

How the sending and dispatch domains use it (these signatures are stable):

- Price a send once: `table = price_table(session, kind=..., encoding=..., line=...)`, then
  `table.per_message(operator, parts)` per recipient (O(1)). The preview shows that sum, and the
  send holds exactly that sum, so the price shown is the price paid (VAT included).
- When a send is accepted, in the transaction that writes its messages:
  `hold(session, account_id=a, amount=cost, ref_type="send", ref_id=send.id, description=...)`.
  Not enough credit raises `insufficient_credit` (HTTP 402) with `needed` and `balance`, and the
  whole send is refused.
- Give credit back with `release` (one call per send per dispatcher batch, amounts summed; or
  `release_batch` for many sends at once, which also takes the locks in a deadlock-free order).
- When a send is finished, `settle(...)` turns what is still held into spent. Credit given back
  after that goes through `refund`, which never exceeds what was settled.

Refund rules (applied by sending and dispatch through the calls above):

1. Skipped recipients (blacklisted, opted out, invalid, duplicate) are never charged: they are
   left out of the cost before the hold.
2. Messages that fail before the operator accepts them (submit errors, expiry in our queue, a
   canceled send, messages the operator rejects at submit) are given back automatically:
   `release` while the send's hold is open, `refund` after it is settled.
3. Messages the operator accepted but could not deliver (phone off, undelivered, expired at the
   operator) stay charged, unless the route that carried them is configured to refund them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import jdatetime
from sqlalchemy.orm import Session

from payamak.accounts import repository as accounts_repo
from payamak.billing import repository as repo
from payamak.billing.models import (
    ENCODINGS,
    KINDS,
    OPERATOR_KEYS,
    WILDCARD,
    BillingConfig,
    CreditHold,
    LedgerEntry,
    Package,
    Payment,
    Tariff,
)
from payamak.billing.pricing import DEFAULT_VAT_PERCENT, Rule, default_rules, resolve

# Re-exported: other domains use `billing.PriceTable` and `billing.FOREIGN` through this module.
from payamak.billing.pricing import FOREIGN as FOREIGN
from payamak.billing.pricing import PriceTable as PriceTable
from payamak.db import utcnow
from payamak.errors import Conflict, DomainError, NotFound, ValidationFailed
from payamak.numbers import to_ascii_digits

# --- errors ----------------------------------------------------------------------------------


class InsufficientCredit(DomainError):
    """The balance does not cover a debit. HTTP 402 with `needed`, `balance` and `shortfall`."""

    code = "insufficient_credit"


def insufficient_credit(*, needed: int, balance: int) -> InsufficientCredit:
    return InsufficientCredit(
        f"موجودی کافی نیست: {needed:,} ریال لازم است و موجودی {balance:,} ریال است.",
        f"Not enough credit: {needed:,} rials are needed and the balance is {balance:,} rials.",
        needed=needed,
        balance=balance,
        shortfall=max(0, needed - balance),
    )


def _account_missing() -> NotFound:
    return NotFound("حساب پیدا نشد.", "No such account.", code="account_not_found")


# --- prices ----------------------------------------------------------------------------------


def vat_percent(session: Session) -> int:
    """The VAT rate added to every tariff price (10% until an admin changes it)."""
    row = repo.config(session)
    return row.vat_percent if row is not None else DEFAULT_VAT_PERCENT


def set_vat_percent(session: Session, *, percent: int) -> int:
    if not 0 <= percent <= 100:
        raise ValidationFailed(
            "نرخ مالیات بر ارزش افزوده باید از ۰ تا ۱۰۰ درصد باشد.",
            "The VAT rate must be 0 to 100 percent.",
            code="vat_invalid",
            field="vat_percent",
        )
    row = repo.config(session)
    if row is None:
        session.add(BillingConfig(id=1, vat_percent=percent, updated_at=utcnow()))
        session.flush()
    else:
        row.vat_percent = percent
        row.updated_at = utcnow()
    return percent


def price_table(session: Session, *, kind: str, encoding: str, line: str | None) -> PriceTable:
    """The one pricing function: per-part prices (VAT included) for every operator.

    `kind` is "advertising" or "informational", `encoding` "UCS-2" or "GSM-7" (as
    `payamak.sms.analyse` reports it), `line` the sending line's number or None for a shared
    line. Call it once per send (it reads the small tariffs table), then `per_message` per
    recipient. A personalised send whose texts differ in encoding takes one table per encoding.
    Raises `tariff_missing` (409) if some operator has no price, before anything is charged.
    """
    if kind not in KINDS:
        raise ValidationFailed(
            "نوع پیامک باید تبلیغاتی یا اطلاع‌رسانی باشد.",
            "The kind must be advertising or informational.",
            code="kind_invalid",
            field="kind",
        )
    if encoding not in ENCODINGS:
        raise ValidationFailed(
            "کدگذاری باید UCS-2 یا GSM-7 باشد.",
            "The encoding must be UCS-2 or GSM-7.",
            code="encoding_invalid",
            field="encoding",
        )
    rules: Sequence[Rule] = repo.all_tariffs(session) or default_rules()
    prices, missing = resolve(rules, kind=kind, encoding=encoding, line=line)
    if missing:
        raise Conflict(
            f"برای این پیامک تعرفه‌ای تعریف نشده است ({', '.join(missing)}); به مدیر سامانه خبر دهید.",
            f"No tariff prices this message for: {', '.join(missing)}. Tell the operator.",
            code="tariff_missing",
            operators=missing,
            kind=kind,
            encoding=encoding,
        )
    return PriceTable(kind=kind, encoding=encoding, line=line, vat_percent=vat_percent(session), net=prices)


def tariffs(session: Session) -> tuple[Sequence[Tariff], bool]:
    """The stored rules, and whether the built-in defaults apply because none is stored."""
    rows = repo.all_tariffs(session)
    return rows, not rows


def put_tariff(
    session: Session, *, kind: str, encoding: str, operator: str, line_prefix: str, price: int
) -> Tariff:
    """Add a rule, or change the price of the rule with the same key."""
    if kind not in (*KINDS, WILDCARD) or encoding not in (*ENCODINGS, WILDCARD):
        raise ValidationFailed("کلید تعرفه درست نیست.", "The tariff key is not valid.", code="tariff_invalid")
    if operator not in (*OPERATOR_KEYS, WILDCARD):
        raise ValidationFailed(
            "اپراتور تعرفه شناخته نیست.", "Unknown operator.", code="tariff_invalid", field="operator"
        )
    if line_prefix != WILDCARD and not re.fullmatch(r"[0-9]{1,20}", line_prefix):
        raise ValidationFailed(
            "پیش‌شمارهٔ خط باید رقم یا * باشد.",
            "The line prefix must be digits or *.",
            code="tariff_invalid",
            field="line_prefix",
        )
    if price < 0:
        raise ValidationFailed(
            "قیمت نمی‌تواند منفی باشد.", "The price cannot be negative.", code="price_invalid", field="price"
        )
    if not repo.all_tariffs(session):
        # The first stored rule would otherwise silently switch every other price off the
        # built-in defaults; install them so that only the price asked for changes.
        for rule in default_rules():
            repo.add(
                session,
                Tariff(
                    kind=rule.kind,
                    encoding=rule.encoding,
                    operator=rule.operator,
                    line_prefix=rule.line_prefix,
                    price=rule.price,
                    updated_at=utcnow(),
                ),
            )
    tariff = repo.tariff_by_key(
        session, kind=kind, encoding=encoding, operator=operator, line_prefix=line_prefix
    )
    if tariff is None:
        tariff = Tariff(kind=kind, encoding=encoding, operator=operator, line_prefix=line_prefix, price=price)
        tariff.updated_at = utcnow()
        repo.add(session, tariff)
    else:
        tariff.price = price
        tariff.updated_at = utcnow()
        session.flush()
    return tariff


def delete_tariff(session: Session, *, tariff_id: int) -> None:
    tariff = repo.tariff_by_id(session, tariff_id)
    if tariff is None:
        raise NotFound("این تعرفه پیدا نشد.", "No such tariff.", code="tariff_not_found")
    repo.delete_tariff(session, tariff)


# --- packages --------------------------------------------------------------------------------


def packages(session: Session, *, active_only: bool = True) -> Sequence[Package]:
    return repo.packages(session, active_only=active_only)


def _package_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationFailed(
            "نام بسته باید ۱ تا ۱۰۰ نویسه باشد.",
            "The package name must be 1 to 100 characters.",
            code="name_invalid",
            field="name",
        )
    return name


def _positive(value: int, field: str) -> int:
    if value <= 0:
        raise ValidationFailed(
            "مبلغ باید عددی درست و بیشتر از صفر (به ریال) باشد.",
            f"'{field}' must be a whole number of rials above zero.",
            code="amount_invalid",
            field=field,
        )
    return value


def create_package(
    session: Session, *, name: str, price: int, credit: int, description: str = "", active: bool = True
) -> Package:
    package = Package(
        name=_package_name(name),
        description=description.strip(),
        price=_positive(price, "price"),
        credit=_positive(credit, "credit"),
        active=active,
        created_at=utcnow(),
    )
    repo.add(session, package)
    return package


def update_package(
    session: Session,
    *,
    package_id: int,
    name: str | None = None,
    description: str | None = None,
    price: int | None = None,
    credit: int | None = None,
    active: bool | None = None,
) -> Package:
    """Change a package. Payments already started keep the price and credit they started with."""
    package = repo.package_by_id(session, package_id)
    if package is None:
        raise NotFound("این بسته پیدا نشد.", "No such package.", code="package_not_found")
    if name is not None:
        package.name = _package_name(name)
    if description is not None:
        package.description = description.strip()
    if price is not None:
        package.price = _positive(price, "price")
    if credit is not None:
        package.credit = _positive(credit, "credit")
    if active is not None:
        package.active = active
    session.flush()
    return package


# --- payments --------------------------------------------------------------------------------


def open_payment(session: Session, *, account_id: int, package_id: int, gateway: str) -> Payment:
    """A pending payment for an active package, before the gateway is asked for an authority."""
    package = repo.package_by_id(session, package_id)
    if package is None:
        raise NotFound("این بسته پیدا نشد.", "No such package.", code="package_not_found", field="package_id")
    if not package.active:
        raise Conflict(
            "این بسته دیگر فروخته نمی‌شود.",
            "This package is no longer for sale.",
            code="package_inactive",
            field="package_id",
        )
    now = utcnow()
    payment = Payment(
        account_id=account_id,
        package_id=package.id,
        package_name=package.name,
        amount=package.price,
        credit=package.credit,
        gateway=gateway,
        state="pending",
        created_at=now,
        updated_at=now,
    )
    repo.add(session, payment)
    return payment


def buyer_mobile(session: Session, *, account_id: int) -> str:
    account = accounts_repo.account_by_id(session, account_id)
    if account is None:
        raise _account_missing()
    return account.mobile


def attach_authority(session: Session, *, payment_id: int, authority: str, redirect_url: str) -> Payment:
    payment = repo.payment_by_id(session, payment_id)
    if payment is None:
        raise NotFound("این پرداخت پیدا نشد.", "No such payment.", code="payment_not_found")
    payment.authority = authority
    payment.redirect_url = redirect_url[:500]
    payment.updated_at = utcnow()
    session.flush()
    return payment


def payment_by_authority(session: Session, *, authority: str) -> Payment:
    payment = repo.payment_by_authority(session, authority) if authority else None
    if payment is None:
        raise NotFound(
            "پرداختی با این شناسه نیست.", "No payment has this authority.", code="payment_not_found"
        )
    return payment


def payment(session: Session, *, account_id: int, payment_id: int) -> Payment:
    found = repo.payment_of(session, account_id=account_id, payment_id=payment_id)
    if found is None:
        raise NotFound("این پرداخت پیدا نشد.", "No such payment.", code="payment_not_found")
    return found


def payments(session: Session, *, account_id: int, limit: int = 50, offset: int = 0) -> Sequence[Payment]:
    return repo.payments_of(session, account_id=account_id, limit=limit, offset=offset)


# The failure recorded for a payment its buyer left unfinished at the gateway. It stays in the
# failed state (so no schema change, and `confirm_payment` still credits a late verification) and
# is shown as "expired" by `payment_state`.
CANCELED_BY_BUYER = "canceled by the buyer"


def payment_state(payment: Payment, *, window: dt.timedelta, now: dt.datetime | None = None) -> str:
    """The state shown to people and integrators: the stored one, or "expired".

    A payment still pending `window` after it started is expired, and so is one failed or canceled
    only after that (the gateway said so late). Derived, never stored: reading a payment writes
    nothing, and a late "paid" from the gateway is still credited.
    """
    deadline = payment.created_at + window
    if payment.state == "pending":
        return "expired" if (now or utcnow()) >= deadline else "pending"
    if payment.state in ("failed", "canceled") and payment.updated_at >= deadline:
        return "expired"
    return payment.state


def cancel_payment(session: Session, *, account_id: int, payment_id: int) -> Payment:
    """The buyer gives up one of their pending payments; a payment already decided is left as it is.

    Nothing is asked of the gateway: an authority nobody pays simply lapses there, and if the
    buyer pays it after all, the gateway's verification still credits it.
    """
    found = payment(session, account_id=account_id, payment_id=payment_id)
    fail_payment(session, payment_id=found.id, reason=CANCELED_BY_BUYER, canceled=True)
    return found


def fail_payment(session: Session, *, payment_id: int, reason: str, canceled: bool = False) -> bool:
    """pending -> failed (or canceled). A payment already decided is left as it is."""
    return repo.move_payment(
        session,
        payment_id=payment_id,
        from_states=("pending",),
        to_state="canceled" if canceled else "failed",
        failure=reason[:300],
        updated_at=utcnow(),
    )


def confirm_payment(session: Session, *, payment_id: int, ref_id: str | None, card_pan: str | None) -> bool:
    """Mark a payment the gateway verified as paid and credit it, once.

    The state change is a conditional UPDATE in the same transaction as the credit, so of two
    callbacks racing for one payment exactly one credits; the other returns False. A payment
    marked failed, expired or canceled (a cancel callback, an earlier answer of the gateway, a
    buyer who came back late) is still credited if the gateway now verifies it: the gateway's
    word on money taken wins.
    """
    now = utcnow()
    moved = repo.move_payment(
        session,
        payment_id=payment_id,
        from_states=("pending", "failed", "canceled"),
        to_state="paid",
        ref_id=ref_id,
        card_pan=card_pan,
        paid_at=now,
        updated_at=now,
        failure="",
    )
    if not moved:
        return False
    paid = repo.payment_by_id(session, payment_id)
    assert paid is not None
    _post(
        session,
        account_id=paid.account_id,
        kind="purchase",
        amount=paid.credit,
        ref_type="payment",
        ref_id=paid.id,
        description=f"خرید بستهٔ «{paid.package_name}»" + (f" (کد پیگیری {ref_id})" if ref_id else ""),
    )
    return True


# --- the ledger ------------------------------------------------------------------------------


def _post(
    session: Session,
    *,
    account_id: int,
    kind: str,
    amount: int,
    ref_type: str,
    ref_id: int | None,
    description: str,
    held: int = 0,
    hold_change: dict[str, int] | None = None,
    refused: Callable[[], DomainError] | None = None,
) -> LedgerEntry:
    """Change the balance by `amount`, optionally move a hold, and record one entry.

    The account row is always changed first (even by 0) so that every transaction touching an
    account's credit takes its lock before anything else: concurrent writers queue in one order
    (no deadlocks) and entry ids follow the order in which balances changed.
    """
    balance = repo.change_balance(session, account_id=account_id, delta=amount)
    if balance is None:
        current = repo.balance_of(session, account_id)
        if current is None:
            raise _account_missing()
        raise insufficient_credit(needed=-amount, balance=current)
    if hold_change is not None:
        assert ref_id is not None
        if not repo.change_hold(
            session, account_id=account_id, ref_type=ref_type, ref_id=ref_id, now=utcnow(), **hold_change
        ):
            # Undo under the lock we still hold, so a caller that catches the error cannot
            # commit credit that no hold paid for.
            repo.change_balance(session, account_id=account_id, delta=-amount)
            assert refused is not None
            raise refused()
    entry = LedgerEntry(
        account_id=account_id,
        kind=kind,
        amount=amount,
        held=held,
        balance_after=balance,
        ref_type=ref_type,
        ref_id=ref_id,
        description=description[:500],
        created_at=utcnow(),
    )
    repo.add(session, entry)
    return entry


def _check_amount(amount: int) -> None:
    # Callers outside HTTP validation (dispatcher sums) could pass a float or a bool by mistake.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValidationFailed(
            "مبلغ باید عددی درست و نامنفی (به ریال) باشد.",
            "The amount must be a whole, non-negative number of rials.",
            code="amount_invalid",
            field="amount",
        )


def _held_now(session: Session, *, account_id: int, ref_type: str, ref_id: int) -> CreditHold | None:
    return repo.hold_for(session, account_id=account_id, ref_type=ref_type, ref_id=ref_id)


def hold(
    session: Session, *, account_id: int, amount: int, ref_type: str, ref_id: int, description: str
) -> LedgerEntry | None:
    """Move `amount` rials out of the spendable balance into a hold for (ref_type, ref_id).

    One call per send, with the whole cost. Raises `insufficient_credit` (402, extras `needed`,
    `balance`, `shortfall`) and changes nothing if the balance is short. Holding again for the
    same reference adds to its hold. An amount of 0 records nothing and returns None.
    """
    _check_amount(amount)
    if amount == 0:
        return None
    entry = _post(
        session,
        account_id=account_id,
        kind="hold",
        amount=-amount,
        held=amount,
        ref_type=ref_type,
        ref_id=ref_id,
        description=description,
    )
    existing = _held_now(session, account_id=account_id, ref_type=ref_type, ref_id=ref_id)
    if existing is None:
        now = utcnow()
        repo.add(
            session,
            CreditHold(
                account_id=account_id,
                ref_type=ref_type,
                ref_id=ref_id,
                amount=amount,
                released=0,
                settled=0,
                refunded=0,
                created_at=now,
                updated_at=now,
            ),
        )
    else:
        repo.change_hold(
            session, account_id=account_id, ref_type=ref_type, ref_id=ref_id, now=utcnow(), add=amount
        )
    return entry


def _outstanding(session: Session, *, account_id: int, ref_type: str, ref_id: int) -> tuple[int, int]:
    found = _held_now(session, account_id=account_id, ref_type=ref_type, ref_id=ref_id)
    if found is None:
        return 0, 0
    session.refresh(found)
    return found.amount - found.released - found.settled, found.settled - found.refunded


def given_back(session: Session, *, account_id: int, ref_type: str, ref_ids: Sequence[int]) -> dict[int, int]:
    """Rials given back so far for each reference: released while held, and refunded after settling.
    A reference with nothing held for it is left out."""
    holds = repo.holds_for(session, account_id=account_id, ref_type=ref_type, ref_ids=ref_ids)
    return {hold.ref_id: hold.released + hold.refunded for hold in holds}


def release(
    session: Session, *, account_id: int, amount: int, ref_type: str, ref_id: int, reason: str
) -> LedgerEntry | None:
    """Give `amount` rials of a still-open hold back to the balance (skipped, failed, canceled).

    Call it once per send per batch with the summed amount. Raises `release_exceeds_hold` (409,
    extras `held`, `amount`) and changes nothing if less than `amount` is still held for the
    reference. An amount of 0 records nothing and returns None.
    """
    _check_amount(amount)
    if amount == 0:
        return None
    return _post(
        session,
        account_id=account_id,
        kind="release",
        amount=amount,
        held=-amount,
        ref_type=ref_type,
        ref_id=ref_id,
        description=reason,
        hold_change={"release": amount},
        refused=lambda: _exceeds(session, account_id, ref_type, ref_id, amount, "release_exceeds_hold"),
    )


@dataclass(frozen=True, slots=True)
class Release:
    account_id: int
    ref_type: str
    ref_id: int
    amount: int


def release_batch(session: Session, *, releases: Iterable[Release], reason: str) -> list[LedgerEntry]:
    """Release many holds at once (a dispatcher batch): amounts summed per reference and
    applied in ascending account order, so concurrent batches never deadlock on PostgreSQL."""
    totals: dict[tuple[int, str, int], int] = {}
    for item in releases:
        _check_amount(item.amount)
        key = (item.account_id, item.ref_type, item.ref_id)
        totals[key] = totals.get(key, 0) + item.amount
    done = []
    for (account_id, ref_type, ref_id), amount in sorted(totals.items()):
        entry = release(
            session, account_id=account_id, amount=amount, ref_type=ref_type, ref_id=ref_id, reason=reason
        )
        if entry is not None:
            done.append(entry)
    return done


def settle(
    session: Session,
    *,
    account_id: int,
    ref_type: str,
    ref_id: int,
    amount: int | None = None,
    description: str = "",
) -> LedgerEntry | None:
    """Turn `amount` (default: everything still held) of a hold into spent credit.

    The balance does not change (the credit left it at `hold`); the entry records what the
    reference finally cost. Returns None if nothing is held. Raises `settle_exceeds_hold` (409)
    for more than is held.
    """
    spent = (
        _outstanding(session, account_id=account_id, ref_type=ref_type, ref_id=ref_id)[0]
        if amount is None
        else amount
    )
    _check_amount(spent)
    if spent == 0:
        return None
    return _post(
        session,
        account_id=account_id,
        kind="settle",
        amount=0,
        held=-spent,
        ref_type=ref_type,
        ref_id=ref_id,
        description=description or f"هزینهٔ قطعی: {spent:,} ریال",
        hold_change={"settle": spent},
        refused=lambda: _exceeds(session, account_id, ref_type, ref_id, spent, "settle_exceeds_hold"),
    )


def refund(
    session: Session, *, account_id: int, amount: int, ref_type: str, ref_id: int, reason: str
) -> LedgerEntry | None:
    """Give back credit that was already settled for a reference (a late failure receipt).

    Never more than was settled for it: raises `refund_exceeds_settled` (409, extras `held`
    = what can still be refunded, `amount`).
    """
    _check_amount(amount)
    if amount == 0:
        return None
    return _post(
        session,
        account_id=account_id,
        kind="refund",
        amount=amount,
        ref_type=ref_type,
        ref_id=ref_id,
        description=reason,
        hold_change={"refund": amount},
        refused=lambda: _exceeds(session, account_id, ref_type, ref_id, amount, "refund_exceeds_settled"),
    )


def _exceeds(
    session: Session, account_id: int, ref_type: str, ref_id: int, amount: int, code: str
) -> Conflict:
    outstanding, refundable = _outstanding(session, account_id=account_id, ref_type=ref_type, ref_id=ref_id)
    left = refundable if code == "refund_exceeds_settled" else outstanding
    return Conflict(
        f"برای {ref_type} {ref_id} تنها {left:,} ریال در دسترس است، نه {amount:,} ریال.",
        f"Only {left:,} rials are available for {ref_type} {ref_id}, not {amount:,}.",
        code=code,
        held=left,
        amount=amount,
    )


def grant(
    session: Session, *, account_id: int, amount: int, reason: str, actor_id: int | None
) -> LedgerEntry:
    """An operator adds credit (`amount` > 0, entry kind grant) or takes it away (< 0, adjustment).

    The reason is required and shown in the account's statement. A deduction larger than the
    balance is refused with `insufficient_credit` and changes nothing. `actor_id` is the admin
    account that did it; None means the command line on the server.
    """
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationFailed(
            "دلیل افزایش یا کسر اعتبار را بنویسید (دست‌کم ۳ نویسه).",
            "Write the reason for the change of credit (at least 3 characters).",
            code="reason_required",
            field="reason",
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValidationFailed(
            "مبلغ باید عددی درست و غیر صفر (به ریال) باشد.",
            "The amount must be a whole, non-zero number of rials.",
            code="amount_invalid",
            field="amount",
        )
    return _post(
        session,
        account_id=account_id,
        kind="grant" if amount > 0 else "adjustment",
        amount=amount,
        ref_type="admin" if actor_id is not None else "operator",
        ref_id=actor_id,
        description=reason,
    )


def balance(session: Session, *, account_id: int) -> int:
    value = repo.balance_of(session, account_id)
    if value is None:
        raise _account_missing()
    return value


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementPage:
    balance: int
    page: int
    per_page: int
    total: int
    entries: Sequence[LedgerEntry]


_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})\s*$")


def _day_start(value: str, *, tz: ZoneInfo, field: str) -> dt.datetime | None:
    """Midnight (in `tz`) of a date written YYYY-MM-DD or YYYY/MM/DD; years before 1700 are
    Jalali (1404/03/01), later ones Gregorian. None if `value` is not a bare date."""
    match = _DATE.match(value)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    try:
        if year < 1700:
            gregorian = jdatetime.date(year, month, day).togregorian()
        else:
            gregorian = dt.date(year, month, day)
    except ValueError as exc:
        raise _bad_date(field) from exc
    return dt.datetime.combine(gregorian, dt.time(), tzinfo=tz)


# The statement's period fields by the names the page shows them under.
_PERIOD_FIELDS: dict[str, tuple[str, str]] = {"from": ("از تاریخ", "From"), "to": ("تا تاریخ", "To")}


def _bad_date(field: str) -> ValidationFailed:
    fa, en = _PERIOD_FIELDS.get(field, (field, field))
    return ValidationFailed(
        f"«{fa}» درست نیست؛ مانند ۱۴۰۴/۰۳/۰۱ یا ۲۰۲۵-۰۵-۲۲ بنویسید.",
        f"'{en}' is not a valid date; write it like 1404/03/01 or 2025-05-22.",
        code="date_invalid",
        field=field,
    )


def _bound(value: str | None, *, tz: ZoneInfo, field: str, end: bool) -> dt.datetime | None:
    if value is None or not value.strip():
        return None
    text = to_ascii_digits(value).strip()
    day = _day_start(text, tz=tz, field=field)
    if day is not None:
        # A bare end date includes that whole day.
        return day + dt.timedelta(days=1) if end else day
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise _bad_date(field) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def statement_period(
    *, start: str | None, end: str | None, tz: ZoneInfo
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[since, until) from what a person typed: dates (Jalali or Gregorian, whole days in `tz`)
    or ISO date-times. Either may be missing."""
    since = _bound(start, tz=tz, field="from", end=False)
    until = _bound(end, tz=tz, field="to", end=True)
    if since is not None and until is not None and since >= until:
        raise ValidationFailed(
            "تاریخ پایان باید پس از تاریخ آغاز باشد.",
            "The end of the period must come after its start.",
            code="period_invalid",
            field="to",
        )
    return since, until


def statement(
    session: Session,
    *,
    account_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> StatementPage:
    """One page of the account's entries in [since, until), newest first."""
    page = max(1, page)
    per_page = min(max(1, per_page), 500)
    rows = repo.entries(
        session, account_id=account_id, since=since, until=until, limit=per_page, offset=(page - 1) * per_page
    )
    total = repo.count_entries(session, account_id=account_id, since=since, until=until)
    return StatementPage(
        balance=balance(session, account_id=account_id),
        page=page,
        per_page=per_page,
        total=total,
        entries=rows,
    )


def statement_entries(
    session: Session, *, account_id: int, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> Iterator[LedgerEntry]:
    """Every entry in [since, until), newest first, streamed (for exports)."""
    return repo.iter_entries(session, account_id=account_id, since=since, until=until)


# --- checking the books ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerReport:
    accounts: int
    entries: int
    balances: list[repo.BalanceMismatch]
    running: list[repo.RunningMismatch]
    holds: list[repo.HoldMismatch]

    @property
    def ok(self) -> bool:
        return not (self.balances or self.running or self.holds)

    def lines(self) -> list[str]:
        out = [
            f"account {m.account_id} ({m.mobile}): balance {m.balance} but entries sum to {m.ledger_sum}"
            for m in self.balances
        ]
        out += [
            f"account {m.account_id} entry {m.entry_id}: balance_after {m.balance_after} but running sum "
            f"is {m.running}" + (" (negative)" if m.running < 0 else "")
            for m in self.running
        ]
        out += [
            f"account {m.account_id} hold {m.ref_type} {m.ref_id}: {m.held} held but entries say {m.ledger_held}"
            for m in self.holds
        ]
        return out


def verify_ledger(session: Session) -> LedgerReport:
    """Check every account: the cached balance equals the sum of its entries, every entry's
    balance_after is the running sum and never negative, and every hold matches its entries."""
    accounts, entries = repo.ledger_counts(session)
    return LedgerReport(
        accounts=accounts,
        entries=entries,
        balances=repo.balance_mismatches(session),
        running=repo.running_mismatches(session),
        holds=repo.hold_mismatches(session),
    )
