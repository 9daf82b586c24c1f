"""The `payamak` command. Domain errors become exit code 1 and one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from payamak.config import Settings
from payamak.errors import DomainError

app = typer.Typer(
    name="payamak",
    help="Payamak (پیامک): a self-hostable bulk-SMS platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
admin_app = typer.Typer(
    help="Operator tasks: accounts and everything the service runs on.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")

err = Console(stderr=True, highlight=False)


def settings(data_dir: Path | None = None) -> Settings:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def fail(message: str, code: int = 1) -> typer.Exit:
    # soft_wrap: the reason stays one line whatever the terminal's width, as scripts expect.
    err.print(message, markup=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into a one-line message and a non-zero exit."""
    try:
        yield
    except DomainError as exc:
        raise fail(f"error: {exc.code}: {exc.message_en} ({exc.message_fa})") from exc


def prepare_database(conf: Settings) -> None:
    """Make sure the schema is the one this code needs before a long-running process starts.

    The embedded SQLite database has one process, which upgrades it itself (`make run` relies on
    that). A PostgreSQL database is shared by many processes: its schema changes only by `payamak
    db upgrade`, run once before they start, so a process refuses a schema that is not current
    instead of several of them migrating at once.
    """
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from payamak.db import current_revisions, head_revisions, upgrade

    try:
        if conf.is_sqlite:
            upgrade(conf.sqlalchemy_url)
            return
        # Reading the revision is no migration: Alembic's notes about its context would only
        # stand before the one line that matters.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        current, heads = current_revisions(conf.sqlalchemy_url), head_revisions()
    except SQLAlchemyError as exc:
        raise fail(f"error: database_unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    if current != heads:
        raise fail(
            f"error: database_outdated: the database schema is at {', '.join(sorted(current)) or 'none'}, "
            f"this version needs {', '.join(sorted(heads))}: run `payamak db upgrade` first"
        )


SANDBOX_WARNING = (
    "warning: payments go to the sandbox gateway, which takes no money: credit bought here is free. "
    "Fine for trying Payamak out; to sell credit set PAYAMAK_PAYMENT_GATEWAY=zarinpal "
    "and PAYAMAK_ZARINPAL_MERCHANT_ID."
)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the API and web UI.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default ./var or PAYAMAK_DATA_DIR).")
    ] = None,
) -> None:
    """Run the API and web UI. An embedded SQLite database is created and upgraded by itself; a
    PostgreSQL one must be upgraded first (`payamak db upgrade`)."""
    import logging

    import uvicorn
    from sqlalchemy.engine import make_url

    from payamak import logs
    from payamak.api.app import create_app

    conf = settings(data_dir)
    logs.configure(format=conf.log_format)
    conf.ensure_data_dir()
    prepare_database(conf)
    where = (
        make_url(conf.sqlalchemy_url).render_as_string(hide_password=True)
        if not conf.is_sqlite
        else str(make_url(conf.sqlalchemy_url).database or ":memory:")  # PAYAMAK_DATABASE_URL may name any file
    )
    if conf.log_format == "json":
        logging.getLogger("payamak").info("Payamak on http://%s:%d", host, port, extra={"database": where})
        if conf.payment_gateway == "sandbox":
            logging.getLogger("payamak").warning(SANDBOX_WARNING)
    else:
        err.print(f"Payamak on http://{host}:{port}  (database: {where})", markup=False)
        if conf.payment_gateway == "sandbox":
            err.print(SANDBOX_WARNING, markup=False, style="bold yellow")
    # Uvicorn's own logging setup and access log are left out: lines go through `logs` (JSON when
    # asked), and the access log is written by the request middleware with the route template.
    uvicorn.run(
        create_app(conf, dispatcher=True), host=host, port=port, log_level="info", proxy_headers=False,
        log_config=None, access_log=False,
    )  # fmt: skip


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Apply migrations to the configured database (PAYAMAK_DATABASE_URL, else SQLite in the data dir)."""
    from payamak.db import upgrade

    conf = settings()
    conf.ensure_data_dir()
    upgrade(conf.sqlalchemy_url, revision)
    err.print(f"database at {revision}", markup=False)


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one this code knows."""
    from payamak.db import current_revisions, head_revisions

    conf = settings()
    current, heads = current_revisions(conf.sqlalchemy_url), head_revisions()
    typer.echo(f"current: {', '.join(sorted(current)) or '-'}  head: {', '.join(sorted(heads))}")
    if current != heads:
        raise typer.Exit(1)


