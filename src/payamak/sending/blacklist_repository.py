"""All SQL of the blacklist and of opt-outs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payamak.db import utcnow
from payamak.sending.blacklist_models import (
    STATE_ID,
    BlacklistEntry,
    BlacklistLoad,
    BlacklistSnapshot,
    BlacklistSnapshotChunk,
    BlacklistState,
    OptOut,
)

# Core statements on the tables, not the mapped classes, where a row count is what callers return:
# the ORM-enabled forms of INSERT, UPDATE and DELETE do not report one reliably on every dialect.
_ENTRIES = cast(sa.Table, BlacklistEntry.__table__)
_OPTOUTS = cast(sa.Table, OptOut.__table__)

# Keys per IN (...) list and rows per multi-row INSERT: well inside SQLite's and PostgreSQL's
# parameter limits, large enough that a batch of a hundred thousand numbers is a few dozen trips.
BATCH = 500


def _insert(session: Session, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT (both dialects spell it the same way)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _batches(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def add(session: Session, obj: BlacklistSnapshot | BlacklistLoad) -> None:
    session.add(obj)
    session.flush()


# --- state ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class State:
    epoch: str
    version: int
    national_snapshot_id: int | None
    updated_at: dt.datetime


def state(session: Session) -> State | None:
    row = session.execute(
        sa.select(
            BlacklistState.epoch,
            BlacklistState.version,
            BlacklistState.national_snapshot_id,
            BlacklistState.updated_at,
        ).where(BlacklistState.id == STATE_ID)
    ).one_or_none()
    return None if row is None else State(*row)


_KEEP: Any = object()


def bump_version(session: Session, *, national_snapshot_id: int | None = _KEEP) -> int:
    """Move the version on by one and return it; optionally point at another national snapshot.

    The UPDATE takes the row's lock until the transaction ends, so on PostgreSQL concurrent
    writers of the blacklist queue here and versions commit in the order they were given out:
    a reader that sees version v has every change made at a version up to v.
    """
    session.execute(
        _insert(session, BlacklistState)
        .values(id=STATE_ID, epoch=uuid.uuid4().hex, version=0, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    values: dict[str, Any] = {"version": BlacklistState.version + 1, "updated_at": utcnow()}
    if national_snapshot_id is not _KEEP:
        values["national_snapshot_id"] = national_snapshot_id
    version: int = session.execute(
        sa.update(BlacklistState)
        .where(BlacklistState.id == STATE_ID)
        .values(**values)
        .returning(BlacklistState.version)
    ).scalar_one()
    return version


# --- entries (operator-reported and manual numbers) -----------------------------------------


def active_entries_for(
    session: Session, *, keys: Sequence[int], kinds: Iterable[str]
) -> set[tuple[str, int]]:
    """Which of `keys` are on the given lists now, as (kind, key)."""
    found: set[tuple[str, int]] = set()
    kinds = tuple(kinds)
    for batch in _batches(keys):
        rows = session.execute(
            sa.select(BlacklistEntry.kind, BlacklistEntry.number_key).where(
                BlacklistEntry.number_key.in_(batch),
                BlacklistEntry.kind.in_(kinds),
                BlacklistEntry.removed_at.is_(None),
            )
        )
        found.update((kind, key) for kind, key in rows)
    return found


def upsert_entries(
    session: Session,
    *,
    kind: str,
    keys: Sequence[int],
    version: int,
    now: dt.datetime,
    added_by: int | None,
    reason: str,
) -> None:
    """Put keys on a list: new rows, or removed rows brought back (rows already on it are left alone)."""
    table = _ENTRIES
    for batch in _batches(keys):
        stmt = _insert(session, table).values(
            [
                {
                    "number_key": key,
                    "kind": kind,
                    "version": version,
                    "reason": reason,
                    "added_at": now,
                    "added_by": added_by,
                    "removed_at": None,
                    "removed_by": None,
                }
                for key in batch
            ]
        )
        excluded = stmt.excluded
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["number_key", "kind"],
                set_={
                    "version": excluded.version,
                    "reason": excluded.reason,
                    "added_at": excluded.added_at,
                    "added_by": excluded.added_by,
                    "removed_at": None,
                    "removed_by": None,
                },
                where=table.c.removed_at.is_not(None),
            )
        )


def remove_entries(
    session: Session,
    *,
    keys: Sequence[int],
    kinds: Iterable[str],
    version: int,
    now: dt.datetime,
    removed_by: int | None,
) -> int:
    kinds = tuple(kinds)
    table = _ENTRIES
    removed = 0
    for batch in _batches(keys):
        result = session.execute(
            sa.update(table)
            .where(table.c.number_key.in_(batch), table.c.kind.in_(kinds), table.c.removed_at.is_(None))
            .values(removed_at=now, removed_by=removed_by, version=version)
        )
        removed += result.rowcount  # type: ignore[attr-defined]
    return removed


def entries_of(session: Session, *, key: int) -> Sequence[BlacklistEntry]:
    stmt = sa.select(BlacklistEntry).where(BlacklistEntry.number_key == key).order_by(BlacklistEntry.kind)
    return session.scalars(stmt).all()


def active_entry_keys(session: Session) -> Iterator[tuple[str, int]]:
    """Every number on the operator and manual lists now, as (kind, key)."""
    stmt = sa.select(BlacklistEntry.kind, BlacklistEntry.number_key).where(
        BlacklistEntry.removed_at.is_(None)
    )
    for kind, key in session.execute(stmt):
        yield str(kind), int(key)


def entries_changed_after(session: Session, *, version: int) -> Iterator[tuple[str, int, bool]]:
    """Rows changed after `version`, as (kind, key, on the list now)."""
    stmt = sa.select(BlacklistEntry.kind, BlacklistEntry.number_key, BlacklistEntry.removed_at).where(
        BlacklistEntry.version > version
    )
    for kind, key, removed_at in session.execute(stmt):
        yield kind, key, removed_at is None


def entry_counts(session: Session) -> dict[str, int]:
    stmt = (
        sa.select(BlacklistEntry.kind, sa.func.count())
        .where(BlacklistEntry.removed_at.is_(None))
        .group_by(BlacklistEntry.kind)
    )
    return {str(kind): int(count) for kind, count in session.execute(stmt)}


# --- national snapshots ---------------------------------------------------------------------


def snapshot(session: Session, snapshot_id: int) -> BlacklistSnapshot | None:
    return session.get(BlacklistSnapshot, snapshot_id)


def add_chunk(session: Session, *, snapshot_id: int, seq: int, data: bytes) -> None:
    # Core INSERT rather than an ORM object, so the session does not keep every chunk in memory.
    session.execute(sa.insert(BlacklistSnapshotChunk).values(snapshot_id=snapshot_id, seq=seq, data=data))


def chunk(session: Session, *, snapshot_id: int, seq: int) -> bytes | None:
    """One chunk at a time: the whole list at once would be another 100 MB in flight."""
    data: bytes | None = session.execute(
        sa.select(BlacklistSnapshotChunk.data).where(
            BlacklistSnapshotChunk.snapshot_id == snapshot_id, BlacklistSnapshotChunk.seq == seq
        )
    ).scalar_one_or_none()
    return data


def delete_snapshots_except(session: Session, *, keep: Iterable[int]) -> None:
    keep = tuple(keep)
    old = sa.select(BlacklistSnapshot.id).where(BlacklistSnapshot.id.not_in(keep))
    session.execute(
        sa.delete(BlacklistSnapshotChunk).where(BlacklistSnapshotChunk.snapshot_id.in_(old)),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        sa.delete(BlacklistSnapshot).where(BlacklistSnapshot.id.not_in(keep)),
        execution_options={"synchronize_session": False},
    )


# --- national loads -------------------------------------------------------------------------


def load_by_id(session: Session, load_id: int) -> BlacklistLoad | None:
    return session.get(BlacklistLoad, load_id)


def latest_load(session: Session) -> BlacklistLoad | None:
    stmt = sa.select(BlacklistLoad).order_by(BlacklistLoad.id.desc()).limit(1)
    return session.scalars(stmt).one_or_none()


def running_loads_since(session: Session, *, since: dt.datetime) -> Sequence[BlacklistLoad]:
    stmt = sa.select(BlacklistLoad).where(
        BlacklistLoad.status == "running", BlacklistLoad.updated_at >= since
    )
    return session.scalars(stmt).all()


def update_load(session: Session, load_id: int, **values: Any) -> None:
    session.execute(
        sa.update(BlacklistLoad).where(BlacklistLoad.id == load_id).values(**values),
        execution_options={"synchronize_session": False},
    )


# --- opt-outs -------------------------------------------------------------------------------


def insert_optout(
    session: Session,
    *,
    scope: str,
    key: int,
    line: str | None,
    account_id: int | None,
    source: str,
    now: dt.datetime,
) -> bool:
    """Record an opt-out; False when it was already there (the partial unique indexes decide)."""
    # RETURNING rather than rowcount: psycopg reports -1 for an INSERT that returns rows, and
    # SQLAlchemy adds RETURNING for the new id on its own.
    inserted = session.execute(
        _insert(session, _OPTOUTS)
        .values(scope=scope, line=line, account_id=account_id, number_key=key, source=source, created_at=now)
        .on_conflict_do_nothing()
        .returning(_OPTOUTS.c.id)
    ).first()
    return inserted is not None


def delete_optout(
    session: Session, *, scope: str, key: int, line: str | None, account_id: int | None
) -> bool:
    c = _OPTOUTS.c
    stmt = sa.delete(_OPTOUTS).where(c.scope == scope, c.number_key == key)
    stmt = stmt.where(c.line == line) if scope == "line" else stmt.where(c.account_id == account_id)
    result = session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def optout_scopes(session: Session, *, key: int, line: str, account_id: int | None) -> set[str]:
    """Which scopes (line, account) hold an opt-out of `key` from this line or account."""
    conditions = [sa.and_(OptOut.scope == "line", OptOut.line == line)]
    if account_id is not None:
        conditions.append(sa.and_(OptOut.scope == "account", OptOut.account_id == account_id))
    stmt = sa.select(OptOut.scope).where(OptOut.number_key == key, sa.or_(*conditions))
    return set(session.scalars(stmt))


def optout_keys(session: Session, *, line: str, account_id: int | None) -> Iterator[int]:
    """Keys opted out of the line, and (when an account is given) of the account; may repeat."""
    stmt: sa.Select[int] | sa.CompoundSelect[int] = sa.select(OptOut.number_key).where(
        OptOut.scope == "line", OptOut.line == line
    )
    if account_id is not None:
        stmt = sa.union_all(
            stmt,
            sa.select(OptOut.number_key).where(OptOut.scope == "account", OptOut.account_id == account_id),
        )
    # Driver rows straight away: no ORM, no per-row Row objects beyond what the driver makes.
    yield from session.execute(stmt).scalars()
