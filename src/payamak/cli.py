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
    err.print(message, markup=False)
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into a one-line message and a non-zero exit."""
    try:
        yield
    except DomainError as exc:
        raise fail(f"error: {exc.code}: {exc.message_en} ({exc.message_fa})") from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the API and web UI.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default ./var or PAYAMAK_DATA_DIR).")
    ] = None,
) -> None:
    """Run the API and web UI; an embedded SQLite database is created and upgraded by itself."""
    import uvicorn

    from payamak.api.app import create_app
    from payamak.db import upgrade

    conf = settings(data_dir)
    conf.ensure_data_dir()
    upgrade(conf.sqlalchemy_url)
    where = conf.sqlalchemy_url if not conf.is_sqlite else str((conf.data_dir / "payamak.db").resolve())
    err.print(f"Payamak on http://{host}:{port}  (database: {where})", markup=False)
    uvicorn.run(create_app(conf), host=host, port=port, log_level="info", proxy_headers=False)


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
    with domain_errors(), db.transaction() as session:
        account = accounts.create_user(
            session, passwords=Passwords(), mobile=mobile, password=password, name=name, admin=admin
        )
        typer.echo(f"created {account.role} {account.mobile} (id {account.id})")
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
    with domain_errors(), db.transaction() as session:
        record = accounts.approve_sender_name_by_mobile(session, mobile=mobile, name=name)
        typer.echo(f"approved «{record.name}» for {mobile}")
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
    from payamak.numbers.commands import numbers_command

    app.command("numbers", help="Normalise phone numbers: E.164, whether they can receive SMS, operator.")(
        numbers_command
    )


_register_pure_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
