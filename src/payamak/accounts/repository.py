"""All SQL of the accounts domain. Queries of a user's data take the account id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payamak.accounts.models import Account, ApiKey, AuthSession, LoginFailure, OneTimeCode, SenderName


def account_by_mobile(session: Session, mobile: str, *, for_update: bool = False) -> Account | None:
    stmt = sa.select(Account).where(Account.mobile == mobile)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def account_by_id(session: Session, account_id: int) -> Account | None:
    return session.get(Account, account_id)


def add(
    session: Session, obj: Account | AuthSession | ApiKey | OneTimeCode | LoginFailure | SenderName
) -> None:
    session.add(obj)
    session.flush()


def accounts_by_ids(session: Session, account_ids: Iterable[int]) -> Sequence[Account]:
    wanted = set(account_ids)
    if not wanted:
        return []
    return session.scalars(sa.select(Account).where(Account.id.in_(wanted))).all()


def list_accounts(
    session: Session, *, limit: int, offset: int, query: str | None = None
) -> tuple[Sequence[Account], int]:
    """A page of accounts, newest first, and how many match in all."""
    filters: list[sa.ColumnElement[bool]] = []
    if query:
        like = f"%{query}%"
        filters.append(sa.or_(Account.mobile.like(like), Account.name.like(like)))
    total = session.scalar(sa.select(sa.func.count()).select_from(Account).where(*filters)) or 0
    stmt = sa.select(Account).where(*filters).order_by(Account.id.desc()).limit(limit).offset(offset)
    return session.scalars(stmt).all(), int(total)


# --- sessions -------------------------------------------------------------------------------


def live_session_by_hash(session: Session, token_hash: str, now: dt.datetime) -> AuthSession | None:
    stmt = sa.select(AuthSession).where(
        AuthSession.token_hash == token_hash, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now
    )
    return session.scalars(stmt).one_or_none()


def touch_session(session: Session, session_id: int, now: dt.datetime) -> None:
    session.execute(sa.update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now))


def live_sessions(session: Session, *, account_id: int, now: dt.datetime) -> Sequence[AuthSession]:
    stmt = (
        sa.select(AuthSession)
        .where(
            AuthSession.account_id == account_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.last_seen_at.desc())
    )
    return session.scalars(stmt).all()


def revoke_sessions(
    session: Session,
    *,
    account_id: int,
    now: dt.datetime,
    only_id: int | None = None,
    except_id: int | None = None,
) -> int:
    stmt = sa.update(AuthSession).where(
        AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None)
    )
    if only_id is not None:
        stmt = stmt.where(AuthSession.id == only_id)
    if except_id is not None:
        stmt = stmt.where(AuthSession.id != except_id)
    return session.execute(stmt.values(revoked_at=now)).rowcount  # type: ignore[attr-defined, no-any-return]


# --- API keys -------------------------------------------------------------------------------


def live_api_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    stmt = sa.select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    return session.scalars(stmt).one_or_none()


def touch_api_key(session: Session, key_id: int, now: dt.datetime) -> None:
    session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def api_keys(session: Session, *, account_id: int) -> Sequence[ApiKey]:
    stmt = (
        sa.select(ApiKey)
        .where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id.desc())
    )
    return session.scalars(stmt).all()


def revoke_api_key(session: Session, *, account_id: int, key_id: int, now: dt.datetime) -> int:
    stmt = (
        sa.update(ApiKey)
        .where(ApiKey.account_id == account_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


# --- one-time codes and failures ------------------------------------------------------------


def latest_code(session: Session, *, mobile: str, purpose: str) -> OneTimeCode | None:
    stmt = (
        sa.select(OneTimeCode)
        .where(OneTimeCode.mobile == mobile, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def codes_since(session: Session, *, mobile: str, since: dt.datetime) -> int:
    stmt = sa.select(sa.func.count()).where(OneTimeCode.mobile == mobile, OneTimeCode.created_at > since)
    return session.scalar(stmt) or 0


def failures_since(
    session: Session, *, since: dt.datetime, mobile: str | None = None, address: str | None = None
) -> tuple[int, dt.datetime | None]:
    """How many failed logins since `since` for the mobile or the address, and the oldest one."""
    stmt = sa.select(sa.func.count(), sa.func.min(LoginFailure.created_at)).where(
        LoginFailure.created_at > since
    )
    if mobile is not None:
        stmt = stmt.where(LoginFailure.mobile == mobile)
    if address is not None:
        stmt = stmt.where(LoginFailure.address == address)
    count, oldest = session.execute(stmt).one()
    if isinstance(oldest, dt.datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count or 0), oldest


def clear_failures(session: Session, *, mobile: str) -> None:
    session.execute(sa.delete(LoginFailure).where(LoginFailure.mobile == mobile))


# --- sender names ---------------------------------------------------------------------------


def sender_names(session: Session, *, account_id: int, state: str | None = None) -> Sequence[SenderName]:
    stmt = sa.select(SenderName).where(SenderName.account_id == account_id).order_by(SenderName.id)
    if state is not None:
        stmt = stmt.where(SenderName.state == state)
    return session.scalars(stmt).all()


def sender_name_by_folded(session: Session, *, account_id: int, folded: str) -> SenderName | None:
    stmt = sa.select(SenderName).where(SenderName.account_id == account_id, SenderName.folded == folded)
    return session.scalars(stmt).one_or_none()


def sender_name(session: Session, *, name_id: int, account_id: int | None) -> SenderName | None:
    """One sender name; `account_id` None only for the operator's review."""
    stmt = sa.select(SenderName).where(SenderName.id == name_id)
    if account_id is not None:
        stmt = stmt.where(SenderName.account_id == account_id)
    return session.scalars(stmt).one_or_none()


def delete_sender_name(session: Session, *, account_id: int, name_id: int) -> int:
    stmt = sa.delete(SenderName).where(SenderName.account_id == account_id, SenderName.id == name_id)
    return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


def sender_names_for_review(
    session: Session, *, state: str | None, limit: int, offset: int
) -> Sequence[SenderName]:
    stmt = sa.select(SenderName).order_by(SenderName.id).limit(limit).offset(offset)
    if state is not None:
        stmt = stmt.where(SenderName.state == state)
    return session.scalars(stmt).all()
