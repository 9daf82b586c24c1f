"""`payamak doctor`: what is wrong with this deployment, one line per check, exit 1 if anything is.

Reads only: it never creates the database, migrates, or writes anything but a probe file in the
data directory (removed at once). Thresholds are options, so a cron job or a deploy pipeline can
hold a deployment to its own limits.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.orm import Session

    from payamak.config import Settings
    from payamak.db import Database

# SQLAlchemy and the domain packages are imported where they are used: every `payamak` command
# imports this module to register `doctor`, and most of them need none of it.

Status = Literal["ok", "fail", "warn", "unknown"]
SYMBOLS: dict[Status, tuple[str, str]] = {
    "ok": ("✓", "green"),
    "fail": ("✗", "red"),
    "warn": ("!", "yellow"),
    "unknown": ("?", "dim"),
}


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, **self.data}


@dataclass(frozen=True)
class Limits:
    max_queue_age: float = 600.0  # seconds a due message may wait
    stuck_grace: float = 60.0  # seconds past its lease a claimed message may stay claimed
    route_fresh: float = 60.0  # a route state older than this was not written by a running dispatcher
    min_free_mb: int = 1024


def ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database's file (None: not SQLite, or in memory)."""
    from sqlalchemy.engine import make_url

    if not settings.is_sqlite:
        return None
    database = make_url(settings.sqlalchemy_url).database
    return Path(database).resolve() if database and database != ":memory:" else None


def describe_database(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(settings.sqlalchemy_url)
    if settings.is_sqlite:
        return f"sqlite {sqlite_file(settings) or ':memory:'}"
    return f"{url.get_backend_name()} {url.render_as_string(hide_password=True).split('://', 1)[-1]}"


def run_checks(settings: Settings, limits: Limits | None = None) -> list[Check]:
    from payamak.db import utcnow

    limits = limits or Limits()
    checks: list[Check] = []
    db = _database_check(settings, checks)
    if db is None:
        for name in ("migrations", "routes", "dispatchers", "queue", "stuck", "ledger"):
            checks.append(Check(name, "unknown", "not checked: the database did not answer"))
    else:
        try:
            at_head = _migrations_check(settings, checks)
            now = utcnow()
            for name, check in (
                ("routes", lambda s: _routes_check(s, now, limits)),
                ("dispatchers", lambda s: _dispatchers_check(s, now)),
                ("queue", lambda s: _queue_check(s, now, limits)),
                ("stuck", lambda s: _stuck_check(s, now, limits)),
                ("ledger", _ledger_check),
            ):
                checks.extend(_guarded(db, name, check, at_head))
        finally:
            db.dispose()
    checks.append(_data_dir_check(settings, limits))
    checks.append(_secret_key_check(settings))
    checks.append(_payments_check(settings))
    return checks


def _guarded(db: Database, name: str, check: Callable[[Session], list[Check]], at_head: bool) -> list[Check]:
    import sqlalchemy as sa

    try:
        with db.transaction(readonly=True) as session:
            return check(session)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).splitlines()[0][:200]
        if not at_head:
            # A schema behind the code lacks what the check reads; the migrations line says why.
            return [Check(name, "unknown", f"not checked: the schema is not at head ({reason})")]
        return [Check(name, "fail", f"could not check: {reason}")]


def _database_check(settings: Settings, checks: list[Check]) -> Database | None:
    import sqlalchemy as sa

    from payamak.db import Database

    which = describe_database(settings)
    path = sqlite_file(settings)
    if path is not None and not path.exists():
        # Connecting would create an empty file, and a fresh database is not what is wrong here.
        checks.append(Check("database", "fail", f"{which}: no such file (`payamak db upgrade` creates it)"))
        return None
    db = Database(settings.sqlalchemy_url)
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            version = ".".join(str(part) for part in (conn.dialect.server_version_info or ()))
    except sa.exc.SQLAlchemyError as exc:
        db.dispose()
        reason = str(exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc).splitlines()[0][:200]
        checks.append(Check("database", "fail", f"{which}: unreachable: {reason}"))
        return None
    checks.append(Check("database", "ok", f"{which} (version {version})", {"dialect": db.dialect}))
    return db


def _migrations_check(settings: Settings, checks: list[Check]) -> bool:
    from payamak.db import current_revisions, head_revisions

    current, heads = current_revisions(settings.sqlalchemy_url), head_revisions()
    data = {"current": sorted(current), "head": sorted(heads)}
    if current == heads:
        checks.append(Check("migrations", "ok", f"at head ({', '.join(sorted(heads))})", data))
        return True
    have = ", ".join(sorted(current)) or "none"
    checks.append(
        Check(
            "migrations",
            "fail",
            f"database at {have}, code at {', '.join(sorted(heads))}: run `payamak db upgrade`",
            data,
        )
    )
    return False


