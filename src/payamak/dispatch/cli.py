"""Commands of the dispatch domain: `payamak dispatcher`, `payamak admin routes …`, `payamak admin lines …`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer


def install(app: typer.Typer, admin_app: typer.Typer) -> None:
    from payamak import cli

    routes_app = typer.Typer(
        help="Routes: the SMSCs (or providers) messages leave through.", no_args_is_help=True
    )
    lines_app = typer.Typer(help="Sender lines.", no_args_is_help=True)
    admin_app.add_typer(routes_app, name="routes")
    admin_app.add_typer(lines_app, name="lines")

    @contextmanager
    def unit_of_work() -> Iterator[Any]:
        from payamak.db import Database

        db = Database(cli.settings().sqlalchemy_url)
        try:
            with cli.domain_errors(), db.transaction() as session:
                yield session
        finally:
            db.dispose()

    @app.command("dispatcher")
    def dispatcher(
        window: Annotated[
            int | None,
            typer.Option(help="Messages claimed and not yet written at most (PAYAMAK_DISPATCH_WINDOW)."),
        ] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every bind and retry.")] = False,
        metrics_port: Annotated[
            int | None, typer.Option(help="Serve this process's metrics at http://HOST:PORT/metrics.")
        ] = None,
        metrics_host: Annotated[str, typer.Option(help="Address for --metrics-port.")] = "127.0.0.1",
    ) -> None:
        """Run the dispatcher alone until SIGTERM or Ctrl-C.

        It claims queued messages, sends them through the routes (or a simulated SMSC it starts
        when there is none) and records results, receipts and inbound SMS. Any number of them may
        run against one PostgreSQL database."""
        from sqlalchemy.exc import SQLAlchemyError

        from payamak import logs
        from payamak.compat.callbacks import CallbackSender
        from payamak.db import Database
        from payamak.dispatch.settings import DispatchSettings
        from payamak.dispatch.worker import DispatcherStats, run_dispatcher

        conf = cli.settings()
        logs.configure(format=conf.log_format, level=logging.INFO if verbose else logging.WARNING)
        if metrics_port is not None:
            from payamak.metrics import serve_process_metrics

            try:
                serve_process_metrics(metrics_host, metrics_port, token=conf.metrics_token)
            except OSError as exc:
                raise cli.fail(f"error: cannot listen on {metrics_host}:{metrics_port}: {exc}") from exc
        conf.ensure_data_dir()
        cli.prepare_database(conf)
        try:
            config = DispatchSettings() if window is None else DispatchSettings(window=window)
        except ValueError as exc:
            raise cli.fail(f"error: settings_invalid: {exc}") from exc
        db = Database(conf.sqlalchemy_url)

        def say(line: str) -> None:
            if conf.log_format == "json":  # every stderr line one JSON object, announcements too
                logging.getLogger("payamak.dispatch").warning(line)
            else:
                cli.err.print(line, markup=False, soft_wrap=True)

        async def main() -> DispatcherStats:
            # Status callbacks the dispatcher's changes queue are delivered from here too.
            callbacks = CallbackSender(db=db, settings=conf)
            callbacks.start()
            try:
                return await run_dispatcher(db, settings=conf, config=config, announce=say)
            finally:
                await callbacks.stop()

        try:
            stats = asyncio.run(main())
        except SQLAlchemyError as exc:
            raise cli.fail(
                f"error: database_unreachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        finally:
            db.dispose()
        say(json.dumps({"results": stats.results, "receipts": stats.receipts, "recovered": stats.recovered}))

    @routes_app.command("add")
    def routes_add(
        name: Annotated[str, typer.Option(help="A unique name.")],
        smpp: Annotated[str | None, typer.Option(help="The SMSC as HOST:PORT.")] = None,
        system_id: Annotated[str | None, typer.Option(help="SMPP system_id.")] = None,
        password: Annotated[str | None, typer.Option(help="SMPP password.")] = None,
        tps: Annotated[
            int | None, typer.Option(help="Messages per second at most (the SMSC's limit).")
        ] = None,
        window: Annotated[int | None, typer.Option(help="Unanswered submit_sm per bind.")] = None,
        binds: Annotated[int | None, typer.Option(help="Transceiver connections.")] = None,
        simulator: Annotated[bool, typer.Option("--simulator", help="The built-in simulated SMSC.")] = False,
        operators: Annotated[
            str, typer.Option(help="Operators carried, comma-separated (MCI,Irancell,…); empty: all.")
        ] = "",
        kinds: Annotated[
            str, typer.Option(help="advertising and/or informational, comma-separated; empty: both.")
        ] = "",
        priority: Annotated[int, typer.Option(help="Lower is tried first.")] = 100,
        refund_undelivered: Annotated[
            bool, typer.Option("--refund-undelivered", help="Give back undelivered messages.")
        ] = False,
    ) -> None:
        """Add a route to an SMSC (or the built-in simulator); dispatchers use it within seconds."""
        from payamak.dispatch import service

        config: dict[str, Any] = {}
        if simulator:
            kind = "simulator"
        else:
            kind = "smpp"
            if smpp is None or system_id is None or password is None:
                raise cli.fail(
                    "error: route_invalid: give --smpp HOST:PORT, --system-id and --password (or --simulator)"
                )
            host, _, port = smpp.rpartition(":")
            if not host or not port.isdigit():
                raise cli.fail(f"error: route_invalid: --smpp must be HOST:PORT, not {smpp!r}")
            config = {"host": host, "port": int(port), "system_id": system_id, "password": password}
        for key, value in (("tps", tps), ("window", window), ("binds", binds)):
            if value is not None:
                config[key] = value
        with unit_of_work() as session:
            route = service.add_route(
                session, principal=None, name=name, kind=kind, config=config, operators=operators, kinds=kinds,
                priority=priority, refund_undelivered=refund_undelivered,
            )  # fmt: skip
            typer.echo(f"added route {route.name} (id {route.id})")

    @routes_app.command("list")
    def routes_list(
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    ) -> None:
        """Routes in the order they are tried, with their last known state."""
        from payamak.dispatch import service

        with unit_of_work() as session:
            for view in service.route_views(session, service.list_routes(session, principal=None)):
                r = view.route
                if as_json:
                    typer.echo(json.dumps({
                        "id": r.id, "name": r.name, "kind": r.kind, "config": view.public_config, "operators": r.operators,
                        "kinds": r.kinds, "priority": r.priority, "active": r.active, "state": view.state,
                        "last_error": view.last_error,
                    }, ensure_ascii=False))  # fmt: skip
                    continue
                where = f"{r.config.get('host')}:{r.config.get('port')}" if r.kind == "smpp" else r.kind
                error = f" ({view.last_error})" if view.last_error else ""
                typer.echo(
                    f"{r.id}\t{r.name}\t{where}\tpriority {r.priority}\t{'active' if r.active else 'inactive'}\t"
                    f"{view.state}{error}"
                )

    @routes_app.command("remove")
    def routes_remove(name: Annotated[str, typer.Option(help="The route's name.")]) -> None:
        """Delete a route; lines pinned to it are routed by operator and kind again."""
        from payamak.dispatch import service

        with unit_of_work() as session:
            route = service.route_named(session, name=name)
            service.remove_route(session, principal=None, route_id=route.id)
            typer.echo(f"removed route {name}")

    def set_active(active: bool) -> Callable[[str], None]:
        def command(name: Annotated[str, typer.Option(help="The route's name.")]) -> None:
            from payamak.dispatch import service

            with unit_of_work() as session:
                route = service.route_named(session, name=name)
                service.update_route(session, principal=None, route_id=route.id, changes={"active": active})
                typer.echo(f"route {name} {'enabled' if active else 'disabled'}")

        return command

    routes_app.command("enable", help="Use a route again.")(set_active(True))
    routes_app.command("disable", help="Stop using a route (messages fail over or wait).")(set_active(False))

    @lines_app.command("add")
    def lines_add(
        number: Annotated[str, typer.Option(help="The line's number, digits.")],
        kind: Annotated[str, typer.Option(help="advertising or service.")],
        mobile: Annotated[
            str | None, typer.Option(help="Owner account's mobile; none: a shared line.")
        ] = None,
        route: Annotated[str | None, typer.Option(help="Pin the line to this route (by name).")] = None,
    ) -> None:
        """Add a sender line, shared by every account unless --mobile names its owner."""
        from payamak.dispatch import service
        from payamak.sending import service as sending

        with unit_of_work() as session:
            route_id = service.route_named(session, name=route).id if route else None
            line = sending.add_line(
                session, principal=None, number=number, kind=kind, owner_mobile=mobile, route_id=route_id
            )
            owner = f"for {mobile}" if mobile else "shared"
            typer.echo(f"added {line.kind} line {line.number} ({owner}{f', route {route}' if route else ''})")

    @lines_app.command("list")
    def lines_list() -> None:
        """Every line: number, kind, owner account id, pinned route id."""
        from payamak.sending import repository as sending_repo

        with unit_of_work() as session:
            for line in sending_repo.all_lines(session):
                owner = f"account {line.account_id}" if line.account_id else "shared"
                routed = f"route {line.route_id}" if line.route_id else "routed by operator"
                fields = [line.number, line.kind, owner, routed] + ([] if line.active else ["inactive"])
                typer.echo("\t".join(fields))
