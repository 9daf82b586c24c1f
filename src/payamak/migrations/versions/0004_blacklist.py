"""blacklist and opt-outs

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "blacklist_snapshots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("numbers", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["accounts.id"],
            name=op.f("fk_blacklist_snapshots_created_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_snapshots")),
    )
    op.create_table(
        "blacklist_snapshot_chunks",
        sa.Column("snapshot_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["blacklist_snapshots.id"],
            name=op.f("fk_blacklist_snapshot_chunks_snapshot_id_blacklist_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "seq", name=op.f("pk_blacklist_snapshot_chunks")),
    )
    op.create_table(
        "blacklist_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("national_snapshot_id", _ID, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["national_snapshot_id"],
            ["blacklist_snapshots.id"],
            name=op.f("fk_blacklist_state_national_snapshot_id_blacklist_snapshots"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_state")),
    )
    op.create_table(
        "blacklist_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("number_key", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", _ID, nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", _ID, nullable=True),
        sa.CheckConstraint("kind IN ('operator', 'manual')", name=op.f("ck_blacklist_entries_kind_known")),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["accounts.id"],
            name=op.f("fk_blacklist_entries_added_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"],
            ["accounts.id"],
            name=op.f("fk_blacklist_entries_removed_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_entries")),
        sa.UniqueConstraint("number_key", "kind", name=op.f("uq_blacklist_entries_number_key_kind")),
    )
    with op.batch_alter_table("blacklist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blacklist_entries_version"), ["version"], unique=False)

    op.create_table(
        "blacklist_loads",
        sa.Column("id", _ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("blank", sa.BigInteger(), nullable=False),
        sa.Column("valid", sa.BigInteger(), nullable=False),
        sa.Column("numbers", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("invalid_samples", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_fa", sa.String(length=500), nullable=True),
        sa.Column("error_en", sa.String(length=500), nullable=True),
        sa.Column("snapshot_id", _ID, nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_blacklist_loads_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["accounts.id"],
            name=op.f("fk_blacklist_loads_created_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["blacklist_snapshots.id"],
            name=op.f("fk_blacklist_loads_snapshot_id_blacklist_snapshots"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blacklist_loads")),
    )
    op.create_table(
        "optouts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=True),
        sa.Column("account_id", _ID, nullable=True),
        sa.Column("number_key", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('line', 'account')", name=op.f("ck_optouts_scope_known")),
        sa.CheckConstraint(
            "(scope = 'line' AND line IS NOT NULL AND account_id IS NULL)"
            " OR (scope = 'account' AND account_id IS NOT NULL AND line IS NULL)",
            name=op.f("ck_optouts_scope_target"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_optouts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optouts")),
    )
    with op.batch_alter_table("optouts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_optouts_line_number_key",
            ["line", "number_key"],
            unique=True,
            sqlite_where=sa.text("scope = 'line'"),
            postgresql_where=sa.text("scope = 'line'"),
        )
        batch_op.create_index(
            "uq_optouts_account_id_number_key",
            ["account_id", "number_key"],
            unique=True,
            sqlite_where=sa.text("scope = 'account'"),
            postgresql_where=sa.text("scope = 'account'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("optouts", schema=None) as batch_op:
        batch_op.drop_index("uq_optouts_account_id_number_key")
        batch_op.drop_index("uq_optouts_line_number_key")
    op.drop_table("optouts")
    op.drop_table("blacklist_loads")
    with op.batch_alter_table("blacklist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blacklist_entries_version"))
    op.drop_table("blacklist_entries")
    op.drop_table("blacklist_state")
    op.drop_table("blacklist_snapshot_chunks")
    op.drop_table("blacklist_snapshots")
