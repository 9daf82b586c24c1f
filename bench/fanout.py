"""Fan-out: resolving and accepting one send to 1,000,000 recipients, against a bare bulk insert.

Sets up, in a fresh database, an account with credit, an advertising line, a group of N numbers
and a national blacklist of 50,000,000 numbers (10% of the group on it), then measures in the
same run:

- ours: `sending.service.accept` of an advertising send to the group, one transaction: the text
  checks, reading the group, de-duplication, the blacklist and opt-out filters, pricing by
  operator, the credit hold and the message rows (the dispatcher's queue);
- baseline: the database driver bulk-inserting the same message rows alone (psycopg COPY on
  PostgreSQL, sqlite3 executemany on SQLite), tuples built before the clock starts.

The blacklist is loaded into the process cache before timing, as every long-running process
has it loaded already. The last line printed is one JSON object; "ratio" is ours / baseline.

    .venv/bin/python bench/fanout.py [--recipients 1000000] [--blacklist 50000000] [--database-url URL]
"""

from __future__ import annotations

import os
import sys

# bench/ holds a `numbers.py` that would shadow the standard library's `numbers` when a script
# here is run by path, so this folder leaves sys.path before anything else is imported.
# ruff: noqa: E402
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse
import datetime as dt
import importlib.util
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pyroaring import BitMap

from payamak.accounts import service as accounts
from payamak.accounts.security import Passwords
from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.config import Settings
from payamak.db import Database, upgrade, utcnow
from payamak.numbers import KEY_BASE, operator_of_key
from payamak.phonebook import repository as phonebook_repo
from payamak.phonebook import service as phonebook
from payamak.sending import service as sending
from payamak.sending.blacklist import BlacklistCache, replace_national
from payamak.sending.models import Send


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_blacklist_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_blacklist", Path(_HERE) / "blacklist.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def baseline_insert(db: Database, rows: list[tuple[Any, ...]]) -> float:
    """The driver alone writing the same rows into the same table, rolled back afterwards."""
    columns = "send_id, account_id, recipient, operator, parts, price, text, status, due_at"
    with db.engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if db.dialect == "postgresql":
            start = time.perf_counter()
            with raw.cursor() as cur, cur.copy(f"COPY messages ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            took = time.perf_counter() - start
            raw.rollback()
        else:
            raw.execute("BEGIN IMMEDIATE")
            start = time.perf_counter()
            raw.executemany(f"INSERT INTO messages ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            took = time.perf_counter() - start
            raw.execute("ROLLBACK")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--blacklist", type=int, default=50_000_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (its schema is dropped!); default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="payamak-fanout-"))
    url = args.database_url or f"sqlite:///{folder / 'fanout.db'}"
    settings = Settings(data_dir=folder, database_url=url, secret_key="bench", advertising_hours="always")
    fresh(url)
    db = Database(url)
    helpers = load_blacklist_bench()

    note(f"making {args.recipients:,} group numbers and a {args.blacklist:,}-number blacklist")
    recipients = sorted(helpers.random_recipients(args.recipients, args.seed))
    listed = helpers.random_list(args.blacklist, args.seed + 1)
    listed |= BitMap(k - KEY_BASE for k in recipients[:: 10])  # a tenth of the group has refused advertising

    passwords = Passwords(time_cost=1, memory_kib=1024)
    with db.transaction() as session:
        admin = accounts.create_user(session, passwords=passwords, mobile="09120000001", password="bench-password", admin=True)
        user = accounts.create_user(session, passwords=passwords, mobile="09120000002", password="bench-password")
        billing.grant(session, account_id=user.id, amount=10**13, reason="bench", actor_id=admin.id)
        sending.add_line(session, principal=None, number="30001234", kind="advertising")
        group = phonebook.create_group(session, account_id=user.id, name="bench").group
        for i in range(0, len(recipients), 100_000):
            phonebook_repo.bulk_insert_keys(session, group_id=group.id, keys=recipients[i : i + 100_000])
        replace_national(session, numbers=listed, source="bench")
    principal = Principal(account_id=user.id, role="user")
    request = sending.SendRequest(kind="advertising", text="حراج بزرگ پاییزه فروشگاه نیلی، تا ۵۰٪ تخفیف", group_ids=(group.id,))

    with db.transaction(readonly=True) as session:
        BlacklistCache.shared().get(session)  # loaded once per process, before any send
        plan = sending.plan(session, settings=settings, principal=principal, request=request)
    targets = [k + KEY_BASE for k in plan.targets_keys]
    note(f"{len(targets):,} to send to, {plan.blocked:,} blocked; measuring the baseline")

    with db.transaction() as session:
        dummy = Send(account_id=user.id, kind="advertising", line_number="30001234", text="x", encoding="UCS-2",
                     segments=1, state="queued", send_at=utcnow(), expires_at=utcnow() + dt.timedelta(days=1))  # fmt: skip
        session.add(dummy)
        session.flush()
        dummy_id = dummy.id
    now = utcnow()
    rows = [(dummy_id, user.id, f"+98{k}", operator_of_key(k), 1, 1650, None, "queued", now) for k in targets]
    baseline = min(baseline_insert(db, rows) for _ in range(2))
    del rows

    note("accepting the send")
    start = time.perf_counter()
    with db.transaction() as session:
        send = sending.accept(session, settings=settings, principal=principal, request=request)
        sent_to, blocked = send.recipients, send.blocked
    ours = time.perf_counter() - start
    with db.transaction(readonly=True) as session:
        written = session.scalar(sa.text("SELECT count(*) FROM messages WHERE send_id = :s"), {"s": send.id})
    assert written == sent_to == len(targets), (written, sent_to, len(targets))

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database: {db.dialect}; group {args.recipients:,}, blacklist {len(listed):,}")
    print(f"accept (resolve + hold + queue): {ours:.2f} s for {sent_to:,} messages ({blocked:,} blocked)")
    print(f"bare bulk insert of the same rows: {baseline:.2f} s")
    print(json.dumps({
        "bench": "fanout", "database": db.dialect, "recipients": sent_to, "blocked": blocked,
        "seconds": round(ours, 3), "baseline_seconds": round(baseline, 3), "ratio": round(ours / baseline, 3),
        "rate": round(sent_to / ours), "peak_mb": round(peak),
    }))  # fmt: skip
    db.dispose()


if __name__ == "__main__":
    main()
