from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow

ROLES = ("user", "admin")
ACCOUNT_STATES = ("pending", "active", "disabled")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mobile: Mapped[str] = mapped_column(sa.String(20), unique=True)  # E.164
    name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(10), default="user")
    # pending until the mobile is verified with a one-time code; only active accounts log in.
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    language: Mapped[str] = mapped_column(sa.String(2), default="fa")
    # The cached sum of the account's ledger; billing keeps it equal to that sum in the same
    # transaction as every ledger entry, and never lets it go below zero (CHECK below).
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    low_balance_threshold: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
        sa.CheckConstraint("role IN ('user', 'admin')", name="role_known"),
        sa.CheckConstraint("state IN ('pending', 'active', 'disabled')", name="state_known"),
    )


class AuthSession(Base):
    """A login. The token itself is never stored, only its SHA-256."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.String(64), default="")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The first characters of the key, shown in lists so people can tell their keys apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(Base):
    """A 6-digit code sent by SMS to prove a mobile number (sign-up, password reset)."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mobile: Mapped[str] = mapped_column(sa.String(20))
    purpose: Mapped[str] = mapped_column(sa.String(20))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_one_time_codes_mobile_purpose", "mobile", "purpose", "created_at"),)


class LoginFailure(Base):
    """Failed logins, counted per mobile and per client address to slow down password guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    mobile: Mapped[str] = mapped_column(sa.String(32), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


SENDER_NAME_STATES = ("pending", "approved", "rejected")


class SenderName(Base):
    """A company or brand name (نام صادرکننده) an informational SMS must name; approved by an admin."""

    __tablename__ = "sender_names"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    # The name as compared: Persian letters, no ZWNJ or extra spaces, lower case. One account
    # cannot register the same name twice in different spellings.
    folded: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(10), default="pending")
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigIntPK, sa.ForeignKey("accounts.id", ondelete="SET NULL"))

    __table_args__ = (
        sa.UniqueConstraint("account_id", "folded"),
        sa.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state_known"),
    )
