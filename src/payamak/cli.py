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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
