"""All SQL of the phonebook.

Queries of groups, customers and imports take the account id. Numbers are reached through their
group: the functions that read or change them by id join the group and filter by its account;
the bulk paths take a group id that the caller has just loaded with `group(..., for_update=True)`
for that account in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from payamak.phonebook.models import Customer, Group, GroupNumber, ImportInvalidRow, ImportJob

# SQLite allows 32766 bound variables per statement; PostgreSQL 65535. Stay far below both.
IN_CHUNK = 1000

_numbers = GroupNumber.__table__
_NUMBERS = _numbers.name  # type: ignore[attr-defined]


def add(session: Session, obj: Group | Customer | ImportJob) -> None:
    session.add(obj)
    session.flush()


def _digits_like(column: InstrumentedAttribute[int], digits: str) -> sa.ColumnElement[bool]:
    # A key holds only digits (and the minus of a foreign number), so no LIKE escaping is needed.
    return sa.cast(column, sa.String).like(f"%{digits}%")


def _name_like(column: InstrumentedAttribute[str | None], text: str) -> sa.ColumnElement[bool]:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


# --- groups ---------------------------------------------------------------------------------


def group(session: Session, *, account_id: int, group_id: int, for_update: bool = False) -> Group | None:
    """The group if it is the account's. `for_update` serialises writers of the group's numbers.

    NO KEY UPDATE: rows that only refer to the group (a new import job) need not wait for it.
    """
    stmt = sa.select(Group).where(Group.id == group_id, Group.account_id == account_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)
    return session.scalars(stmt).one_or_none()


def group_by_name(session: Session, *, account_id: int, name: str) -> Group | None:
    stmt = sa.select(Group).where(Group.account_id == account_id, Group.name == name)
    return session.scalars(stmt).one_or_none()


def groups_by_ids(session: Session, *, account_id: int, group_ids: Sequence[int]) -> list[Group]:
    found: list[Group] = []
    for start in range(0, len(group_ids), IN_CHUNK):
        chunk = group_ids[start : start + IN_CHUNK]
        found.extend(
            session.scalars(sa.select(Group).where(Group.account_id == account_id, Group.id.in_(chunk)))
        )
    return found


def _size_of(group_id: Any) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count())
        .select_from(_numbers)
        .where(GroupNumber.group_id == group_id)
        .scalar_subquery()
    )


def groups_with_sizes(session: Session, *, account_id: int) -> list[tuple[Group, int]]:
    stmt = (
        sa.select(Group, _size_of(Group.id))
        .where(Group.account_id == account_id)
        .order_by(Group.name, Group.id)
    )
    return [(g, int(size)) for g, size in session.execute(stmt)]


def group_size(session: Session, *, group_id: int) -> int:
    stmt = sa.select(sa.func.count()).select_from(_numbers).where(GroupNumber.group_id == group_id)
    return int(session.execute(stmt).scalar_one())


def delete_group(session: Session, *, account_id: int, group_id: int) -> int:
    """Delete the group, its numbers (no foreign key: see the model) and its imports (cascade)."""
    owned = sa.select(Group.id).where(Group.id == group_id, Group.account_id == account_id)
    session.execute(sa.delete(GroupNumber).where(GroupNumber.group_id.in_(owned)))
    stmt = sa.delete(Group).where(Group.id == group_id, Group.account_id == account_id)
    return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


# --- numbers --------------------------------------------------------------------------------


def existing_keys(session: Session, *, group_id: int, keys: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(keys), IN_CHUNK):
        chunk = keys[start : start + IN_CHUNK]
        stmt = sa.select(GroupNumber.key).where(GroupNumber.group_id == group_id, GroupNumber.key.in_(chunk))
        found.update(session.scalars(stmt))
    return found


def all_keys(session: Session, *, group_id: int) -> set[int]:
    conn = session.connection()
    stmt = sa.select(GroupNumber.key).where(GroupNumber.group_id == group_id)
    return set(conn.execute(stmt).scalars())


def has_numbers(session: Session, *, group_id: int) -> bool:
    stmt = sa.select(GroupNumber.key).where(GroupNumber.group_id == group_id).limit(1)
    return session.scalar(stmt) is not None


def insert_numbers(
    session: Session, *, group_id: int, rows: Sequence[tuple[int, str | None, dict[str, str] | None]]
) -> None:
    """A few rows through the Core (API adds); imports use the `bulk_*` paths."""
    if rows:
        session.execute(
            sa.insert(GroupNumber),
            [{"group_id": group_id, "key": k, "name": n, "fields": f} for k, n, f in rows],
        )


def _driver_connection(session: Session) -> Any:
    """The DB-API connection under the session's, inside the same transaction."""
    return session.connection().connection.driver_connection


