"""Routes through the admin API, and the dispatcher embedded in the web application."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from payamak.api.app import create_app
from payamak.context import Context
from payamak.sending import service as sending

API = "/api/v1"
SMPP = {"host": "10.1.2.3", "port": 2775, "system_id": "shop", "password": "secret"}


def test_route_crud(client: TestClient, make_user: Callable[..., Any]) -> None:
    admin = make_user(admin=True)
    h = admin.headers
    r = client.post(f"{API}/admin/routes", headers=h, json={"name": "mci", "config": {**SMPP, "tps": 50},
                                                            "operators": ["mci"], "priority": 5})  # fmt: skip
    assert r.status_code == 201, r.text
    route = r.json()
    assert route["config"] == {**SMPP, "password": "***", "tps": 50}
    assert route["operators"] == ["MCI"] and route["kinds"] == [] and route["priority"] == 5
    assert route["state"] == "unknown" and route["state_source"] == "stored"

    r = client.post(f"{API}/admin/routes", headers=h, json={"name": "mci", "config": SMPP})
    assert r.status_code == 409 and r.json()["error"] == "route_exists"
    r = client.post(f"{API}/admin/routes", headers=h, json={"name": "x", "config": {**SMPP, "port": 0}})
    assert (
        r.status_code == 422 and r.json()["error"] == "route_invalid" and r.json()["field"] == "config.port"
    )
    r = client.post(f"{API}/admin/routes", headers=h, json={"name": "x", "config": {"host": "h", "port": 1}})
    assert r.status_code == 422 and r.json()["field"] == "config.system_id"
    r = client.post(f"{API}/admin/routes", headers=h, json={"name": "x", "config": {**SMPP, "window": "big"}})
    assert r.status_code == 422 and r.json()["field"] == "config.window"
    r = client.post(
        f"{API}/admin/routes", headers=h, json={"name": "x", "config": SMPP, "operators": ["Nokia"]}
    )
    assert r.status_code == 422 and r.json()["field"] == "operators"
    r = client.post(
        f"{API}/admin/routes", headers=h, json={"name": "x", "config": {**SMPP, "password": "far too long"}}
    )
    assert r.status_code == 422 and r.json()["field"] == "config.password"

    # A changed setting keeps the password unless a new one is given.
    r = client.patch(f"{API}/admin/routes/{route['id']}", headers=h, json={"config": {"tps": None, "window": 32},
                                                                          "refund_undelivered": True})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["config"] == {**SMPP, "password": "***", "window": 32} and r.json()["refund_undelivered"]
    with client.app.state.ctx.db.transaction(readonly=True) as session:  # type: ignore[attr-defined]
        from payamak.dispatch import service

        assert service.get_route(session, principal=None, route_id=route["id"]).config["password"] == "secret"

    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.db.transaction() as session:
        sending.add_line(session, principal=None, number="30009999", kind="advertising", route_id=route["id"])
    assert [x["name"] for x in client.get(f"{API}/admin/routes", headers=h).json()] == ["mci"]
    assert client.get(f"{API}/admin/routes/{route['id']}", headers=h).json()["name"] == "mci"
    assert client.delete(f"{API}/admin/routes/{route['id']}", headers=h).status_code == 204
    assert client.get(f"{API}/admin/routes/{route['id']}", headers=h).status_code == 404
    with ctx.db.transaction(readonly=True) as session:
        from payamak.sending import repository as sending_repo

        line = sending_repo.line_by_number(session, "30009999")
        assert line is not None and line.route_id is None


def test_users_cannot_see_routes(client: TestClient, make_user: Callable[..., Any]) -> None:
    user = make_user()
    r = client.post(f"{API}/admin/routes", headers=user.headers, json={"name": "r", "config": SMPP})
    assert r.status_code == 403 and r.json()["error"] == "admin_only"


def test_serve_runs_the_dispatcher_and_shows_live_state(ctx: Context, make_user: Callable[..., Any]) -> None:
    """`payamak serve` builds the app with the dispatcher: a send made over HTTP is delivered by
    the simulated SMSC started in the same process, and routes show their live bind state."""
    import os

    ctx.settings.advertising_hours = "always"
    admin, user = make_user(admin=True), make_user()
    os.environ.update({"PAYAMAK_DISPATCH_SMSC_PORT": "0", "PAYAMAK_DISPATCH_SMSC_RECEIPT_DELAY": "0.05"})
    try:
        with TestClient(create_app(context=ctx, dispatcher=True)) as client:
            h = admin.headers
            assert (
                client.post(
                    f"{API}/admin/lines", headers=h, json={"number": "30001234", "kind": "advertising"}
                ).status_code
                == 201
            )
            r = client.post(
                f"{API}/admin/accounts/{user.id}/credit",
                headers=h,
                json={"amount": 10_000_000, "reason": "test credit"},
            )
            assert r.status_code in (200, 201), r.text
            r = client.post(
                f"{API}/sends",
                headers=user.headers,
                json={"kind": "advertising", "text": "حراج", "recipients": ["09121111111"]},
            )
            assert r.status_code == 201, r.text
            send_id = r.json()["id"]
            deadline = time.monotonic() + 20
            while client.get(f"{API}/sends/{send_id}", headers=user.headers).json()["counts"] != {
                "delivered": 1
            }:
                assert time.monotonic() < deadline, "not delivered"
                time.sleep(0.1)
            # A route pointing at the simulator, picked up live.
            r = client.post(
                f"{API}/admin/routes", headers=h, json={"name": "sim", "kind": "simulator", "config": {}}
            )
            assert r.status_code == 201 and r.json()["state_source"] == "live"
            deadline = time.monotonic() + 20
            while client.get(f"{API}/admin/routes/{r.json()['id']}", headers=h).json()["state"] != "up":
                assert time.monotonic() < deadline, "route never up"
                time.sleep(0.1)
    finally:
        for key in ("PAYAMAK_DISPATCH_SMSC_PORT", "PAYAMAK_DISPATCH_SMSC_RECEIPT_DELAY"):
            os.environ.pop(key, None)


def test_embedded_dispatcher_can_be_disabled(ctx: Context, monkeypatch: Any) -> None:
    monkeypatch.setenv("PAYAMAK_EMBEDDED_DISPATCHER", "false")
    from payamak.dispatch.worker import running

    with TestClient(create_app(context=ctx, dispatcher=True)) as client:
        assert client.get("/healthz").status_code == 200
        assert running() is None
