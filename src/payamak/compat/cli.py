"""`payamak admin templates …` (verify/lookup templates) and `payamak callbacks` (the status-callback
sender, for deployments whose dispatcher does not run it)."""

from __future__ import annotations

from typing import Annotated

import typer


def install(app: typer.Typer, admin_app: typer.Typer) -> None:
    from payamak.cli import domain_errors, err, settings

    templates_app = typer.Typer(
        help="Verify/lookup templates (Kavenegar's verify/lookup.json) approved per account.", no_args_is_help=True
    )
    admin_app.add_typer(templates_app, name="templates")

    @templates_app.command("approve")
    def approve(
        mobile: Annotated[str, typer.Option(help="The account's mobile number.")],
        name: Annotated[str, typer.Option(help="Template name the API calls it by (English letters, digits, _ - .).")],
        text: Annotated[str, typer.Option(help="The text, with %token, %token2, %token3, %token10, %token20.")],
    ) -> None:
        """Approve a template for an account (or replace the text of its template of that name)."""
        from payamak.compat import service
        from payamak.db import Database

        conf = settings()
        db = Database(conf.sqlalchemy_url)
        try:
            with domain_errors(), db.transaction() as session:
                record = service.approve_template(session, settings=conf, mobile=mobile, name=name, text=text)
                typer.echo(f"approved template «{record.name}» for {mobile}")
        finally:
            db.dispose()

    @templates_app.command("revoke")
    def revoke(
        mobile: Annotated[str, typer.Option(help="The account's mobile number.")],
        name: Annotated[str, typer.Option(help="Template name.")],
    ) -> None:
        """Withdraw an account's template: lookups with it get Kavenegar's 424."""
        from payamak.compat import service
        from payamak.db import Database

        db = Database(settings().sqlalchemy_url)
        try:
            with domain_errors(), db.transaction() as session:
                service.revoke_template(session, mobile=mobile, name=name)
                typer.echo(f"revoked template «{name}» of {mobile}")
        finally:
            db.dispose()

    @app.command("callbacks")
    def callbacks_command(
        interval: Annotated[float, typer.Option(help="Seconds between looks at the outbox.")] = 1.0,
    ) -> None:
        """Deliver status callbacks (Twilio StatusCallback) until Ctrl-C."""
        import asyncio
        import contextlib

        from payamak.compat.callbacks import CallbackSender
        from payamak.db import Database

        conf = settings()
        db = Database(conf.sqlalchemy_url)

        async def run() -> None:
            sender = CallbackSender(db=db, settings=conf, interval=interval)
            sender.start()
            try:
                await asyncio.Event().wait()
            finally:
                await sender.stop()

        err.print("delivering status callbacks; Ctrl-C stops", markup=False)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
        db.dispose()
