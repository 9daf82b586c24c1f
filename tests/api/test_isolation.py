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
from fastapi.routing import APIRoute
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
    ("POST", "/auth/logout"),
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("POST", "/me/password"),
    ("GET", "/sessions"),
    ("POST", "/api-keys"),
    ("GET", "/api-keys"),
    ("POST", "/sender-names"),
    ("GET", "/sender-names"),
}
# Routes only an admin may call; `test_admin_only_routes_refuse_users` checks each.
ADMIN_ONLY = {
    ("GET", "/admin/sender-names"),
    ("POST", "/admin/sender-names/{name_id}/approve"),
    ("POST", "/admin/sender-names/{name_id}/reject"),
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


OWNED: dict[tuple[str, str], Case] = {
    ("DELETE", "/sender-names/{name_id}"): Case(_owner_sender_name),
    ("DELETE", "/sessions/{session_id}"): Case(_owner_session),
    ("DELETE", "/api-keys/{key_id}"): Case(_owner_key),
}


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    found = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.path.startswith(API):
            for method in route.methods:
                found.add((method, route.path.removeprefix(API)))
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
