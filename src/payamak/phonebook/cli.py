"""`payamak import`: a file into a group of an account, in the foreground, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from payamak.config import Settings
from payamak.errors import DomainError

INVALID_LISTED = 20

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> NoReturn:
    # soft_wrap: the reason stays on one line whatever the terminal's width, for scripts to read.
    _err.print(message, markup=False)
    raise typer.Exit(1)


def _fail_domain(exc: DomainError) -> NoReturn:
    _fail(f"error: {exc.code}: {exc.message_en} ({exc.message_fa})")


def import_command(
    file: Annotated[Path, typer.Argument(help="xlsx, xls, ods, csv or txt; numbers in any written form.")],
    group: Annotated[
        str, typer.Option(help="The group's name; it is created if the account has none by it.")
    ],
    account: Annotated[str, typer.Option(help="The account's mobile number.")],
    phone_column: Annotated[
        int | None, typer.Option(help="0-based column of the numbers (default: detected).")
    ] = None,
    name_column: Annotated[
        int | None, typer.Option(help="0-based column of the names (default: detected).")
    ] = None,
) -> None:
    """Import a file into a group, all or nothing, and report what was added, repeated and invalid."""
    from payamak.accounts import service as accounts
    from payamak.db import Database
    from payamak.phonebook import imports, reader
    from payamak.phonebook import service as phonebook

    try:
        file.open("rb").close()
    except OSError as exc:
        _fail(f"error: file_unreadable: cannot read {file}: {exc.strerror or exc}")
    conf = Settings()
    db = Database(conf.sqlalchemy_url)
    try:
        try:
            with db.transaction(readonly=True) as session:
                owner = accounts.account_by_mobile(session, mobile=account)
            opened = reader.open_file(
                file,
                filename=file.name,
                limits=imports.limits_for(conf),
                phone_column=phone_column,
                name_column="auto" if name_column is None else name_column,
            )
            with db.transaction() as session:
                found = phonebook.group_named(session, account_id=owner.id, name=group)
                created = found is None
                target = found or phonebook.create_group(session, account_id=owner.id, name=group).group
                job = imports.create_import(
                    session,
                    account_id=owner.id,
                    group_id=target.id,
                    source=file.name,
                    rows_total=opened.total_rows_hint,
                )
        except DomainError as exc:
            _fail_domain(exc)
        _err.print(
            f"group «{target.name}» {'created' if created else 'exists'}; importing {file.name}", markup=False
        )
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
        with Progress(*columns, console=_err, transient=True, disable=not _err.is_terminal) as bar:
            task = bar.add_task("reading", total=1.0)

            def show(step: imports.Progress) -> None:
                total = f"/{step.rows_total:,}" if step.rows_total else ""
                bar.update(
                    task, completed=step.progress, description=f"{step.stage} {step.rows_read:,}{total} rows"
                )

            final = imports.run_import(db, import_id=job.id, reader=opened, on_progress=show)
        if final.status != "done":
            if created:
                # A group made for an import that failed would be left empty; take it away again.
                with db.transaction() as session:
                    phonebook.delete_group(session, account_id=owner.id, group_id=target.id)
            _fail(f"error: {final.error_code}: {final.error_en} ({final.error_fa})")
        _out.print(
            f"«{target.name}»: added {final.added}, duplicates {final.duplicates}, invalid {final.invalid_count}"
            f" ({final.rows_read} rows read)",
            markup=False,
        )
        if final.invalid_count:
            with db.transaction(readonly=True) as session:
                page = imports.invalid_rows(
                    session, account_id=owner.id, import_id=job.id, limit=INVALID_LISTED
                )
            for row in page.items:
                _out.print(
                    f"  row {row.row}: {row.value!r} ({row.reason}: {row.message('en')})", markup=False
                )
            if page.total > len(page.items):
                _out.print(
                    f"  … and {page.total - len(page.items)} more: GET /api/v1/imports/{job.id}/invalid",
                    markup=False,
                )
    finally:
        db.dispose()


def install(app: typer.Typer) -> None:
    app.command("import")(import_command)
