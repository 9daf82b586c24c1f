"""The operator's side over HTTP: packages, and granting or deducting credit with a reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import API


def test_admin_manages_packages(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(admin=True), make_user()
    r = client.post(
        f"{API}/admin/packages",
        headers=admin.headers,
        json={"name": "  بستهٔ   ویژه ", "price": 9_000_000, "credit": 10_000_000, "description": "با هدیه"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "بستهٔ ویژه" and created["bonus"] == 1_000_000 and created["active"] is True
    assert [p["id"] for p in client.get(f"{API}/packages", headers=user.headers).json()] == [created["id"]]

    r = client.patch(f"{API}/admin/packages/{created['id']}", headers=admin.headers, json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get(f"{API}/packages", headers=user.headers).json() == []
    assert [p["id"] for p in client.get(f"{API}/admin/packages", headers=admin.headers).json()] == [
        created["id"]
    ]
    assert (
        client.patch(f"{API}/admin/packages/999999", headers=admin.headers, json={"active": True}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "price": -5, "credit": 10}, "price"),
        ({"name": "x", "price": 10, "credit": 0}, "credit"),
        ({"name": "x", "price": 10.5, "credit": 10}, "price"),
        ({"name": "x", "price": 10, "credit": "10"}, "credit"),
        ({"name": "   ", "price": 10, "credit": 10}, "name"),
        ({"price": 10, "credit": 10}, "name"),
    ],
)
def test_bad_packages_are_refused_by_field(client: TestClient, make_user, body, field) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(admin=True)
    r = client.post(f"{API}/admin/packages", headers=admin.headers, json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert client.get(f"{API}/admin/packages", headers=admin.headers).json() == []


def test_grant_and_deduct_credit(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(admin=True), make_user()
    url = f"{API}/admin/accounts/{user.id}/credit"
    r = client.post(url, headers=admin.headers, json={"amount": 250_000, "reason": "جبران اختلال دیروز"})
    assert r.status_code == 201, r.text
    assert r.json() == {
        "entry_id": r.json()["entry_id"],
        "account_id": user.id,
        "kind": "grant",
        "amount": 250_000,
        "balance": 250_000,
    }
    r = client.post(url, headers=admin.headers, json={"amount": -50_000, "reason": "اصلاح"})
    assert r.status_code == 201 and r.json()["kind"] == "adjustment" and r.json()["balance"] == 200_000

    statement = client.get(f"{API}/statement", headers=user.headers).json()
    assert [(e["kind"], e["amount"], e["description"]) for e in statement["entries"]] == [
        ("adjustment", -50_000, "اصلاح"),
        ("grant", 250_000, "جبران اختلال دیروز"),
    ]
    assert statement["entries"][0]["reference"] == {"type": "admin", "id": admin.id}


@pytest.mark.parametrize(
    ("body", "status", "error", "field"),
    [
        ({"amount": 1_000}, 422, "validation_error", "reason"),
        ({"amount": 1_000, "reason": "  "}, 422, "reason_required", "reason"),
        ({"amount": 0, "reason": "nothing"}, 422, "amount_invalid", "amount"),
        ({"amount": 10.5, "reason": "half"}, 422, "validation_error", "amount"),
        ({"amount": "1000", "reason": "text"}, 422, "validation_error", "amount"),
        ({"amount": -100_001, "reason": "too much"}, 402, "insufficient_credit", None),
    ],
)
def test_bad_grants_change_nothing(client: TestClient, make_user, give, body, status, error, field) -> None:  # type: ignore[no-untyped-def]
    admin, user = make_user(admin=True), make_user()
    give(user.id, 100_000)
    r = client.post(f"{API}/admin/accounts/{user.id}/credit", headers=admin.headers, json=body)
    assert r.status_code == status and r.json()["error"] == error, r.text
    if field:
        assert r.json()["field"] == field
    else:
        assert r.json()["needed"] == 100_001 and r.json()["balance"] == 100_000
    assert client.get(f"{API}/me", headers=user.headers).json()["balance"] == 100_000
    assert client.get(f"{API}/statement", headers=user.headers).json()["total"] == 1


def test_grant_to_an_unknown_account(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(admin=True)
    r = client.post(
        f"{API}/admin/accounts/999999/credit", headers=admin.headers, json={"amount": 5, "reason": "who?"}
    )
    assert r.status_code == 404 and r.json()["error"] == "account_not_found"


def test_low_balance_flag_follows_the_ledger(client: TestClient, make_user, give) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client.patch(f"{API}/me", headers=user.headers, json={"low_balance_threshold": 50_000})
    give(user.id, 40_000)
    me = client.get(f"{API}/me", headers=user.headers).json()
    assert me["balance"] == 40_000 and me["low_balance"] is True
    give(user.id, 20_000)
    assert client.get(f"{API}/me", headers=user.headers).json()["low_balance"] is False
