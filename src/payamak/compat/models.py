from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow
from payamak.sending.models import Message

CALLBACK_STATES = ("pending", "done", "failed")


class Template(Base):
    """A verify/lookup text (Kavenegar `verify/lookup.json`), approved per account by an admin.

    Placeholders follow Kavenegar: %token, %token2, %token3, %token10, %token20. Only approved
    templates exist here: an admin approves the name and its text in one step.
    """

    __tablename__ = "compat_templates"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text)
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("account_id", "name"),)


class StatusHook(Base):
    """Where a send's status changes are reported (Twilio's StatusCallback), and the key that signs them.

    The key is the caller's API key (Twilio signs with the auth token), kept encrypted under the
    site's secret key because the API key itself is stored only as a hash.
    """

    __tablename__ = "compat_status_hooks"

    send_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(1000))
    sealed_key: Mapped[str] = mapped_column(sa.String(400))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusCallback(Base):
    """The outbox: one status change of one message, to be POSTed to its send's hook.

    Written in the same transaction as the status change, so a callback exists exactly when the
    change committed; (message, status) is unique, so reporting the same change twice is harmless.
    """

    __tablename__ = "compat_status_callbacks"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    send_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("sends.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigIntPK)
    status: Mapped[str] = mapped_column(sa.String(12))
    state: Mapped[str] = mapped_column(sa.String(8), default="pending")
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("message_id", "status"),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="state_known"),
        # The sender's queue: only what is still to be delivered.
        sa.Index(
            "ix_compat_status_callbacks_due",
            "due_at",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        ),
    )


class InboxCursor(Base):
    """How far an account has read a line's inbound SMS through Kavenegar's `sms/receive.json`."""

    __tablename__ = "compat_inbox_cursors"

    account_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    line_number: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    last_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)


# Twilio's Messages list shows an account's messages newest first across all its sends: without
# this index that query walks every account's messages.
ACCOUNT_MESSAGES_INDEX = sa.Index("ix_messages_account_id_id", Message.account_id, Message.id)
