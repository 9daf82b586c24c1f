"""phonebook: groups, numbers, customers, imports

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "phonebook_groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_phonebook_groups_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phonebook_groups")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_phonebook_groups_account_id_name")),
    )
    op.create_table(
        "phonebook_numbers",
        sa.Column("group_id", ID, autoincrement=False, nullable=False),
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("group_id", "key", name=op.f("pk_phonebook_numbers")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "phonebook_customers",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_phonebook_customers_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phonebook_customers")),
        sa.UniqueConstraint("account_id", "key", name=op.f("uq_phonebook_customers_account_id_key")),
    )
    op.create_table(
        "phonebook_imports",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("invalid_count", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=50), nullable=True),
        sa.Column("error_fa", sa.Text(), nullable=True),
        sa.Column("error_en", sa.Text(), nullable=True),
        sa.Column("error_extra", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_phonebook_imports_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_phonebook_imports_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["phonebook_groups.id"],
            name=op.f("fk_phonebook_imports_group_id_phonebook_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phonebook_imports")),
    )
    with op.batch_alter_table("phonebook_imports", schema=None) as batch_op:
        batch_op.create_index("ix_phonebook_imports_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_phonebook_imports_group_id", ["group_id"], unique=False)

    op.create_table(
        "phonebook_import_invalid",
        sa.Column("id", ID, nullable=False),
        sa.Column("import_id", ID, nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["phonebook_imports.id"],
            name=op.f("fk_phonebook_import_invalid_import_id_phonebook_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phonebook_import_invalid")),
    )
    with op.batch_alter_table("phonebook_import_invalid", schema=None) as batch_op:
        batch_op.create_index("ix_phonebook_import_invalid_import_id_id", ["import_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("phonebook_import_invalid")
    op.drop_table("phonebook_imports")
    op.drop_table("phonebook_customers")
    op.drop_table("phonebook_numbers")
    op.drop_table("phonebook_groups")
