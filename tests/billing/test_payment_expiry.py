"""A purchase the buyer leaves unfinished at the gateway: it expires without a background job, can
be continued or canceled while it is open, and a late payment the gateway verifies still credits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from payamak.billing import service as billing
from payamak.billing.models import Payment
from payamak.context import Context
from payamak.db import utcnow

from .conftest import API, FakeZarinpal, csrf_of
from .test_sandbox_purchase import choose, me, start


def age(ctx: Context, payment_id: int, minutes: int) -> None:
    """Make a payment look started `minutes` ago."""
    with ctx.db.transaction() as session:
        session.execute(
            sa.update(Payment)
            .where(Payment.id == payment_id)
            .values(created_at=utcnow() - dt.timedelta(minutes=minutes))
        )


def stored(ctx: Context, payment_id: int) -> Payment:
    with ctx.db.transaction(readonly=True) as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None
        return payment


def test_expiry_is_derived_for_the_accounts_stale_payments_and_never_written(
    ctx: Context, make_user, package
) -> None:  # type: ignore[no-untyped-def]
    owner = make_user()
    package_id = package()
    window = dt.timedelta(minutes=15)
    with ctx.db.transaction() as session:
        old, fresh = (
            billing.open_payment(session, account_id=owner.id, package_id=package_id, gateway="sandbox").id
            for _ in range(2)
        )
    age(ctx, old, 16)
    with ctx.db.transaction(readonly=True) as session:
        states = {
            p.id: billing.payment_state(p, window=window)
            for p in billing.payments(session, account_id=owner.id)
        }
    assert states == {old: "expired", fresh: "pending"}
    assert stored(ctx, old).state == "pending"  # shown expired, stored as it was


def test_the_api_shows_expiry_without_writing(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package())
    payment_id = int(str(started["payment_id"]))
    url = f"{API}/payments/{payment_id}"
    assert client.get(url, headers=user.headers).json()["state"] == "pending"
    age(ctx, payment_id, ctx.settings.payment_expiry_minutes + 1)
    assert client.get(url, headers=user.headers).json()["state"] == "expired"
    assert [p["state"] for p in client.get(f"{API}/payments", headers=user.headers).json()] == ["expired"]
    assert stored(ctx, payment_id).state == "pending", "a GET of the API is read-only"
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PaymentOut"]
    assert "expired" in schema["properties"]["state"]["enum"]


def test_an_expired_payment_is_still_credited_when_the_buyer_comes_back_paid(
    client: TestClient, make_user, package, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package(price=1_000_000, credit=1_200_000))
    payment_id = int(str(started["payment_id"]))
    age(ctx, payment_id, 60)
    client.cookies.set("payamak_session", user.token)
    page = client.get(f"/credit/payments/{payment_id}")
    assert (
        "منقضی شد" in page.text and "مهلت این پرداخت گذشت" in page.text and "اعتباری افزوده نشد" in page.text
    )
    assert f"/credit/payments/{payment_id}/cancel" not in page.text
    assert f"/credit/payments/{payment_id}/continue" not in page.text
    assert stored(ctx, payment_id).state == "pending"  # reading it wrote nothing

    # The buyer had paid at the gateway all along and only now returns: the money is not lost.
    callback = choose(client, str(started["redirect_url"]), "pay")
    r = client.get(callback, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{payment_id}"
    assert "اعتبار به حساب افزوده شد" in client.get(r.headers["location"]).text
    assert me(client, user)["balance"] == 1_200_000
    paid = stored(ctx, payment_id)
    assert paid.state == "paid" and paid.failure == "" and paid.ref_id
    for _ in range(2):
        client.get(callback)
    assert me(client, user)["balance"] == 1_200_000, "credited once"


def test_a_late_cancel_from_the_gateway_leaves_it_expired(
    client: TestClient, make_user, package, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package())
    payment_id = int(str(started["payment_id"]))
    age(ctx, payment_id, 60)
    client.cookies.set("payamak_session", user.token)
    callback = choose(client, str(started["redirect_url"]), "cancel")
    assert "مهلت این پرداخت گذشت" in client.get(callback).text
    late = stored(ctx, payment_id)
    window = dt.timedelta(minutes=ctx.settings.payment_expiry_minutes)
    assert late.state == "canceled" and billing.payment_state(late, window=window) == "expired"
    assert me(client, user)["balance"] == 0


def test_zarinpal_verifies_a_payment_after_its_expiry(
    client: TestClient, make_user, package, ctx: Context, zarinpal: FakeZarinpal
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package(price=2_000_000, credit=2_000_000))
    payment_id = int(str(started["payment_id"]))
    authority = next(iter(zarinpal.sessions))
    age(ctx, payment_id, 60)
    client.cookies.set("payamak_session", user.token)
    assert "منقضی شد" in client.get("/credit").text
    zarinpal.pay(authority)
    client.get("/payments/callback", params={"Authority": authority, "Status": "OK"})
    assert me(client, user)["balance"] == 2_000_000 and stored(ctx, payment_id).state == "paid"
    assert len(zarinpal.verifies) == 1


def test_an_open_payment_can_be_continued(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user, other = make_user(), make_user()
    started = start(client, user, package())
    payment_id = int(str(started["payment_id"]))
    continue_url = f"/credit/payments/{payment_id}/continue"
    client.cookies.set("payamak_session", user.token)
    for path in ("/credit", f"/credit/payments/{payment_id}"):
        page = client.get(path)
        assert (
            page.status_code == 200 and "ادامهٔ پرداخت" in page.text and f'href="{continue_url}"' in page.text
        )
        assert "در انتظار پرداخت" in page.text
    assert "مهلت پرداخت" in client.get(f"/credit/payments/{payment_id}").text

    r = client.get(continue_url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == started["redirect_url"]
    callback = choose(client, r.headers["location"], "pay")
    client.get(callback)
    assert me(client, user)["balance"] > 0
    # A decided payment is no longer continued: its page says what became of it.
    r = client.get(continue_url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{payment_id}"
    assert "ادامهٔ پرداخت" not in client.get("/credit").text

    client.cookies.set("payamak_session", other.token)
    assert client.get(continue_url, follow_redirects=False).status_code == 404


def test_continuing_after_the_deadline_goes_to_the_payment_page(
    client: TestClient, make_user, package, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    payment_id = int(str(start(client, user, package())["payment_id"]))
    age(ctx, payment_id, ctx.settings.payment_expiry_minutes + 1)
    client.cookies.set("payamak_session", user.token)
    r = client.get(f"/credit/payments/{payment_id}/continue", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{payment_id}"


def test_an_open_payment_can_be_canceled(client: TestClient, make_user, package, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    user, other = make_user(), make_user()
    started = start(client, user, package())
    payment_id = int(str(started["payment_id"]))
    cancel_url = f"/credit/payments/{payment_id}/cancel"
    client.cookies.set("payamak_session", user.token)
    page = client.get(f"/credit/payments/{payment_id}")
    assert f'action="{cancel_url}"' in page.text and "انصراف" in page.text
    token = csrf_of(page.text)

    assert client.post(cancel_url, data={"csrf": "forged"}).status_code == 403
    client.cookies.set("payamak_session", other.token)
    assert client.post(cancel_url, data={"csrf": token}, follow_redirects=False).status_code == 404
    assert stored(ctx, payment_id).state == "pending"

    client.cookies.set("payamak_session", user.token)
    r = client.post(cancel_url, data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/credit/payments/{payment_id}"
    page = client.get(r.headers["location"])
    assert (
        "لغو شد" in page.text
        and "ادامهٔ پرداخت" not in page.text
        and f'action="{cancel_url}"' not in page.text
    )
    canceled = stored(ctx, payment_id)
    assert canceled.state == "canceled" and canceled.failure == billing.CANCELED_BY_BUYER
    # Canceling again changes nothing.
    assert client.post(cancel_url, data={"csrf": token}, follow_redirects=False).status_code == 303
    assert stored(ctx, payment_id).updated_at == canceled.updated_at

    # The buyer pays at the gateway after all: the gateway's word wins, and credits once.
    callback = choose(client, str(started["redirect_url"]), "pay")
    client.get(callback)
    client.get(callback)
    assert stored(ctx, payment_id).state == "paid" and me(client, user)["balance"] == 1_100_000


def test_canceling_a_paid_payment_changes_nothing(
    client: TestClient, make_user, package, ctx: Context
) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    started = start(client, user, package())
    payment_id = int(str(started["payment_id"]))
    client.cookies.set("payamak_session", user.token)
    client.get(choose(client, str(started["redirect_url"]), "pay"))
    token = csrf_of(client.get("/credit").text)
    r = client.post(f"/credit/payments/{payment_id}/cancel", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert stored(ctx, payment_id).state == "paid" and me(client, user)["balance"] == 1_100_000


@pytest.mark.parametrize("minutes", [0, 24 * 60 + 1])
def test_the_expiry_setting_is_bounded(minutes: int) -> None:
    from pydantic import ValidationError

    from payamak.config import load_settings

    with pytest.raises(ValidationError):
        load_settings(payment_expiry_minutes=minutes)
