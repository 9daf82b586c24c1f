"""All SQL of sends, messages, lines, inbound messages and forbidden words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payamak.db import UTCDateTime
from payamak.numbers import KEY_BASE
from payamak.sending.models import ForbiddenWord, InboundMessage, Line, Message, Send

# Columns a new message row is written with; everything else takes its default.
MESSAGE_COLUMNS = ("send_id", "account_id", "recipient", "operator", "parts", "price", "text", "status", "due_at")


def add(session: Session, obj: Line | Send | InboundMessage | ForbiddenWord) -> None:
    session.add(obj)
    session.flush()


# --- lines ----------------------------------------------------------------------------------


def line_by_number(session: Session, number: str) -> Line | None:
    return session.scalars(sa.select(Line).where(Line.number == number)).one_or_none()


def line_by_id(session: Session, line_id: int) -> Line | None:
    return session.get(Line, line_id)


def lines_for_account(session: Session, *, account_id: int) -> Sequence[Line]:
    """The account's own lines first, then the shared ones."""
    stmt = (
        sa.select(Line)
        .where(Line.active.is_(True), sa.or_(Line.account_id == account_id, Line.account_id.is_(None)))
        .order_by(Line.account_id.is_(None), Line.id)
    )
    return session.scalars(stmt).all()


def all_lines(session: Session) -> Sequence[Line]:
    return session.scalars(sa.select(Line).order_by(Line.id)).all()


def delete_line(session: Session, line_id: int) -> int:
    return session.execute(sa.delete(Line).where(Line.id == line_id)).rowcount  # type: ignore[attr-defined, no-any-return]


# --- sends ----------------------------------------------------------------------------------


def send_by_key(session: Session, *, account_id: int, key: str) -> Send | None:
    stmt = sa.select(Send).where(Send.account_id == account_id, Send.idempotency_key == key)
    return session.scalars(stmt).one_or_none()


