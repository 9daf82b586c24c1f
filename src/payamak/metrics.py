"""Prometheus metrics at /metrics, and the request middleware that feeds the HTTP ones and writes
the access log.

Two kinds of numbers are exposed:

- Counted in this process (prometheus_client's default registry): HTTP requests, and what a
  dispatcher running in this process reports through `MESSAGES_SUBMITTED`, `SUBMIT_FAILURES`
  and `RECEIPT_LATENCY`. Each process counts its own, so every API process (and every process
  running a dispatcher) is scraped as its own target; no multiprocess mode is needed because
  `payamak serve` is one process.
- Read from the database at scrape time (`DatabaseCollector`): the queue, routes' bind state and
  the dispatchers' heartbeats. These are the same from whichever API process answers, which is
  what lets standalone `payamak dispatcher` processes, which serve no HTTP, be watched at all.
  Every query reads the queue through its partial indexes (waiting and claimed messages only), so
  a scrape costs in proportion to the backlog, never to the table's millions of finished rows.
  Final statuses therefore come from counters (the dispatchers' heartbeat totals), not from a
  count over the table.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payamak import __version__, logs
from payamak.db import Database, utcnow
from payamak.sending.models import Message as QueuedMessage

if TYPE_CHECKING:
    from fastapi import FastAPI

    from payamak.context import Context

access_log = logging.getLogger("payamak.access")

# A `_created` series beside every counter and histogram doubles what Prometheus stores for
# nothing it needs: rate() finds restarts from the counter itself.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

# --- counted in this process ----------------------------------------------------------------

HTTP_REQUESTS: Final = Counter(
    "payamak_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION: Final = Histogram(
    "payamak_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# Reported by the dispatcher (see docs/operations.md): `route` is the route's name, "simulator"
# for the built-in simulated SMSC.
MESSAGES_SUBMITTED: Final = Counter(
    "payamak_messages_submitted",
    "Messages a route's SMSC accepted (submit_sm_resp OK), by route; rate() is the submit rate.",
    ["route"],
)
SUBMIT_FAILURES: Final = Counter(
    "payamak_submit_failures",
    "Messages whose submit to a route failed (retried, failed or rejected), by route.",
    ["route"],
)
RECEIPT_LATENCY: Final = Histogram(
    "payamak_receipt_latency_seconds",
    "Time from a message's submit to its final delivery receipt, by route (a sample when many wait).",
    ["route"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)


class ReceiptClock:
    """Times messages from their submit to their final receipt into RECEIPT_LATENCY, whichever of
    the two the dispatcher hears of first: an SMSC often sends the receipt before the submit's
    result has come back for the whole chunk. For one dispatcher's event loop (not thread-safe).

    Memory is bounded. While `limit` messages wait for their receipt, further ones are not timed
    until there is room again: a sample whose latencies are not skewed, where dropping the oldest
    instead would drop exactly the slow ones. Entries older than `max_age` (a receipt that never
    came) are forgotten, as are early receipts that no submit claimed within `early_age` (those
    of messages another dispatcher sent).
    """

    def __init__(self, limit: int = 100_000, max_age: float = 24 * 3600.0, early_age: float = 120.0) -> None:
        self.limit = limit
        self.max_age = max_age
        self.early_age = early_age
        self._sent: OrderedDict[tuple[int, str], tuple[str, float]] = OrderedDict()
        self._early: OrderedDict[tuple[int, str], float] = OrderedDict()
        # labels() takes a lock and validates its arguments: once per route, not once per message.
        self._histograms: dict[str, Any] = {}

    def _histogram(self, route: str) -> Any:
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = RECEIPT_LATENCY.labels(route=route)
        return histogram

    def submitted(self, route: str, key: int, provider_ids: Iterable[str], began: float) -> None:
        """Messages of route `route` (the dispatcher's route key `key`) accepted by a submit that
        started at `began` (time.monotonic())."""
        while self._sent and next(iter(self._sent.values()))[1] < began - self.max_age:
            self._sent.popitem(last=False)
        for provider_id in provider_ids:
            arrived = self._early.pop((key, provider_id), None)
            if arrived is not None:
                self._histogram(route).observe(max(0.0, arrived - began))
            elif len(self._sent) < self.limit:
                self._sent[(key, provider_id)] = (route, began)

    def receipt(self, key: int, provider_id: str, now: float | None = None) -> None:
        """A final receipt came in through the route with key `key`."""
        now = time.monotonic() if now is None else now
        sent = self._sent.pop((key, provider_id), None)
        if sent is not None:
            self._histogram(sent[0]).observe(max(0.0, now - sent[1]))
            return
        while self._early and (
            next(iter(self._early.values())) < now - self.early_age or len(self._early) >= self.limit
        ):
            self._early.popitem(last=False)
        self._early[(key, provider_id)] = now


# Paths answered without an INFO access line: load balancers and Prometheus call them every few
# seconds, and a line each would bury the requests people look for.
QUIET_PATHS: Final = frozenset({"/healthz", "/metrics"})
UNMATCHED: Final = "<unmatched>"
KNOWN_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REQUEST_ID_HEADER: Final = "x-request-id"

# --- read from the database -----------------------------------------------------------------

# Repeated literally in every queue query: SQLite uses a partial index only when the query states
# the index's own condition, and it cannot prove that from bound parameters.
_IN_QUEUE: Final = sa.text("status IN ('scheduled', 'queued', 'submitting')")
WAITING_STATUSES: Final = ("scheduled", "queued", "submitting")


def waiting_counts(session: Session) -> dict[str, int]:
    """Messages still waiting to leave, by status (over the queue's partial index)."""
    stmt = sa.select(QueuedMessage.status, sa.func.count()).where(_IN_QUEUE).group_by(QueuedMessage.status)
    counts = dict.fromkeys(WAITING_STATUSES, 0)
    for status, count in session.execute(stmt):
        counts[str(status)] = int(count)
    return counts


def due_count(session: Session, *, now: dt.datetime) -> int:
    """Queued messages whose time has come: what dispatchers should be taking now."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(QueuedMessage)
        .where(_IN_QUEUE, sa.text("status = 'queued'"), QueuedMessage.due_at <= now)
    )
    return int(session.scalar(stmt) or 0)


def oldest_due(session: Session, *, now: dt.datetime) -> dt.datetime | None:
    """When the longest-waiting due message became due (None: nothing is due).

    Walks the queue index in time order and stops at the first queued row; claimed rows carry
    their lease's end and scheduled ones a future time, so they are not in front of it."""
    stmt = (
        sa.select(QueuedMessage.due_at)
        .where(_IN_QUEUE, sa.text("status = 'queued'"), QueuedMessage.due_at <= now)
        .order_by(QueuedMessage.due_at)
        .limit(1)
    )
    value: dt.datetime | None = session.scalar(stmt)
    return value


def stuck_claims(session: Session, *, lease_ended_before: dt.datetime) -> int:
    """Messages claimed by a dispatcher whose lease (their `due_at` while claimed) ended before
    the given time without a result: nobody is left to send or take them back."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(QueuedMessage)
        .where(sa.text("status = 'submitting'"), QueuedMessage.due_at < lease_ended_before)
    )
    return int(session.scalar(stmt) or 0)


def _number(stats: dict[str, Any], key: str) -> float:
    value = stats.get(key, 0)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class DatabaseCollector(Collector):
    """The queue, the routes and the dispatchers as the database has them, read at each scrape.

    A database that does not answer gives `payamak_database_up 0` and the rest is left out, so
    the scrape itself still succeeds and the outage can be alerted on."""

    def __init__(self, db: Database, *, dead_after_seconds: float | None = None) -> None:
        self.db = db
        if dead_after_seconds is None:
            from payamak.dispatch.settings import DispatchSettings

            dead_after_seconds = DispatchSettings().dead_after_seconds
        self.dead_after = dt.timedelta(seconds=dead_after_seconds)

    def describe(self) -> Iterable[Metric]:
        # Nothing to check at registration; the families are only known once the database answers.
        return []

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("payamak_database_up", "1 if the database answered this scrape's queries.")
        try:
            with self.db.transaction(readonly=True) as session:
                families = list(self._families(session, utcnow()))
        except sa.exc.SQLAlchemyError:
            logging.getLogger("payamak.metrics").warning(
                "metrics: the database did not answer", exc_info=True
            )
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield from families
        took = GaugeMetricFamily(
            "payamak_metrics_database_seconds", "Time the database queries of this scrape took."
        )
        took.add_metric([], time.perf_counter() - started)
        yield took
        info = GaugeMetricFamily(
            "payamak_info",
            "Always 1; the version and database kind as labels.",
            labels=["version", "database"],
        )
        info.add_metric([__version__, self.db.dialect], 1)
        yield info

    def _families(self, session: Session, now: dt.datetime) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "payamak_messages_waiting",
            "Messages not yet sent, by status: scheduled (for later), queued, submitting (claimed by a dispatcher).",
            labels=["status"],
        )
        for status, count in waiting_counts(session).items():
            messages.add_metric([status], count)
        yield messages
        yield GaugeMetricFamily(
            "payamak_queue_depth",
            "Queued messages whose time has come (the backlog).",
            value=due_count(session, now=now),
        )
        oldest = oldest_due(session, now=now)
        yield GaugeMetricFamily(
            "payamak_queue_oldest_seconds",
            "How long the longest-waiting due message has waited (0: none waits).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "payamak_messages_stuck",
            "Messages claimed whose lease ran out without a result (no dispatcher took them back).",
            value=stuck_claims(session, lease_ended_before=now),
        )
        yield from self._routes(session, now)
        yield from self._dispatchers(session, now)

    def _routes(self, session: Session, now: dt.datetime) -> Iterator[Metric]:
        from payamak.dispatch import repository as dispatch_repo
        from payamak.dispatch import service as dispatch
        from payamak.dispatch.routing import SIMULATOR_NAME
        from payamak.dispatch.worker import running

        up = GaugeMetricFamily(
            "payamak_route_up", "1 if the route can take messages (state up).", labels=["route"]
        )
        binds_up = GaugeMetricFamily(
            "payamak_route_binds_up", "SMPP binds of the route connected now.", labels=["route"]
        )
        binds = GaugeMetricFamily(
            "payamak_route_binds", "SMPP binds the route is configured with.", labels=["route"]
        )
        age = GaugeMetricFamily(
            "payamak_route_state_age_seconds",
            "How old the route state shown is: 0 when a dispatcher in this process reports it live, "
            "else the time since a dispatcher last wrote it.",
            labels=["route"],
        )
        local = running()
        live = None
        if local is not None:
            try:
                live = local.route_status()
            except RuntimeError:
                # Its routes were being reloaded on the event loop while this thread read them:
                # the states it last wrote will do for this scrape.
                live = None
        for view in dispatch.route_views(session, dispatch_repo.routes(session), live):
            if not view.route.active or (view.updated_at is None and not view.live):
                # Disabled on purpose (not a route that is down), or not reported by any
                # dispatcher yet (unknown): no sample rather than a 0 that would page someone.
                continue
            name = view.route.name
            up.add_metric([name], 1 if view.state == "up" else 0)
            binds_up.add_metric([name], view.binds_up)
            binds.add_metric([name], view.binds)
            stored_age = (now - view.updated_at).total_seconds() if view.updated_at is not None else 0.0
            age.add_metric([name], 0.0 if view.live else max(0.0, stored_age))
        simulator = live.get(None) if live is not None else None
        if simulator is not None:
            up.add_metric([SIMULATOR_NAME], 1 if simulator.state == "up" else 0)
            binds_up.add_metric([SIMULATOR_NAME], simulator.binds_up)
            binds.add_metric([SIMULATOR_NAME], simulator.binds)
            age.add_metric([SIMULATOR_NAME], 0.0)
        yield from (up, binds_up, binds, age)

    def _dispatchers(self, session: Session, now: dt.datetime) -> Iterator[Metric]:
        from payamak.dispatch import repository as dispatch_repo

        alive = [
            d
            for d in dispatch_repo.dispatchers(session, limit=200)
            if d.stopped_at is None and now - d.heartbeat_at <= self.dead_after
        ]
        yield GaugeMetricFamily(
            "payamak_dispatchers_alive", "Dispatcher processes whose heartbeat is recent.", value=len(alive)
        )
        heartbeat = GaugeMetricFamily(
            "payamak_dispatcher_heartbeat_age_seconds",
            "Time since the dispatcher's last heartbeat.",
            labels=["dispatcher"],
        )
        in_flight = GaugeMetricFamily(
            "payamak_dispatcher_in_flight",
            "Messages the dispatcher holds claimed without a written result.",
            labels=["dispatcher"],
        )
        results = CounterMetricFamily(
            "payamak_dispatcher_messages",
            "Messages the dispatcher moved, by the status it wrote (sent, and every final status), since it started.",
            labels=["dispatcher", "status"],
        )
        receipts = CounterMetricFamily(
            "payamak_dispatcher_receipts",
            "Delivery receipts the dispatcher received since it started.",
            labels=["dispatcher"],
        )
        unknown = CounterMetricFamily(
            "payamak_dispatcher_receipts_unknown",
            "Receipts for message ids none of our messages has, after trying to match them: ignored.",
            labels=["dispatcher"],
        )
        recovered = CounterMetricFamily(
            "payamak_dispatcher_recovered",
            "Claims of dead dispatchers this one took back (they may be sent twice).",
            labels=["dispatcher"],
        )
        flush_errors = CounterMetricFamily(
            "payamak_dispatcher_write_errors",
            "Batches of results the dispatcher failed to write (and retried).",
            labels=["dispatcher"],
        )
        for record in alive:
            name, stats = record.name, dict(record.stats or {})
            heartbeat.add_metric([name], max(0.0, (now - record.heartbeat_at).total_seconds()))
            in_flight.add_metric([name], _number(stats, "in_flight"))
            results.add_metric([name, "sent"], _number(stats, "sent"))
            final = stats.get("final")
            for status, count in sorted(final.items() if isinstance(final, dict) else ()):
                results.add_metric([name, str(status)], _number({"n": count}, "n"))
            receipts.add_metric([name], _number(stats, "receipts"))
            unknown.add_metric([name], _number(stats, "receipts_unknown"))
            recovered.add_metric([name], _number(stats, "recovered"))
            flush_errors.add_metric([name], _number(stats, "flush_errors"))
        yield from (heartbeat, in_flight, results, receipts, unknown, recovered, flush_errors)


# --- the endpoint ---------------------------------------------------------------------------


def exposition(registry: CollectorRegistry) -> bytes:
    """This process's counters, then what the database says."""
    return generate_latest(REGISTRY) + generate_latest(registry)


def authorized(authorization: str, token: str | None) -> bool:
    """Whether an Authorization header carries the metrics token (always, when none is set)."""
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def install(app: FastAPI, ctx: Context) -> None:
    """Add /metrics and the request middleware (call it last, so the middleware is outermost and
    also sees requests refused by the other middleware)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(ctx.db))
    token = ctx.settings.metrics_token

    def metrics(request: Request) -> Response:
        if not authorized(request.headers.get("authorization", ""), token):
            return JSONResponse(
                {
                    "error": "not_authenticated",
                    "detail": "A valid metrics token is needed (Authorization: Bearer).",
                },
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestObserver)


def serve_process_metrics(host: str, port: int, *, token: str | None = None) -> Callable[[], None]:
    """Serve this process's own counters (what its dispatcher reports, CPU, memory) at
    http://host:port/metrics from a background thread, for `payamak dispatcher`, which serves no
    HTTP otherwise. The queue and route metrics come from the API processes' /metrics.

    Returns the function that stops it."""
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    exporter = make_wsgi_app(REGISTRY)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not authorized(str(environ.get("HTTP_AUTHORIZATION", "")), token):
            start_response(
                "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")]
            )
            return [b"a valid metrics token is needed\n"]
        body: Iterable[bytes] = exporter(environ, start_response)
        return body

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            # A line per scrape on stderr would drown the dispatcher's own.
            return

    server: WSGIServer = make_server(host, port, guarded, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


# --- the middleware -------------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters as names (`/api/v1/sends/{send_id}`), so that
    metrics and logs group requests by endpoint instead of by id (and a key in a path, as the
    Kavenegar-compatible API has, never reaches them)."""
    # FastAPI keeps an included router's routes unprefixed and records the route as reached
    # (with its router's prefix) in its own part of the scope; older versions flattened them.
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for route in (effective, scope.get("route")):
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if isinstance(path, str) and path:
            return path
    if scope.get("endpoint") is not None:
        # A mounted application (the static files): its mount point.
        mount = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
        return f"{mount}/{{path}}" if mount else UNMATCHED
    return UNMATCHED


class RequestObserver:
    """Gives every request an id (X-Request-ID, taken from the client when sane), counts and times
    it by route template, and writes one access log line when its response is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = logs.new_request_id(offered)
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._record(scope, status, time.perf_counter() - started)
            logs.request_id.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        # Any word a client sends as its method would otherwise become a new series.
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        template = route_template(scope)
        HTTP_REQUESTS.labels(method=method, route=template, status=str(status)).inc()
        HTTP_DURATION.labels(method=method, route=template).observe(seconds)
        level = logging.WARNING if status >= 500 else logging.INFO
        if status < 400 and scope["path"] in QUIET_PATHS:
            level = logging.DEBUG
        if not access_log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "method": method,
            "path": template,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
        }
        principal = scope.get("state", {}).get("principal")
        account_id = getattr(principal, "account_id", None)
        if account_id is not None:
            fields["account_id"] = account_id
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        fields["_in_message"] = ("method", "path", "status", "duration_ms")
        access_log.log(level, "%s %s %d %.1fms", method, template, status, seconds * 1000, extra=fields)
