"""Groups and the numbers in them, through the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

API = "/api/v1"


def test_create_list_get_rename_delete(client: TestClient, make_user: Callable[..., Any]) -> None:
    user = make_user()
    r = client.post(f"{API}/groups", headers=user.headers, json={"name": "  مشتریان   ویژه "})
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["name"] == "مشتریان ویژه"
    assert group["size"] == 0
    other = client.post(f"{API}/groups", headers=user.headers, json={"name": "همکاران"}).json()

    client.post(
        f"{API}/groups/{group['id']}/numbers", headers=user.headers, json={"numbers": ["09121234567"]}
    )
    listed = client.get(f"{API}/groups", headers=user.headers).json()
    assert [(g["name"], g["size"]) for g in listed] == [("مشتریان ویژه", 1), ("همکاران", 0)]
    assert client.get(f"{API}/groups/{group['id']}", headers=user.headers).json()["size"] == 1

    renamed = client.patch(f"{API}/groups/{group['id']}", headers=user.headers, json={"name": "وفادار"})
    assert renamed.status_code == 200
    assert renamed.json() == {**group, "name": "وفادار", "size": 1}

    assert client.delete(f"{API}/groups/{group['id']}", headers=user.headers).status_code == 204
    assert client.get(f"{API}/groups/{group['id']}", headers=user.headers).status_code == 404
    assert [g["id"] for g in client.get(f"{API}/groups", headers=user.headers).json()] == [other["id"]]


def test_group_names_are_unique_per_account(client: TestClient, make_user: Callable[..., Any]) -> None:
    user, someone_else = make_user(), make_user()
    assert client.post(f"{API}/groups", headers=user.headers, json={"name": "مشتریان"}).status_code == 201
    # The same name typed with Arabic yeh is the same name.
    r = client.post(f"{API}/groups", headers=user.headers, json={"name": "مشتريان"})
    assert r.status_code == 409
    assert r.json()["error"] == "group_name_taken"
    assert r.json()["field"] == "name"
    assert "مشتریان" in r.json()["detail"]
    assert (
        client.post(f"{API}/groups", headers=someone_else.headers, json={"name": "مشتریان"}).status_code
        == 201
    )

    second = client.post(f"{API}/groups", headers=user.headers, json={"name": "دوم"}).json()
    r = client.patch(f"{API}/groups/{second['id']}", headers=user.headers, json={"name": "مشتریان"})
    assert r.status_code == 409
    assert r.json()["error"] == "group_name_taken"
    r = client.post(f"{API}/groups", headers=user.headers, json={"name": "   "})
    assert r.status_code == 422
    assert r.json()["error"] == "group_name_required"
    r = client.post(f"{API}/groups", headers=user.headers, json={"name": "x" * 101})
    assert r.json()["error"] == "group_name_too_long"


def test_add_numbers_counts_added_duplicates_and_invalid(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user, numbers=["09121111111"])
    r = client.post(
        f"{API}/groups/{group_id}/numbers",
        headers=user.headers,
        json={
            "numbers": [
                "۰۹۳۵۱۲۳۴۵۶۷",  # Persian digits
                "+98 912 111 1111",  # already in the group
                {"number": "0935-123-4567", "name": "تکراری"},  # repeated in the request
                {"number": "9191234567", "name": "رضا", "fields": {"شهر": "تهران"}},
                "02188776655",  # a landline
                "12345",
                "+1 650 253 0000",  # a foreign mobile is a number that can receive SMS
            ]
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["added"] == 3
    assert body["duplicates"] == 2
    assert [(i["row"], i["value"], i["reason"]) for i in body["invalid"]] == [
        (5, "02188776655", "landline"),
        (6, "12345", "too_short"),
    ]
    assert "ثابت" in body["invalid"][0]["message"]
    english = client.post(
        f"{API}/groups/{group_id}/numbers",
        headers={**user.headers, "Accept-Language": "en"},
        json={"numbers": ["02188776655"]},
    ).json()
    assert "landline" in english["invalid"][0]["message"]

    page = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers).json()
    assert page["total"] == 4
    by_number = {item["number"]: item for item in page["items"]}
    assert set(by_number) == {"+989121111111", "+989351234567", "+989191234567", "+16502530000"}
    reza = by_number["+989191234567"]
    assert reza["name"] == "رضا"
    assert reza["fields"] == {"شهر": "تهران"}
    assert reza["local"] == "09191234567"
    assert reza["operator"] == "MCI"
    assert by_number["+16502530000"]["local"] == "+16502530000"
    assert by_number["+989351234567"]["name"] is None


def test_list_pages_and_search(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    items: list[object] = [f"0912{i:07d}" for i in range(1, 121)]
    items += [{"number": "09359876543", "name": "علی رضایی"}, {"number": "09901112233", "name": "Sara"}]
    group_id = new_group(user, numbers=items)

    def search(q: str, **params: int) -> dict[str, Any]:
        r = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers, params={"q": q, **params})
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    first = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers, params={"limit": 50}).json()
    second = client.get(
        f"{API}/groups/{group_id}/numbers", headers=user.headers, params={"limit": 50, "offset": 50}
    ).json()
    assert first["total"] == second["total"] == 122
    seen = [i["number"] for i in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 100
    assert seen == sorted(seen)

    # The full number in any form finds exactly it.
    for form in ("09359876543", "۰۹۳۵۹۸۷۶۵۴۳", "+98 935 987 6543", "00989359876543", "9359876543"):
        found = search(form)
        assert [i["number"] for i in found["items"]] == ["+989359876543"], form
    # Part of a number, with or without its leading zero, in Persian digits too.
    assert search("۰۹۳۵۹۸")["total"] == 1
    assert search("00000117")["total"] == 1
    assert search("091200001")["total"] == 21  # 09120000100..09120000120
    limited = search("000011", limit=5)
    assert (limited["total"], len(limited["items"])) == (11, 5)  # 09120000011 and 0912000011x
    # Words search names.
    assert [i["name"] for i in search("رضایی")["items"]] == ["علی رضایی"]
    assert [i["name"] for i in search("sar")["items"]] == ["Sara"]
    assert search("%")["total"] == 0
    assert search("nobody")["total"] == 0


def test_edit_name_and_fields(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user, numbers=[{"number": "09121234567", "name": "قدیمی", "fields": {"a": "1"}}])
    number = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers).json()["items"][0]
    path = f"{API}/groups/{group_id}/numbers/{number['id']}"

    r = client.patch(path, headers=user.headers, json={"name": "جدید"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["fields"]) == ("جدید", {"a": "1"})
    r = client.patch(path, headers=user.headers, json={"fields": {"شهر": "شیراز", "کد": "۱۲"}})
    assert (r.json()["name"], r.json()["fields"]) == ("جدید", {"شهر": "شیراز", "کد": "۱۲"})
    r = client.patch(path, headers=user.headers, json={"name": None, "fields": {}})
    assert (r.json()["name"], r.json()["fields"]) == (None, {})

    r = client.patch(path, headers=user.headers, json={"fields": {f"f{i}": "x" for i in range(31)}})
    assert r.status_code == 422
    assert r.json()["error"] == "fields_too_many"
    r = client.patch(path, headers=user.headers, json={"fields": {"a": "x" * 501}})
    assert r.json()["error"] == "field_value_too_long"
    r = client.patch(path, headers=user.headers, json={"number": "09120000000"})
    assert r.status_code == 422  # the number itself is not editable: delete and add
    assert (
        client.patch(f"{API}/groups/{group_id}/numbers/999999", headers=user.headers, json={}).status_code
        == 404
    )


def test_delete_one_many_and_all(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user, numbers=[f"0912{i:07d}" for i in range(1, 11)])
    other_group = new_group(user, "دیگر", numbers=["09350000001"])
    ids = [
        i["id"] for i in client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers).json()["items"]
    ]
    other_id = client.get(f"{API}/groups/{other_group}/numbers", headers=user.headers).json()["items"][0][
        "id"
    ]

    assert client.delete(f"{API}/groups/{group_id}/numbers/{ids[0]}", headers=user.headers).status_code == 204
    assert client.delete(f"{API}/groups/{group_id}/numbers/{ids[0]}", headers=user.headers).status_code == 404
    # A number of another group is not reachable through this one.
    r = client.delete(f"{API}/groups/{group_id}/numbers/{other_id}", headers=user.headers)
    assert r.status_code == 404
    assert r.json()["error"] == "number_not_found"

    r = client.post(
        f"{API}/groups/{group_id}/numbers/delete", headers=user.headers, json={"ids": [*ids[1:4], other_id]}
    )
    assert r.json() == {"deleted": 3}
    assert client.get(f"{API}/groups/{group_id}", headers=user.headers).json()["size"] == 6

    assert client.request("DELETE", f"{API}/groups/{group_id}/numbers", headers=user.headers).json() == {
        "deleted": 6
    }
    assert client.get(f"{API}/groups/{group_id}", headers=user.headers).json()["size"] == 0
    assert client.get(f"{API}/groups/{other_group}", headers=user.headers).json()["size"] == 1


def test_another_accounts_numbers_stay_out_of_reach(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    owner, intruder = make_user(), make_user()
    owners = new_group(owner, numbers=["09121234567"])
    number_id = client.get(f"{API}/groups/{owners}/numbers", headers=owner.headers).json()["items"][0]["id"]
    mine = new_group(intruder)
    # The intruder's own group id with the owner's number id.
    assert (
        client.patch(
            f"{API}/groups/{mine}/numbers/{number_id}", headers=intruder.headers, json={"name": "x"}
        ).status_code
        == 404
    )
    assert (
        client.delete(f"{API}/groups/{mine}/numbers/{number_id}", headers=intruder.headers).status_code == 404
    )
    r = client.post(
        f"{API}/groups/{mine}/numbers/delete", headers=intruder.headers, json={"ids": [number_id]}
    )
    assert r.json() == {"deleted": 0}
    # Same name, different accounts: no clash and no leak.
    r = client.get(f"{API}/groups/{owners}/numbers", headers=intruder.headers)
    assert r.status_code == 404
    assert r.json()["error"] == "group_not_found"
    assert client.get(f"{API}/groups/{owners}", headers=owner.headers).json()["size"] == 1


def test_ids_beyond_a_database_integer_are_refused(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user)
    huge = 2**63
    for method, path in (
        ("GET", f"{API}/groups/{huge}"),
        ("DELETE", f"{API}/groups/{group_id}/numbers/{huge}"),
        ("GET", f"{API}/groups/{group_id}/numbers?offset={huge}"),
        ("GET", f"{API}/imports?group_id={huge}"),
    ):
        assert client.request(method, path, headers=user.headers).status_code == 422, path
    r = client.post(f"{API}/groups/{group_id}/numbers/delete", headers=user.headers, json={"ids": [huge]})
    assert r.status_code == 422
    r = client.post(f"{API}/groups/{group_id}/customers", headers=user.headers, json={"customer_ids": [huge]})
    assert r.status_code == 422


def test_too_many_numbers_in_one_request(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user)
    r = client.post(
        f"{API}/groups/{group_id}/numbers", headers=user.headers, json={"numbers": ["09121234567"] * 10_001}
    )
    assert r.status_code == 422
    assert client.get(f"{API}/groups/{group_id}", headers=user.headers).json()["size"] == 0