def _sqlite_has_json(raw: Any) -> bool:
    """Whether this SQLite has json_each (built in since 3.38, and in most builds before)."""
    global _sqlite_json
    if _sqlite_json is None:
        try:
            raw.execute("SELECT count(*) FROM json_each('[1]')").fetchall()
            _sqlite_json = True
        except sqlite3.OperationalError:
            _sqlite_json = False
    return _sqlite_json


_sqlite_json: bool | None = None


def bulk_insert_keys(session: Session, *, group_id: int, keys: Sequence[int]) -> None:
    """Numbers without name or fields, the fastest way each database takes them.

    PostgreSQL: COPY. SQLite: the whole chunk as one JSON array that `json_each` unpacks in C,
    twice as fast as executemany, which binds every row from Python.
    """
    if not keys:
        return
    raw = _driver_connection(session)
    if session.get_bind().dialect.name == "postgresql":
        prefix = f"{group_id}\t"
        data = prefix + ("\n" + prefix).join(map(str, keys)) + "\n"
        with raw.cursor() as cursor, cursor.copy(f"COPY {_NUMBERS} (group_id, key) FROM STDIN") as copy:
            copy.write(data)
        return
    cursor = raw.cursor()
    try:
        if _sqlite_has_json(raw):
            sql = f"INSERT INTO {_NUMBERS} (group_id, key) SELECT ?, value FROM json_each(?)"  # noqa: S608
            cursor.execute(sql, (group_id, "[" + ",".join(map(str, keys)) + "]"))
        else:
            sql = f"INSERT INTO {_NUMBERS} (group_id, key) VALUES (?, ?)"  # noqa: S608
            cursor.executemany(sql, zip(repeat(group_id), keys))
    finally:
        cursor.close()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def bulk_insert_rows(
    session: Session, *, group_id: int, rows: Sequence[tuple[int, str | None, dict[str, str] | None]]
) -> None:
    """Numbers with a name or fields; (key, name, fields) tuples. Same paths as `bulk_insert_keys`."""
    if not rows:
        return
    raw = _driver_connection(session)

    def fields_json(fields: dict[str, str] | None) -> str | None:
        return json.dumps(fields, ensure_ascii=False) if fields else None

    if session.get_bind().dialect.name == "postgresql":
        data = "".join(
            [f"{group_id}\t{k}\t{_copy_text(n)}\t{_copy_text(fields_json(f))}\n" for k, n, f in rows]
        )
        sql = f"COPY {_NUMBERS} (group_id, key, name, fields) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(data)
        return
    cursor = raw.cursor()
    try:
        if _sqlite_has_json(raw):
            # json_extract gives an object back as its JSON text, which is how the column keeps it.
            sql = (
                f"INSERT INTO {_NUMBERS} (group_id, key, name, fields)"  # noqa: S608
                " SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
                " json_extract(value, '$[2]') FROM json_each(?)"
            )
            cursor.execute(
                sql, (group_id, json.dumps([[k, n, f or None] for k, n, f in rows], ensure_ascii=False))
            )
        else:
            cursor.executemany(
                f"INSERT INTO {_NUMBERS} (group_id, key, name, fields) VALUES (?, ?, ?, ?)",  # noqa: S608
                [(group_id, k, n, fields_json(f)) for k, n, f in rows],
            )
    finally:
        cursor.close()


def _number_filters(
    *, account_id: int, group_id: int, key: int | None, digits: str | None, name: str | None
) -> list[sa.ColumnElement[bool]]:
    owned = sa.select(Group.id).where(Group.id == group_id, Group.account_id == account_id)
    filters: list[sa.ColumnElement[bool]] = [
        GroupNumber.group_id == group_id,
        GroupNumber.group_id.in_(owned),
    ]
    if key is not None:
        filters.append(GroupNumber.key == key)
    elif digits is not None:
        filters.append(_digits_like(GroupNumber.key, digits))
    if name is not None:
        filters.append(_name_like(GroupNumber.name, name))
    return filters


