"""No account reaches another's messages, lines, inbox or templates through the compatible APIs.

The compatible routes live outside /api/v1 (so tests/api/test_isolation.py does not list them);
every one of them that takes an id or a line is tried here by an intruder with a valid key of
their own, and the owner's data is checked unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from payamak.compat import service as compat
from payamak.context import Context
from payamak.sending.models import InboundMessage

from .conftest import SENDER_NAME, Server, Shop

KAVENEGAR_ROUTES = {("GET", "/v1/{apikey}/{scope}/{action}"), ("POST", "/v1/{apikey}/{scope}/{action}")}
TWILIO_ROUTES = {
    ("POST", "/2010-04-01/Accounts/{account}/Messages.json"),
    ("GET", "/2010-04-01/Accounts/{account}/Messages.json"),
    ("GET", "/2010-04-01/Accounts/{account}/Messages/{message}.json"),
    ("POST", "/2010-04-01/Accounts/{account}/Messages/{message}.json"),
    ("GET", "/2010-04-01/Accounts/{account}.json"),
    ("GET", "/2010-04-01/Accounts/{account}/Balance.json"),
}
# What no route above serves gets Twilio's error shape here; it reads no data.
TWILIO_FALLBACK = {
    (method, "/2010-04-01/{rest:path}") for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
}


def routes(items: Iterable[Any]) -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route, looking inside included routers: FastAPI keeps those as
    one `_IncludedRouter` entry each in `app.routes` since 0.16x, not as their APIRoutes."""
    for route in items:
        if hasattr(route, "effective_candidates"):
            yield from routes(route.effective_candidates())
            continue
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute):
            yield getattr(route, "path", original.path), set(original.methods)


def test_every_compatible_route_is_covered(client: TestClient) -> None:
    found = {
        (method, path)
        for path, methods in routes(client.app.routes)  # type: ignore[attr-defined]
        if path.startswith(("/v1/", "/2010-04-01/"))
        for method in methods
    }
    assert found == KAVENEGAR_ROUTES | TWILIO_ROUTES | TWILIO_FALLBACK


@pytest.fixture
def owner(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()


@pytest.fixture
def intruder(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()


def kv(http: httpx.Client, server: Server, key: str, method: str, **params: str) -> dict[str, object]:
    response = http.post(f"{server.base}/v1/{key}/{method}.json", data=params)
    body: dict[str, object] = response.json()
    return body


def test_kavenegar_ids_lines_and_templates_of_others(
    http_server: Server, ctx: Context, owner: Shop, intruder: Shop
) -> None:
    later = str(int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).timestamp()))
    with ctx.db.transaction() as session:
        compat.approve_template(session, settings=ctx.settings, mobile=owner.mobile, name="otp", text=f"{SENDER_NAME}: %token")
        session.add(InboundMessage(line_number=owner.ad_line, account_id=owner.account_id, sender="+989120000009", text="سلام"))
    with httpx.Client() as http:
        sent = kv(http, http_server, owner.key, "sms/send", receptor="09121234567", message="حراج", sender=owner.ad_line,
                  date=later, localid="mine")  # fmt: skip
        [entry] = sent["entries"]  # type: ignore[misc]
        message_id = str(entry["messageid"])
        unknown = [{"messageid": int(message_id), "status": 100, "statustext": "شناسه پیامک نامعتبر است"}]
        for method in ("sms/status", "sms/cancel"):
            assert kv(http, http_server, intruder.key, method, messageid=message_id)["entries"] == unknown
        assert kv(http, http_server, intruder.key, "sms/select", messageid=message_id)["entries"] == unknown
        assert kv(http, http_server, intruder.key, "sms/statuslocalmessageid", localid="mine")["entries"][0]["status"] == 100  # type: ignore[index]
        # The intruder's own localid "mine" is a new send of theirs, not the owner's message.
        theirs = kv(http, http_server, intruder.key, "sms/send", receptor="09121234567", message="x", sender=intruder.ad_line, localid="mine")
        assert theirs["entries"][0]["messageid"] != int(message_id)  # type: ignore[index]
        # Someone else's line: neither to send from nor to read.
        assert kv(http, http_server, intruder.key, "sms/send", receptor="09121234567", message="x", sender=owner.ad_line)["return"]["status"] == 412  # type: ignore[index]
        assert kv(http, http_server, intruder.key, "sms/receive", linenumber=owner.ad_line, isread="0")["return"]["status"] == 412  # type: ignore[index]
        assert kv(http, http_server, intruder.key, "verify/lookup", receptor="09121234567", template="otp", token="1")["return"]["status"] == 424  # type: ignore[index]

        # Intact: still scheduled, the inbox still unread for its owner.
        assert kv(http, http_server, owner.key, "sms/status", messageid=message_id)["entries"][0]["status"] == 2  # type: ignore[index]
        assert len(kv(http, http_server, owner.key, "sms/receive", linenumber=owner.ad_line, isread="0")["entries"]) == 1  # type: ignore[arg-type]


def test_twilio_messages_of_others(http_server: Server, owner: Shop, intruder: Shop) -> None:
    base = f"{http_server.base}/2010-04-01/Accounts"
    with httpx.Client() as http:
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
        created = http.post(
            f"{base}/{owner.account_sid}/Messages.json", auth=(owner.account_sid, owner.key),
            data={"To": "+989121234567", "From": owner.ad_line, "Body": "حراج", "SendAt": later, "ScheduleType": "fixed"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        message_sid = created.json()["sid"]
        mine = (intruder.account_sid, intruder.key)
        # Through the intruder's own account: no such message.
        assert http.get(f"{base}/{intruder.account_sid}/Messages/{message_sid}.json", auth=mine).json()["code"] == 20404
        canceled = http.post(f"{base}/{intruder.account_sid}/Messages/{message_sid}.json", auth=mine, data={"Status": "canceled"})
        assert canceled.json()["code"] == 20404
        assert http.get(f"{base}/{intruder.account_sid}/Messages.json", auth=mine).json()["messages"] == []
        # Through the owner's AccountSid with the intruder's key: refused.
        for method, path, data in (
            ("GET", f"{base}/{owner.account_sid}/Messages/{message_sid}.json", None),
            ("POST", f"{base}/{owner.account_sid}/Messages/{message_sid}.json", {"Status": "canceled"}),
            ("GET", f"{base}/{owner.account_sid}/Messages.json", None),
            ("POST", f"{base}/{owner.account_sid}/Messages.json", {"To": "+989121234567", "From": owner.ad_line, "Body": "x"}),
            ("GET", f"{base}/{owner.account_sid}.json", None),
            ("GET", f"{base}/{owner.account_sid}/Balance.json", None),
        ):
            response = http.request(method, path, auth=mine, data=data)
            assert response.status_code == 404 and response.json()["code"] == 20404, (path, response.text)
        # Intact.
        got = http.get(f"{base}/{owner.account_sid}/Messages/{message_sid}.json", auth=(owner.account_sid, owner.key))
        assert got.json()["status"] == "scheduled"
