from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow

KINDS = ("advertising", "informational")
ENCODINGS = ("UCS-2", "GSM-7")
# "other" prices every Iranian operator without a row of its own (MVNOs, unknown prefixes);
# "foreign" prices numbers outside Iran.
OPERATOR_KEYS = ("MCI", "Irancell", "RighTel", "other", "foreign")
WILDCARD = "*"

LEDGER_KINDS = ("purchase", "grant", "adjustment", "hold", "release", "settle", "refund")
PAYMENT_STATES = ("pending", "paid", "failed", "canceled")
SANDBOX_STATES = ("created", "paid", "canceled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Tariff(Base):
    """Price of one part before VAT for the messages a rule matches; '*' matches anything.

    `line_prefix` is matched against the digits of the sending line's number (e.g. "5000",
    "9821", "3000"); among the rules that match, the most specific one prices the part.
    """

    __tablename__ = "tariffs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default=WILDCARD)
    encoding: Mapped[str] = mapped_column(sa.String(8), default=WILDCARD)
    operator: Mapped[str] = mapped_column(sa.String(16), default=WILDCARD)
    line_prefix: Mapped[str] = mapped_column(sa.String(20), default=WILDCARD)
    price: Mapped[int] = mapped_column(sa.BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("kind", "encoding", "operator", "line_prefix", name="uq_tariffs_key"),
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.CheckConstraint(_in("kind", (*KINDS, WILDCARD)), name="kind_known"),
        sa.CheckConstraint(_in("encoding", (*ENCODINGS, WILDCARD)), name="encoding_known"),
        sa.CheckConstraint(_in("operator", (*OPERATOR_KEYS, WILDCARD)), name="operator_known"),
    )


class BillingConfig(Base):
    """The one row of billing settings an operator changes at run time (no row: the defaults).

    Kept in the database rather than the environment so that every process (API, dispatcher)
    prices with the same VAT, and the price shown is the price charged.
    """

    __tablename__ = "billing_config"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, default=1)
    vat_percent: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single_row"),
        sa.CheckConstraint("vat_percent >= 0 AND vat_percent <= 100", name="vat_in_range"),
    )


class Package(Base):
    """A credit package: the buyer pays `price` rials and receives `credit` rials of credit."""

    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    price: Mapped[int] = mapped_column(sa.BigInteger)
    credit: Mapped[int] = mapped_column(sa.BigInteger)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("price > 0", name="price_positive"),
        sa.CheckConstraint("credit > 0", name="credit_positive"),
    )


class Payment(Base):
    """One attempt to buy a package through a gateway: pending -> paid | failed | canceled.

    Amount and credit are copied from the package when the attempt starts, so editing the
    package later never changes what this payment costs or gives.
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int | None] = mapped_column(sa.ForeignKey("packages.id", ondelete="SET NULL"))
    package_name: Mapped[str] = mapped_column(sa.String(100))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    credit: Mapped[int] = mapped_column(sa.BigInteger)
    gateway: Mapped[str] = mapped_column(sa.String(20))
    # Unique so a callback names exactly one payment; NULL until the gateway has answered.
    authority: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    redirect_url: Mapped[str] = mapped_column(sa.String(500), default="")
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    ref_id: Mapped[str | None] = mapped_column(sa.String(64))
    card_pan: Mapped[str | None] = mapped_column(sa.String(32))
    failure: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint(_in("state", PAYMENT_STATES), name="state_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("credit > 0", name="credit_positive"),
    )


class SandboxPayment(Base):
    """The sandbox gateway's own book: what it was asked to collect and what the buyer chose."""

    __tablename__ = "sandbox_gateway_payments"

    authority: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.String(500))
    callback_url: Mapped[str] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(10), default="created")
    ref_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint(_in("state", SANDBOX_STATES), name="state_known"),)


class LedgerEntry(Base):
    """One movement of an account's credit. Rows are only ever inserted.

    `amount` is the change of the spendable balance (the account's `balance` is their sum);
    `held` is the change of the credit held for the reference (a send): hold (-x, +x),
    release (+y, -y), settle (0, -z), refund (+w, 0); purchase, grant and adjustment move only
    the balance. `ref_type`/`ref_id` name what caused the entry: ("payment", 12), ("send", 40),
    ("admin", id of the admin account), ("operator", NULL) for the command line.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    held: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(sa.BigInteger)
    ref_type: Mapped[str] = mapped_column(sa.String(20))
    ref_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(_in("kind", LEDGER_KINDS), name="kind_known"),
        sa.CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        sa.Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        sa.Index("ix_ledger_entries_account_id_created_at", "account_id", "created_at"),
        sa.Index("ix_ledger_entries_ref", "ref_type", "ref_id"),
    )


class CreditHold(Base):
    """Credit set aside for one reference (a send) until it is released, settled or refunded.

    `amount` is everything ever held for it; what is still held is amount - released - settled,
    and at most the settled part can be refunded. The CHECKs make over-release impossible even
    for a caller that skips the service.
    """

    __tablename__ = "credit_holds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    ref_type: Mapped[str] = mapped_column(sa.String(20))
    ref_id: Mapped[int] = mapped_column(sa.BigInteger)
    amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    released: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    settled: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("account_id", "ref_type", "ref_id", name="uq_credit_holds_ref"),
        sa.CheckConstraint(
            "released >= 0 AND settled >= 0 AND refunded >= 0 AND released + settled <= amount",
            name="within_amount",
        ),
        sa.CheckConstraint("refunded <= settled", name="refund_within_settled"),
    )
