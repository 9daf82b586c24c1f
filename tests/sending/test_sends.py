"""Sends through the API: resolution, skipping, pricing, credit holds, scheduling, the status panel."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from payamak.context import Context

API = "/api/v1"
TEXT_INFO = "فروشگاه نیلی: سفارش شما ارسال شد."


def balance(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get(f"{API}/me", headers=headers).json()["balance"])


def test_preview_and_send_to_numbers(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    body = {
        "kind": "advertising",
        "text": "حراج بزرگ پاییزه",
        "recipients": ["09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "+989351234567", "0912", "02188776655", "9201234567"],
    }
    before = balance(client, shop.headers)
    preview = client.post(f"{API}/sends/preview", headers=shop.headers, json=body)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    assert (p["recipients"], p["duplicates"], p["invalid"], p["blocked"]) == (3, 1, 2, 0)
    assert p["per_operator"] == {"MCI": 1, "Irancell": 1, "RighTel": 1}
    assert p["balance_after"] == before - p["cost"] and p["cost"] > 0
    assert {r["value"] for r in p["invalid_rows"]} == {"0912", "02188776655"}
    assert balance(client, shop.headers) == before  # a preview holds nothing

    r = client.post(f"{API}/sends", headers=shop.headers, json=body)
    assert r.status_code == 201, r.text
    send = r.json()
    assert send["cost"] == p["cost"] and send["recipients"] == 3 and send["status"] == "queued"
    assert balance(client, shop.headers) == before - send["cost"]
    got = client.get(f"{API}/sends/{send['id']}", headers=shop.headers).json()
    assert got["counts"] == {"queued": 3}
    msgs = client.get(f"{API}/sends/{send['id']}/messages", headers=shop.headers).json()
    assert msgs["total"] == 3 and {m["recipient"] for m in msgs["items"]} == {"+989121234567", "+989351234567", "+989201234567"}
    assert all(m["status"] == "queued" for m in msgs["items"])


def test_informational_rules_are_checked_before_any_charge(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    before = balance(client, shop.headers)
    r = client.post(
        f"{API}/sends",
        headers=shop.headers,
        json={"kind": "informational", "text": "فروشگاه نیلی: سایت ما nili.ir را ببینید", "recipients": ["09121234567"]},
    )
    assert r.status_code == 422 and r.json()["error"] == "compliance_violation"
    assert [v["rule"] for v in r.json()["violations"]] == ["link"]
    r = client.post(f"{API}/sends", headers=shop.headers, json={"kind": "informational", "text": "سفارش شما ارسال شد", "recipients": ["09121234567"]})
    assert r.json()["error"] == "compliance_violation" and r.json()["violations"][0]["rule"] == "sender_name_missing"
    assert balance(client, shop.headers) == before
    assert client.get(f"{API}/sends", headers=shop.headers).json()["total"] == 0

    ok = client.post(f"{API}/sends", headers=shop.headers, json={"kind": "informational", "text": TEXT_INFO, "recipients": ["09121234567"]})
    assert ok.status_code == 201, ok.text
    assert ok.json()["text"].endswith("لغو۱۱") and ok.json()["line"] == shop.service_line


def test_line_kinds(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        f"{API}/sends", headers=shop.headers, json={"kind": "informational", "text": TEXT_INFO, "line": shop.ad_line, "recipients": ["09121234567"]}
    )
    assert r.status_code == 422 and r.json()["error"] == "line_wrong_kind"
    r = client.post(f"{API}/sends", headers=shop.headers, json={"kind": "advertising", "text": "x", "line": "99999999", "recipients": ["09121234567"]})
    assert r.status_code == 404 and r.json()["error"] == "line_not_found"


def test_not_enough_credit(client: TestClient, ctx: Context, shop, make_user) -> None:  # type: ignore[no-untyped-def]
    poor = make_user()
    r = client.post(f"{API}/sends", headers=poor.headers, json={"kind": "advertising", "text": "سلام", "recipients": ["09121234567"]})
    assert r.status_code == 402 and r.json()["error"] == "insufficient_credit"
    assert r.json()["needed"] > 0 and r.json()["balance"] == 0
    assert client.get(f"{API}/sends", headers=poor.headers).json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "advertising", "text": "x", "recipients": []}, "no_recipients"),
        ({"kind": "advertising", "text": "x", "recipients": ["0912", "abc"]}, "no_valid_recipients"),
        ({"kind": "advertising", "text": "", "recipients": ["09121234567"]}, "text_empty"),
        ({"kind": "advertising", "text": "س" * 700, "recipients": ["09121234567"]}, "text_too_long"),
        ({"kind": "promo", "text": "x", "recipients": ["09121234567"]}, "validation_error"),
        ({"kind": "advertising", "text": "x", "recipients": ["09121234567"], "send_at": "2001-01-01T00:00:00Z"}, "send_at_past"),
        ({"kind": "advertising", "text": "x", "recipients": ["09121234567"], "send_at": "2099-01-01T00:00:00Z"}, "send_at_too_far"),
        ({"kind": "advertising", "text": "x", "group_ids": [987654]}, "group_not_found"),
        ({"kind": "advertising", "text": "سلام {name}", "recipients": ["09121234567"]}, "placeholder_missing"),
    ],
)
def test_bad_sends_change_nothing(client: TestClient, shop, body: dict[str, object], code: str) -> None:  # type: ignore[no-untyped-def]
    before = balance(client, shop.headers)
    r = client.post(f"{API}/sends", headers=shop.headers, json=body)
    assert r.status_code in (404, 422), r.text
    assert r.json()["error"] == code
    assert balance(client, shop.headers) == before
    assert client.get(f"{API}/sends", headers=shop.headers).json()["total"] == 0


def test_idempotency_key(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    body = {"kind": "advertising", "text": "سلام", "recipients": ["09121234567"]}
    h = {**shop.headers, "Idempotency-Key": "order-42"}
    first = client.post(f"{API}/sends", headers=h, json=body).json()
    after_first = balance(client, shop.headers)
    again = client.post(f"{API}/sends", headers=h, json=body)
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    assert balance(client, shop.headers) == after_first
    other = client.post(f"{API}/sends", headers=h, json={**body, "text": "دیگر"})
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    assert client.get(f"{API}/sends", headers=shop.headers).json()["total"] == 1


def test_schedule_and_cancel_gives_credit_back(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    before = balance(client, shop.headers)
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    send = client.post(
        f"{API}/sends", headers=shop.headers, json={"kind": "advertising", "text": "فردا", "recipients": ["09121234567", "09351234567"], "send_at": at}
    ).json()
    assert send["status"] == "scheduled" and send["counts"] == {}
    assert client.get(f"{API}/sends/{send['id']}", headers=shop.headers).json()["counts"] == {"scheduled": 2}
    assert balance(client, shop.headers) == before - send["cost"]
    canceled = client.post(f"{API}/sends/{send['id']}/cancel", headers=shop.headers)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert canceled.json()["counts"] == {"canceled": 2}
    assert balance(client, shop.headers) == before
    # It shows what it held, what came back, and that it cost nothing.
    shown = client.get(f"{API}/sends/{send['id']}", headers=shop.headers).json()
    assert (shown["cost"], shown["given_back"], shown["charged"]) == (send["cost"], send["cost"], 0)
    listed = client.get(f"{API}/sends", headers=shop.headers).json()["items"][0]
    assert (listed["given_back"], listed["charged"]) == (send["cost"], 0)


def test_advertising_window_moves_the_send(client: TestClient, ctx: Context, shop) -> None:  # type: ignore[no-untyped-def]
    local = dt.datetime.now(ctx.settings.tz)
    # a one-minute window that has just passed: the send must wait for tomorrow's opening
    start = (local - dt.timedelta(minutes=3)).strftime("%H:%M")
    end = (local - dt.timedelta(minutes=2)).strftime("%H:%M")
    if start > end:
        pytest.skip("too close to midnight for this window")
    ctx.settings.advertising_hours = f"{start}-{end}"
    send = client.post(f"{API}/sends", headers=shop.headers, json={"kind": "advertising", "text": "شب", "recipients": ["09121234567"]}).json()
    assert send["delayed_by"] == "advertising_window" and send["status"] == "scheduled"
    opens = dt.datetime.fromisoformat(send["send_at"]).astimezone(ctx.settings.tz)
    assert opens.strftime("%H:%M") == start and opens > local
    info = client.post(f"{API}/sends", headers=shop.headers, json={"kind": "informational", "text": TEXT_INFO, "recipients": ["09121234567"]}).json()
    assert info["delayed_by"] == "" and info["status"] == "queued"


def test_groups_customers_blacklist_and_placeholders(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    g = client.post(f"{API}/groups", headers=shop.headers, json={"name": "مشتریان"}).json()
    r = client.post(
        f"{API}/groups/{g['id']}/numbers",
        headers=shop.headers,
        json={"numbers": [{"number": "09121111111", "name": "علی"}, {"number": "09122222222", "name": "مریم"}, {"number": "09123333333", "name": "رضا"}]},
    )
    assert r.status_code in (200, 201), r.text
    client.post(f"{API}/admin/blacklist/numbers", headers=shop.admin.headers, json={"numbers": ["09123333333"]})
    body = {"kind": "advertising", "text": "{name} عزیز، حراج!", "group_ids": [g["id"]], "recipients": []}
    p = client.post(f"{API}/sends/preview", headers=shop.headers, json=body).json()
    assert (p["recipients"], p["blocked"]) == (2, 1), p
    assert p["sample"] == "علی عزیز، حراج!"
    send = client.post(f"{API}/sends", headers=shop.headers, json=body).json()
    msgs = client.get(f"{API}/sends/{send['id']}/messages", headers=shop.headers).json()["items"]
    assert sorted(m["text"] for m in msgs) == ["علی عزیز، حراج!", "مریم عزیز، حراج!"]
    # informational sends reach blacklisted numbers
    info = {"kind": "informational", "text": TEXT_INFO, "group_ids": [g["id"]]}
    assert client.post(f"{API}/sends/preview", headers=shop.headers, json=info).json()["recipients"] == 3


def test_status_panel_list_and_export(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    for text in ("یک", "دو", "سه"):
        client.post(f"{API}/sends", headers=shop.headers, json={"kind": "advertising", "text": text, "recipients": ["09121234567"]})
    page = client.get(f"{API}/sends?limit=2", headers=shop.headers).json()
    assert page["total"] == 3 and [s["text"] for s in page["items"]] == ["سه", "دو"]
    assert page["items"][0]["counts"] == {"queued": 1}
    sid = page["items"][0]["id"]
    client.post(f"{API}/sends/{page['items'][1]['id']}/cancel", headers=shop.headers)
    assert [s["text"] for s in client.get(f"{API}/sends?status=canceled", headers=shop.headers).json()["items"]] == ["دو"]
    assert client.get(f"{API}/sends?status=queued", headers=shop.headers).json()["total"] == 2
    assert client.get(f"{API}/sends?kind=informational", headers=shop.headers).json()["total"] == 0
    csv = client.get(f"{API}/sends/{sid}/export?format=csv", headers=shop.headers)
    assert csv.status_code == 200 and "+989121234567" in csv.content.decode("utf-8-sig")
    xlsx = client.get(f"{API}/sends/{sid}/export?format=xlsx", headers=shop.headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_check_endpoint(client: TestClient, shop) -> None:  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/messages/check", headers=shop.headers, json={"kind": "informational", "text": "تماس: ۰۹۱۲۳۴۵۶۷۸۹"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert {v["rule"] for v in out["violations"]} == {"phone_number", "sender_name_missing"}
    assert out["sender_names"] == ["فروشگاه نیلی"] and out["text"].endswith("لغو۱۱")
    assert out["cost_per_recipient"]["MCI"] > 0 and out["encoding"] == "UCS-2"
    plain = client.post(f"{API}/messages/check", headers=shop.headers, json={"text": "Hello"}).json()
    assert plain["violations"] == [] and plain["encoding"] == "GSM-7" and plain["cost_per_recipient"] == {}
