"""No account can read or change another's data, through any endpoint.

Every API route must be listed here: as public, as acting only on the caller (no id in the path
or body that could name someone else's data), or with a case that makes data for one account and
has another account try it. A new route that is in none of them fails `test_every_route_is_covered`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

API = "/api/v1"

PUBLIC = {
    ("POST", "/auth/signup"),
    ("POST", "/auth/verify"),
    ("POST", "/auth/resend"),
    ("POST", "/auth/password-reset"),
    ("POST", "/auth/password-reset/confirm"),
    ("POST", "/auth/login"),
}
SELF_ONLY = {
    # Sends name groups and customers by id: a foreign one is refused, see test_send_to_foreign_group.
    ("GET", "/sends"),
    ("POST", "/sends"),
    ("POST", "/sends/preview"),
    ("POST", "/messages/check"),
    ("GET", "/lines"),
    ("GET", "/inbox"),
    ("POST", "/auth/logout"),
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("POST", "/me/password"),
    ("GET", "/sessions"),
    ("POST", "/api-keys"),
    ("GET", "/api-keys"),
    ("POST", "/sender-names"),
    ("GET", "/sender-names"),
    # billing: packages and prices are the same for everyone; the rest act on the caller's ledger
    ("GET", "/prices"),
    ("GET", "/packages"),
    ("POST", "/payments"),
    ("GET", "/payments"),
    ("GET", "/statement"),
    ("GET", "/statement/export"),
    # phonebook: creating and listing act on the caller's own; a preview stores nothing
    ("POST", "/groups"),
    ("GET", "/groups"),
    ("POST", "/customers"),
    ("GET", "/customers"),
    ("POST", "/imports/preview"),
    ("GET", "/imports"),
    # compatible APIs: the caller's own AccountSid, lines and templates
    ("GET", "/compat/twilio"),
    ("GET", "/compat/templates"),
}
# Routes only an admin may call; `test_admin_only_routes_refuse_users` checks each.
ADMIN_ONLY = {
    ("GET", "/admin/lines"),
    ("POST", "/admin/lines"),
    ("DELETE", "/admin/lines/{line_id}"),
    ("GET", "/admin/forbidden-words"),
    ("POST", "/admin/forbidden-words"),
    ("DELETE", "/admin/forbidden-words/{word_id}"),
    ("GET", "/admin/sender-names"),
    ("POST", "/admin/sender-names/{name_id}/approve"),
    ("POST", "/admin/sender-names/{name_id}/reject"),
    ("GET", "/admin/tariffs"),
    ("POST", "/admin/tariffs"),
    ("DELETE", "/admin/tariffs/{tariff_id}"),
    ("GET", "/admin/vat"),
    ("PUT", "/admin/vat"),
    ("GET", "/admin/packages"),
    ("POST", "/admin/packages"),
    ("PATCH", "/admin/packages/{package_id}"),
    ("POST", "/admin/accounts/{account_id}/credit"),
    ("GET", "/admin/blacklist"),
    ("POST", "/admin/blacklist/numbers"),
    ("DELETE", "/admin/blacklist/numbers"),
    ("POST", "/admin/blacklist/numbers/remove"),
    ("GET", "/admin/blacklist/check"),
    ("POST", "/admin/blacklist/national"),
    ("GET", "/admin/blacklist/loads/{load_id}"),
    ("GET", "/admin/routes"),
    ("POST", "/admin/routes"),
    ("GET", "/admin/routes/{route_id}"),
    ("PATCH", "/admin/routes/{route_id}"),
    ("DELETE", "/admin/routes/{route_id}"),
}


@dataclass
class Case:
    """Make something that belongs to `owner`; return the path with its id and a check it is intact."""

    make: Callable[[TestClient, object], tuple[str, Callable[[], bool]]]
    body: dict[str, object] | None = None


def _owner_session(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    token = client.post(
        f"{API}/auth/login", json={"mobile": owner.mobile, "password": owner.password}
    ).json()["token"]
    sessions = client.get(f"{API}/sessions", headers={"Authorization": f"Bearer {token}"}).json()
    sid = next(s["id"] for s in sessions if s["current"])
    return (
        f"{API}/sessions/{sid}",
        lambda: client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200,
    )


def _owner_key(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    created = client.post(f"{API}/api-keys", headers=owner.headers, json={"name": "k"}).json()
    return (
        f"{API}/api-keys/{created['id']}",
        lambda: (
            client.get(f"{API}/me", headers={"Authorization": f"Bearer {created['key']}"}).status_code == 200
        ),
    )


def _owner_sender_name(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    created = client.post(f"{API}/sender-names", headers=owner.headers, json={"name": "گلستان"}).json()
    return f"{API}/sender-names/{created['id']}", lambda: any(
        n["id"] == created["id"] for n in client.get(f"{API}/sender-names", headers=owner.headers).json()
    )


def _owner_payment(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    from payamak.billing import service as billing

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.db.transaction() as session:
        package_id = billing.create_package(session, name="p", price=1_000, credit=1_000).id
    created = client.post(f"{API}/payments", headers=owner.headers, json={"package_id": package_id}).json()
    path = f"{API}/payments/{created['payment_id']}"
    return path, lambda: client.get(path, headers=owner.headers).status_code == 200


def _owner_group(client: TestClient, owner) -> tuple[int, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    group = client.post(f"{API}/groups", headers=owner.headers, json={"name": "گروه مالک"}).json()
    client.post(
        f"{API}/groups/{group['id']}/numbers",
        headers=owner.headers,
        json={"numbers": [{"number": "09121234567", "name": "مالک"}]},
    )

    def intact() -> bool:
        got = client.get(f"{API}/groups/{group['id']}", headers=owner.headers)
        items = client.get(f"{API}/groups/{group['id']}/numbers", headers=owner.headers).json()["items"]
        return (
            got.status_code == 200
            and got.json()["name"] == "گروه مالک"
            and [(i["local"], i["name"]) for i in items] == [("09121234567", "مالک")]
        )

    return group["id"], intact


def _owner_group_path(suffix: str = "") -> Callable[[TestClient, object], tuple[str, Callable[[], bool]]]:
    def make(client: TestClient, owner: object) -> tuple[str, Callable[[], bool]]:
        group_id, intact = _owner_group(client, owner)
        return f"{API}/groups/{group_id}{suffix}", intact

    return make


def _owner_group_number(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    group_id, intact = _owner_group(client, owner)
    number_id = client.get(f"{API}/groups/{group_id}/numbers", headers=owner.headers).json()["items"][0]["id"]
    return f"{API}/groups/{group_id}/numbers/{number_id}", intact


def _owner_customer(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
    created = client.post(
        f"{API}/customers", headers=owner.headers, json={"mobile": "09121234567", "name": "مالک"}
    ).json()
    path = f"{API}/customers/{created['id']}"
    return path, lambda: client.get(path, headers=owner.headers).json() == created


def _owner_import(suffix: str) -> Callable[[TestClient, object], tuple[str, Callable[[], bool]]]:
    def make(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
        from payamak.phonebook.imports import wait_for_imports

        group_id, _ = _owner_group(client, owner)
        started = client.post(
            f"{API}/groups/{group_id}/imports", headers=owner.headers, json={"text": "09351234567\nبد"}
        ).json()
        assert wait_for_imports(timeout=60)
        path = f"{API}/imports/{started['id']}"
        return f"{path}{suffix}", lambda: client.get(path, headers=owner.headers).json()["added"] == 1

    return make


def _ready_to_send(client: TestClient, owner) -> None:  # type: ignore[no-untyped-def]
    """Credit and a shared advertising line, through the services (no admin account needed)."""
    from payamak.billing import service as billing
    from payamak.sending import repository as sending_repo
    from payamak.sending import service as sending

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    ctx.settings.advertising_hours = "always"
    with ctx.db.transaction() as session:
        billing.grant(session, account_id=owner.id, amount=1_000_000, reason="test", actor_id=None)
        if sending_repo.line_by_number(session, "30009999") is None:
            sending.add_line(session, principal=None, number="30009999", kind="advertising")


def _owner_send(suffix: str) -> Callable[[TestClient, object], tuple[str, Callable[[], bool]]]:
    def make(client: TestClient, owner) -> tuple[str, Callable[[], bool]]:  # type: ignore[no-untyped-def]
        _ready_to_send(client, owner)
        body = {"kind": "advertising", "text": "سلام", "recipients": ["09121234567"]}
        send = client.post(f"{API}/sends", headers=owner.headers, json=body).json()
        assert "id" in send, send

        def intact() -> bool:
            got = client.get(f"{API}/sends/{send['id']}", headers=owner.headers).json()
            return bool(got["status"] != "canceled" and got["recipients"] == 1)

        return f"{API}/sends/{send['id']}{suffix}", intact

    return make


OWNED: dict[tuple[str, str], Case] = {
    ("GET", "/sends/{send_id}"): Case(_owner_send("")),
    ("GET", "/sends/{send_id}/messages"): Case(_owner_send("/messages")),
    ("GET", "/sends/{send_id}/export"): Case(_owner_send("/export")),
    ("POST", "/sends/{send_id}/cancel"): Case(_owner_send("/cancel")),
    ("GET", "/groups/{group_id}"): Case(_owner_group_path()),
    ("PATCH", "/groups/{group_id}"): Case(_owner_group_path(), body={"name": "ربوده"}),
    ("DELETE", "/groups/{group_id}"): Case(_owner_group_path()),
    ("POST", "/groups/{group_id}/numbers"): Case(_owner_group_path("/numbers"), body={"numbers": ["09350000000"]}),
    ("GET", "/groups/{group_id}/numbers"): Case(_owner_group_path("/numbers")),
    ("DELETE", "/groups/{group_id}/numbers"): Case(_owner_group_path("/numbers")),
    ("POST", "/groups/{group_id}/numbers/delete"): Case(_owner_group_path("/numbers/delete"), body={"ids": [1]}),
    ("PATCH", "/groups/{group_id}/numbers/{number_id}"): Case(_owner_group_number, body={"name": "ربوده"}),
    ("DELETE", "/groups/{group_id}/numbers/{number_id}"): Case(_owner_group_number),
    ("POST", "/groups/{group_id}/customers"): Case(_owner_group_path("/customers"), body={"all": True}),
    ("GET", "/groups/{group_id}/export"): Case(_owner_group_path("/export")),
    ("POST", "/groups/{group_id}/imports"): Case(_owner_group_path("/imports"), body={"text": "09350000000"}),
    ("GET", "/customers/{customer_id}"): Case(_owner_customer),
    ("PATCH", "/customers/{customer_id}"): Case(_owner_customer, body={"name": "ربوده"}),
    ("DELETE", "/customers/{customer_id}"): Case(_owner_customer),
    ("GET", "/imports/{import_id}"): Case(_owner_import("")),
    ("GET", "/imports/{import_id}/invalid"): Case(_owner_import("/invalid")),
    ("GET", "/payments/{payment_id}"): Case(_owner_payment),
    ("DELETE", "/sender-names/{name_id}"): Case(_owner_sender_name),
    ("DELETE", "/sessions/{session_id}"): Case(_owner_session),
    ("DELETE", "/api-keys/{key_id}"): Case(_owner_key),
}


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) under /api/v1, read from the OpenAPI document the app serves."""
    document = client.get("/openapi.json").json()
    found = {
        (method.upper(), path.removeprefix(API))
        for path, operations in document["paths"].items()
        if path.startswith(API)
        for method in operations
    }
    assert len(found) > 20, "the route walk found almost nothing: it is broken, not the API"
    return found


