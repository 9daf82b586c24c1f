"""Customers: the account-wide contact list, putting them into groups, and reading recipients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payamak.context import Context
from payamak.errors import NotFound
from payamak.phonebook import service as phonebook

API = "/api/v1"


def test_crud(client: TestClient, make_user: Callable[..., Any]) -> None:
    user = make_user()
    r = client.post(
        f"{API}/customers",
        headers=user.headers,
        json={"mobile": "۰۹۱۲ ۱۲۳ ۴۵۶۷", "name": " علی  رضایی ", "fields": {"شهر": "تهران"}},
    )
    assert r.status_code == 201, r.text
    customer = r.json()
    assert (customer["mobile"], customer["local"], customer["operator"]) == (
        "+989121234567",
        "09121234567",
        "MCI",
    )
    assert (customer["name"], customer["fields"]) == ("علی رضایی", {"شهر": "تهران"})
    path = f"{API}/customers/{customer['id']}"
    assert client.get(path, headers=user.headers).json() == customer

    r = client.patch(path, headers=user.headers, json={"name": "علی"})
    assert (r.json()["name"], r.json()["fields"], r.json()["mobile"]) == (
        "علی",
        {"شهر": "تهران"},
        "+989121234567",
    )
    r = client.patch(path, headers=user.headers, json={"mobile": "09351234567", "fields": None})
    assert (r.json()["mobile"], r.json()["fields"]) == ("+989351234567", {})
    r = client.patch(path, headers=user.headers, json={"mobile": None})
    assert (r.status_code, r.json()["error"]) == (422, "mobile_required")

    assert client.delete(path, headers=user.headers).status_code == 204
    assert client.get(path, headers=user.headers).status_code == 404
    assert client.delete(path, headers=user.headers).json()["error"] == "customer_not_found"


def test_one_customer_per_number_and_valid_numbers_only(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    user, other = make_user(), make_user()
    first = client.post(f"{API}/customers", headers=user.headers, json={"mobile": "09121234567"}).json()
    r = client.post(
        f"{API}/customers", headers=user.headers, json={"mobile": "+989121234567", "name": "دوباره"}
    )
    assert r.status_code == 409
    assert (r.json()["error"], r.json()["customer_id"]) == ("customer_exists", first["id"])
    # Another account may have the same customer.
    assert (
        client.post(f"{API}/customers", headers=other.headers, json={"mobile": "09121234567"}).status_code
        == 201
    )

    second = client.post(f"{API}/customers", headers=user.headers, json={"mobile": "09351234567"}).json()
    r = client.patch(f"{API}/customers/{second['id']}", headers=user.headers, json={"mobile": "09121234567"})
    assert (r.status_code, r.json()["error"]) == (409, "customer_exists")

    r = client.post(f"{API}/customers", headers=user.headers, json={"mobile": "021 8877 6655"})
    assert r.status_code == 422
    assert (r.json()["error"], r.json()["reason"], r.json()["field"]) == (
        "number_invalid",
        "landline",
        "mobile",
    )
    foreign = client.post(f"{API}/customers", headers=user.headers, json={"mobile": "+44 7911 123456"})
    assert foreign.status_code == 201
    assert (foreign.json()["mobile"], foreign.json()["operator"]) == ("+447911123456", None)


def test_list_and_search(client: TestClient, make_user: Callable[..., Any]) -> None:
    user = make_user()
    for i, name in enumerate(["مریم", "Reza", "رضا کریمی", None]):
        body: dict[str, Any] = {"mobile": f"0912000000{i}"}
        if name:
            body["name"] = name
        assert client.post(f"{API}/customers", headers=user.headers, json=body).status_code == 201

    def search(**params: str | int) -> dict[str, Any]:
        r = client.get(f"{API}/customers", headers=user.headers, params=params)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    everyone = search()
    assert everyone["total"] == 4
    assert [c["local"] for c in everyone["items"]] == [
        "09120000003",
        "09120000002",
        "09120000001",
        "09120000000",
    ]
    assert [c["local"] for c in search(limit=2, offset=2)["items"]] == ["09120000001", "09120000000"]
    assert [c["name"] for c in search(q="رضا")["items"]] == ["رضا کریمی"]
    assert [c["name"] for c in search(q="REZA")["items"]] == ["Reza"]
    assert [c["local"] for c in search(q="۰۹۱۲۰۰۰۰۰۰۲")["items"]] == ["09120000002"]
    assert search(q="+98 912")["total"] == 4
    assert client.get(f"{API}/customers", headers=user.headers, params={"limit": 501}).status_code == 422


def test_fill_a_group_from_customers(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    ids = [
        client.post(
            f"{API}/customers",
            headers=user.headers,
            json={"mobile": f"0935000000{i}", "name": f"مشتری {i}", "fields": {"کد": str(i)}},
        ).json()["id"]
        for i in range(5)
    ]
    group_id = new_group(user, numbers=[{"number": "09350000000", "name": "از قبل"}])

    r = client.post(
        f"{API}/groups/{group_id}/customers", headers=user.headers, json={"customer_ids": ids[:3]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 2, "duplicates": 1, "invalid": []}
    r = client.post(f"{API}/groups/{group_id}/customers", headers=user.headers, json={"all": True})
    assert r.json() == {"added": 2, "duplicates": 3, "invalid": []}
    items = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers).json()["items"]
    assert [(i["local"], i["name"], i["fields"]) for i in items] == [
        ("09350000000", "از قبل", {}),  # an existing entry is left as it was
        *[(f"0935000000{i}", f"مشتری {i}", {"کد": str(i)}) for i in range(1, 5)],
    ]

    for body in ({}, {"all": True, "customer_ids": [ids[0]]}):
        r = client.post(f"{API}/groups/{group_id}/customers", headers=user.headers, json=body)
        assert (r.status_code, r.json()["error"]) == (422, "customers_choice_required")


def test_customers_of_another_account_cannot_be_put_in_a_group(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    owner, intruder = make_user(), make_user()
    theirs = client.post(f"{API}/customers", headers=owner.headers, json={"mobile": "09121234567"}).json()[
        "id"
    ]
    mine = client.post(f"{API}/customers", headers=intruder.headers, json={"mobile": "09351234567"}).json()[
        "id"
    ]
    group_id = new_group(intruder)
    r = client.post(
        f"{API}/groups/{group_id}/customers", headers=intruder.headers, json={"customer_ids": [mine, theirs]}
    )
    assert r.status_code == 404
    assert (r.json()["error"], r.json()["missing"]) == ("customer_not_found", [theirs])
    assert client.get(f"{API}/groups/{group_id}", headers=intruder.headers).json()["size"] == 0
    # "All" means all of the caller's own.
    r = client.post(f"{API}/groups/{group_id}/customers", headers=intruder.headers, json={"all": True})
    assert r.json()["added"] == 1
    assert (
        client.get(f"{API}/groups/{group_id}/numbers", headers=intruder.headers).json()["items"][0]["local"]
        == "09351234567"
    )


def test_recipients_for_sending(
    ctx: Context, client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user, other = make_user(), make_user()
    first = new_group(
        user,
        "یک",
        numbers=[
            {"number": "09121111111", "name": "علی", "fields": {"کد": "7"}},
            "09122222222",
            "+1 650 253 0000",
        ],
    )
    second = new_group(user, "دو", numbers=["09122222222", "09123333333"])
    others = new_group(other, "غریبه", numbers=["09124444444"])
    customer = client.post(
        f"{API}/customers", headers=user.headers, json={"mobile": "09125555555", "name": "مینا"}
    ).json()["id"]

    with ctx.db.transaction(readonly=True) as session:
        plain = list(
            phonebook.iter_group_recipients(
                session, account_id=user.id, group_ids=[first, second], batch_size=2
            )
        )
        assert [(r.key, r.e164, r.values) for r in plain] == [
            (None, "+16502530000", None),  # foreign keys sort first; they have no Iranian key
            (9121111111, "+989121111111", None),
            (9122222222, "+989122222222", None),
            (9122222222, "+989122222222", None),
            (9123333333, "+989123333333", None),
        ]
        with_values = phonebook.iter_group_recipients(
            session, account_id=user.id, group_ids=[first], with_values=True, batch_size=1
        )
        assert [r.values for r in with_values] == [{}, {"کد": "7", "name": "علی", "نام": "علی"}, {}]
        assert phonebook.count_group_numbers(session, account_id=user.id, group_ids=[first, second]) == 5

        with pytest.raises(NotFound) as caught:
            phonebook.iter_group_recipients(session, account_id=user.id, group_ids=[first, others])
        assert caught.value.extra["missing"] == [others]

        [mina] = phonebook.iter_customer_recipients(
            session, account_id=user.id, customer_ids=[customer], with_values=True
        )
        assert mina == (9125555555, "+989125555555", {"name": "مینا", "نام": "مینا"})
        with pytest.raises(NotFound):
            list(phonebook.iter_customer_recipients(session, account_id=other.id, customer_ids=[customer]))
