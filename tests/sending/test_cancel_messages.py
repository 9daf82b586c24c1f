"""Canceling single messages of a send: only those named, only while they wait, only the caller's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from payamak.accounts.service import Principal
from payamak.billing.models import LedgerEntry
from payamak.context import Context
from payamak.sending import service as sending
from payamak.sending.models import Message

from .conftest import Shop

API = "/api/v1"


def balance(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get(f"{API}/me", headers=headers).json()["balance"])


def scheduled_send(client: TestClient, headers: dict[str, str], recipients: list[str]) -> tuple[int, list[Message]]:
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    body = {"kind": "advertising", "text": "فردا", "recipients": recipients, "send_at": at}
    send = client.post(f"{API}/sends", headers=headers, json=body)
    assert send.status_code == 201, send.text
    send_id = int(send.json()["id"])
    items = client.get(f"{API}/sends/{send_id}/messages", headers=headers).json()["items"]
    return send_id, sorted(items, key=lambda m: m["recipient"])


def set_status(ctx: Context, message_id: int, status: str) -> None:
    with ctx.db.transaction() as session:
        session.execute(sa.update(Message).where(Message.id == message_id).values(status=status))


def test_only_the_named_waiting_messages_of_the_caller(
    client: TestClient, ctx: Context, shop: Shop, make_user: Callable[..., object]
) -> None:
    h = shop.headers
    before = balance(client, h)
    send_id, (first, taken, third) = scheduled_send(client, h, ["09121234567", "09351234567", "09361234567"])
    # A dispatcher has taken the second one: it is no longer ours to cancel.
    set_status(ctx, taken["id"], "submitting")
    other = make_user()

    owner = Principal(account_id=shop.user.id, role="user")  # type: ignore[attr-defined]
    with ctx.db.transaction() as session:
        done = sending.cancel_messages(session, principal=owner, message_ids=[first["id"], taken["id"], first["id"], 10**12])
    assert done == [first["id"]]
    shown = client.get(f"{API}/sends/{send_id}", headers=h).json()
    assert shown["status"] != "canceled" and shown["given_back"] == first["price"]
    assert shown["counts"] == {"canceled": 1, "queued": 1, "scheduled": 1}
    assert balance(client, h) == before - shown["cost"] + first["price"]
    with ctx.db.transaction(readonly=True) as session:
        releases = session.scalars(
            sa.select(LedgerEntry.amount).where(LedgerEntry.ref_type == "send", LedgerEntry.ref_id == send_id,
                                                LedgerEntry.kind == "release")
        ).all()  # fmt: skip
    assert list(releases) == [first["price"]]

    # Someone else cannot cancel it, and canceling nothing changes nothing.
    intruder = Principal(account_id=other.id, role="user")  # type: ignore[attr-defined]
    with ctx.db.transaction() as session:
        assert sending.cancel_messages(session, principal=intruder, message_ids=[third["id"]]) == []
        assert sending.cancel_messages(session, principal=owner, message_ids=[]) == []
    assert client.get(f"{API}/sends/{send_id}", headers=h).json()["counts"]["scheduled"] == 1
    assert balance(client, other.headers) == 0  # type: ignore[attr-defined]

    # While the taken one may still go, the send is not canceled.
    with ctx.db.transaction() as session:
        assert sending.cancel_messages(session, principal=owner, message_ids=[third["id"]]) == [third["id"]]
    assert client.get(f"{API}/sends/{send_id}", headers=h).json()["status"] != "canceled"
    assert client.get(f"{API}/sends/{send_id}", headers=h).json()["given_back"] == first["price"] + third["price"]


def test_the_send_is_canceled_once_nothing_of_it_can_go(client: TestClient, ctx: Context, shop: Shop) -> None:
    h = shop.headers
    send_id, (gone, waiting) = scheduled_send(client, h, ["09121234567", "09351234567"])
    set_status(ctx, gone["id"], "delivered")
    owner = Principal(account_id=shop.user.id, role="user")  # type: ignore[attr-defined]
    with ctx.db.transaction() as session:
        assert sending.cancel_messages(session, principal=owner, message_ids=[gone["id"], waiting["id"]]) == [waiting["id"]]
    shown = client.get(f"{API}/sends/{send_id}", headers=h).json()
    assert (shown["status"], shown["counts"], shown["given_back"]) == ("canceled", {"delivered": 1, "canceled": 1}, waiting["price"])