@admin_app.command("create-user")
def create_user(
    mobile: Annotated[str, typer.Option(help="Mobile number, any usual form.")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the account the admin role.")] = False,
    name: Annotated[str | None, typer.Option(help="Display name (default: the mobile).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create an active account whose mobile is taken as verified."""
    from payamak.accounts import service as accounts
    from payamak.accounts.security import Passwords
    from payamak.db import Database

    if not password_stdin:
        raise fail("error: give the password on stdin with --password-stdin")
    password = sys.stdin.readline().rstrip("\r\n")
    conf = settings()
    db = Database(conf.sqlalchemy_url)
    try:
        with domain_errors(), db.transaction() as session:
            account = accounts.create_user(
                session, passwords=Passwords(), mobile=mobile, password=password, name=name, admin=admin
            )
            typer.echo(f"created {account.role} {account.mobile} (id {account.id})")
    finally:
        db.dispose()


sender_names_app = typer.Typer(help="Sender names (نام صادرکننده) accounts register.", no_args_is_help=True)
admin_app.add_typer(sender_names_app, name="sender-names")


@sender_names_app.command("approve")
def approve_sender_name(
    mobile: Annotated[str, typer.Option(help="The account's mobile number.")],
    name: Annotated[str, typer.Option(help="The name to approve (registered first if the account has not).")],
) -> None:
    """Approve a sender name for an account."""
    from payamak.accounts import service as accounts
    from payamak.db import Database

    db = Database(settings().sqlalchemy_url)
    try:
        with domain_errors(), db.transaction() as session:
            record = accounts.approve_sender_name_by_mobile(session, mobile=mobile, name=name)
            typer.echo(f"approved «{record.name}» for {mobile}")
    finally:
        db.dispose()


@app.command()
def smsc(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMPP port (0: any free port).")] = 2775,
    system_id: Annotated[str, typer.Option(help="system_id binds must give.")] = "payamak",
    password: Annotated[str, typer.Option(help="Password binds must give.")] = "payamak",  # noqa: S107
    any_credentials: Annotated[
        bool, typer.Option("--any-credentials", help="Accept any system_id and password.")
    ] = False,
    receipt_delay: Annotated[float, typer.Option(help="Seconds from submit to receipt.")] = 1.0,
    delivered_rate: Annotated[
        float | None,
        typer.Option(help="Share of receipts DELIVRD (0-1); alone, the rest are UNDELIV."),
    ] = None,
    undelivered_rate: Annotated[float, typer.Option(help="Share of receipts UNDELIV (0-1).")] = 0.0,
    expired_rate: Annotated[float, typer.Option(help="Share of receipts EXPIRED (0-1).")] = 0.0,
    rejected_rate: Annotated[float, typer.Option(help="Share of receipts REJECTD (0-1).")] = 0.0,
    blocked_rate: Annotated[float, typer.Option(help="Share blocked as blacklisted (0-1).")] = 0.0,
    max_tps: Annotated[int | None, typer.Option(help="Answer ESME_RTHROTTLED beyond this many/s.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the outcome draw.")] = None,
    keep: Annotated[int, typer.Option(help="Reassembled messages kept in memory.")] = 10_000,
) -> None:
    """Run the simulated SMSC (SMPP 3.4, with receipts) until Ctrl-C; the rest are delivered.

    Test numbers ending in 0000001..0000009 always give one outcome: see docs/simulator.md."""
    from payamak.providers.smpp.server import SmscConfig, run

    failures = undelivered_rate + expired_rate + rejected_rate + blocked_rate
    if delivered_rate is not None:
        if failures == 0:
            undelivered_rate = failures = max(0.0, 1.0 - delivered_rate)
        if abs(delivered_rate + failures - 1.0) > 1e-6:
            raise fail("error: --delivered-rate and the other rates must add up to 1")
    try:
        config = SmscConfig(
            host=host,
            port=port,
            system_id=None if any_credentials else system_id,
            password=None if any_credentials else password,
            receipt_delay=receipt_delay,
            undelivered_rate=undelivered_rate,
            expired_rate=expired_rate,
            rejected_rate=rejected_rate,
            blocked_rate=blocked_rate,
            max_tps=max_tps,
            seed=seed,
            keep=keep,
        )
    except ValueError as exc:
        raise fail(f"error: {exc}") from exc
    try:
        run(config, announce=lambda line: err.print(line, markup=False, soft_wrap=True))
    except OSError as exc:
        raise fail(f"error: cannot listen on {host}:{port}: {exc}") from exc


def _register_pure_commands() -> None:
    # The pure packages own their commands; importing them costs only what those packages need.
    from payamak.compliance.commands import check_command
    from payamak.numbers.commands import numbers_command

    app.command("numbers", help="Normalise phone numbers: E.164, whether they can receive SMS, operator.")(
        numbers_command
    )
    app.command("check", help="Encoding, parts and the informational-SMS rules for a text, as JSON.")(check_command)


_register_pure_commands()


def _register_billing_commands() -> None:
    from payamak.billing.cli import install

    install(app, admin_app)  # `admin grant`, `ledger verify`


_register_billing_commands()


def _register_phonebook_commands() -> None:
    from payamak.phonebook.cli import install

    install(app)  # `import FILE --group NAME --account MOBILE`


_register_phonebook_commands()


def _register_dispatch_commands() -> None:
    from payamak.dispatch.cli import install

    install(app, admin_app)  # `dispatcher`, `admin routes …`, `admin lines …`


_register_dispatch_commands()


def _register_compat_commands() -> None:
    from payamak.compat.cli import install

    install(app, admin_app)  # `admin templates …`, `callbacks`


_register_compat_commands()


def _register_ops_commands() -> None:
    from payamak.doctor import doctor_command

    app.command("doctor")(doctor_command)


_register_ops_commands()


blacklist_app = typer.Typer(
    help="The advertising blacklist: the national *800# list, operator-reported and manual numbers.",
    no_args_is_help=True,
)
app.add_typer(blacklist_app, name="blacklist")


@contextmanager
def _database() -> Iterator[Any]:
    from payamak.db import Database

    db = Database(settings().sqlalchemy_url)
    try:
        yield db
    finally:
        db.dispose()


def _mobiles_or_fail(values: list[str]) -> None:
    """All or nothing, so a script never half-applies a list with a typo in it."""
    from payamak.numbers import mobile_key

    bad = [value for value in values if mobile_key(value) is None]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise fail(f"error: invalid_number: not an Iranian mobile number: {bad[0]!r}{more}")


@blacklist_app.command("add")
def blacklist_add(
    numbers: Annotated[list[str], typer.Argument(help="Mobile numbers, any written form.")],
    reason: Annotated[str, typer.Option(help="Why, kept with each number.")] = "",
) -> None:
    """Put numbers on the manual blacklist."""
    from payamak.sending import blacklist

    _mobiles_or_fail(numbers)
    with domain_errors(), _database() as db, db.transaction() as session:
        result = blacklist.add_numbers(session, numbers=numbers, reason=reason)
    typer.echo(f"added {result.added}, already listed {result.already}")


@blacklist_app.command("remove")
def blacklist_remove(
    numbers: Annotated[list[str], typer.Argument(help="Mobile numbers, any written form.")],
) -> None:
    """Take numbers off the manual and operator lists (the national list changes only by a load)."""
    from payamak.sending import blacklist

    _mobiles_or_fail(numbers)
    with domain_errors(), _database() as db, db.transaction() as session:
        result = blacklist.remove_numbers(session, numbers=numbers)
    typer.echo(f"removed {result.removed}, not listed {result.not_listed}")
    if result.still_national:
        typer.echo(f"still blocked by the national list: {' '.join(result.still_national)}")


@blacklist_app.command("check")
def blacklist_check(number: Annotated[str, typer.Argument(help="A mobile number, any written form.")]) -> None:
    """Say whether a number is blocked for advertising SMS, and by which lists."""
    from payamak.sending import blacklist

    with domain_errors(), _database() as db, db.transaction(readonly=True) as session:
        result = blacklist.check_number(session, number=number)
    typer.echo(f"{result.e164} blocked ({', '.join(result.kinds)})" if result.blocked else f"{result.e164} not blocked")


@blacklist_app.command("load")
def blacklist_load(
    file: Annotated[Path, typer.Argument(help="One number a line, any written form; plain or gzip.")],
) -> None:
    """Replace the national (*800#) list from a file; the old list stays in force until it is done."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from payamak.sending import blacklist

    try:
        size = file.stat().st_size
        file.open("rb").close()
    except OSError as exc:
        raise fail(f"error: file_unreadable: cannot read {file}: {exc.strerror or exc}") from exc
    with domain_errors(), _database() as db:
        with db.transaction() as session:
            load_id = blacklist.begin_national_load(session, source=file.name, size=size).id
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("reading", total=size)
            load = blacklist.run_national_load(
                db, load_id=load_id, path=file, progress=lambda step: bar.update(task, completed=step.bytes_read)
            )
    typer.echo(
        f"loaded {load.numbers} numbers from {load.lines} lines: {load.invalid} invalid, {load.blank} blank,"
        f" {load.valid - load.numbers} duplicates"
    )
    for sample in load.invalid_samples:
        typer.echo(f"  line {sample['line']}: {sample['value']!r} ({sample['reason']})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