def _routes_check(session: Session, now: dt.datetime, limits: Limits) -> list[Check]:
    from payamak.dispatch import repository as dispatch_repo
    from payamak.dispatch import service as dispatch

    routes = dispatch_repo.routes(session)
    if not routes:
        return [
            Check(
                "routes",
                "fail",
                "no route configured: messages go to the built-in simulated SMSC and never "
                "reach a phone (`payamak admin routes add`)",
            )
        ]
    out = []
    for view in dispatch.route_views(session, routes):
        route = view.route
        name = f"route {route.name}"
        data: dict[str, Any] = {
            "route": route.name,
            "state": view.state,
            "binds_up": view.binds_up,
            "binds": view.binds,
        }
        if not route.active:
            out.append(Check(name, "ok", "inactive (not used)", data))
            continue
        if view.updated_at is None:
            out.append(Check(name, "unknown", "no dispatcher has reported it yet", data))
            continue
        age = (now - view.updated_at).total_seconds()
        data["reported_seconds_ago"] = round(age, 1)
        binds = f"{view.binds_up}/{view.binds} binds"
        if age > limits.route_fresh:
            out.append(
                Check(
                    name,
                    "unknown",
                    f"last reported {view.state} ({binds}) {ago(age)} ago: no running "
                    "dispatcher reports it now",
                    data,
                )
            )
        elif view.state == "up":
            out.append(Check(name, "ok", f"up, {binds}, reported {ago(age)} ago", data))
        elif view.state == "starting":
            out.append(Check(name, "unknown", f"starting, {binds}", data))
        else:
            error = f": {view.last_error}" if view.last_error else ""
            out.append(Check(name, "fail", f"{view.state}{error} ({binds})", data))
    return out


def _dispatchers_check(session: Session, now: dt.datetime) -> list[Check]:
    from payamak.dispatch import repository as dispatch_repo
    from payamak.dispatch.settings import DispatchSettings
    from payamak.metrics import due_count

    dead_after = dt.timedelta(seconds=DispatchSettings().dead_after_seconds)
    alive = [
        d.name
        for d in dispatch_repo.dispatchers(session, limit=200)
        if d.stopped_at is None and now - d.heartbeat_at <= dead_after
    ]
    if alive:
        return [Check("dispatchers", "ok", f"{len(alive)} running: {', '.join(alive)}", {"alive": alive})]
    due = due_count(session, now=now)
    if due:
        return [
            Check(
                "dispatchers",
                "fail",
                f"none running and {due} messages are due: start `payamak dispatcher` (or `payamak serve`)",
                {"alive": []},
            )
        ]
    return [Check("dispatchers", "unknown", "none running (nothing is due now)", {"alive": []})]


def _queue_check(session: Session, now: dt.datetime, limits: Limits) -> list[Check]:
    from payamak.metrics import due_count, oldest_due, waiting_counts

    counts = waiting_counts(session)
    due = due_count(session, now=now)
    oldest = oldest_due(session, now=now)
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    data = {"due": due, "oldest_seconds": round(age, 1), **counts}
    waiting = f"oldest waiting {ago(age)}" if oldest is not None else "none waiting"
    detail = f"{due} due, {waiting}; {counts['scheduled']} scheduled, {counts['submitting']} being sent"
    if age > limits.max_queue_age:
        return [Check("queue", "fail", f"{detail} (over {ago(limits.max_queue_age)})", data)]
    return [Check("queue", "ok", detail, data)]


def _stuck_check(session: Session, now: dt.datetime, limits: Limits) -> list[Check]:
    from payamak.metrics import stuck_claims

    stuck = stuck_claims(session, lease_ended_before=now - dt.timedelta(seconds=limits.stuck_grace))
    if stuck:
        return [
            Check(
                "stuck",
                "fail",
                f"{stuck} messages in `submitting` more than {ago(limits.stuck_grace)} past "
                "their lease: no dispatcher takes them back (start one; they are then sent, possibly twice)",
                {"stuck": stuck},
            )
        ]
    return [Check("stuck", "ok", "no message held past its lease", {"stuck": 0})]


def _ledger_check(session: Session) -> list[Check]:
    from payamak.billing import service as billing

    report = billing.verify_ledger(session)
    data = {"accounts": report.accounts, "entries": report.entries}
    if report.ok:
        return [
            Check(
                "ledger",
                "ok",
                f"{report.accounts} accounts, {report.entries} entries: balances equal their ledgers",
                data,
            )
        ]
    lines = report.lines()
    more = f" (and {len(lines) - 1} more; `payamak ledger verify` lists them)" if len(lines) > 1 else ""
    return [Check("ledger", "fail", f"{lines[0]}{more}", {**data, "problems": lines})]


