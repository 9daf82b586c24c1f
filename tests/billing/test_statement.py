"""The statement: newest first, by period (Jalali or Gregorian days in Tehran), and its files."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from payamak.billing import service as billing
from payamak.context import Context

from .conftest import API

FORMULA = '=HYPERLINK("http://evil.example","click")'
# Tehran is UTC+03:30: the second entry falls 30 minutes into Nowruz 1404 (2025-03-21).
TIMES = (
    dt.datetime(2025, 3, 20, 20, 0, tzinfo=dt.UTC),  # 1403/12/30 23:30
    dt.datetime(2025, 3, 20, 21, 0, tzinfo=dt.UTC),  # 1404/01/01 00:30
    dt.datetime(2025, 3, 22, 10, 0, tzinfo=dt.UTC),  # 1404/01/02 13:30
)


@pytest.fixture
def history(ctx: Context, make_user):  # type: ignore[no-untyped-def]
    user = make_user()
    reasons = ("پیش از نوروز", FORMULA, "پس از نوروز")
    with ctx.db.transaction() as session:
        ids = [
            billing.grant(
                session, account_id=user.id, amount=1_000 * (i + 1), reason=reason, actor_id=None
            ).id
            for i, reason in enumerate(reasons)
        ]
    with ctx.db.engine.begin() as conn:
        for entry_id, when in zip(ids, TIMES, strict=True):
            conn.execute(
                sa.text("UPDATE ledger_entries SET created_at = :t WHERE id = :id"),
                {"t": when if ctx.db.dialect == "postgresql" else when.replace(tzinfo=None), "id": entry_id},
            )
    return user, ids


def ids_of(client: TestClient, user, **params: object) -> list[int]:  # type: ignore[no-untyped-def]
    r = client.get(f"{API}/statement", headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["entries"]]


def test_statement_is_newest_first_and_paged(client: TestClient, history) -> None:  # type: ignore[no-untyped-def]
    user, (a, b, c) = history
    body = client.get(f"{API}/statement", headers=user.headers, params={"per_page": 2}).json()
    assert body["balance"] == 6_000 and body["total"] == 3 and body["page"] == 1
    assert [e["id"] for e in body["entries"]] == [c, b]
    assert [e["balance_after"] for e in body["entries"]] == [6_000, 3_000]
    assert ids_of(client, user, per_page=2, page=2) == [a]
    assert ids_of(client, user, per_page=2, page=3) == []


def test_periods_in_jalali_or_gregorian_tehran_days(client: TestClient, history) -> None:  # type: ignore[no-untyped-def]
    user, (a, b, c) = history
    assert ids_of(client, user, **{"from": "1404/01/01"}) == [c, b]
    assert ids_of(client, user, **{"from": "۱۴۰۴/۰۱/۰۱"}) == [c, b]
    assert ids_of(client, user, **{"from": "2025-03-21"}) == [c, b]
    assert ids_of(client, user, to="1404/01/01") == [b, a]
    assert ids_of(client, user, **{"from": "1404-01-01", "to": "1404-01-01"}) == [b]
    assert ids_of(client, user, **{"from": "2025-03-20T20:30:00+00:00"}) == [c, b]
    assert ids_of(client, user, to="1403/12/29") == []


@pytest.mark.parametrize(
    ("params", "error", "field"),
    [
        ({"from": "1404/13/01"}, "date_invalid", "from"),
        ({"to": "yesterday"}, "date_invalid", "to"),
        ({"from": "1404/01/05", "to": "1404/01/01"}, "period_invalid", "to"),
        ({"page": 0}, "validation_error", "page"),
    ],
)
def test_bad_periods_are_named(client: TestClient, history, params, error, field) -> None:  # type: ignore[no-untyped-def]
    user, _ = history
    r = client.get(f"{API}/statement", headers=user.headers, params=params)
    assert r.status_code == 422 and r.json()["error"] == error and r.json()["field"] == field, r.text


def test_statement_is_the_callers_own(client: TestClient, history, make_user) -> None:  # type: ignore[no-untyped-def]
    other = make_user()
    body = client.get(f"{API}/statement", headers=other.headers).json()
    assert body == {"balance": 0, "page": 1, "per_page": 50, "total": 0, "entries": []}


def test_xlsx_export_has_jalali_dates_and_no_formulas(client: TestClient, history) -> None:  # type: ignore[no-untyped-def]
    user, (a, b, c) = history
    r = client.get(f"{API}/statement/export", headers=user.headers, params={"format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(r.content)).get_sheet_by_index(0).to_python()
    header, *body = rows
    assert header[:2] == ["شناسه", "تاریخ"] and header[7] == "شرح"
    assert [int(row[0]) for row in body] == [c, b, a]
    assert [row[1] for row in body] == ["1404/01/02 13:30:00", "1404/01/01 00:30:00", "1403/12/30 23:30:00"]
    assert body[1][2] == "2025-03-20T21:00:00Z"
    assert body[1][3] == "افزایش اعتبار توسط مدیر" and body[1][4] == 2_000 and body[1][6] == 3_000
    assert body[1][7] == FORMULA  # kept as text: a formula would have no text value here
    assert body[0][8] == "مدیر سامانه (خط فرمان)"


def test_csv_export_is_formula_safe(client: TestClient, history) -> None:  # type: ignore[no-untyped-def]
    user, _ = history
    r = client.get(
        f"{API}/statement/export",
        headers=user.headers,
        params={"format": "csv", "from": "1404/01/01", "to": "1404/01/01"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    header, row = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[1] == "تاریخ" and row[1] == "1404/01/01 00:30:00"
    assert row[7] == "'" + FORMULA and row[4] == "2000"


def test_export_in_english_and_from_the_browser(client: TestClient, history) -> None:  # type: ignore[no-untyped-def]
    user, _ = history
    r = client.get(f"{API}/statement/export", headers=user.headers, params={"format": "csv", "lang": "en"})
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert header[:2] == ["ID", "Date (Jalali)"]
    client.cookies.set("payamak_session", user.token)
    assert client.get(f"{API}/statement/export?format=xlsx").status_code == 200
    assert client.get(f"{API}/statement/export?format=pdf").status_code == 422
