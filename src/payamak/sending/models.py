from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow

KINDS = ("advertising", "informational")
LINE_KINDS = ("advertising", "service")
# The recipient status vocabulary (DESIGN.md), plus `submitting`: claimed by a dispatcher and on
# its way to the operator, shown to users as `queued`.
STATUSES = (
    "scheduled",
    "queued",
    "submitting",
    "sent",
    "delivered",
    "undelivered",
    "expired",
    "rejected",
    "failed",
    "blocked",
    "canceled",
)
FINAL_STATUSES = frozenset({"delivered", "undelivered", "expired", "rejected", "failed", "blocked", "canceled"})
SEND_STATES = ("scheduled", "queued", "sending", "done", "canceled")


class Line(Base):
    """A sender number. Advertising lines carry advertising SMS; service lines informational ones.

    A line with no account is shared by every account; one with an account belongs to it alone.
    """

    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(12))
    account_id: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    route_id: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("routes.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("kind IN ('advertising', 'service')", name="kind_known"),)


class Send(Base):
    """One request to send a text to many recipients: what the status panel lists."""

    __tablename__ = "sends"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    line_id: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("lines.id", ondelete="SET NULL"))
    line_number: Mapped[str] = mapped_column(sa.String(20))
    # The text as it is sent (with «لغو۱۱» where added); per-recipient texts live on messages only
    # when placeholders made them differ.
    text: Mapped[str] = mapped_column(sa.Text)
    encoding: Mapped[str] = mapped_column(sa.String(8))
    segments: Mapped[int] = mapped_column(sa.Integer)
    personalised: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    state: Mapped[str] = mapped_column(sa.String(12))
    recipients: Mapped[int] = mapped_column(sa.Integer, default=0)
    blocked: Mapped[int] = mapped_column(sa.Integer, default=0)
    invalid: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    cost: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Why send_at is later than asked: "" or "advertising_window".
    delayed_by: Mapped[str] = mapped_column(sa.String(24), default="")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    request_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    canceled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("account_id", "idempotency_key"),
        sa.Index("ix_sends_account_created", "account_id", "id"),
        sa.CheckConstraint("kind IN ('advertising', 'informational')", name="kind_known"),
    )


class Message(Base):
    """One recipient of a send, and the dispatcher's queue: a job exists only if its row committed.

    Kept narrow because a send writes a million of them at once: the text lives on the send unless
    placeholders made this recipient's differ.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    send_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("sends.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(BigIntPK)
    recipient: Mapped[str] = mapped_column(sa.String(20))
    operator: Mapped[str | None] = mapped_column(sa.String(16))
    parts: Mapped[int] = mapped_column(sa.SmallInteger)
    price: Mapped[int] = mapped_column(sa.Integer)
    text: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(12))
    # When the dispatcher may next take it: the send time, then the retry time after a failure.
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    route_id: Mapped[int | None] = mapped_column(BigIntPK)
    provider_id: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.String(120))
    # Claimed but its result never recorded (a dispatcher died): it may have reached the SMSC.
    maybe_duplicate: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_messages_send_status", "send_id", "status"),
        # The queue: only rows still waiting are in it, so it stays small however many were sent.
        sa.Index(
            "ix_messages_queue",
            "due_at",
            postgresql_where=sa.text("status IN ('scheduled', 'queued', 'submitting')"),
            sqlite_where=sa.text("status IN ('scheduled', 'queued', 'submitting')"),
        ),
        sa.Index("ix_messages_provider_id", "provider_id"),
    )


class InboundMessage(Base):
    """An SMS a recipient sent to one of our lines (a reply, or 11 / 12 to stop and start)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    line_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    account_id: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    sender: Mapped[str] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text)
    # What the text did: "" (a plain reply), "stop" (11) or "start" (12).
    action: Mapped[str] = mapped_column(sa.String(8), default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForbiddenWord(Base):
    """Words operators filter silently (and still charge for): refused before any charge."""

    __tablename__ = "forbidden_words"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    word: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
