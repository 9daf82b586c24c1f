"""billing: tariffs, VAT, packages, payments, the sandbox gateway's book, holds and the ledger

Revision ID: 0003
Revises: 0001

Seeds the default tariffs (rials per part before VAT), a VAT of 10% and three packages, so a
fresh installation can sell credit and price a send at once. The figures are copied here rather
than imported, so that this migration means the same thing whatever the code says later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_config",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vat_percent", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_billing_config_single_row")),
        sa.CheckConstraint(
            "vat_percent >= 0 AND vat_percent <= 100", name=op.f("ck_billing_config_vat_in_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_config")),
    )
    op.create_table(
        "packages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("credit > 0", name=op.f("ck_packages_credit_positive")),
        sa.CheckConstraint("price > 0", name=op.f("ck_packages_price_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
    )
    op.create_table(
        "sandbox_gateway_payments",
        sa.Column("authority", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("callback_url", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('created', 'paid', 'canceled')", name=op.f("ck_sandbox_gateway_payments_state_known")
        ),
        sa.PrimaryKeyConstraint("authority", name=op.f("pk_sandbox_gateway_payments")),
    )
    op.create_table(
        "tariffs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("operator", sa.String(length=16), nullable=False),
        sa.Column("line_prefix", sa.String(length=20), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("encoding IN ('UCS-2', 'GSM-7', '*')", name=op.f("ck_tariffs_encoding_known")),
        sa.CheckConstraint(
            "kind IN ('advertising', 'informational', '*')", name=op.f("ck_tariffs_kind_known")
        ),
        sa.CheckConstraint(
            "operator IN ('MCI', 'Irancell', 'RighTel', 'other', 'foreign', '*')",
            name=op.f("ck_tariffs_operator_known"),
        ),
        sa.CheckConstraint("price >= 0", name=op.f("ck_tariffs_price_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariffs")),
        sa.UniqueConstraint("kind", "encoding", "operator", "line_prefix", name=op.f("uq_tariffs_key")),
    )
    op.create_table(
        "credit_holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ref_type", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.BigInteger(), nullable=False),
        sa.Column("settled", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("refunded <= settled", name=op.f("ck_credit_holds_refund_within_settled")),
        sa.CheckConstraint(
            "released >= 0 AND settled >= 0 AND refunded >= 0 AND released + settled <= amount",
            name=op.f("ck_credit_holds_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_holds_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_holds")),
        sa.UniqueConstraint("account_id", "ref_type", "ref_id", name=op.f("uq_credit_holds_ref")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("held", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("ref_type", sa.String(length=20), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('purchase', 'grant', 'adjustment', 'hold', 'release', 'settle', 'refund')",
            name=op.f("ck_ledger_entries_kind_known"),
        ),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_ledger_entries_balance_after_not_negative")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_ledger_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_account_id_created_at", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_ledger_entries_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_ledger_entries_ref", ["ref_type", "ref_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("package_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("package_name", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("gateway", sa.String(length=20), nullable=False),
        sa.Column("authority", sa.String(length=64), nullable=True),
        sa.Column("redirect_url", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=True),
        sa.Column("card_pan", sa.String(length=32), nullable=True),
        sa.Column("failure", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'paid', 'failed', 'canceled')", name=op.f("ck_payments_state_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("credit > 0", name=op.f("ck_payments_credit_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["package_id"], ["packages.id"], name=op.f("fk_payments_package_id_packages"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("authority", name=op.f("uq_payments_authority")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_account_id"), ["account_id"], unique=False)

    _seed()


# (kind, encoding, operator, line_prefix, price): Persian part 1,500 on MCI, 1.1x on the others,
# a Latin (GSM-7) part 2.4x the Persian one, foreign numbers 40,000.
DEFAULT_TARIFFS = (
    ("*", "UCS-2", "MCI", "*", 1_500),
    ("*", "UCS-2", "Irancell", "*", 1_650),
    ("*", "UCS-2", "RighTel", "*", 1_650),
    ("*", "UCS-2", "other", "*", 1_650),
    ("*", "GSM-7", "MCI", "*", 3_600),
    ("*", "GSM-7", "Irancell", "*", 3_960),
    ("*", "GSM-7", "RighTel", "*", 3_960),
    ("*", "GSM-7", "other", "*", 3_960),
    ("*", "*", "foreign", "*", 40_000),
)
# (name, description, price, credit)
DEFAULT_PACKAGES = (
    ("برنزی", "برای آغاز کار", 2_000_000, 2_000_000),
    ("نقره‌ای", "۵٪ اعتبار هدیه", 10_000_000, 10_500_000),
    ("طلایی", "۱۰٪ اعتبار هدیه", 50_000_000, 55_000_000),
)


def _seed() -> None:
    now = dt.datetime.now(dt.UTC)
    tariffs = sa.table(
        "tariffs",
        sa.column("kind", sa.String),
        sa.column("encoding", sa.String),
        sa.column("operator", sa.String),
        sa.column("line_prefix", sa.String),
        sa.column("price", sa.BigInteger),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        tariffs,
        [
            {"kind": k, "encoding": e, "operator": o, "line_prefix": line, "price": p, "updated_at": now}
            for k, e, o, line, p in DEFAULT_TARIFFS
        ],
    )
    config = sa.table(
        "billing_config",
        sa.column("id", sa.Integer),
        sa.column("vat_percent", sa.Integer),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(config, [{"id": 1, "vat_percent": 10, "updated_at": now}])
    packages = sa.table(
        "packages",
        sa.column("name", sa.String),
        sa.column("description", sa.String),
        sa.column("price", sa.BigInteger),
        sa.column("credit", sa.BigInteger),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        packages,
        [
            {"name": n, "description": d, "price": p, "credit": c, "active": True, "created_at": now}
            for n, d, p, c in DEFAULT_PACKAGES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_account_id"))

    op.drop_table("payments")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_ref")
        batch_op.drop_index("ix_ledger_entries_account_id_id")
        batch_op.drop_index("ix_ledger_entries_account_id_created_at")

    op.drop_table("ledger_entries")
    op.drop_table("credit_holds")
    op.drop_table("tariffs")
    op.drop_table("sandbox_gateway_payments")
    op.drop_table("packages")
    op.drop_table("billing_config")
