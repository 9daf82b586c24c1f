"""All SQL of the dispatcher: the queue (claim, results, receipts, recovery, expiry), routes,
route states and dispatcher heartbeats.

The queue functions run for every message, thousands of times a second, so they go through the
driver's own cursor and write a whole batch in one statement per kind of change: the rows of a
batch go as one JSON parameter (read by `json_each` on SQLite, `jsonb_array_elements` on
PostgreSQL), and what the rows of a group share (the new status, the receipt's time, the route) as
plain parameters, so each row carries only what differs. Every change is guarded by the status it
expects (and, for a claimed message, by its attempt number, which a new claim increments), so a
stale writer — a dispatcher whose claim was taken back, a duplicate receipt — changes nothing.
Where credit depends on a change, the change reports which rows it really moved and only those are
given back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payamak.dispatch.models import Dispatcher, Route, RouteState
from payamak.sending.models import InboundMessage, Line, Message

_SQLITE_TIME: Final = "%Y-%m-%d %H:%M:%S.%f"
# The partial index ix_messages_queue covers these statuses; SQLite uses a partial index only when
# the query repeats its condition, so every queue query below does.
_IN_QUEUE: Final = "status IN ('scheduled', 'queued', 'submitting')"
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ClaimedRow(NamedTuple):
    # A tuple: thousands are made a second, straight from the cursor's rows.
    id: int
    send_id: int
    account_id: int
    recipient: str
    operator: str | None
    parts: int
    price: int
    text: str | None
    attempts: int
    maybe_duplicate: bool


@dataclass(frozen=True, slots=True)
class SendInfo:
    id: int
    account_id: int
    kind: str
    text: str
    line_number: str
    expires_at: dt.datetime
    line_route_id: int | None
    # Asked for status callbacks. A hook is only ever added in its send's own transaction, so what
    # is read once for a send stays true for all its messages.
    hooked: bool = False


@dataclass(frozen=True, slots=True)
class SentRow:
    """A message found by the id its provider gave it."""

    id: int
    provider_id: str
    status: str
    account_id: int
    send_id: int
    price: int
    recipient: str
    route_id: int | None


@dataclass(frozen=True, slots=True)
class Released:
    """A message a bulk change really moved, with what its credit needs."""

    id: int
    account_id: int
    send_id: int
    price: int


class _Raw:
    """The session's own DB-API connection and how to write times and placeholders for it."""

    __slots__ = ("_times", "conn", "pg")

    def __init__(self, session: Session) -> None:
        connection = session.connection()
        self.pg = connection.dialect.name == "postgresql"
        self.conn: Any = connection.connection.driver_connection
        self._times: dict[dt.datetime, str] = {}

    def time(self, value: dt.datetime) -> Any:
        # SQLAlchemy keeps SQLite times as naive UTC text in this exact form; comparisons are
        # textual, so every time written here must look the same. Receipts of a batch share a
        # handful of (minute-resolution) times, so each is formatted once.
        if self.pg:
            return value
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = value.astimezone(dt.UTC).strftime(_SQLITE_TIME)
        return text

    def read_time(self, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            return int(cur.rowcount)
        finally:
            cur.close()

    def json_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The one JSON value a query returns (json_group_array), decoded."""
        rows = self.execute(sql, params)
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else []


def _rows(rows: Iterable[Any]) -> str:
    # A batch goes to SQLite as one JSON array read by json_each, so the whole batch is one
    # statement and one sqlite3_step. executemany steps once a row and releases and retakes the
    # GIL each time, which under a busy event loop costs several times the write itself.
    return json.dumps(list(rows), separators=(",", ":"), ensure_ascii=False)


def _j(index: int) -> str:
    """Field `index` of the batch row `j` (json_extract rather than ->>, which needs SQLite 3.38)."""
    return f"json_extract(j.value, '$[{index}]')"


# The guard of every write to a claimed message: still claimed, by the claim that wrote it.
_CLAIMED = f"messages.id = {_j(0)} AND messages.status = 'submitting' AND messages.attempts = {_j(1)}"

# On SQLite a claimed message travels as one integer, its id and the claim's attempt number packed
# (`_pack`), and when it has a provider id, as the key of a JSON object whose value is that
# integer: json_extract parses a row's JSON text again for every field it reads, which cost more
# than the row's own update, while json_each hands over keys and values already parsed.
# attempts is a SMALLINT, never negative (a claim adds one to it), so it always fits its 16 bits.
_PACK_BITS: Final = 16
_PACKED_CLAIMED = (
    f"messages.id = (j.value >> {_PACK_BITS}) AND messages.status = 'submitting' "
    f"AND messages.attempts = (j.value & {(1 << _PACK_BITS) - 1})"
)


def _pack(message_id: int, attempts: int) -> int:
    return message_id << _PACK_BITS | attempts


def _keyed(items: Sequence[tuple[int, int, str | None]]) -> str | None:
    """{provider id: packed id and attempts} as JSON, or None unless every provider id is there
    and different (a JSON object cannot hold the same key twice)."""
    keyed = {pid: _pack(mid, att) for mid, att, pid in items if pid}
    if len(keyed) != len(items):
        return None
    return json.dumps(keyed, separators=(",", ":"), ensure_ascii=False)


def _grouped(rows: Iterable[tuple[Any, ...]], split: int) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Rows by what their fields from `split` on say (shared by most of a batch), each keeping the
    fields before `split`."""
    groups: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for row in rows:
        key = row[split:]
        group = groups.get(key)
        if group is None:
            groups[key] = [row[:split]]
        else:
            group.append(row[:split])
    return groups


def _pg_rows(rows: Iterable[Sequence[Any]]) -> str:
    # One jsonb parameter instead of an array per column: psycopg dumps arrays element by element
    # in Python, several times the cost of json.dumps, which runs in C.
    return json.dumps(list(rows), separators=(",", ":"), ensure_ascii=False)


# --- the queue ------------------------------------------------------------------------------


def promote_due(session: Session, *, now: dt.datetime, limit: int) -> int:
    """Messages of scheduled sends whose time has come become queued (at most `limit` a call), and
    such sends whose messages are all queued become queued too.

    Found through the sends, not the queue index: that index is ordered by time, and a long
    backlog of queued messages would sit in front of every scheduled one.
    """
    raw = _Raw(session)
    p = "%s" if raw.pg else "?"
    lock = " FOR UPDATE SKIP LOCKED" if raw.pg else ""
    moved = raw.rowcount(
        f"UPDATE messages SET status = 'queued' WHERE id IN (SELECT m.id FROM sends AS s "  # noqa: S608
        f"JOIN messages AS m ON m.send_id = s.id WHERE s.state = 'scheduled' AND s.send_at <= {p} "
        f"AND m.status = 'scheduled' LIMIT {p}{' FOR UPDATE OF m SKIP LOCKED' if raw.pg else ''})",
        (raw.time(now), limit),
    )
    if moved < limit:
        raw.rowcount(
            f"UPDATE sends SET state = 'queued' WHERE id IN (SELECT s.id FROM sends AS s WHERE s.state = 'scheduled' "  # noqa: S608
            f"AND s.send_at <= {p} AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.send_id = s.id "
            f"AND m.status = 'scheduled'){lock})",
            (raw.time(now),),
        )
    return moved


def claim(session: Session, *, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[ClaimedRow]:
    """Take up to `limit` due messages: they become `submitting`, their attempt count goes up and
    their `due_at` becomes the end of the lease, when another dispatcher may take them back.

    Due scheduled messages are taken as well as queued ones (scheduled -> queued -> submitting in
    one step), so a send's time coming never waits for `promote_due`. Moving `due_at` forward keeps
    claimed rows out of the way of the next claim's index scan. PostgreSQL skips rows another
    dispatcher is claiming; on SQLite the write transaction is already exclusive.
    """
    raw = _Raw(session)
    columns = "id, send_id, account_id, recipient, operator, parts, price, text, attempts, maybe_duplicate"
    if raw.pg:
        sql = (
            "UPDATE messages AS m SET status = 'submitting', claimed_at = %s, due_at = %s, "  # noqa: S608 - fixed column names
            "attempts = m.attempts + 1 FROM (SELECT id FROM messages WHERE status IN ('scheduled', 'queued') "
            "AND due_at <= %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) AS c WHERE m.id = c.id "
            "RETURNING m." + columns.replace(", ", ", m.")
        )
        rows = raw.execute(sql, (raw.time(now), raw.time(lease_until), raw.time(now), limit))
        make = ClaimedRow._make
        return [make(r) for r in rows]
    # SQLite: the write transaction is exclusive, so reading the chosen rows (with the attempt
    # number the claim gives them) and then marking them is as atomic as one statement, and each
    # is a single step (see `_rows`).
    found = raw.json_value(
        "SELECT json_group_array(json_array(id, send_id, account_id, recipient, operator, parts, price, text, "  # noqa: S608
        f"attempts + 1, maybe_duplicate)) FROM (SELECT {columns} FROM messages WHERE {_IN_QUEUE} "
        "AND status IN ('scheduled', 'queued') AND due_at <= ? ORDER BY due_at LIMIT ?)",
        (raw.time(now), limit),
    )
    if not found:
        return []
    raw.rowcount(
        "UPDATE messages SET status = 'submitting', claimed_at = ?, due_at = ?, attempts = attempts + 1 "
        "WHERE id IN (SELECT value FROM json_each(?))",
        (raw.time(now), raw.time(lease_until), _rows(r[0] for r in found)),
    )
    make = ClaimedRow._make
    return [make(r) for r in found]


def send_infos(session: Session, *, send_ids: Iterable[int]) -> list[SendInfo]:
    """What every message of these sends shares: the text, the line, the validity, the kind."""
    ids = sorted(set(send_ids))
    if not ids:
        return []
    stmt = sa.text(
        "SELECT s.id, s.account_id, s.kind, s.text, s.line_number, s.expires_at, l.route_id "
        "FROM sends AS s LEFT JOIN lines AS l ON l.id = s.line_id WHERE s.id IN :ids"
    ).bindparams(sa.bindparam("ids", expanding=True))
    raw = _Raw(session)
    out = []
    for row in session.execute(stmt, {"ids": ids}):
        out.append(SendInfo(row[0], row[1], row[2], row[3], row[4], raw.read_time(row[5]), row[6]))
    return out


def mark_sent(
    session: Session, *, now: dt.datetime, rows: Sequence[tuple[int, int, str, int | None]]
) -> None:
    """submitting -> sent. Rows: (id, attempts of the claim, provider id, route id)."""
    if not rows:
        return
    raw = _Raw(session)
    for (route_id,), items in _grouped(rows, 3).items():
        if raw.pg:
            raw.execute(
                "UPDATE messages AS m SET status = 'sent', provider_id = v.pid, route_id = %s, submitted_at = %s, "
                "error = NULL FROM (SELECT (e->>0)::bigint AS id, (e->>1)::int AS att, e->>2 AS pid "
                "FROM jsonb_array_elements(%s::jsonb) AS e) AS v "
                "WHERE m.id = v.id AND m.status = 'submitting' AND m.attempts = v.att",
                (route_id, now, _pg_rows(items)),
            )
            continue
        keyed = _keyed(items)
        if keyed is not None:
            raw.rowcount(
                "UPDATE messages SET status = 'sent', provider_id = j.key, route_id = ?, submitted_at = ?, "  # noqa: S608 - fixed SQL
                f"error = NULL FROM json_each(?) AS j WHERE {_PACKED_CLAIMED}",
                (route_id, raw.time(now), keyed),
            )
            continue
        raw.rowcount(
            f"UPDATE messages SET status = 'sent', provider_id = {_j(2)}, route_id = ?, "  # noqa: S608 - fixed SQL
            f"submitted_at = ?, error = NULL FROM json_each(?) AS j WHERE {_CLAIMED}",
            (route_id, raw.time(now), _rows(items)),
        )


def requeue(session: Session, *, rows: Sequence[tuple[int, int, dt.datetime, str | None, int, bool]]) -> None:
    """submitting -> queued, to be taken again at `due_at`.

    Rows: (id, attempts of the claim, due_at, error, change to attempts (-1 gives an attempt
    back), whether it may already have reached the SMSC)."""
    if not rows:
        return
    raw = _Raw(session)
    if raw.pg:
        ids, attempts, dues, errors, deltas, maybes = zip(*rows, strict=True)
        raw.execute(
            "UPDATE messages AS m SET status = 'queued', due_at = v.due, error = v.err, "
            "attempts = m.attempts + v.delta, maybe_duplicate = (m.maybe_duplicate OR v.maybe) "
            "FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[], %s::text[], %s::int[], %s::bool[]) "
            "AS v(id, att, due, err, delta, maybe) WHERE m.id = v.id AND m.status = 'submitting' "
            "AND m.attempts = v.att",
            (list(ids), list(attempts), list(dues), list(errors), list(deltas), list(maybes)),
        )
        return
    raw.rowcount(
        f"UPDATE messages SET status = 'queued', due_at = {_j(2)}, error = {_j(3)}, "  # noqa: S608 - fixed SQL
        f"attempts = messages.attempts + {_j(4)}, maybe_duplicate = (messages.maybe_duplicate OR {_j(5)}) "
        f"FROM json_each(?) AS j WHERE {_CLAIMED}",
        (
            _rows(
                [mid, att, raw.time(due), err, delta, int(maybe)] for mid, att, due, err, delta, maybe in rows
            ),
        ),
    )


def finish_claimed(
    session: Session,
    *,
    rows: Sequence[tuple[int, int, str, str | None, dt.datetime, str | None, int | None, dt.datetime | None]],
    confirm: bool,
) -> set[int]:
    """submitting -> a final status (failed, rejected, expired, or one a receipt already gave).

    Rows: (id, attempts of the claim, status, error, done_at, provider id, route id, submitted_at).
    With `confirm`, returns the ids really changed (for credit); otherwise an empty set.
    """
    if not rows:
        return set()
    raw = _Raw(session)
    changed: set[int] = set()
    # Moved last, so that what a group shares starts at field 3: (status, error, done_at, route id,
    # submitted_at) after (id, attempts, provider id).
    reordered = ((r[0], r[1], r[5], r[2], r[3], r[4], r[6], r[7]) for r in rows)
    for (status, error, done, route_id, submitted), items in _grouped(reordered, 3).items():
        if raw.pg:
            returned = raw.execute(
                "UPDATE messages AS m SET status = %s, error = %s, done_at = %s, "
                "provider_id = COALESCE(v.pid, m.provider_id), route_id = COALESCE(%s, m.route_id), "
                "submitted_at = COALESCE(%s, m.submitted_at) FROM (SELECT (e->>0)::bigint AS id, "
                "(e->>1)::int AS att, e->>2 AS pid FROM jsonb_array_elements(%s::jsonb) AS e) AS v "
                "WHERE m.id = v.id AND m.status = 'submitting' AND m.attempts = v.att RETURNING m.id",
                (status, error, done, route_id, submitted, _pg_rows(items)),
            )
            if confirm:
                changed.update(r[0] for r in returned)
            continue
        sub = raw.time(submitted) if submitted is not None else None
        shared = (status, error, raw.time(done), route_id, sub)
        keyed = _keyed(items) if items[0][2] else None
        if keyed is not None:
            data, guard, set_pid = keyed, _PACKED_CLAIMED, "provider_id = j.key"
        elif not any(pid for _, _, pid in items):
            data, guard, set_pid = _rows(_pack(mid, att) for mid, att, _ in items), _PACKED_CLAIMED, ""
        else:
            data, guard = _rows(items), _CLAIMED
            set_pid = f"provider_id = COALESCE({_j(2)}, messages.provider_id)"
        if confirm:
            # The write transaction is exclusive: the rows that match now are the rows changed next.
            changed.update(
                raw.json_value(
                    "SELECT json_group_array(messages.id) FROM json_each(?) AS j JOIN messages "  # noqa: S608 - fixed SQL
                    f"ON {guard}",
                    (data,),
                )
            )
        raw.rowcount(
            "UPDATE messages SET status = ?, error = ?, done_at = ?, route_id = COALESCE(?, messages.route_id), "  # noqa: S608 - fixed SQL
            f"submitted_at = COALESCE(?, messages.submitted_at){', ' if set_pid else ''}{set_pid} "
            f"FROM json_each(?) AS j WHERE {guard}",
            (*shared, data),
        )
    return changed


def finish_sent(
    session: Session, *, rows: Sequence[tuple[int, str, str | None, dt.datetime]], confirm: bool
) -> set[int]:
    """sent -> a final status, from receipts. Rows: (id, status, error, done_at).

    With `confirm`, returns the ids really changed: a duplicate receipt changes nothing."""
    if not rows:
        return set()
    raw = _Raw(session)
    changed: set[int] = set()
    for (status, error, done), items in _grouped(rows, 1).items():
        ids = [item[0] for item in items]
        if raw.pg:
            returned = raw.execute(
                "UPDATE messages SET status = %s, error = %s, done_at = %s WHERE id IN "
                "(SELECT value::bigint FROM jsonb_array_elements_text(%s::jsonb)) AND status = 'sent' "
                "RETURNING id",
                (status, error, done, _pg_rows(ids)),
            )
            if confirm:
                changed.update(r[0] for r in returned)
            continue
        data = _rows(ids)
        if confirm:
            changed.update(
                raw.json_value(
                    "SELECT json_group_array(id) FROM messages WHERE id IN (SELECT value FROM json_each(?)) "
                    "AND status = 'sent'",
                    (data,),
                )
            )
        raw.rowcount(
            "UPDATE messages SET status = ?, error = ?, done_at = ? WHERE id IN "
            "(SELECT value FROM json_each(?)) AND status = 'sent'",
            (status, error, raw.time(done), data),
        )
    return changed


def by_provider_ids(session: Session, *, route_id: int | None, provider_ids: Sequence[str]) -> list[SentRow]:
    """Messages a route's SMSC knows by these ids (ids are unique per SMSC only)."""
    if not provider_ids:
        return []
    raw = _Raw(session)
    out: list[SentRow] = []
    for start in range(0, len(provider_ids), 500):
        chunk = list(provider_ids[start : start + 500])
        if raw.pg:
            sql = (
                "SELECT id, provider_id, status, account_id, send_id, price, recipient, route_id FROM messages "
                "WHERE provider_id = ANY(%s) AND route_id IS NOT DISTINCT FROM %s"
            )
            params: tuple[Any, ...] = (chunk, route_id)
        else:
            marks = ", ".join("?" for _ in chunk)
            sql = (
                "SELECT id, provider_id, status, account_id, send_id, price, recipient, route_id FROM messages "  # noqa: S608
                f"WHERE provider_id IN ({marks}) AND route_id IS ?"
            )
            params = (*chunk, route_id)
        out.extend(SentRow(*row) for row in raw.execute(sql, params))
    return out


def recover_claims(
    session: Session, *, now: dt.datetime, claimed_before: dt.datetime | None, limit: int
) -> int:
    """Claims whose dispatcher is gone go back to the queue, marked as possibly sent already:
    those whose lease has ended, and with `claimed_before` also every claim made before then.

    Read through ix_messages_claims, which holds only claims in flight."""
    raw = _Raw(session)
    p = "%s" if raw.pg else "?"
    cutoff = raw.time(claimed_before or _EPOCH)
    sql = (
        f"UPDATE messages SET status = 'queued', maybe_duplicate = {'true' if raw.pg else '1'}, due_at = {p}, "  # noqa: S608
        f"error = 'claim_lost' WHERE id IN (SELECT id FROM messages WHERE status = 'submitting' "
        f"AND claimed_at <= {p} AND (due_at <= {p} OR claimed_at < {p}) LIMIT {p}"
        f"{' FOR UPDATE SKIP LOCKED' if raw.pg else ''})"
    )
    at = raw.time(now)
    return raw.rowcount(sql, (at, at, at, cutoff, limit))


def expire_waiting(session: Session, *, now: dt.datetime, since: dt.datetime, limit: int) -> list[Released]:
    """Messages still waiting (scheduled or queued) whose send's validity ended become expired.

    Only sends that expired after `since` and are not done are looked at, so the sweep stays
    cheap however many old sends there are."""
    raw = _Raw(session)
    if raw.pg:
        sql = (
            "UPDATE messages SET status = 'expired', done_at = %s, error = 'validity_expired' WHERE id IN ("
            "SELECT m.id FROM messages AS m JOIN sends AS s ON s.id = m.send_id WHERE s.expires_at <= %s "
            "AND s.expires_at > %s AND s.state <> 'done' AND m.status IN ('scheduled', 'queued') "
            "LIMIT %s FOR UPDATE OF m SKIP LOCKED) RETURNING id, account_id, send_id, price"
        )
    else:
        sql = (
            "UPDATE messages SET status = 'expired', done_at = ?, error = 'validity_expired' WHERE id IN ("
            "SELECT m.id FROM sends AS s JOIN messages AS m ON m.send_id = s.id WHERE s.expires_at <= ? "
            "AND s.expires_at > ? AND s.state <> 'done' AND m.status IN ('scheduled', 'queued') LIMIT ?) "
            "RETURNING id, account_id, send_id, price"
        )
    rows = raw.execute(sql, (raw.time(now), raw.time(now), raw.time(since), limit))
    return [Released(*row) for row in rows]


def unsettled_sends(
    session: Session, *, now: dt.datetime, receipts_until: dt.datetime, since: dt.datetime, limit: int
) -> list[tuple[int, int]]:
    """(send id, account id) of sends whose credit can be settled: nothing waits any more, and
    either nothing waits for a receipt or its wait (sends that expired before `receipts_until`) is over.

    Canceled sends are looked at only for a while after they were canceled (`since`)."""
    stmt = sa.text(
        "SELECT s.id, s.account_id FROM sends AS s WHERE (s.state IN ('scheduled', 'queued', 'sending') "
        "OR (s.state = 'canceled' AND s.canceled_at > :since)) AND s.send_at <= :now "
        "AND NOT EXISTS (SELECT 1 FROM messages AS m WHERE m.send_id = s.id "
        "AND m.status IN ('scheduled', 'queued', 'submitting')) "
        "AND (s.expires_at <= :receipts_until OR NOT EXISTS (SELECT 1 FROM messages AS m "
        "WHERE m.send_id = s.id AND m.status = 'sent')) ORDER BY s.account_id, s.id LIMIT :limit"
    )
    raw = _Raw(session)
    rows = session.execute(
        stmt,
        {
            "since": raw.time(since),
            "now": raw.time(now),
            "receipts_until": raw.time(receipts_until),
            "limit": limit,
        },
    )
    return [(int(r[0]), int(r[1])) for r in rows]


def mark_send_done(session: Session, *, send_id: int) -> None:
    session.execute(
        sa.text("UPDATE sends SET state = 'done' WHERE id = :id AND state <> 'canceled'"), {"id": send_id}
    )


def count_by_status(session: Session, *, send_id: int | None = None) -> dict[str, int]:
    stmt = sa.select(Message.status, sa.func.count()).group_by(Message.status)
    if send_id is not None:
        stmt = stmt.where(Message.send_id == send_id)
    return {str(status): int(n) for status, n in session.execute(stmt)}


def queue_depth(session: Session, *, now: dt.datetime) -> int:
    raw = _Raw(session)
    if raw.pg:
        sql = "SELECT count(*) FROM messages WHERE status = 'queued' AND due_at <= %s"
    else:
        sql = f"SELECT count(*) FROM messages WHERE {_IN_QUEUE} AND status = 'queued' AND due_at <= ?"  # noqa: S608
    return int(raw.execute(sql, (raw.time(now),))[0][0])


# --- lines and inbound ----------------------------------------------------------------------


def line_owner(session: Session, *, number: str) -> tuple[bool, int | None]:
    """(whether the line exists, the account it belongs to: None for a shared line)."""
    row = session.execute(sa.select(Line.account_id).where(Line.number == number)).first()
    return (False, None) if row is None else (True, row[0])


def add_inbound(session: Session, records: Sequence[InboundMessage]) -> None:
    session.add_all(records)
    session.flush()


# --- routes ---------------------------------------------------------------------------------


def routes(session: Session, *, active_only: bool = False) -> Sequence[Route]:
    stmt = sa.select(Route).order_by(Route.priority, Route.id)
    if active_only:
        stmt = stmt.where(Route.active.is_(True))
    return session.scalars(stmt).all()


def route_by_id(session: Session, route_id: int) -> Route | None:
    return session.get(Route, route_id)


def route_by_name(session: Session, name: str) -> Route | None:
    return session.scalars(sa.select(Route).where(Route.name == name)).one_or_none()


def add_route(session: Session, route: Route) -> None:
    session.add(route)
    session.flush()


def delete_route(session: Session, route: Route) -> None:
    session.execute(sa.update(Line).where(Line.route_id == route.id).values(route_id=None))
    session.execute(sa.delete(RouteState).where(RouteState.route_id == route.id))
    session.delete(route)
    session.flush()


def lines_on_route(session: Session, route_id: int) -> int:
    return int(
        session.scalar(sa.select(sa.func.count()).select_from(Line).where(Line.route_id == route_id)) or 0
    )


def route_states(session: Session) -> dict[int, RouteState]:
    return {s.route_id: s for s in session.scalars(sa.select(RouteState))}


def save_route_states(session: Session, states: Sequence[RouteState]) -> None:
    """Replace the last known state of each given route."""
    if not states:
        return
    known = {
        r for (r,) in session.execute(sa.select(Route.id).where(Route.id.in_([s.route_id for s in states])))
    }
    for state in states:
        if state.route_id in known:
            session.merge(state)
    session.flush()


# --- dispatchers ----------------------------------------------------------------------------


def register_dispatcher(session: Session, *, name: str, now: dt.datetime) -> int:
    record = Dispatcher(name=name, started_at=now, heartbeat_at=now, stats={})
    session.add(record)
    session.flush()
    return record.id


def heartbeat(session: Session, *, dispatcher_id: int, now: dt.datetime, stats: dict[str, Any]) -> None:
    session.execute(
        sa.update(Dispatcher).where(Dispatcher.id == dispatcher_id).values(heartbeat_at=now, stats=stats)
    )


def stop_dispatcher(session: Session, *, dispatcher_id: int, now: dt.datetime, stats: dict[str, Any]) -> None:
    session.execute(
        sa.update(Dispatcher)
        .where(Dispatcher.id == dispatcher_id)
        .values(heartbeat_at=now, stopped_at=now, stats=stats)
    )


def live_dispatchers(session: Session, *, alive_since: dt.datetime, exclude: int | None = None) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(Dispatcher)
        .where(Dispatcher.stopped_at.is_(None), Dispatcher.heartbeat_at > alive_since)
    )
    if exclude is not None:
        stmt = stmt.where(Dispatcher.id != exclude)
    return int(session.scalar(stmt) or 0)


def dispatchers(session: Session, *, limit: int = 20) -> Sequence[Dispatcher]:
    return session.scalars(sa.select(Dispatcher).order_by(Dispatcher.id.desc()).limit(limit)).all()


def forget_dispatchers(session: Session, *, stopped_before: dt.datetime) -> None:
    """Old records of dispatchers that stopped or died long ago."""
    session.execute(sa.delete(Dispatcher).where(Dispatcher.heartbeat_at < stopped_before))
