"""The Twilio-compatible Messages resource through Twilio's official Python SDK (`twilio`), unmodified.

The SDK is pointed at Payamak the documented way: `Client(..., http_client=...)` with a subclass of
its own `TwilioHttpClient` that sends each request to the test server instead of api.twilio.com.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from payamak.billing import service as billing
from payamak.compat import service as compat
from payamak.context import Context
from payamak.sending import optouts
from payamak.sending.models import Send

from .conftest import SENDER_NAME, PayamakHttpClient, Server, Shop, twilio


# The shared `client` fixture of tests/conftest.py is the app's TestClient; here it is Twilio's SDK.
@pytest.fixture
def client(http_server: Server, shop: Shop) -> Client:
    return twilio(http_server, shop)


def balance(ctx: Context, shop: Shop) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return billing.balance(session, account_id=shop.account_id)


def sends(ctx: Context, shop: Shop) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Send).where(Send.account_id == shop.account_id)) or 0)


def error(call: Callable[[], object]) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def test_create_fetch_and_list(client: Client, ctx: Context, shop: Shop) -> None:
    before = balance(ctx, shop)
    message = client.messages.create(to="09121234567", from_=shop.ad_line, body="حراج بزرگ پاییزه")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_, message.body) == ("queued", "+989121234567", shop.ad_line, "حراج بزرگ پاییزه")
    assert message.account_sid == shop.account_sid and message.direction == "outbound-api"
    assert message.num_segments == "1" and message.price_unit == "IRR"
    assert isinstance(message.date_created, dt.datetime) and message.error_code is None
    assert balance(ctx, shop) == before + int(message.price)

    fetched = client.messages(message.sid).fetch()
    assert (fetched.sid, fetched.status, fetched.body) == (message.sid, "queued", message.body)

    others = [client.messages.create(to=f"0935123456{i}", from_=shop.ad_line, body=f"پیام {i}") for i in range(3)]
    listed = client.messages.list(limit=10, page_size=2)  # three pages, followed by the SDK
    assert [m.sid for m in listed] == [m.sid for m in reversed([message, *others])]
    assert [m.sid for m in client.messages.list(to="+989351234561")] == [others[1].sid]
    assert len(client.messages.list(from_=shop.service_line)) == 0


def test_balance_and_account(client: Client, ctx: Context, shop: Shop) -> None:
    assert client.api.v2010.account.balance.fetch().balance == str(balance(ctx, shop))
    assert client.api.v2010.accounts(shop.account_sid).fetch().status == "active"


def test_messaging_service_sid_picks_the_line_and_the_kind(
    client: Client, shop: Shop, http_server: Server
) -> None:
    import httpx

    info = httpx.get(f"{http_server.base}/api/v1/compat/twilio", headers=shop.headers).json()
    assert info["account_sid"] == shop.account_sid
    service_sid = next(s["sid"] for s in info["messaging_services"] if s["line"] == shop.service_line)
    message = client.messages.create(to="+989121234567", messaging_service_sid=service_sid, body=f"{SENDER_NAME}: ارسال شد")
    assert message.from_ == shop.service_line and message.body.endswith("لغو۱۱")
    assert message.messaging_service_sid == service_sid


def test_schedule_and_cancel(client: Client, ctx: Context, shop: Shop) -> None:
    before = balance(ctx, shop)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    message = client.messages.create(to="+989121234567", from_=shop.ad_line, body="فردا", send_at=when, schedule_type="fixed")
    assert message.status == "scheduled"
    canceled = client.messages(message.sid).update(status="canceled")
    assert canceled.status == "canceled"
    assert balance(ctx, shop) == before


def test_errors_in_twilios_shape_and_nothing_changes(
    client: Client, ctx: Context, shop: Shop, http_server: Server, make_shop: Callable[..., Shop]
) -> None:
    before = balance(ctx, shop)
    cases: list[tuple[dict[str, Any], int, int, str]] = [
        ({"to": "0912", "from_": shop.ad_line, "body": "x"}, 400, 21211, "0912"),
        ({"to": "+989121234567", "from_": "99999", "body": "x"}, 400, 21606, "99999"),
        ({"to": "+989121234567", "body": "x"}, 400, 21603, "From"),
        ({"to": "+989121234567", "from_": shop.ad_line, "body": ""}, 400, 21602, "body"),
        ({"to": "+989121234567", "from_": shop.service_line, "body": "سفارش ارسال شد"}, 400, 30007, "informational"),
        ({"to": "+989121234567", "from_": shop.ad_line, "body": "x", "media_url": ["https://example.com/a.png"]}, 400, 21000, "MediaUrl"),
        ({"to": "+989121234567", "from_": shop.ad_line, "body": "x", "status_callback": "ftp://x"}, 400, 21609, "StatusCallback"),
        ({"to": "+989121234567", "from_": shop.ad_line, "body": "x", "send_at": dt.datetime(2001, 1, 1, tzinfo=dt.UTC), "schedule_type": "fixed"}, 400, 35114, "past"),
    ]  # fmt: skip
    for params, status, code, mentioned in cases:
        exc = error(lambda params=params: client.messages.create(**params))
        assert (exc.status, exc.code) == (status, code), (params, exc.msg)
        assert mentioned in exc.msg, (params, exc.msg)

    with ctx.db.transaction() as session:
        optouts.add_optout(session, scope="line", number="09351234567", line=shop.ad_line)
    exc = error(lambda: client.messages.create(to="+989351234567", from_=shop.ad_line, body="x"))
    assert (exc.status, exc.code) == (400, 21610)

    poor = make_shop(credit=0)
    exc = error(lambda: twilio(http_server, poor).messages.create(to="+989121234567", from_=poor.ad_line, body="x"))
    assert (exc.status, exc.code) == (402, 20005)

    send = {"to": "+989121234567", "from_": shop.ad_line, "body": "x"}
    # (The SDK's list() reports a failed page as a bare TwilioException; create() shows the error.)
    bad_key = error(lambda: twilio(http_server, shop, key="pmk_wrong").messages.create(**send))
    assert (bad_key.status, bad_key.code) == (401, 20003)
    other = make_shop()
    wrong_path = error(lambda: twilio(http_server, shop, account_sid=other.account_sid).messages.create(**send))
    assert (wrong_path.status, wrong_path.code) == (404, 20404)
    mismatched = Client(other.account_sid, shop.key, http_client=PayamakHttpClient(http_server.base))
    assert error(lambda: mismatched.messages.create(**send)).status == 401
    assert error(lambda: client.messages("SM" + "f" * 32).fetch()).code == 20404

    assert balance(ctx, shop) == before and sends(ctx, shop) == 0 and sends(ctx, poor) == 0 and sends(ctx, other) == 0


def test_a_canceled_message_leaves_the_rest_of_its_call(client: Client, ctx: Context, shop: Shop) -> None:
    """Kavenegar's cancel of one message of a two-recipient call does not reach the other, and a
    Twilio cancel of a one-recipient send still cancels it whole."""
    later = str(int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).timestamp()))
    with ctx.db.transaction() as session:
        from payamak.accounts.service import Principal

        sent = compat.send_items(
            session, settings=ctx.settings, principal=Principal(account_id=shop.account_id, role="user"),
            items=[compat.Item(receptor=r, e164=r, text="حراج", sender=shop.ad_line) for r in ("+989121234567", "+989351234567")],
            send_at=dt.datetime.fromtimestamp(int(later), dt.UTC),
        )  # fmt: skip
    first, second = (compat.sid("SM", s.message.id) for s in sent if s.message is not None)
    assert client.messages(first).update(status="canceled").status == "canceled"
    assert client.messages(second).fetch().status == "scheduled"


def test_unserved_paths_and_methods_answer_in_twilios_shape(
    client: Client, ctx: Context, shop: Shop, http_server: Server
) -> None:
    import httpx

    message = client.messages.create(to="+989121234567", from_=shop.ad_line, body="حراج")
    before = balance(ctx, shop)
    deleted = error(lambda: client.messages(message.sid).delete())
    assert (deleted.status, deleted.code) == (405, 20004)
    calls = error(lambda: client.calls.create(to="+989121234567", from_=shop.ad_line, url="https://example.com/x"))
    assert (calls.status, calls.code) == (404, 20404)
    assert client.messages(message.sid).fetch().status == "queued" and balance(ctx, shop) == before

    auth = (shop.account_sid, shop.key)
    base = f"{http_server.base}/2010-04-01/Accounts/{shop.account_sid}"
    for method, path, status, code in (
        ("PUT", "/Messages.json", 405, 20004),
        ("DELETE", ".json", 405, 20004),
        ("GET", "/Calls.json", 404, 20404),
        ("GET", "/Messages/x/Media.json", 404, 20404),
        ("DELETE", "/IncomingPhoneNumbers/PN1.json", 404, 20404),
    ):
        response = httpx.request(method, base + path, auth=auth)
        body = response.json()
        assert (response.status_code, body["status"], body["code"]) == (status, status, code), (method, path)
        assert set(body) == {"code", "message", "more_info", "status"}
    # The web UI keeps its own page for every other path.
    page = httpx.get(f"{http_server.base}/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_page_without_a_token_is_that_page(client: Client, shop: Shop, http_server: Server) -> None:
    import httpx

    created = [client.messages.create(to=f"0935123456{i}", from_=shop.ad_line, body=f"پیام {i}").sid for i in range(5)]
    newest = list(reversed(created))
    auth = (shop.account_sid, shop.key)

    def get(uri: str) -> dict[str, Any]:
        response = httpx.get(http_server.base + uri, auth=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    path = f"/2010-04-01/Accounts/{shop.account_sid}/Messages.json"
    page = get(f"{path}?PageSize=2&Page=1")
    assert [m["sid"] for m in page["messages"]] == newest[2:4]
    assert (page["page"], page["start"], page["end"], page["page_size"]) == (1, 2, 3, 2)
    following = get(page["next_page_uri"])
    assert [m["sid"] for m in following["messages"]] == newest[4:]
    assert (following["page"], following["start"], following["end"], following["next_page_uri"]) == (2, 4, 4, None)
    back = get(following["previous_page_uri"])
    assert [m["sid"] for m in back["messages"]] == newest[2:4] and back["page"] == 1
    first = get(back["previous_page_uri"])
    assert [m["sid"] for m in first["messages"]] == newest[:2] and first["previous_page_uri"] is None
    assert get(page["first_page_uri"])["messages"] == first["messages"]
    assert get(f"{path}?PageSize=2&Page=3")["messages"] == []


def test_sid_round_trip() -> None:
    assert compat.sid("SM", 255) == "SM" + "0" * 30 + "ff"
    assert compat.sid_number(compat.sid("AC", 12345), "AC") == 12345
    assert compat.sid_number(compat.sid("AC", 12345), "SM") is None
    assert compat.sid_number("SMnothex", "SM") is None
