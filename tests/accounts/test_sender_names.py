"""Sender names: registered by the account, approved or rejected (with a reason) by an admin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from payamak.accounts import service as accounts
from payamak.context import Context

API = "/api/v1"


def test_register_approve_reject(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user, admin = make_user(), make_user(admin=True)
    a = client.post(f"{API}/sender-names", headers=user.headers, json={"name": " فروشگاه   كتاب "}).json()
    b = client.post(f"{API}/sender-names", headers=user.headers, json={"name": "Nili Shop"}).json()
    assert a["name"] == "فروشگاه كتاب" and a["status"] == "pending"
    pending = client.get(f"{API}/admin/sender-names", headers=admin.headers).json()
    assert {p["id"] for p in pending} == {a["id"], b["id"]}

    r = client.post(f"{API}/admin/sender-names/{a['id']}/approve", headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = client.post(f"{API}/admin/sender-names/{b['id']}/reject", headers=admin.headers, json={"reason": ""})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    r = client.post(
        f"{API}/admin/sender-names/{b['id']}/reject",
        headers=admin.headers,
        json={"reason": "نام تجاری ثبت نشده است"},
    )
    assert r.json()["status"] == "rejected" and r.json()["reason"] == "نام تجاری ثبت نشده است"

    with ctx.db.transaction(readonly=True) as session:
        assert accounts.approved_sender_names(session, account_id=user.id) == ["فروشگاه كتاب"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "sender_name_empty"),
        ("   ", "sender_name_empty"),
        ("x" * 65, "sender_name_too_long"),
        ("ا", "sender_name_too_short"),
    ],
)
def test_bad_names(client: TestClient, make_user, name: str, code: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    r = client.post(f"{API}/sender-names", headers=user.headers, json={"name": name})
    assert r.status_code == 422 and r.json()["error"] == code
    assert client.get(f"{API}/sender-names", headers=user.headers).json() == []


def test_the_same_name_in_another_spelling_is_taken(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    assert (
        client.post(f"{API}/sender-names", headers=user.headers, json={"name": "کتاب‌سرا"}).status_code == 201
    )
    for variant in ("كتاب سرا", "کتابسرا", "کتاب  سرا"):
        r = client.post(f"{API}/sender-names", headers=user.headers, json={"name": variant})
        assert r.status_code == 409 and r.json()["error"] == "sender_name_taken"
    # another account may use it
    assert (
        client.post(f"{API}/sender-names", headers=make_user().headers, json={"name": "کتاب‌سرا"}).status_code
        == 201
    )


def test_cli_approve(ctx: Context, make_user, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from payamak.cli import app

    user = make_user()
    monkeypatch.setenv("PAYAMAK_DATABASE_URL", ctx.db.url)
    result = CliRunner().invoke(
        app, ["admin", "sender-names", "approve", "--mobile", user.mobile, "--name", "گلفروشی"]
    )
    assert result.exit_code == 0, result.output
    with ctx.db.transaction(readonly=True) as session:
        assert accounts.approved_sender_names(session, account_id=user.id) == ["گلفروشی"]
    result = CliRunner().invoke(
        app, ["admin", "sender-names", "approve", "--mobile", "09350000000", "--name", "x1"]
    )
    assert result.exit_code == 1 and "account_not_found" in result.output
