"""Phonebook tables.

A number is stored as one integer `key`, never as text: an Iranian mobile is its national number
(9123456789, the same key as `payamak.numbers.mobile_key` and the blacklists), any other valid
number is the negated digits of its E.164 form (+16502530000 -> -16502530000). Negating keeps the
two spaces apart (+960 7771234 would otherwise collide with an Iranian key) and an integer unique
index per group makes de-duplication and million-row imports cheap. `keys.to_e164` turns it back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow

IMPORT_STATES = ("running", "done", "failed")


class Group(Base):
    __tablename__ = "phonebook_groups"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("account_id", "name"),)


class GroupNumber(Base):
    """A number in a group, identified by (group, key); the key is also its id in the API.

    Two choices made for million-row imports, each measured on PostgreSQL's COPY: no surrogate
    id (one index to maintain instead of two, and no sequence: half the time), and no foreign
    key on `group_id` (checked row by row it made the COPY 2.6 times slower). Every insert path
    locks the account's group first, and deleting a group deletes its numbers in the same
    transaction (`repository.delete_group`). On SQLite the table is WITHOUT ROWID: the primary
    key's b-tree holds the rows.
    """

    __tablename__ = "phonebook_numbers"

    group_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    key: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    # Personalisation values ({name}-style placeholders): a small str -> str dict, NULL when empty.
    fields: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    # A server default so bulk imports need not send it with every row.
    created_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=sa.text("CURRENT_TIMESTAMP")
    )

    __table_args__ = ({"sqlite_with_rowid": False},)

    @property
    def id(self) -> int:
        """The number's id within its group (what `number_id` means in the services and the API)."""
        return self.key


class Customer(Base):
    """An account-wide contact (مشتری), one per number."""

    __tablename__ = "phonebook_customers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    fields: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("account_id", "key"),)


class ImportJob(Base):
    """One import into a group. Its progress is committed on its own while the rows are not."""

    __tablename__ = "phonebook_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("phonebook_groups.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(10), default="running")
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    rows_read: Mapped[int] = mapped_column(sa.Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(sa.Integer)
    added: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    invalid_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(sa.String(50))
    error_fa: Mapped[str | None] = mapped_column(sa.Text)
    error_en: Mapped[str | None] = mapped_column(sa.Text)
    error_extra: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Moves with every progress write; a running job that stops moving was interrupted.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.CheckConstraint("status IN ('running', 'done', 'failed')", name="status_known"),
        sa.Index("ix_phonebook_imports_account_id_id", "account_id", "id"),
        sa.Index("ix_phonebook_imports_group_id", "group_id"),
    )


class ImportInvalidRow(Base):
    """A row an import could not take, with the reason code from `payamak.numbers.REASONS`."""

    __tablename__ = "phonebook_import_invalid"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.ForeignKey("phonebook_imports.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(sa.Integer)
    value: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.String(40))

    __table_args__ = (sa.Index("ix_phonebook_import_invalid_import_id_id", "import_id", "id"),)