def _data_dir_check(settings: Settings, limits: Limits) -> Check:
    path = settings.data_dir.resolve()
    if not path.is_dir():
        return Check("data dir", "fail", f"{path} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", "fail", f"{path} is not writable: {exc.strerror or exc}")
    free_mb = shutil.disk_usage(path).free // (1024 * 1024)
    data = {"path": str(path), "free_mb": free_mb}
    detail = f"{path} writable, {free_mb / 1024:.1f} GB free"
    if free_mb < limits.min_free_mb:
        return Check("data dir", "fail", f"{detail} (under {limits.min_free_mb} MB)", data)
    return Check("data dir", "ok", detail, data)


def _secret_key_check(settings: Settings) -> Check:
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            return Check("secret key", "fail", "PAYAMAK_SECRET_KEY is shorter than 32 characters")
        return Check("secret key", "ok", "set by PAYAMAK_SECRET_KEY")
    path = settings.data_dir.resolve() / "secret.key"
    try:
        text = path.read_text().strip()
        mode = path.stat().st_mode
    except OSError:
        if settings.is_sqlite:
            # One process on one data dir: the key it generates at first use is the only one.
            return Check("secret key", "warn", f"none yet: one is generated at first use and kept in {path}")
        return Check(
            "secret key",
            "fail",
            f"none: set PAYAMAK_SECRET_KEY, the same in every API process (else each makes its own in {path})",
        )
    if not text:
        return Check("secret key", "fail", f"{path} is empty")
    if os.name == "posix" and mode & 0o077:
        return Check("secret key", "fail", f"{path} can be read by other users (chmod 600 it)")
    shared = "" if settings.is_sqlite else "; every API process must have the same one"
    return Check("secret key", "ok", f"kept in {path}{shared}")


def _payments_check(settings: Settings) -> Check:
    if settings.payment_gateway == "sandbox":
        return Check(
            "payments",
            "warn",
            "sandbox gateway: purchases take no money (PAYAMAK_PAYMENT_GATEWAY=zarinpal in production)",
        )
    if not settings.zarinpal_merchant_id:
        return Check("payments", "fail", "zarinpal without PAYAMAK_ZARINPAL_MERCHANT_ID")
    return Check("payments", "ok", f"{settings.payment_gateway} at {settings.zarinpal_base_url}")


def print_checks(checks: list[Check], console: Console) -> None:
    width = max(len(c.name) for c in checks)
    for check in checks:
        symbol, colour = SYMBOLS[check.status]
        console.print(f"[{colour}]{symbol}[/] {check.name.ljust(width)}  ", end="", soft_wrap=True)
        console.print(check.detail, markup=False, highlight=False, soft_wrap=True)
    failed = [c.name for c in checks if c.status == "fail"]
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed:[/] {', '.join(failed)}", soft_wrap=True)
    else:
        console.print("[green]all checks passed[/]")


def doctor_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: {ok, checks: [{name, status, detail, …}]}.")
    ] = False,
    max_queue_age: Annotated[
        float, typer.Option(help="Seconds a due message may wait before the queue check fails.")
    ] = 600.0,
    stuck_grace: Annotated[
        float, typer.Option(help="Seconds past its lease a claimed message may stay `submitting`.")
    ] = 60.0,
    route_fresh: Annotated[
        float, typer.Option(help="Seconds within which a route's state must have been reported.")
    ] = 60.0,
    min_free_mb: Annotated[int, typer.Option(help="Free space the data directory needs, in MB.")] = 1024,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default ./var or PAYAMAK_DATA_DIR).")
    ] = None,
) -> None:
    """Check this deployment: database, migrations, routes, dispatchers, queue, ledger, disk, secret key.

    Prints one line per check (✓ ok, ✗ wrong, ! worth a look, ? unknown) and exits 1 if any is wrong."""
    from rich.console import Console

    from payamak.cli import settings

    limits = Limits(
        max_queue_age=max_queue_age, stuck_grace=stuck_grace, route_fresh=route_fresh, min_free_mb=min_free_mb
    )
    checks = run_checks(settings(data_dir), limits)
    ok = not any(c.status == "fail" for c in checks)
    if as_json:
        typer.echo(json.dumps({"ok": ok, "checks": [c.as_dict() for c in checks]}, ensure_ascii=False))
    else:
        print_checks(checks, Console(highlight=False))
    if not ok:
        raise typer.Exit(1)
