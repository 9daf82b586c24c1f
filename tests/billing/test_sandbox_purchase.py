"""Buying a package through the sandbox gateway, end to end over HTTP, and every way to get it wrong."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from payamak.billing.models import Payment
from payamak.context import Context

from .conftest import API, csrf_of


def me(client: TestClient, user) -> dict[str, object]:  # type: ignore[no-untyped-def]
    body: dict[str, object] = client.get(f"{API}/me", headers=user.headers).json()
    return body


def start(client: TestClient, user, package_id: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/payments", headers=user.headers, json={"package_id": package_id})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def choose(client: TestClient, redirect_url: str, action: str) -> str:
    """The buyer on the sandbox page: returns the callback URL the gateway sends them to."""
    page = client.get(redirect_url)
    assert page.status_code == 200 and 'dir="rtl"' in page.text and "آزمایشی" in page.text
    r = client.post(redirect_url, data={"action": action, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    return r.headers["location"]


def test_buy_a_package_end_to_end(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    package_id = package(price=1_000_000, credit=1_100_000)
    assert [p["id"] for p in client.get(f"{API}/packages", headers=user.headers).json()] == [package_id]
    started = start(client, user, package_id)
    assert started["amount"] == 1_000_000 and started["credit"] == 1_100_000 and started["state"] == "pending"
    redirect_url = str(started["redirect_url"])
    assert redirect_url.startswith("http://testserver/pay/sandbox/S")

    callback = choose(client, redirect_url, "pay")
    parts = urlsplit(callback)
    assert parts.path == "/payments/callback"
    query = parse_qs(parts.query)
    assert query["Status"] == ["OK"] and query["Authority"][0] == redirect_url.rsplit("/", 1)[1]

    client.cookies.set("payamak_session", user.token)  # the buyer's browser is logged in
    r = client.get(callback, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{started['payment_id']}"
    result = client.get(r.headers["location"])
    assert result.status_code == 200 and "اعتبار به حساب افزوده شد" in result.text
    assert me(client, user)["balance"] == 1_100_000

    payment = client.get(f"{API}/payments/{started['payment_id']}", headers=user.headers).json()
    assert payment["state"] == "paid" and payment["ref_id"] and payment["paid_at"]
    statement = client.get(f"{API}/statement", headers=user.headers).json()
    (entry,) = statement["entries"]
    assert (
        entry["kind"] == "purchase" and entry["amount"] == 1_100_000 and entry["balance_after"] == 1_100_000
    )
    assert entry["reference"] == {"type": "payment", "id": started["payment_id"]}

    # The buyer refreshes, or the gateway calls back again: still credited once.
    for _ in range(3):
        assert client.get(callback, follow_redirects=False).status_code == 303
    assert me(client, user)["balance"] == 1_100_000
    # The sandbox page no longer offers a choice, and a second choice changes nothing.
    assert 'name="action"' not in client.get(redirect_url).text


def test_canceling_at_the_gateway_adds_nothing(client: TestClient, make_user, package) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package())
    callback = choose(client, str(started["redirect_url"]), "cancel")
    assert "Status=NOK" in callback
    client.cookies.set("payamak_session", user.token)
    result = client.get(callback)
    assert result.status_code == 200 and "اعتباری افزوده نشد" in result.text
    payment = client.get(f"{API}/payments/{started['payment_id']}", headers=user.headers).json()
    assert payment["state"] == "canceled" and me(client, user)["balance"] == 0


def test_forged_callbacks_never_credit(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package(price=2_000_000, credit=2_000_000))
    authority = str(started["redirect_url"]).rsplit("/", 1)[1]

    # An authority we never issued.
    r = client.get("/payments/callback", params={"Authority": "S" + "0" * 36, "Status": "OK"})
    assert r.status_code == 404
    # The right authority with another amount.
    r = client.get("/payments/callback", params={"Authority": authority, "Status": "OK", "amount": 2_000})
    assert r.status_code == 422 and "مبلغ" in r.text
    # Status=OK before anything was paid: the gateway says no, the payment fails, no credit.
    r = client.get(
        "/payments/callback", params={"Authority": authority, "Status": "OK"}, follow_redirects=False
    )
    assert r.status_code == 303
    with ctx.db.transaction(readonly=True) as session:
        payment = session.scalars(sa.select(Payment)).one()
        assert payment.state == "failed" and "-51" in payment.failure
    assert me(client, user)["balance"] == 0

    # The real buyer then pays: the gateway's yes still credits, once.
    callback = choose(client, str(started["redirect_url"]), "pay")
    client.get(callback)
    client.get(callback)
    assert me(client, user)["balance"] == 2_000_000


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"package_id": 999_999}, 404, "package_not_found"),
        ({"package_id": "x"}, 422, "validation_error"),
        ({"package_id": 1.5}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_bad_purchases_change_nothing(
    client: TestClient, make_user, ctx: Context, body, status, error
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    r = client.post(f"{API}/payments", headers=user.headers, json=body)
    assert r.status_code == status and r.json()["error"] == error, r.text
    with ctx.db.transaction(readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_an_inactive_package_cannot_be_bought(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    hidden = package(active=False)
    assert client.get(f"{API}/packages", headers=user.headers).json() == []
    r = client.post(f"{API}/payments", headers=user.headers, json={"package_id": hidden})
    assert (
        r.status_code == 409 and r.json()["error"] == "package_inactive" and r.json()["field"] == "package_id"
    )
    with ctx.db.transaction(readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_buying_from_the_credit_page(client: TestClient, make_user, package) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    package_id = package(price=3_000_000, credit=3_300_000, name="ویژه")
    client.cookies.set("payamak_session", user.token)
    page = client.get("/credit")
    assert page.status_code == 200 and "ویژه" in page.text and 'dir="rtl"' in page.text
    r = client.post(
        "/credit/buy", data={"package_id": package_id, "csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303 and "/pay/sandbox/" in r.headers["location"]
    callback = choose(client, r.headers["location"], "pay")
    result = client.get(callback)
    assert result.status_code == 200 and "۳٬۳۰۰٬۰۰۰" in result.text
    page = client.get("/credit")
    assert "خرید بسته" in page.text and "پرداخت شد" in page.text
    # Forms need the CSRF token.
    assert client.post("/credit/buy", data={"package_id": package_id, "csrf": "forged"}).status_code == 403


def test_payments_list_is_the_callers(client: TestClient, make_user, package) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_user(), make_user()
    started = start(client, owner, package())
    assert [p["id"] for p in client.get(f"{API}/payments", headers=owner.headers).json()] == [
        started["payment_id"]
    ]
    assert client.get(f"{API}/payments", headers=other.headers).json() == []
    assert client.get(f"{API}/payments/{started['payment_id']}", headers=other.headers).status_code == 404
