"""compat: verify/lookup templates, status callbacks and their outbox, the Kavenegar inbox marker

Revision ID: 0008
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# The hooks and the outbox refer to sends, and the index is on messages.
depends_on: str | Sequence[str] | None = ("0006",)

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "compat_templates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_compat_templates_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["accounts.id"], name=op.f("fk_compat_templates_approved_by_accounts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compat_templates")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_compat_templates_account_id_name")),
    )
    op.create_table(
        "compat_status_hooks",
        sa.Column("send_id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("sealed_key", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_compat_status_hooks_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["send_id"], ["sends.id"], name=op.f("fk_compat_status_hooks_send_id_sends"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("send_id", name=op.f("pk_compat_status_hooks")),
    )
    op.create_index(
        op.f("ix_compat_status_hooks_account_id"), "compat_status_hooks", ["account_id"], unique=False
    )
    op.create_table(
        "compat_status_callbacks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("send_id", _ID, nullable=False),
        sa.Column("message_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'done', 'failed')", name=op.f("ck_compat_status_callbacks_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_compat_status_callbacks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["send_id"], ["sends.id"], name=op.f("fk_compat_status_callbacks_send_id_sends"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compat_status_callbacks")),
        sa.UniqueConstraint("message_id", "status", name=op.f("uq_compat_status_callbacks_message_id_status")),
    )
    op.create_index(
        "ix_compat_status_callbacks_due",
        "compat_status_callbacks",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
        sqlite_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "compat_inbox_cursors",
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("line_number", sa.String(length=20), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_compat_inbox_cursors_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "line_number", name=op.f("pk_compat_inbox_cursors")),
    )
    # A plain CREATE INDEX: the messages table may be large and must not be rebuilt.
    op.create_index("ix_messages_account_id_id", "messages", ["account_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_account_id_id", table_name="messages")
    op.drop_table("compat_inbox_cursors")
    op.drop_index("ix_compat_status_callbacks_due", table_name="compat_status_callbacks")
    op.drop_table("compat_status_callbacks")
    op.drop_index(op.f("ix_compat_status_hooks_account_id"), table_name="compat_status_hooks")
    op.drop_table("compat_status_hooks")
    op.drop_table("compat_templates")