def list_numbers(
    session: Session,
    *,
    account_id: int,
    group_id: int,
    limit: int,
    offset: int,
    key: int | None = None,
    digits: str | None = None,
    name: str | None = None,
) -> tuple[list[GroupNumber], int]:
    """A page in number order (the order of the unique index, so deep pages stay cheap) and the total."""
    filters = _number_filters(account_id=account_id, group_id=group_id, key=key, digits=digits, name=name)
    total = session.scalar(sa.select(sa.func.count()).select_from(_numbers).where(*filters)) or 0
    stmt = sa.select(GroupNumber).where(*filters).order_by(GroupNumber.key).limit(limit).offset(offset)
    return list(session.scalars(stmt)), int(total)


def number(session: Session, *, account_id: int, group_id: int, number_id: int) -> GroupNumber | None:
    stmt = (
        sa.select(GroupNumber)
        .join(Group, Group.id == GroupNumber.group_id)
        .where(GroupNumber.key == number_id, GroupNumber.group_id == group_id, Group.account_id == account_id)
    )
    return session.scalars(stmt).one_or_none()


def delete_numbers(session: Session, *, account_id: int, group_id: int, ids: Sequence[int] | None) -> int:
    """Delete the given numbers of the group, or all of them with `ids=None`."""
    owned = sa.select(Group.id).where(Group.id == group_id, Group.account_id == account_id)
    base = sa.delete(GroupNumber).where(GroupNumber.group_id == group_id, GroupNumber.group_id.in_(owned))
    if ids is None:
        return session.execute(base).rowcount  # type: ignore[attr-defined, no-any-return]
    deleted = 0
    for start in range(0, len(ids), IN_CHUNK):
        stmt = base.where(GroupNumber.key.in_(ids[start : start + IN_CHUNK]))
        deleted += session.execute(stmt).rowcount  # type: ignore[attr-defined]
    return deleted


def numbers_after(
    session: Session, *, group_id: int, after_key: int | None, limit: int
) -> Sequence[sa.Row[int, str | None, dict[str, Any] | None]]:
    """The next `limit` numbers of a group by key: keyset pages for streaming whole groups."""
    stmt = (
        sa.select(GroupNumber.key, GroupNumber.name, GroupNumber.fields)
        .where(GroupNumber.group_id == group_id)
        .order_by(GroupNumber.key)
        .limit(limit)
    )
    if after_key is not None:
        stmt = stmt.where(GroupNumber.key > after_key)
    return session.execute(stmt).all()


def keys_after(session: Session, *, group_id: int, after_key: int | None, limit: int) -> list[int]:
    """`numbers_after` for callers that need only the keys (no JSON to decode)."""
    stmt = (
        sa.select(GroupNumber.key)
        .where(GroupNumber.group_id == group_id)
        .order_by(GroupNumber.key)
        .limit(limit)
    )
    if after_key is not None:
        stmt = stmt.where(GroupNumber.key > after_key)
    return list(session.scalars(stmt))


def field_names(session: Session, *, group_id: int) -> list[str]:
    """Every field name used in the group, in the order first seen (by key)."""
    names: dict[str, None] = {}
    stmt = (
        sa.select(GroupNumber.fields)
        .where(GroupNumber.group_id == group_id, GroupNumber.fields.is_not(None))
        .execution_options(yield_per=5000)
    )
    for fields in session.scalars(stmt):
        if fields:
            names.update(dict.fromkeys(fields))
    return list(names)


# --- customers ------------------------------------------------------------------------------


def customer(session: Session, *, account_id: int, customer_id: int) -> Customer | None:
    stmt = sa.select(Customer).where(Customer.id == customer_id, Customer.account_id == account_id)
    return session.scalars(stmt).one_or_none()


def customer_by_key(session: Session, *, account_id: int, key: int) -> Customer | None:
    stmt = sa.select(Customer).where(Customer.account_id == account_id, Customer.key == key)
    return session.scalars(stmt).one_or_none()


def customers_by_ids(session: Session, *, account_id: int, customer_ids: Sequence[int]) -> list[Customer]:
    found: list[Customer] = []
    for start in range(0, len(customer_ids), IN_CHUNK):
        chunk = customer_ids[start : start + IN_CHUNK]
        stmt = sa.select(Customer).where(Customer.account_id == account_id, Customer.id.in_(chunk))
        found.extend(session.scalars(stmt))
    return found


