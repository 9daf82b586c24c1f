"""The Zarinpal adapter against a local server answering as Zarinpal's v4 documents say."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from payamak.billing import checkout
from payamak.billing import service as billing
from payamak.billing.gateways import GatewayError, ZarinpalGateway, gateway_for
from payamak.billing.models import Payment
from payamak.context import Context

from .conftest import API, MERCHANT, FakeZarinpal


def balance(client: TestClient, user) -> int:  # type: ignore[no-untyped-def]
    value: int = client.get(f"{API}/me", headers=user.headers).json()["balance"]
    return value


def start(client: TestClient, user, package_id: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/payments", headers=user.headers, json={"package_id": package_id})
    assert r.status_code == 201, r.text
    return r.json()["payment_id"], r.json()["redirect_url"]


def test_happy_path_and_repeated_callback(
    client: TestClient, make_user, package, zarinpal: FakeZarinpal
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("09127654321")
    payment_id, redirect_url = start(client, user, package(price=5_000_000, credit=5_500_000))
    (sent,) = zarinpal.requests
    assert sent["amount"] == 5_000_000 and sent["currency"] == "IRR" and sent["merchant_id"] == MERCHANT
    assert sent["callback_url"] == "http://testserver/payments/callback"
    assert sent["metadata"] == {"mobile": "09127654321"} and f"سفارش {payment_id}" in sent["description"]
    authority = next(iter(zarinpal.sessions))
    assert redirect_url == f"{zarinpal.url}/pg/StartPay/{authority}"

    zarinpal.pay(authority)
    callback = {"Authority": authority, "Status": "OK"}
    r = client.get("/payments/callback", params=callback, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{payment_id}"
    assert balance(client, user) == 5_500_000
    paid = client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()
    assert paid["state"] == "paid" and paid["ref_id"] == str(zarinpal.sessions[authority].ref_id)
    assert paid["card_pan"] == "502229******5995" and paid["gateway"] == "zarinpal"
    assert zarinpal.verifies == [{"merchant_id": MERCHANT, "amount": 5_000_000, "authority": authority}]

    # A repeated callback is answered from our own record: no second verify, no second credit.
    assert client.get("/payments/callback", params=callback, follow_redirects=False).status_code == 303
    assert balance(client, user) == 5_500_000 and len(zarinpal.verifies) == 1


def test_nok_cancels_without_asking_the_gateway(client: TestClient, make_user, package, zarinpal) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id, _ = start(client, user, package())
    authority = next(iter(zarinpal.sessions))
    r = client.get(
        "/payments/callback", params={"Authority": authority, "Status": "NOK"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()["state"] == "canceled"
    assert zarinpal.verifies == [] and balance(client, user) == 0


def test_a_different_amount_paid_is_not_credited(client: TestClient, make_user, package, zarinpal) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id, _ = start(client, user, package(price=5_000_000, credit=5_000_000))
    authority = next(iter(zarinpal.sessions))
    zarinpal.pay(authority, amount=5_000)  # what the gateway recorded is not what we asked for
    client.get("/payments/callback", params={"Authority": authority, "Status": "OK"})
    failed = client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()
    assert failed["state"] == "failed" and "-50" in failed["failure"] and balance(client, user) == 0


def test_ok_without_payment_then_real_payment(client: TestClient, make_user, package, zarinpal) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id, _ = start(client, user, package(price=1_000_000, credit=1_000_000))
    authority = next(iter(zarinpal.sessions))
    callback = {"Authority": authority, "Status": "OK"}
    client.get("/payments/callback", params=callback)
    assert client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()["state"] == "failed"
    assert balance(client, user) == 0
    zarinpal.pay(authority)
    client.get("/payments/callback", params=callback)
    assert client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()["state"] == "paid"
    assert balance(client, user) == 1_000_000


def test_unknown_authority_is_refused_before_the_gateway(client: TestClient, zarinpal) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/payments/callback", params={"Authority": "A" + "1" * 35, "Status": "OK"})
    assert r.status_code == 404 and zarinpal.verifies == []


def test_adapter_reads_zarinpal_errors(zarinpal: FakeZarinpal) -> None:
    gateway = ZarinpalGateway(merchant_id=MERCHANT, base_url=zarinpal.url)
    started = gateway.request(20_000, "https://shop.example/cb", "test", "+989121234567")
    assert started.redirect_url.endswith(f"/pg/StartPay/{started.authority}")
    unknown = gateway.verify("A" + "9" * 35, 20_000)
    assert (unknown.ok, unknown.code) == (False, -54)
    assert gateway.verify(started.authority, 20_000).code == -51
    assert gateway.verify(started.authority, 20_001).code == -50
    zarinpal.pay(started.authority)
    first, second = gateway.verify(started.authority, 20_000), gateway.verify(started.authority, 20_000)
    assert (first.ok, first.code, first.already_verified) == (True, 100, False)
    assert (second.ok, second.code, second.already_verified) == (True, 101, True)
    assert first.ref_id == second.ref_id

    wrong_merchant = ZarinpalGateway(merchant_id="x" * 36, base_url=zarinpal.url)
    with pytest.raises(GatewayError) as refused:
        wrong_merchant.request(20_000, "https://shop.example/cb", "test", None)
    assert refused.value.code == "gateway_refused" and refused.value.extra["gateway_code"] == -10
    with pytest.raises(GatewayError) as too_small:  # below the minimum: HTTP 422, code -9
        gateway.request(10, "https://shop.example/cb", "test", None)
    assert too_small.value.extra["gateway_code"] == -9


def test_concurrent_callbacks_credit_once(ctx: Context, make_user, package, zarinpal) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    gateway = gateway_for(ctx.settings, ctx.db, base_url="http://testserver")
    payment = checkout.start_purchase(
        ctx.db,
        gateway,
        account_id=user.id,
        package_id=package(price=700_000, credit=800_000),
        callback_url="http://x/cb",
    )
    assert payment.authority is not None
    zarinpal.pay(payment.authority)
    barrier = threading.Barrier(10)
    states: list[str] = []

    def callback() -> None:
        barrier.wait()
        assert payment.authority is not None
        states.append(
            checkout.complete_purchase(ctx.db, gateway, authority=payment.authority, status="OK").state
        )

    threads = [threading.Thread(target=callback) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert states == ["paid"] * 10
    with ctx.db.transaction(readonly=True) as session:
        assert billing.balance(session, account_id=user.id) == 800_000
        assert [e.kind for e in billing.statement_entries(session, account_id=user.id)] == ["purchase"]
        assert billing.verify_ledger(session).ok


def test_unreachable_gateway(client: TestClient, make_user, package, zarinpal, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id, _ = start(client, user, package())
    authority = next(iter(zarinpal.sessions))
    zarinpal.pay(authority)
    zarinpal.server.shutdown()
    zarinpal.server.server_close()
    # Verify cannot be asked: the payment stays pending, and a later callback can still succeed.
    r = client.get("/payments/callback", params={"Authority": authority, "Status": "OK"})
    assert r.status_code == 502
    assert client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()["state"] == "pending"
    r = client.post(f"{API}/payments", headers=user.headers, json={"package_id": package()})
    assert r.status_code == 502 and r.json()["error"] == "gateway_unavailable"
    with ctx.db.transaction(readonly=True) as session:
        states = session.scalars(sa.select(Payment.state).order_by(Payment.id)).all()
    assert states == ["pending", "failed"] and balance(client, user) == 0


def test_zarinpal_needs_a_merchant_id(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.payment_gateway = "zarinpal"
    user = make_user()
    r = client.post(f"{API}/payments", headers=user.headers, json={"package_id": package()})
    assert r.status_code == 502 and r.json()["error"] == "gateway_not_configured"
    # The sandbox page is not served while another gateway is configured.
    assert client.get("/pay/sandbox/S123").status_code == 404


def test_a_payment_started_on_another_gateway_is_left_alone(
    client: TestClient, make_user, package, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id, redirect_url = start(client, user, package())  # the sandbox is configured
    ctx.settings.payment_gateway = "zarinpal"
    ctx.settings.zarinpal_merchant_id = MERCHANT
    authority = redirect_url.rsplit("/", 1)[1]
    r = client.get("/payments/callback", params={"Authority": authority, "Status": "OK"})
    assert r.status_code == 409 and "درگاه دیگری" in r.text
    assert client.get(f"{API}/payments/{payment_id}", headers=user.headers).json()["state"] == "pending"
