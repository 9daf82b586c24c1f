"""All SQL of the compatible APIs. Every query of a user's data is scoped by account id; the two
system-wide ones (recording status changes, delivering callbacks) are marked as such."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payamak.compat.models import InboxCursor, StatusCallback, StatusHook, Template
from payamak.sending.models import InboundMessage, Message, Send

_CHUNK = 500


def add(session: Session, obj: Template | StatusHook) -> None:
    session.add(obj)
    session.flush()


# --- templates ------------------------------------------------------------------------------


def template(session: Session, *, account_id: int, name: str) -> Template | None:
    stmt = sa.select(Template).where(Template.account_id == account_id, Template.name == name)
    return session.scalars(stmt).one_or_none()


def templates(session: Session, *, account_id: int) -> Sequence[Template]:
    stmt = sa.select(Template).where(Template.account_id == account_id).order_by(Template.name)
    return session.scalars(stmt).all()


def delete_template(session: Session, *, account_id: int, name: str) -> int:
    stmt = sa.delete(Template).where(Template.account_id == account_id, Template.name == name)
    return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


# --- sends and messages ---------------------------------------------------------------------


def send_by_key(session: Session, *, account_id: int, key: str) -> Send | None:
    stmt = sa.select(Send).where(Send.account_id == account_id, Send.idempotency_key == key)
    return session.scalars(stmt).one_or_none()


def messages_of_sends(session: Session, *, account_id: int, send_ids: Sequence[int]) -> list[Message]:
    out: list[Message] = []
    for start in range(0, len(send_ids), _CHUNK):
        chunk = list(send_ids[start : start + _CHUNK])
        stmt = (
            sa.select(Message)
            .where(Message.account_id == account_id, Message.send_id.in_(chunk))
            .order_by(Message.id)
        )
        out.extend(session.scalars(stmt))
    return out


def messages_with_sends(
    session: Session, *, account_id: int, message_ids: Sequence[int]
) -> dict[int, tuple[Message, Send]]:
    out: dict[int, tuple[Message, Send]] = {}
    for start in range(0, len(message_ids), _CHUNK):
        chunk = list(message_ids[start : start + _CHUNK])
        stmt = (
            sa.select(Message, Send)
            .join(Send, Send.id == Message.send_id)
            .where(Message.account_id == account_id, Send.account_id == account_id, Message.id.in_(chunk))
        )
        for message, send in session.execute(stmt).all():
            out[message.id] = (message, send)
    return out


def message_page(
    session: Session,
    *,
    account_id: int,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
    offset: int = 0,
    to: str | None = None,
    line: str | None = None,
    sent_from: dt.datetime | None = None,
    sent_until: dt.datetime | None = None,
) -> list[tuple[Message, Send]]:
    """An account's messages, newest first: from before `before_id` (keyset paging forward), the
    `limit` just after `after_id` (keyset paging back), or skipping `offset` of them."""
    where: list[Any] = [Message.account_id == account_id, Send.account_id == account_id]
    if before_id is not None:
        where.append(Message.id < before_id)
    if after_id is not None:
        where.append(Message.id > after_id)
    if to is not None:
        where.append(Message.recipient == to)
    if line is not None:
        where.append(Send.line_number == line)
    if sent_from is not None:
        where.append(Message.submitted_at >= sent_from)
    if sent_until is not None:
        where.append(Message.submitted_at < sent_until)
    order = Message.id.asc() if after_id is not None else Message.id.desc()
    stmt = (
        sa.select(Message, Send)
        .join(Send, Send.id == Message.send_id)
        .where(*where)
        .order_by(order)
        .limit(limit)
        .offset(offset)
    )
    rows = [(m, s) for m, s in session.execute(stmt).all()]
    return rows[::-1] if after_id is not None else rows


# --- inbound (Kavenegar receive) ------------------------------------------------------------


def inbox_cursor(session: Session, *, account_id: int, line: str, for_update: bool = False) -> InboxCursor | None:
    stmt = sa.select(InboxCursor).where(InboxCursor.account_id == account_id, InboxCursor.line_number == line)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def set_inbox_cursor(session: Session, *, account_id: int, line: str, last_id: int) -> None:
    cursor = inbox_cursor(session, account_id=account_id, line=line, for_update=True)
    if cursor is None:
        session.add(InboxCursor(account_id=account_id, line_number=line, last_id=last_id))
    elif last_id > cursor.last_id:
        cursor.last_id = last_id
    session.flush()


def inbound_after(
    session: Session, *, account_id: int, line: str, after_id: int, limit: int
) -> Sequence[InboundMessage]:
    stmt = (
        sa.select(InboundMessage)
        .where(
            InboundMessage.account_id == account_id,
            InboundMessage.line_number == line,
            InboundMessage.id > after_id,
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return session.scalars(stmt).all()


def inbound_up_to(
    session: Session, *, account_id: int, line: str, last_id: int, limit: int
) -> Sequence[InboundMessage]:
    stmt = (
        sa.select(InboundMessage)
        .where(
            InboundMessage.account_id == account_id,
            InboundMessage.line_number == line,
            InboundMessage.id <= last_id,
        )
        .order_by(InboundMessage.id.desc())
        .limit(limit)
    )
    return session.scalars(stmt).all()


# --- status callbacks -----------------------------------------------------------------------


def hooked_sends(session: Session, *, send_ids: Iterable[int]) -> set[int]:
    """System-wide: which of these sends have a status hook.

    The dispatcher asks this for every batch it writes, nearly always of sends without one, so it
    is one primary-key lookup of the hooks table with every id in a single array parameter,
    through the driver: SQLAlchemy's statement handling would cost more than the query."""
    ids = list(send_ids)
    if not ids:
        return set()
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if connection.dialect.name == "postgresql":
            cursor.execute(_HOOKED_PG, (ids,))
        else:
            cursor.execute(_HOOKED_SQLITE, (json.dumps(ids),))
        return {int(row[0]) for row in cursor.fetchall()}
    finally:
        cursor.close()