def list_customers(
    session: Session,
    *,
    account_id: int,
    limit: int,
    offset: int,
    key: int | None = None,
    digits: str | None = None,
    name: str | None = None,
) -> tuple[list[Customer], int]:
    filters: list[sa.ColumnElement[bool]] = [Customer.account_id == account_id]
    if key is not None:
        filters.append(Customer.key == key)
    elif digits is not None:
        filters.append(_digits_like(Customer.key, digits))
    if name is not None:
        filters.append(_name_like(Customer.name, name))
    total = session.scalar(sa.select(sa.func.count()).select_from(Customer).where(*filters)) or 0
    stmt = sa.select(Customer).where(*filters).order_by(Customer.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt)), int(total)


def count_customers(session: Session, *, account_id: int) -> int:
    stmt = sa.select(sa.func.count()).select_from(Customer).where(Customer.account_id == account_id)
    return int(session.scalar(stmt) or 0)


def delete_customer(session: Session, *, account_id: int, customer_id: int) -> int:
    stmt = sa.delete(Customer).where(Customer.id == customer_id, Customer.account_id == account_id)
    return session.execute(stmt).rowcount  # type: ignore[attr-defined, no-any-return]


def copy_customers_to_group(
    session: Session, *, account_id: int, group_id: int, customer_ids: Sequence[int] | None
) -> int:
    """Insert the account's customers (all, or these) missing from the group; how many went in."""
    already = sa.select(GroupNumber.key).where(
        GroupNumber.group_id == group_id, GroupNumber.key == Customer.key
    )
    source = sa.select(
        sa.literal(group_id, sa.BigInteger), Customer.key, Customer.name, Customer.fields
    ).where(Customer.account_id == account_id, ~sa.exists(already))
    columns = [GroupNumber.group_id, GroupNumber.key, GroupNumber.name, GroupNumber.fields]
    # Counted through RETURNING: psycopg reports no rowcount for an INSERT ... SELECT here.
    if customer_ids is None:
        stmt = sa.insert(GroupNumber).from_select(columns, source).returning(GroupNumber.key)
        return len(session.execute(stmt).all())
    added = 0
    for start in range(0, len(customer_ids), IN_CHUNK):
        chunk = customer_ids[start : start + IN_CHUNK]
        stmt = (
            sa.insert(GroupNumber)
            .from_select(columns, source.where(Customer.id.in_(chunk)))
            .returning(GroupNumber.key)
        )
        added += len(session.execute(stmt).all())
    return added


# --- imports --------------------------------------------------------------------------------


def import_job(session: Session, *, account_id: int, import_id: int) -> ImportJob | None:
    stmt = sa.select(ImportJob).where(ImportJob.id == import_id, ImportJob.account_id == account_id)
    return session.scalars(stmt).one_or_none()


def import_job_by_id(session: Session, import_id: int) -> ImportJob | None:
    """For the import worker, which was handed a job id its own account created."""
    return session.get(ImportJob, import_id)


def import_jobs(
    session: Session, *, account_id: int, limit: int, group_id: int | None = None
) -> list[ImportJob]:
    stmt = sa.select(ImportJob).where(ImportJob.account_id == account_id)
    if group_id is not None:
        stmt = stmt.where(ImportJob.group_id == group_id)
    return list(session.scalars(stmt.order_by(ImportJob.id.desc()).limit(limit)))


def without_waiting_for_disk(session: Session) -> None:
    """Let this transaction commit without waiting for PostgreSQL's WAL flush.

    For progress figures only: a crash may lose the last one, which the next one replaces anyway,
    and an import no longer pauses on the disk at every progress write.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL synchronous_commit = off"))


def update_import(session: Session, *, import_id: int, values: dict[str, Any]) -> None:
    session.execute(sa.update(ImportJob).where(ImportJob.id == import_id).values(**values))


def add_invalid_rows(session: Session, *, import_id: int, rows: Iterable[tuple[int, str, str]]) -> None:
    batch = [
        {"import_id": import_id, "row": row, "value": value, "reason": reason} for row, value, reason in rows
    ]
    if batch:
        session.execute(sa.insert(ImportInvalidRow), batch)


def invalid_rows(
    session: Session, *, account_id: int, import_id: int, limit: int, offset: int = 0
) -> list[ImportInvalidRow]:
    owned = sa.select(ImportJob.id).where(ImportJob.id == import_id, ImportJob.account_id == account_id)
    stmt = (
        sa.select(ImportInvalidRow)
        .where(ImportInvalidRow.import_id == import_id, ImportInvalidRow.import_id.in_(owned))
        .order_by(ImportInvalidRow.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(stmt))
