"""Tariffs: the most specific rule wins, VAT is included, and one table prices every recipient."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from payamak.billing import service as billing
from payamak.billing.pricing import FOREIGN, DefaultRule, PriceTable, default_rules, resolve, with_vat
from payamak.context import Context
from payamak.errors import Conflict, ValidationFailed

from .conftest import API


def rule(
    kind: str = "*", encoding: str = "*", operator: str = "*", line: str = "*", price: int = 1
) -> DefaultRule:
    return DefaultRule(kind, encoding, operator, line, price)


def test_defaults_price_persian_latin_and_operators() -> None:
    prices, missing = resolve(default_rules(), kind="advertising", encoding="UCS-2", line=None)
    assert not missing
    assert prices["MCI"] == 1_500 and prices["Irancell"] == prices["RighTel"] == prices["other"] == 1_650
    latin, _ = resolve(default_rules(), kind="informational", encoding="GSM-7", line="5000123")
    assert latin["MCI"] == 3_600 == 1_500 * 24 // 10 and latin["Irancell"] == 3_960
    assert prices["foreign"] == latin["foreign"] == 40_000


def test_most_specific_rule_wins_whatever_the_order() -> None:
    rules = [
        rule(encoding="UCS-2", price=100),  # 1 exact field
        rule(encoding="UCS-2", operator="MCI", price=200),  # 2
        rule(kind="advertising", encoding="UCS-2", operator="MCI", price=300),  # 3
        rule(kind="advertising", encoding="UCS-2", operator="MCI", line="5000", price=400),  # 4
        rule(kind="advertising", encoding="UCS-2", operator="MCI", line="50001", price=500),  # 4, longer
    ]
    for ordering in (rules, rules[::-1]):
        on_50001, _ = resolve(ordering, kind="advertising", encoding="UCS-2", line="50001 234")
        assert on_50001["MCI"] == 500
        on_5000, _ = resolve(ordering, kind="advertising", encoding="UCS-2", line="50009")
        assert on_5000["MCI"] == 400
        other_line, _ = resolve(ordering, kind="advertising", encoding="UCS-2", line="3000")
        assert other_line["MCI"] == 300
        informational, _ = resolve(ordering, kind="informational", encoding="UCS-2", line="50001")
        assert informational["MCI"] == 200 and informational["Irancell"] == 100


def test_ties_between_equally_specific_rules_are_settled_by_field_precedence() -> None:
    # Both have two exact fields; an exact operator outranks a line prefix.
    rules = [rule(encoding="UCS-2", line="5000", price=10), rule(encoding="UCS-2", operator="MCI", price=20)]
    prices, _ = resolve(rules, kind="advertising", encoding="UCS-2", line="5000")
    assert prices["MCI"] == 20 and prices["Irancell"] == 10
    # A line prefix outranks an exact encoding or kind.
    rules = [rule(kind="advertising", operator="MCI", price=30), rule(operator="MCI", line="9821", price=40)]
    prices, _ = resolve(rules, kind="advertising", encoding="UCS-2", line="982188776655")
    assert prices["MCI"] == 40


def test_line_prefix_needs_a_line_and_matches_persian_digits() -> None:
    rules = [rule(price=1), rule(line="5000", price=2)]
    assert resolve(rules, kind="advertising", encoding="GSM-7", line=None)[0]["MCI"] == 1
    assert resolve(rules, kind="advertising", encoding="GSM-7", line="۵۰۰۰۱۲")[0]["MCI"] == 2


def test_unpriced_operators_are_reported() -> None:
    prices, missing = resolve(
        [rule(operator="MCI", price=5)], kind="advertising", encoding="UCS-2", line=None
    )
    assert prices == {"MCI": 5} and missing == ["Irancell", "RighTel", "other", "foreign"]


def test_vat_is_included_and_rounded_half_up() -> None:
    assert with_vat(1_500, 10) == 1_650
    assert with_vat(1_005, 9) == 1_095  # 1095.45
    assert with_vat(1_015, 9) == 1_106  # 1106.35
    assert with_vat(1_050, 9) == 1_145  # 1144.5 -> up
    assert with_vat(777, 0) == 777


def test_price_table_is_the_per_recipient_price() -> None:
    net = {"MCI": 1_000, "Irancell": 1_100, "RighTel": 1_100, "other": 1_200, "foreign": 30_000}
    table = PriceTable(kind="advertising", encoding="UCS-2", line=None, vat_percent=10, net=net)
    assert table.per_message("MCI", 3) == 3_300
    assert table.per_message("ApTel", 1) == table.per_message(None, 1) == 1_320  # "other"
    assert table.per_message(FOREIGN, 2) == 66_000
    assert table.cost({"MCI": 10, None: 2, "Irancell": 1}, 2) == (11_000 + 2_640 + 1_210) * 2


def test_a_million_recipients_price_quickly() -> None:
    net = {"MCI": 1_000, "Irancell": 1_100, "RighTel": 1_100, "other": 1_200, "foreign": 30_000}
    table = PriceTable(kind="advertising", encoding="UCS-2", line=None, vat_percent=10, net=net)
    operators = ["MCI", "Irancell", None, "RighTel", "ApTel"] * 200_000
    start = time.perf_counter()
    total = sum(table.per_message(op, 2) for op in operators)
    assert time.perf_counter() - start < 2.0
    assert total == 200_000 * 2 * (1_100 + 1_210 + 1_320 + 1_210 + 1_320)


def test_price_table_uses_stored_rules_and_vat(ctx: Context) -> None:
    with ctx.db.transaction() as session:
        # An empty table means the built-in defaults.
        assert (
            billing.price_table(session, kind="advertising", encoding="UCS-2", line=None).per_message(
                "MCI", 1
            )
            == 1_650
        )
        billing.put_tariff(
            session, kind="advertising", encoding="UCS-2", operator="MCI", line_prefix="5000", price=1_200
        )
        billing.set_vat_percent(session, percent=9)
    with ctx.db.transaction(readonly=True) as session:
        on_line = billing.price_table(session, kind="advertising", encoding="UCS-2", line="50001")
        elsewhere = billing.price_table(session, kind="advertising", encoding="UCS-2", line="3000")
        rows, builtin = billing.tariffs(session)
    assert on_line.per_message("MCI", 1) == 1_308 and on_line.per_message("Irancell", 1) == 1_799
    # Storing the first rule kept every other default price.
    assert elsewhere.per_message("MCI", 1) == 1_635 and not builtin and len(rows) == 10


def test_price_table_refuses_unknown_keys_and_missing_prices(ctx: Context) -> None:
    with ctx.db.transaction() as session:
        with pytest.raises(ValidationFailed) as bad:
            billing.price_table(session, kind="promo", encoding="UCS-2", line=None)
        assert bad.value.code == "kind_invalid"
        billing.put_tariff(session, kind="*", encoding="*", operator="foreign", line_prefix="*", price=1)
        billing.delete_tariff(
            session,
            tariff_id=next(
                t.id for t in billing.tariffs(session)[0] if t.operator == "other" and t.encoding == "UCS-2"
            ),
        )
        with pytest.raises(Conflict) as missing:
            billing.price_table(session, kind="advertising", encoding="UCS-2", line=None)
        assert missing.value.code == "tariff_missing" and missing.value.extra["operators"] == ["other"]


def test_prices_endpoint_shows_vat_included_prices(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    r = client.get(f"{API}/prices", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["vat_percent"] == 10 and body["vat_included"] is True
    row = next(
        p
        for p in body["prices"]
        if (p["kind"], p["encoding"], p["operator"]) == ("advertising", "UCS-2", "MCI")
    )
    assert row == {
        "kind": "advertising",
        "encoding": "UCS-2",
        "operator": "MCI",
        "price": 1_650,
        "price_before_vat": 1_500,
    }
    assert len(body["prices"]) == 2 * 2 * 5


def test_admin_manages_tariffs_and_vat(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(admin=True)
    listed = client.get(f"{API}/admin/tariffs", headers=admin.headers).json()
    assert listed["builtin_defaults"] is True and len(listed["tariffs"]) == 9
    r = client.post(
        f"{API}/admin/tariffs",
        headers=admin.headers,
        json={
            "kind": "advertising",
            "encoding": "UCS-2",
            "operator": "MCI",
            "line_prefix": "9821",
            "price": 1_000,
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["price_with_vat"] == 1_100
    tariff_id = r.json()["id"]
    # The same key again changes the price rather than adding a rule.
    again = client.post(
        f"{API}/admin/tariffs",
        headers=admin.headers,
        json={
            "kind": "advertising",
            "encoding": "UCS-2",
            "operator": "MCI",
            "line_prefix": "9821",
            "price": 900,
        },
    )
    assert again.json()["id"] == tariff_id and again.json()["price"] == 900
    assert client.put(f"{API}/admin/vat", headers=admin.headers, json={"vat_percent": 12}).json() == {
        "vat_percent": 12
    }
    user = make_user()
    prices = client.get(f"{API}/prices", params={"line": "982112345678"}, headers=user.headers).json()
    mci = next(
        p
        for p in prices["prices"]
        if (p["kind"], p["encoding"], p["operator"]) == ("advertising", "UCS-2", "MCI")
    )
    assert mci["price"] == 1_008 and prices["vat_percent"] == 12
    assert client.delete(f"{API}/admin/tariffs/{tariff_id}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/admin/tariffs/{tariff_id}", headers=admin.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operator": "MCI", "price": -1}, "price"),
        ({"operator": "MCI", "price": 1.5}, "price"),
        ({"operator": "MCI", "price": "1000"}, "price"),
        ({"operator": "Hamrah", "price": 10}, "operator"),
        ({"line_prefix": "50x", "price": 10}, "line_prefix"),
    ],
)
def test_bad_tariffs_are_refused_by_field(
    client: TestClient, make_user, body: dict[str, object], field: str
) -> None:  # type: ignore[no-untyped-def]
    admin = make_user(admin=True)
    r = client.post(f"{API}/admin/tariffs", headers=admin.headers, json=body)
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert client.get(f"{API}/admin/tariffs", headers=admin.headers).json()["builtin_defaults"] is True