_HOOKED_PG = "SELECT send_id FROM compat_status_hooks WHERE send_id = ANY(%s::bigint[])"
_HOOKED_SQLITE = "SELECT send_id FROM compat_status_hooks WHERE send_id IN (SELECT value FROM json_each(?))"


def hooked_messages(
    session: Session, *, message_ids: Sequence[int] = (), send_ids: Sequence[int] = ()
) -> list[tuple[int, int, int, str]]:
    """System-wide: (message id, account id, send id, status) of the given messages (or of every
    message of the given sends) whose send has a status hook. One indexed query per 500 ids."""
    out: list[tuple[int, int, int, str]] = []
    base = sa.select(Message.id, Message.account_id, Message.send_id, Message.status).join(
        StatusHook, StatusHook.send_id == Message.send_id
    )
    for column, ids in ((Message.id, message_ids), (Message.send_id, send_ids)):
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            out.extend((int(a), int(b), int(c), str(d)) for a, b, c, d in session.execute(base.where(column.in_(chunk))))
    return out


def insert_callbacks(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """System-wide: add outbox rows in the order given, skipping any (message, status) already
    there. 500 rows a statement keeps within the databases' limits on bound parameters."""
    values = list(rows)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for start in range(0, len(values), _CHUNK):
        stmt = (
            insert(StatusCallback)
            .values(values[start : start + _CHUNK])
            .on_conflict_do_nothing(index_elements=["message_id", "status"])
            .returning(StatusCallback.id)
        )
        added += len(session.execute(stmt).all())
    return added


def claim_callbacks(
    session: Session, *, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[tuple[StatusCallback, StatusHook, Message, Send]]:
    """System-wide: take due callbacks for delivery, pushing their due time past the lease so that
    another sender does not take them meanwhile (and they come back if this one dies)."""
    stmt = (
        sa.select(StatusCallback)
        .where(StatusCallback.state == "pending", StatusCallback.due_at <= now)
        .order_by(StatusCallback.due_at, StatusCallback.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    callbacks = session.scalars(stmt).all()
    if not callbacks:
        return []
    for callback in callbacks:
        callback.due_at = lease_until
        callback.attempts += 1
    session.flush()
    ids = [c.message_id for c in callbacks]
    rows = session.execute(
        sa.select(Message, Send, StatusHook)
        .join(Send, Send.id == Message.send_id)
        .join(StatusHook, StatusHook.send_id == Send.id)
        .where(Message.id.in_(ids))
    ).all()
    found = {message.id: (message, send, hook) for message, send, hook in rows}
    out = []
    for callback in callbacks:
        match = found.get(callback.message_id)
        if match is None:
            callback.state = "failed"
            callback.last_error = "message or hook gone"
            continue
        message, send, hook = match
        out.append((callback, hook, message, send))
    return out


def finish_callback(
    session: Session, *, callback_id: int, state: str, error: str | None, due_at: dt.datetime, now: dt.datetime
) -> None:
    """System-wide: record how a delivery attempt went."""
    session.execute(
        sa.update(StatusCallback)
        .where(StatusCallback.id == callback_id)
        .values(
            state=state,
            last_error=error[:200] if error else None,
            due_at=due_at,
            done_at=now if state != "pending" else None,
        )
    )


def callbacks_of_account(session: Session, *, account_id: int, limit: int = 100) -> Sequence[StatusCallback]:
    stmt = (
        sa.select(StatusCallback)
        .where(StatusCallback.account_id == account_id)
        .order_by(StatusCallback.id.desc())
        .limit(limit)
    )
    return session.scalars(stmt).all()
