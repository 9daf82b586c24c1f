"""Tables of the blacklist (national *800# list, operator-reported and manual numbers) and of opt-outs.

Numbers are stored as mobile keys: the national number as an int (9123456789), the same key as
`payamak.numbers.mobile_key`. Only Iranian mobiles can be on these lists.

The national list (tens of millions of numbers) is not a table of rows: it is one compressed
roaring bitmap, serialized in slabs into `blacklist_snapshot_chunks`, so that every process loads it
in a second or two and holds it in about 100 MB. `blacklist_state` is a single row whose `version`
moves on every change of any list, so each process can tell with one primary-key read whether its
in-memory copy is current.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

# The foreign keys below name `accounts`: its table must be known wherever these models are used
# (a CLI command imports no more than it needs).
from payamak.accounts import models as _accounts  # noqa: F401
from payamak.db import Base, BigIntPK, UTCDateTime, utcnow

BLACKLIST_KINDS = ("national", "operator", "manual")
ENTRY_KINDS = ("operator", "manual")
LOAD_STATUSES = ("running", "done", "failed")
OPTOUT_SCOPES = ("line", "account")

STATE_ID = 1


class BlacklistState(Base):
    """The one row (id 1) every process polls: which national snapshot is in force, and the version."""

    __tablename__ = "blacklist_state"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    # Random per row: if the row is ever recreated (a restored or emptied database), cached copies
    # whose version happens to match are still recognised as stale.
    epoch: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    national_snapshot_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("blacklist_snapshots.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlacklistSnapshot(Base):
    """One loaded national list. The state row points at the one in force; the previous one is kept."""

    __tablename__ = "blacklist_snapshots"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    numbers: Mapped[int] = mapped_column(sa.BigInteger)  # distinct numbers in the bitmap
    # Readers compare these with what they read, to notice a snapshot deleted under them.
    chunks: Mapped[int] = mapped_column(sa.Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    lines: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    invalid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    source: Mapped[str] = mapped_column(sa.String(255), default="")
    version: Mapped[int | None] = mapped_column(sa.BigInteger)  # the state version it came into force at
    created_by: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlacklistSnapshotChunk(Base):
    """A serialized roaring bitmap of the snapshot's numbers in one key range (a few MB at most)."""

    __tablename__ = "blacklist_snapshot_chunks"

    snapshot_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("blacklist_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class BlacklistEntry(Base):
    """A number on the operator-reported or the manual list; removal keeps the row (who and when).

    One row per number and kind: adding a removed number again reuses its row. `version` is the
    state version of the row's last change, so a process applies only the rows changed since the
    version it holds.
    """

    __tablename__ = "blacklist_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number_key: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(10))
    version: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )

    __table_args__ = (
        sa.UniqueConstraint("number_key", "kind"),
        sa.CheckConstraint("kind IN ('operator', 'manual')", name="kind_known"),
    )


class BlacklistLoad(Base):
    """A national-list load: progress while it runs, counts and the first invalid lines when done."""

    __tablename__ = "blacklist_loads"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="running")
    source: Mapped[str] = mapped_column(sa.String(255), default="")
    bytes_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    bytes_read: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    lines: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    blank: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    valid: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # lines holding a mobile number
    numbers: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # distinct numbers among them
    invalid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    invalid_samples: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_fa: Mapped[str | None] = mapped_column(sa.String(500))
    error_en: Mapped[str | None] = mapped_column(sa.String(500))
    snapshot_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("blacklist_snapshots.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),)


class OptOut(Base):
    """A recipient who asked not to get SMS: from one line (reply 11), or from one account.

    Lines are keyed by their number as digits (the form `lines.number` holds), not by id: a line
    can be removed and added again, and what the recipient refused is the number they saw.
    """

    __tablename__ = "optouts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10))
    line: Mapped[str | None] = mapped_column(sa.String(20))
    account_id: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    number_key: Mapped[int] = mapped_column(sa.BigInteger)
    source: Mapped[str] = mapped_column(sa.String(10), default="reply")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("scope IN ('line', 'account')", name="scope_known"),
        sa.CheckConstraint(
            "(scope = 'line' AND line IS NOT NULL AND account_id IS NULL)"
            " OR (scope = 'account' AND account_id IS NOT NULL AND line IS NULL)",
            name="scope_target",
        ),
        # Partial, because the column that does not apply to a scope is NULL and NULLs never clash.
        sa.Index(
            "uq_optouts_line_number_key",
            "line",
            "number_key",
            unique=True,
            sqlite_where=sa.text("scope = 'line'"),
            postgresql_where=sa.text("scope = 'line'"),
        ),
        sa.Index(
            "uq_optouts_account_id_number_key",
            "account_id",
            "number_key",
            unique=True,
            sqlite_where=sa.text("scope = 'account'"),
            postgresql_where=sa.text("scope = 'account'"),
        ),
    )