def test_every_route_is_covered(client: TestClient) -> None:
    missing = api_routes(client) - PUBLIC - SELF_ONLY - ADMIN_ONLY - set(OWNED)
    assert not missing, f"routes with no isolation case: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(OWNED), ids=lambda r: f"{r[0]} {r[1]}")
def test_another_account_cannot_touch_it(client: TestClient, make_user, route: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    owner, intruder = make_user(), make_user()
    case = OWNED[route]
    path, intact = case.make(client, owner)
    r = client.request(route[0], path, headers=intruder.headers, json=case.body)
    assert r.status_code == 404, r.text
    assert intact()


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY), ids=lambda r: f"{r[0]} {r[1]}")
def test_admin_only_routes_refuse_users(client: TestClient, make_user, route: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    path = API + re.sub(r"\{[^}]+\}", "1", route[1])
    r = client.request(route[0], path, headers=user.headers, json={} if route[0] != "GET" else None)
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "admin_only"


def test_send_to_foreign_group_or_customer(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    owner, intruder = make_user(), make_user()
    _ready_to_send(client, intruder)
    group = client.post(f"{API}/groups", headers=owner.headers, json={"name": "مال من"}).json()
    client.post(f"{API}/groups/{group['id']}/numbers", headers=owner.headers, json={"numbers": ["09121111111"]})
    customer = client.post(f"{API}/customers", headers=owner.headers, json={"mobile": "09122222222", "name": "x"}).json()
    for body in ({"group_ids": [group["id"]]}, {"customer_ids": [customer["id"]]}):
        for path in ("/sends/preview", "/sends"):
            r = client.post(f"{API}{path}", headers=intruder.headers, json={"kind": "advertising", "text": "x", **body})
            assert r.status_code == 404, r.text
    assert client.get(f"{API}/sends", headers=intruder.headers).json()["total"] == 0
