"""dispatch: dispatcher heartbeats, last known route states, the index of claims in flight

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatchers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatchers")),
    )
    op.create_table(
        "route_states",
        sa.Column("route_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("binds_up", sa.Integer(), nullable=False),
        sa.Column("binds", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("dispatcher", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_route_states_route_id_routes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("route_id", name=op.f("pk_route_states")),
    )
    # A plain CREATE INDEX: the messages table may be large and must not be rebuilt.
    op.create_index(
        "ix_messages_claims",
        "messages",
        ["claimed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'submitting'"),
        sqlite_where=sa.text("status = 'submitting'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_claims", table_name="messages")
    op.drop_table("route_states")
    op.drop_table("dispatchers")
