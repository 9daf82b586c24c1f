"""/metrics: the documented names, values that follow the queue and the dispatcher, the token."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from payamak.api.app import create_app
from payamak.context import Context
from payamak.db import Database, utcnow
from payamak.dispatch import service as dispatch
from payamak.metrics import DatabaseCollector, ReceiptClock, serve_process_metrics
from payamak.providers.smpp import SimulatedSmsc, SmscConfig

from .conftest import Samples, Shop, dispatcher_for, parse_metrics, value, wait_for

# What docs/operations.md documents (family names, as the parser gives them: counters without
# `_total`).
DOCUMENTED = {
    "payamak_http_requests",
    "payamak_http_request_duration_seconds",
    "payamak_messages_waiting",
    "payamak_queue_depth",
    "payamak_queue_oldest_seconds",
    "payamak_messages_stuck",
    "payamak_route_up",
    "payamak_route_binds_up",
    "payamak_route_binds",
    "payamak_route_state_age_seconds",
    "payamak_dispatchers_alive",
    "payamak_dispatcher_heartbeat_age_seconds",
    "payamak_dispatcher_in_flight",
    "payamak_dispatcher_messages",
    "payamak_dispatcher_receipts",
    "payamak_dispatcher_receipts_unknown",
    "payamak_dispatcher_recovered",
    "payamak_dispatcher_write_errors",
    "payamak_messages_submitted",
    "payamak_submit_failures",
    "payamak_receipt_latency_seconds",
    "payamak_database_up",
    "payamak_metrics_database_seconds",
    "payamak_info",
}


@pytest.fixture
def app_client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as client:
        yield client


def scrape(client: TestClient, **headers: str) -> tuple[set[str], Samples]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse_metrics(response.text)


def test_documented_names_are_exposed(shop: Shop, app_client: TestClient) -> None:
    app_client.get("/healthz")
    names, samples = scrape(app_client)
    assert DOCUMENTED - names == set()
    assert value(samples, "payamak_database_up") == 1
    assert value(samples, "payamak_info", version="0.1.0", database=shop.ctx.db.dialect) == 1


def test_http_requests_are_counted_by_route_template(shop: Shop, app_client: TestClient) -> None:
    _, before = scrape(app_client)
    for send_id in (1, 2, 3):
        assert app_client.get(f"/api/v1/sends/{send_id}").status_code == 401
    app_client.get("/no/such/page")
    app_client.request("BREW", "/healthz")
    _, after = scrape(app_client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Three ids, one series: the template, never the id.
    assert (
        delta("payamak_http_requests_total", method="GET", route="/api/v1/sends/{send_id}", status="401") == 3
    )
    assert (
        delta("payamak_http_request_duration_seconds_count", method="GET", route="/api/v1/sends/{send_id}")
        == 3
    )
    assert delta("payamak_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    # A method no endpoint has is counted, under one label whatever the client made up.
    assert delta("payamak_http_requests_total", method="other", route="/healthz", status="405") == 1


def test_queue_metrics_follow_messages_through_the_dispatcher(shop: Shop, app_client: TestClient) -> None:
    _, empty = scrape(app_client)
    assert value(empty, "payamak_messages_waiting", status="queued") == 0
    assert value(empty, "payamak_queue_depth") == 0
    assert value(empty, "payamak_queue_oldest_seconds") == 0

    shop.send(["09121111111", "09121111112", "09351111113"])
    _, queued = scrape(app_client)
    assert value(queued, "payamak_messages_waiting", status="queued") == 3
    assert value(queued, "payamak_queue_depth") == 3
    assert value(queued, "payamak_queue_oldest_seconds") > 0

    async def scenario() -> Samples:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            shop.add_route("main", port=smsc.port)
            dispatcher = dispatcher_for(shop)
            await dispatcher.start()
            try:
                await wait_for(lambda: dispatcher.stats.final.get("delivered", 0) == 3, what="three receipts")
                # The totals reach the database with the next heartbeat.
                await asyncio.sleep(0.5)
                _, samples = scrape(app_client)
                return samples
            finally:
                await dispatcher.stop()

    running = asyncio.run(scenario())
    assert value(running, "payamak_messages_waiting", status="queued") == 0
    assert value(running, "payamak_queue_depth") == 0
    assert value(running, "payamak_dispatchers_alive") == 1
    dispatchers = {labels for (name, labels) in running if name == "payamak_dispatcher_messages_total"}
    (name,) = {dict(labels)["dispatcher"] for labels in dispatchers}
    assert value(running, "payamak_dispatcher_messages_total", dispatcher=name, status="delivered") == 3
    assert value(running, "payamak_dispatcher_receipts_total", dispatcher=name) >= 3
    # The dispatcher runs in this process, so the route's binds are read live.
    assert value(running, "payamak_route_up", route="main") == 1
    assert value(running, "payamak_route_binds_up", route="main") == 1
    assert value(running, "payamak_route_state_age_seconds", route="main") == 0

    # What the dispatcher reports as it goes: three accepted by the SMSC, three receipts timed.
    def delta(name: str) -> float:
        return value(running, name, route="main") - value(queued, name, route="main")

    assert delta("payamak_messages_submitted_total") == 3
    assert delta("payamak_submit_failures_total") == 0
    assert delta("payamak_receipt_latency_seconds_count") == 3
    assert 0 < delta("payamak_receipt_latency_seconds_sum") < 3 * 20

    _, stopped = scrape(app_client)
    assert value(stopped, "payamak_dispatchers_alive") == 0
    # What the dispatcher wrote as it stopped: the route was up while it ran.
    assert value(stopped, "payamak_route_up", route="main") == 1
    assert value(stopped, "payamak_route_state_age_seconds", route="main") > 0


def test_stuck_claims_are_counted(shop: Shop, app_client: TestClient) -> None:
    shop.send(["09121111111"])
    now = utcnow()
    with shop.ctx.db.transaction() as session:
        # Claimed by a dispatcher that then died, its lease long over, and no dispatcher to take it back.
        claimed = dispatch.claim(
            session, now=now, lease_until=now - dt.timedelta(minutes=10), limit=10, known={}
        )
    assert len(claimed) == 1
    _, samples = scrape(app_client)
    assert value(samples, "payamak_messages_stuck") == 1
    assert value(samples, "payamak_messages_waiting", status="submitting") == 1


def test_token_protects_the_endpoint(ctx: Context) -> None:
    ctx.settings.metrics_token = "scrape-me"
    with TestClient(create_app(context=ctx)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        refused = client.get("/metrics", headers={"Authorization": "Basic scrape-me"})
        assert refused.status_code == 401
        assert refused.json()["error"] == "not_authenticated"
        assert refused.headers["www-authenticate"] == "Bearer"
        names, _ = scrape(client, Authorization="Bearer scrape-me")
        assert "payamak_queue_depth" in names


def test_an_unreachable_database_is_reported_not_raised() -> None:
    db = Database("sqlite:////nonexistent-directory/payamak.db")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db, dead_after_seconds=15))
    try:
        names, samples = parse_metrics(generate_latest(registry).decode())
    finally:
        db.dispose()
    assert value(samples, "payamak_database_up") == 0
    assert "payamak_queue_depth" not in names


def test_receipt_clock_times_receipts_that_come_before_or_after_the_result() -> None:
    def observed(what: str) -> float:
        return (
            REGISTRY.get_sample_value(f"payamak_receipt_latency_seconds_{what}", {"route": "clock-test"})
            or 0.0
        )

    clock = ReceiptClock(limit=2)
    clock.submitted("clock-test", 7, ["a", "b"], began=100.0)
    clock.receipt(7, "a", now=103.0)  # the usual order
    clock.receipt(7, "c", now=101.5)  # overtook its submit's result...
    clock.submitted("clock-test", 7, ["c"], began=101.0)  # ...which then says when it began
    clock.receipt(8, "b", now=104.0)  # same id through another route: not this message
    assert observed("count") == 2
    assert observed("sum") == pytest.approx(3.5)
    # At `limit` waiting, new messages are not timed (dropping old ones would drop the slow ones).
    clock.submitted("clock-test", 9, ["x", "y", "z"], began=200.0)
    for sent in ("x", "y", "z"):
        clock.receipt(9, sent, now=201.0)
    assert observed("count") == 3  # x only
    # A receipt that never comes, and one for a message nobody here sent, are forgotten in time.
    clock = ReceiptClock(max_age=10, early_age=5)
    clock.submitted("clock-test", 1, ["old"], began=0.0)
    clock.submitted("clock-test", 1, ["new"], began=20.0)
    clock.receipt(1, "old", now=21.0)  # lands among the early receipts instead
    clock.receipt(1, "other", now=30.0)  # and is forgotten as this one comes
    clock.submitted("clock-test", 1, ["old"], began=29.0)
    assert observed("count") == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_process_exporter_serves_this_process_counters_behind_the_token() -> None:
    port = _free_port()
    stop = serve_process_metrics("127.0.0.1", port, token="scrape-me")
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
        answer = httpx.get(url, headers={"Authorization": "Bearer scrape-me"})
        assert answer.status_code == 200
        names, _ = parse_metrics(answer.text)
        assert {
            "payamak_messages_submitted",
            "payamak_receipt_latency_seconds",
            "process_cpu_seconds",
        } <= names
    finally:
        stop()


def test_standalone_dispatcher_serves_its_metrics(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
    env.update(PAYAMAK_DATA_DIR=str(tmp_path), PAYAMAK_DISPATCH_SMSC_PORT="0")
    command = [sys.executable, "-m", "payamak", "dispatcher", "--metrics-port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr
    assert stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        # Stopped only once it runs: a SIGTERM before its handlers are in would just kill it.
        while not any(" started " in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, lines
            time.sleep(0.1)
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert answer.status_code == 200
        assert "payamak_messages_submitted" in parse_metrics(answer.text)[0]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        reader.join(timeout=10)
        stderr.close()
    assert process.returncode == 0, lines