def send_by_id(session: Session, *, account_id: int, send_id: int, for_update: bool = False) -> Send | None:
    stmt = sa.select(Send).where(Send.account_id == account_id, Send.id == send_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def sends(
    session: Session,
    *,
    account_id: int,
    limit: int,
    offset: int,
    kind: str | None = None,
    state: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[Sequence[Send], int]:
    where: list[Any] = [Send.account_id == account_id]
    if kind:
        where.append(Send.kind == kind)
    if state:
        where.append(Send.state == state)
    if since:
        where.append(Send.created_at >= since)
    if until:
        where.append(Send.created_at < until)
    total = session.scalar(sa.select(sa.func.count()).select_from(Send).where(*where)) or 0
    rows = session.scalars(sa.select(Send).where(*where).order_by(Send.id.desc()).limit(limit).offset(offset)).all()
    return rows, int(total)


def status_counts(session: Session, *, send_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Messages per status for each send (send ids already scoped to one account by the caller)."""
    counts: dict[int, dict[str, int]] = {sid: {} for sid in send_ids}
    if not send_ids:
        return counts
    stmt = (
        sa.select(Message.send_id, Message.status, sa.func.count())
        .where(Message.send_id.in_(send_ids))
        .group_by(Message.send_id, Message.status)
    )
    for send_id, status, count in session.execute(stmt):
        counts[send_id][status] = int(count)
    return counts


def messages(
    session: Session,
    *,
    account_id: int,
    send_id: int,
    limit: int,
    offset: int,
    status: str | None = None,
    recipient: str | None = None,
) -> tuple[Sequence[Message], int]:
    where: list[Any] = [Message.account_id == account_id, Message.send_id == send_id]
    if status:
        where.append(Message.status.in_(("queued", "submitting")) if status == "queued" else Message.status == status)
    if recipient:
        where.append(Message.recipient.like(f"%{recipient}%"))
    total = session.scalar(sa.select(sa.func.count()).select_from(Message).where(*where)) or 0
    rows = session.scalars(sa.select(Message).where(*where).order_by(Message.id).limit(limit).offset(offset)).all()
    return rows, int(total)


def iter_messages(session: Session, *, account_id: int, send_id: int) -> Iterable[Message]:
    stmt = (
        sa.select(Message)
        .where(Message.account_id == account_id, Message.send_id == send_id)
        .order_by(Message.id)
        .execution_options(yield_per=5000)
    )
    return session.scalars(stmt)


def insert_messages(session: Session, rows: Iterable[tuple[Any, ...]]) -> int:
    """Write message rows (in MESSAGE_COLUMNS order) as fast as the driver allows.

    PostgreSQL gets COPY, SQLite one executemany on the raw connection: both in the caller's
    transaction, so the rows exist only if the send and its credit hold commit with them.
    """
    connection = session.connection()
    raw = connection.connection.driver_connection
    count = 0
    if connection.dialect.name == "postgresql":
        columns = ", ".join(MESSAGE_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    due = MESSAGE_COLUMNS.index("due_at")

    def stored(row: tuple[Any, ...]) -> tuple[Any, ...]:
        # The queue compares times as text on SQLite, so they must be written exactly as
        # SQLAlchemy writes them (naive UTC with microseconds), not as sqlite3 formats them.
        when = row[due]
        if isinstance(when, dt.datetime):
            text = when.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            return (*row[:due], text, *row[due + 1 :])
        return row

    placeholders = ", ".join("?" for _ in MESSAGE_COLUMNS)
    sql = f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608 - fixed columns
    cur = raw.cursor()  # type: ignore[union-attr]
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(stored(row))
        if len(batch) >= 50_000:
            cur.executemany(sql, batch)
            count += len(batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
        count += len(batch)
    cur.close()
    return count


def insert_key_messages(
    session: Session,
    *,
    send_id: int,
    account_id: int,
    keys: Any,
    operator: str | None,
    parts: int,
    price: int,
    status: str,
    due_at: dt.datetime,
) -> None:
    """One message per key (national number - KEY_BASE) with one operator and price, built by the database.

    The keys go over as one array (PostgreSQL) or one JSON list (SQLite) and the rows are made
    server-side, so a million recipients cost no Python object per row.
    """
    if not len(keys):
        return
    values: dict[str, Any] = {
        "send_id": send_id, "account_id": account_id, "operator": operator, "parts": parts, "price": price,
        "status": status, "due_at": due_at, "base": KEY_BASE,
    }  # fmt: skip
    head = "INSERT INTO messages (send_id, account_id, recipient, operator, parts, price, status, due_at) "
    if session.get_bind().dialect.name == "postgresql":
        sql = head + (
            "SELECT :send_id, :account_id, '+98' || (k + :base)::text, :operator, :parts, :price, :status, :due_at "
            "FROM unnest(CAST(:keys AS bigint[])) AS k"
        )
        values["keys"] = keys.tolist() if hasattr(keys, "tolist") else list(keys)
    else:
        sql = head + (
            "SELECT :send_id, :account_id, '+98' || (value + :base), :operator, :parts, :price, :status, :due_at "
            "FROM json_each(:keys)"
        )
        values["keys"] = "[" + ",".join(map(str, keys)) + "]"
    session.execute(sa.text(sql).bindparams(sa.bindparam("due_at", type_=UTCDateTime())), values)


def cancel_waiting(session: Session, *, send_id: int, now: dt.datetime) -> tuple[int, int]:
    """Cancel the messages not yet taken by a dispatcher; returns (how many, their summed price).

    One UPDATE … RETURNING, so a message a dispatcher claims at the same moment is either
    canceled and counted here, or claimed and not refunded: never both.
    """
    stmt = (
        sa.update(Message)
        .where(Message.send_id == send_id, Message.status.in_(("scheduled", "queued")))
        .values(status="canceled", done_at=now, error="canceled")
        .returning(Message.price)
    )
    prices = session.scalars(stmt).all()
    return len(prices), int(sum(prices))


def sends_of_messages(session: Session, *, account_id: int, message_ids: Sequence[int]) -> Sequence[Send]:
    """The account's sends these messages belong to, locked (on PostgreSQL) in id order, so two
    cancels of messages of the same sends wait for each other instead of deadlocking."""
    owned = sa.select(Message.send_id).where(
        Message.account_id == account_id, Message.id.in_(list(message_ids))
    )
    stmt = (
        sa.select(Send)
        .where(Send.account_id == account_id, Send.id.in_(owned))
        .order_by(Send.id)
        .with_for_update()
    )
    return session.scalars(stmt).all()


def cancel_waiting_messages(
    session: Session, *, account_id: int, message_ids: Sequence[int], now: dt.datetime
) -> list[tuple[int, int, int]]:
    """Cancel those of these messages of the account not yet taken by a dispatcher; returns
    (message id, send id, price) of each canceled.

    One UPDATE … RETURNING, as `cancel_waiting`: a message a dispatcher claims at the same moment
    is either canceled and returned here, or claimed and not refunded, never both.
    """
    stmt = (
        sa.update(Message)
        .where(
            Message.account_id == account_id,
            Message.id.in_(list(message_ids)),
            Message.status.in_(("scheduled", "queued")),
        )
        .values(status="canceled", done_at=now, error="canceled")
        .returning(Message.id, Message.send_id, Message.price)
    )
    return [(int(i), int(s), int(p)) for i, s, p in session.execute(stmt).all()]


def sends_with_messages_left(session: Session, *, send_ids: Sequence[int]) -> set[int]:
    """Which of these sends (already scoped to one account by the caller) still have a message
    that may go out: waiting, or taken by a dispatcher."""
    if not send_ids:
        return set()
    stmt = (
        sa.select(Message.send_id)
        .where(Message.send_id.in_(list(send_ids)), Message.status.in_(("scheduled", "queued", "submitting")))
        .distinct()
    )
    return {int(send_id) for send_id in session.scalars(stmt)}


# --- inbound and forbidden words ------------------------------------------------------------


def inbound(session: Session, *, account_id: int, limit: int, offset: int, line: str | None = None) -> tuple[Sequence[InboundMessage], int]:
    where: list[Any] = [InboundMessage.account_id == account_id]
    if line:
        where.append(InboundMessage.line_number == line)
    total = session.scalar(sa.select(sa.func.count()).select_from(InboundMessage).where(*where)) or 0
    stmt = sa.select(InboundMessage).where(*where).order_by(InboundMessage.id.desc()).limit(limit).offset(offset)
    return session.scalars(stmt).all(), int(total)


def forbidden_words(session: Session) -> Sequence[ForbiddenWord]:
    return session.scalars(sa.select(ForbiddenWord).order_by(ForbiddenWord.word)).all()


def forbidden_word(session: Session, word: str) -> ForbiddenWord | None:
    return session.scalars(sa.select(ForbiddenWord).where(ForbiddenWord.word == word)).one_or_none()


def delete_forbidden_word(session: Session, word_id: int) -> int:
    return session.execute(sa.delete(ForbiddenWord).where(ForbiddenWord.id == word_id)).rowcount  # type: ignore[attr-defined, no-any-return]


# --- daily totals (the status panel's chart) ------------------------------------------------


def daily_message_totals(
    session: Session, *, account_id: int, bounds: Sequence[dt.datetime]
) -> list[tuple[int, str, bool, int, int]]:
    """(day, status, submitted, messages, summed price) for the account's sends created in
    [bounds[0], bounds[-1]); day i is [bounds[i], bounds[i + 1]).

    The day is a CASE over the bounds, so local days (DST included) come out the same on SQLite
    and PostgreSQL. It is computed in a subquery because PostgreSQL does not recognise a CASE
    with bound parameters in GROUP BY as the one in the select list.
    """
    if len(bounds) < 2:
        return []
    day = sa.case(*[(Send.created_at < bound, i) for i, bound in enumerate(bounds[1:-1])], else_=len(bounds) - 2)
    inner = (
        sa.select(
            day.label("day"),
            Message.status.label("status"),
            Message.submitted_at.is_not(None).label("submitted"),
            Message.price.label("price"),
        )
        .join(Send, Send.id == Message.send_id)
        .where(
            Send.account_id == account_id,
            Message.account_id == account_id,
            Send.created_at >= bounds[0],
            Send.created_at < bounds[-1],
        )
        .subquery()
    )
    stmt = sa.select(
        inner.c.day, inner.c.status, inner.c.submitted, sa.func.count(), sa.func.coalesce(sa.func.sum(inner.c.price), 0)
    ).group_by(inner.c.day, inner.c.status, inner.c.submitted)
    return [(int(d), str(s), bool(sub), int(n), int(p)) for d, s, sub, n, p in session.execute(stmt)]
