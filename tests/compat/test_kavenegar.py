"""The Kavenegar-compatible API through Kavenegar's official Python SDK (`kavenegar`), unmodified.

The SDK builds `https://{api.host}/v1/{key}/…`; setting its documented `host` attribute to the test
server's address is the only change, and the test trusts the server's certificate through
REQUESTS_CA_BUNDLE (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from kavenegar import APIException, KavenegarAPI

from payamak.billing import service as billing
from payamak.compat import service as compat
from payamak.context import Context
from payamak.sending import optouts
from payamak.sending.models import InboundMessage, Send

from .conftest import SENDER_NAME, Server, Shop

INFO_TEXT = f"{SENDER_NAME}: سفارش شما ارسال شد."


def sdk(server: Server, key: str) -> KavenegarAPI:
    api = KavenegarAPI(key)
    api.host = server.netloc
    return api


def failure(call: Callable[[], object]) -> tuple[int, str]:
    """The status and message of the APIException the SDK raises."""
    with pytest.raises(APIException) as caught:
        call()
    raw = caught.value.args[0]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    status, _, message = text.removeprefix("APIException[").partition("] ")
    return int(status), message


def balance(ctx: Context, shop: Shop) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return billing.balance(session, account_id=shop.account_id)


def sends(ctx: Context, shop: Shop) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Send).where(Send.account_id == shop.account_id)) or 0)


@pytest.fixture
def api(https_server: Server, shop: Shop) -> KavenegarAPI:
    return sdk(https_server, shop.key)


def test_send_status_select_and_account_info(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    before = balance(ctx, shop)
    entries = api.sms_send({"receptor": "09121234567, +989351234567", "message": "حراج بزرگ پاییزه", "sender": shop.ad_line})
    assert [e["receptor"] for e in entries] == ["09121234567", "09351234567"]
    assert all(e["status"] == 1 and e["statustext"] == "در صف ارسال" and e["sender"] == shop.ad_line for e in entries)
    assert all(e["message"] == "حراج بزرگ پاییزه" and e["cost"] > 0 and e["date"] > 0 for e in entries)
    assert len({e["messageid"] for e in entries}) == 2
    cost = sum(e["cost"] for e in entries)
    assert balance(ctx, shop) == before - cost
    assert api.account_info() == {"remaincredit": before - cost, "expiredate": 0, "type": "master"}

    ids = [e["messageid"] for e in entries]
    status = api.sms_status({"messageid": ",".join(map(str, [*ids, 999_999]))})
    assert status == [
        {"messageid": ids[0], "status": 1, "statustext": "در صف ارسال"},
        {"messageid": ids[1], "status": 1, "statustext": "در صف ارسال"},
        {"messageid": 999_999, "status": 100, "statustext": "شناسه پیامک نامعتبر است"},
    ]
    assert api.sms_select({"messageid": str(ids[0])}) == [entries[0]]


def test_informational_from_a_service_line(api: KavenegarAPI, shop: Shop) -> None:
    [entry] = api.sms_send({"receptor": "09121234567", "message": INFO_TEXT, "sender": shop.service_line})
    assert entry["message"].endswith("لغو۱۱")  # the kind follows the line: service -> informational


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        (f"{SENDER_NAME}: سایت ما nili.ir را ببینید", 420, "پیوند"),
        ("سفارش شما ارسال شد", 422, "نام"),
    ],
)
def test_compliance_violation_on_a_service_line(
    api: KavenegarAPI, ctx: Context, shop: Shop, text: str, status: int, words: str
) -> None:
    before = balance(ctx, shop)
    got, message = failure(lambda: api.sms_send({"receptor": "09121234567", "message": text, "sender": shop.service_line}))
    assert got == status
    assert "اطلاع‌رسانی" in message
    assert balance(ctx, shop) == before and sends(ctx, shop) == 0


def test_localid_prevents_a_double_send(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    params = {"receptor": "09121234567,09351234567", "message": "حراج", "sender": shop.ad_line, "localid": "order-1,order-2"}
    first = api.sms_send(params)
    after_first = balance(ctx, shop)
    again = api.sms_send(params)
    assert again == first
    # The first message's entry even if the rest of the request differs.
    third = api.sms_send({"receptor": "09121234567", "message": "متنی دیگر", "sender": shop.ad_line, "localid": "order-1"})
    assert third == [first[0]]
    assert balance(ctx, shop) == after_first
    assert api.sms_statuslocalmessageid({"localid": "order-2,nope"}) == [
        {"messageid": first[1]["messageid"], "localid": "order-2", "status": 1, "statustext": "در صف ارسال"},
        {"messageid": 0, "localid": "nope", "status": 100, "statustext": "شناسه پیامک نامعتبر است"},
    ]


def test_sendarray(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    params = {
        "receptor": json.dumps(["09121234567", "09351234567", "09201234567"]),
        "sender": json.dumps([shop.ad_line, shop.service_line, shop.ad_line]),
        "message": json.dumps(["پیام اول", INFO_TEXT, "پیام سوم"], ensure_ascii=False),
        "localmessageids": json.dumps(["a1", "a2", "a3"]),
    }
    entries = api.sms_sendarray(params)
    assert [e["receptor"] for e in entries] == ["09121234567", "09351234567", "09201234567"]
    assert [e["sender"] for e in entries] == [shop.ad_line, shop.service_line, shop.ad_line]
    assert entries[0]["message"] == "پیام اول" and entries[1]["message"].endswith("لغو۱۱")
    assert api.sms_sendarray(params) == entries  # localmessageids: no double send
    status, _ = failure(lambda: api.sms_sendarray({**params, "message": json.dumps(["یک", "دو"])}))
    assert status == 419


def test_blocked_recipient_is_reported_not_charged(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    with ctx.db.transaction() as session:
        optouts.add_optout(session, scope="line", number="09351234567", line=shop.ad_line)
    before = balance(ctx, shop)
    entries = api.sms_send({"receptor": "09121234567,09351234567", "message": "حراج", "sender": shop.ad_line})
    assert [e["status"] for e in entries] == [1, 14]
    assert entries[1]["messageid"] == 0 and entries[1]["cost"] == 0
    assert balance(ctx, shop) == before - entries[0]["cost"]


def test_schedule_and_cancel(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    before = balance(ctx, shop)
    later = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).timestamp())
    entries = api.sms_send({"receptor": "09121234567,09351234567", "message": "حراج", "sender": shop.ad_line, "date": str(later)})
    assert [e["status"] for e in entries] == [2, 2] and entries[0]["date"] == later
    canceled = api.sms_cancel({"messageid": f"{entries[0]['messageid']},424242"})
    assert canceled == [
        {"messageid": entries[0]["messageid"], "status": 13, "statustext": "لغو شده"},
        {"messageid": 424242, "status": 100, "statustext": "شناسه پیامک نامعتبر است"},
    ]
    # Only the named message: the other recipient of the same call is still scheduled and charged.
    assert balance(ctx, shop) == before - entries[1]["cost"]
    assert [e["status"] for e in api.sms_status({"messageid": str(entries[1]["messageid"])})] == [2]
    assert send_state(ctx, shop) == "scheduled"

    both = ",".join(str(e["messageid"]) for e in entries)
    assert [e["status"] for e in api.sms_cancel({"messageid": both})] == [13, 13]
    assert balance(ctx, shop) == before and send_state(ctx, shop) == "canceled"


def send_state(ctx: Context, shop: Shop) -> str:
    with ctx.db.transaction(readonly=True) as session:
        return str(session.scalar(sa.select(Send.state).where(Send.account_id == shop.account_id)))


def test_lookup_with_an_approved_template(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    with ctx.db.transaction() as session:
        compat.approve_template(
            session, settings=ctx.settings, mobile=shop.mobile, name="verify",
            text=f"{SENDER_NAME}\nکد تایید شما: %token\nاعتبار: %token2 دقیقه",
        )  # fmt: skip
    [entry] = api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "852596", "token2": "2"})
    assert entry["message"].startswith(f"{SENDER_NAME}\nکد تایید شما: 852596\nاعتبار: 2 دقیقه")
    assert entry["sender"] == shop.service_line and entry["status"] == 1

    assert failure(lambda: api.verify_lookup({"receptor": "09121234567", "template": "other", "token": "1"}))[0] == 424
    status, message = failure(lambda: api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "85 25", "token2": "2"}))
    assert status == 431 and "فاصله" in message
    assert failure(lambda: api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "1"}))[0] == 431
    assert failure(lambda: api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": "1", "type": "call"}))[0] == 428


def test_receive_marks_messages_read(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    with ctx.db.transaction() as session:
        for i, text in enumerate(("سلام", "11", "قیمت؟")):
            session.add(InboundMessage(line_number=shop.ad_line, account_id=shop.account_id, sender=f"+98912000000{i}", text=text))
    unread = api.sms_receive({"linenumber": shop.ad_line, "isread": "0"})
    assert [(e["message"], e["sender"], e["receptor"]) for e in unread] == [
        ("سلام", "09120000000", shop.ad_line), ("11", "09120000001", shop.ad_line), ("قیمت؟", "09120000002", shop.ad_line)
    ]  # fmt: skip
    assert api.sms_receive({"linenumber": shop.ad_line, "isread": "0"}) == []
    assert [e["message"] for e in api.sms_receive({"linenumber": shop.ad_line, "isread": "1"})] == ["قیمت؟", "11", "سلام"]


# --- bad input: a clear error, and nothing changes ------------------------------------------


def test_bad_and_revoked_keys(https_server: Server, ctx: Context, shop: Shop) -> None:
    assert failure(lambda: sdk(https_server, "pmk_not-a-key").sms_send({"receptor": "09121234567", "message": "x"}))[0] == 403
    assert failure(lambda: sdk(https_server, "whatever").account_info())[0] == 403
    from payamak.accounts import service as accounts

    with ctx.db.transaction() as session:
        owner = accounts.Principal(account_id=shop.account_id, role="user")
        key_id = accounts.api_keys(session, principal=owner)[0].id
        accounts.revoke_api_key(session, principal=owner, key_id=key_id)
    before = balance(ctx, shop)
    status, message = failure(lambda: sdk(https_server, shop.key).sms_send({"receptor": "09121234567", "message": "x"}))
    assert status == 403 and "API-Key" in message
    assert balance(ctx, shop) == before and sends(ctx, shop) == 0


def test_disabled_account_is_401_and_a_bad_key_still_403(
    https_server: Server, ctx: Context, shop: Shop, make_shop: Callable[..., Shop]
) -> None:
    from payamak.accounts import service as accounts
    from payamak.accounts.models import Account

    other = make_shop()
    with ctx.db.transaction() as session:
        owner = accounts.Principal(account_id=other.account_id, role="user")
        key_id = accounts.api_keys(session, principal=owner)[0].id
        accounts.revoke_api_key(session, principal=owner, key_id=key_id)
        for account_id in (shop.account_id, other.account_id):
            session.get_one(Account, account_id).state = "disabled"
    send = {"receptor": "09121234567", "message": "x", "sender": shop.ad_line}
    assert failure(lambda: sdk(https_server, shop.key).sms_send(send)) == (401, "حساب کاربری غیرفعال شده است")
    assert failure(lambda: sdk(https_server, shop.key).account_info())[0] == 401
    # A revoked key of a disabled account, and a key that is no key, learn nothing of the account.
    assert failure(lambda: sdk(https_server, other.key).account_info())[0] == 403
    assert failure(lambda: sdk(https_server, "pmk_not-a-key").account_info())[0] == 403
    assert sends(ctx, shop) == 0
    # The native API and the Twilio one answer a disabled account's key as any invalid token.
    with httpx.Client(verify=ssl.create_default_context(cafile=str(https_server.cafile))) as http:
        native = http.get(f"{https_server.base}/api/v1/me", headers={"Authorization": f"Bearer {shop.key}"})
        assert native.status_code == 401 and native.json()["error"] == "token_invalid"
        twilio = http.get(f"{https_server.base}/2010-04-01/Accounts/{shop.account_sid}.json", auth=(shop.account_sid, shop.key))
        assert twilio.status_code == 401 and twilio.json()["code"] == 20003


def test_empty_required_parameters_are_406_missing_ones_400(api: KavenegarAPI, ctx: Context, shop: Shop) -> None:
    before = balance(ctx, shop)
    cases: list[tuple[Callable[[], object], int, str]] = [
        (lambda: api.sms_send({"receptor": "", "message": "x"}), 406, "receptor"),
        (lambda: api.sms_send({"receptor": " , ", "message": "x"}), 406, "receptor"),
        (lambda: api.sms_send({"receptor": "09121234567", "message": " "}), 406, "message"),
        (lambda: api.sms_send({"message": "x"}), 400, "receptor"),
        (lambda: api.sms_sendarray({"receptor": "[]", "sender": "[]", "message": "[]"}), 406, "receptor"),
        (lambda: api.sms_sendarray({"sender": f'["{shop.ad_line}"]', "message": '["x"]'}), 400, "receptor"),
        (lambda: api.sms_status({"messageid": ""}), 406, "messageid"),
        (lambda: api.sms_status({}), 400, "messageid"),
        (lambda: api.verify_lookup({"receptor": "09121234567", "template": "verify", "token": ""}), 406, "token"),
        (lambda: api.verify_lookup({"receptor": "09121234567", "template": "verify"}), 400, "token"),
        (lambda: api.sms_receive({"linenumber": shop.ad_line, "isread": ""}), 406, "isread"),
    ]
    for call, status, named in cases:
        got, message = failure(call)
        assert (got, named in message) == (status, True), message
    assert failure(lambda: api.sms_send({"receptor": "", "message": "x"}))[1].startswith("پارامترهای اجباری خالی")
    assert balance(ctx, shop) == before and sends(ctx, shop) == 0


def test_rate_limited_is_kavenegars_451() -> None:
    from payamak.compat import kavenegar
    from payamak.errors import RateLimited

    assert kavenegar.status_of(RateLimited("زیاد", "too many", retry_after=5)) == 451
    assert kavenegar.MESSAGES[451] == "فراخوانی بیش از حد در بازه زمانی مشخص IP محدود شده"
    assert kavenegar.MESSAGES[429] == "IP محدود شده است"
    response = kavenegar.envelope(451, kavenegar.MESSAGES[451])
    assert response.status_code == 451 and json.loads(response.body)["return"]["status"] == 451


def test_invalid_requests_change_nothing(api: KavenegarAPI, ctx: Context, shop: Shop, make_shop: Callable[..., Shop]) -> None:
    before = balance(ctx, shop)
    many = ",".join(f"0912{n:07d}" for n in range(201))
    cases: list[tuple[dict[str, str], int, str]] = [
        ({"message": "x"}, 400, "receptor"),
        ({"receptor": "09121234567"}, 400, "message"),
        ({"receptor": many, "message": "x"}, 414, "200"),
        ({"receptor": "09121234567,0912", "message": "x"}, 411, "0912"),
        ({"receptor": "09121234567", "message": "x", "sender": "99999999"}, 412, "99999999"),
        ({"receptor": "09121234567", "message": "x", "date": "yesterday"}, 417, ""),
        ({"receptor": "09121234567", "message": "x", "date": "1000000000"}, 417, ""),
        ({"receptor": "09121234567", "message": "x", "sender": shop.ad_line, "flash": "1"}, 400, "flash"),
        ({"receptor": "09121234567,09351234567", "message": "x", "localid": "only-one"}, 419, "localid"),
    ]
    for params, status, mentioned in cases:
        got, message = failure(lambda params=params: api.sms_send(params))
        assert got == status, (params, message)
        assert mentioned in message, (params, message)
    poor = make_shop(credit=0)
    assert failure(lambda: sdk_for(api, poor).sms_send({"receptor": "09121234567", "message": "x", "sender": poor.ad_line}))[0] == 418
    assert failure(lambda: api.sms_countinbox({}))[0] == 404
    assert balance(ctx, shop) == before and sends(ctx, shop) == 0 and sends(ctx, poor) == 0


def sdk_for(api: KavenegarAPI, shop: Shop) -> KavenegarAPI:
    other = KavenegarAPI(shop.key)
    other.host = api.host
    return other


def test_get_works_and_wrong_method_is_405(http_server: Server, shop: Shop) -> None:
    with httpx.Client() as client:
        base = f"{http_server.base}/v1/{shop.key}"
        got = client.get(f"{base}/sms/send.json", params={"receptor": "09121234567", "message": "سلام", "sender": shop.ad_line})
        assert got.status_code == 200 and got.json()["return"] == {"status": 200, "message": "تایید شد"}
        wrong = client.get(f"{base}/sms/sendarray.json", params={"receptor": '["09121234567"]'})
        assert wrong.status_code == 405 and wrong.json()["return"]["status"] == 405
        unknown = client.get(f"{base}/sms/send.xml")
        assert unknown.status_code == 404 and unknown.json()["entries"] is None
