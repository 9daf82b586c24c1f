"""Groups, numbers, imports with a preview and a report, customers: the pages and their errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from payamak.context import Context
from payamak.db import Database
from payamak.phonebook import imports
from payamak.phonebook import service as phonebook

from .conftest import Browser, Shop, field_error


@pytest.fixture
def background_imports(db: Database) -> Iterator[None]:
    yield
    assert imports.wait_for_imports(timeout=120), "an import thread outlived its test"


def _xlsx(path: Path, rows: list[list[str]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return path


def test_groups_are_made_renamed_and_deleted_with_errors_next_to_the_name(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.post("/groups", {"name": "  "})
    assert r.status_code == 400 and field_error(r.text, "name") == "این بخش را پر کنید."
    r = page.post("/groups", {"name": "گ" * 101})
    assert field_error(r.text, "name") == "این بخش نباید بیش از ۱۰۰ نویسه باشد."
    r = page.post("/groups", {"name": "مشتريان"})  # Arabic yeh: the same name as the shop's group
    assert r.status_code == 400 and "از پیش دارید" in field_error(r.text, "name")
    r = page.post("/groups", {"name": "همکاران"})
    assert r.status_code == 303
    group = int(re.search(r"/groups/(\d+)", r.headers["location"]).group(1))  # type: ignore[union-attr]
    assert "همکاران" in page.get("/groups").text

    r = page.post(f"/groups/{group}/rename", {"name": ""})
    assert r.status_code == 400 and field_error(r.text, "rename-name") == "این بخش را پر کنید."
    r = page.post(f"/groups/{group}/rename", {"name": "همکاران دفتر"})
    assert r.headers["location"] == f"/groups/{group}?ok=renamed"
    r = page.post(f"/groups/{group}/delete")
    assert r.headers["location"] == "/groups?ok=deleted"
    assert "همکاران دفتر" not in page.get("/groups").text


def test_numbers_are_added_searched_edited_and_deleted(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    base = f"/groups/{shop.group_id}"
    r = page.post(f"{base}/numbers", {"number": "02188776655", "name": "", "fields": ""})
    assert r.status_code == 400 and "تلفن ثابت" in field_error(r.text, "number")
    r = page.post(f"{base}/numbers", {"number": "09121000001", "name": "", "fields": ""})
    assert field_error(r.text, "number") == "این شماره از پیش در گروه هست."
    r = page.post(f"{base}/numbers", {"number": "۰۹۱۹۸۷۶۵۴۳۲", "name": "رضا", "fields": "شهر تهران"})
    assert "سطر ۱ فیلدها جداکننده ندارد" in field_error(r.text, "fields")
    r = page.post(f"{base}/numbers", {"number": "۰۹۱۹۸۷۶۵۴۳۲", "name": "رضا", "fields": "شهر: تهران\nکد=۱۲"})
    assert r.status_code == 303

    r = page.get(f"{base}?q=رضا")
    assert "یافته‌ها: ۱" in r.text and "شهر: تهران" in r.text
    number_id = int(re.search(rf"{base}/numbers/(\d+)\"", r.text).group(1))  # type: ignore[union-attr]
    r = page.get(f"{base}/numbers/{number_id}")
    assert "شهر: تهران" in r.text and "کد: ۱۲" in r.text
    r = page.post(f"{base}/numbers/{number_id}", {"name": "ن" * 201, "fields": ""})
    assert field_error(r.text, "name") == "این بخش نباید بیش از ۲۰۰ نویسه باشد."
    r = page.post(f"{base}/numbers/{number_id}", {"name": "رضا کریمی", "fields": ""})
    assert r.status_code == 303
    with ctx.db.transaction(readonly=True) as session:
        found = phonebook.get_number(
            session, account_id=shop.user.id, group_id=shop.group_id, number_id=number_id
        )
        assert found.name == "رضا کریمی" and not found.fields
    r = page.post(f"{base}/numbers/{number_id}/delete")
    assert r.headers["location"] == f"{base}?ok=deleted"
    assert "یافته‌ها: ۳" in page.get(base).text
    # Exports are the API's, reached with the same login cookie.
    export = page.get(f"/api/v1/groups/{shop.group_id}/export?format=csv")
    assert export.status_code == 200 and "09121000001" in export.text


def test_an_xlsx_is_previewed_with_a_column_choice_then_imported_with_a_report(
    login: Callable[[Any], Browser], shop: Shop, tmp_path: Path, background_imports: None
) -> None:
    page = login(shop.user)
    path = _xlsx(
        tmp_path / "list.xlsx",
        [["کد", "نام", "همراه"], ["1", "مریم", "09122000001"], ["2", "علی", "09122000002"],
         ["3", "تکراری", "09122000001"], ["4", "ثابت", "02188776655"]],
    )  # fmt: skip
    token = page.token(f"/groups/{shop.group_id}/import")
    with path.open("rb") as handle:
        r = page.post(
            f"/groups/{shop.group_id}/imports/preview", {}, token=token, files={"file": ("list.xlsx", handle)}
        )
    assert r.status_code == 200, r.text
    assert re.search(r'<option value="2" selected>همراه</option>', r.text), "the phone column was found"
    assert re.search(r'<option value="1" selected>نام</option>', r.text), "and the name column"
    stored = re.search(r'name="stored" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    form = {
        "stored": stored,
        "filename": "list.xlsx",
        "signature": re.search(r'name="signature" value="([^"]+)"', r.text).group(1),  # type: ignore[union-attr]
        "phone_column": "2",
        "name_column": "none",
    }
    # Choosing the columns shows the preview again, from the stored upload.
    r = page.post(f"/groups/{shop.group_id}/imports/preview", form, token=token)
    assert r.status_code == 200 and '<option value="none" selected>بدون نام</option>' in r.text
    # The signed name of the stored upload cannot be changed to reach another file.
    r = page.post(f"/groups/{shop.group_id}/imports", {**form, "stored": "0" * 32 + ".xlsx"}, token=token)
    assert r.status_code == 400 and "دیگر در دسترس نیست" in field_error(r.text, "file")
    r = page.post(f"/groups/{shop.group_id}/imports", form, token=token)
    assert r.status_code == 303 and re.fullmatch(r"/imports/\d+", r.headers["location"])
    assert imports.wait_for_imports(timeout=60)
    report = page.get(r.headers["location"]).text
    assert "ورود پایان یافت." in report
    assert "<dt>افزوده شد</dt><dd><strong>۲</strong>" in report and "<dt>تکراری</dt><dd>۱</dd>" in report
    assert "02188776655" in report and "تلفن ثابت" in report and "<td>۵</td>" in report


def test_pasted_text_is_imported_and_wrong_input_explained(
    login: Callable[[Any], Browser], shop: Shop, tmp_path: Path, background_imports: None
) -> None:
    page = login(shop.user)
    token = page.token(f"/groups/{shop.group_id}/import")
    r = page.post(f"/groups/{shop.group_id}/imports/preview", {"text": ""}, token=token)
    assert r.status_code == 400 and "فایلی انتخاب کنید یا شماره‌ها را" in field_error(r.text, "file")
    fake = tmp_path / "photo.xlsx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with fake.open("rb") as handle:
        r = page.post(
            f"/groups/{shop.group_id}/imports/preview",
            {},
            token=token,
            files={"file": ("photo.xlsx", handle)},
        )
    assert r.status_code == 400 and "photo.xlsx" in field_error(r.text, "file")
    text = "09123000001 سارا\n09123000002\n12345"
    r = page.post(f"/groups/{shop.group_id}/imports/preview", {"text": text}, token=token)
    assert r.status_code == 200 and "سارا" in r.text
    r = page.post(f"/groups/{shop.group_id}/imports", {"text": text}, token=token)
    assert r.status_code == 303
    assert imports.wait_for_imports(timeout=60)
    report = page.get(r.headers["location"]).text
    assert "<dt>افزوده شد</dt><dd><strong>۲</strong>" in report and "12345" in report
    assert "متن چسبانده‌شده" in page.get(f"/groups/{shop.group_id}").text


def test_a_running_import_shows_progress_that_polls_the_api(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    with ctx.db.transaction() as session:
        job = imports.create_import(
            session, account_id=shop.user.id, group_id=shop.group_id, source="big.csv", rows_total=100
        )
    page = login(shop.user)
    r = page.get(f"/imports/{job.id}")
    assert f'data-poll-import="/api/v1/imports/{job.id}"' in r.text and 'role="progressbar"' in r.text
    assert page.get(f"/api/v1/imports/{job.id}").json()["status"] == "running"


def test_customers_are_listed_added_edited_deleted_and_put_in_groups(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    r = page.post("/customers", {"mobile": "", "name": "", "fields": ""})
    assert r.status_code == 400 and field_error(r.text, "mobile") == "این بخش را پر کنید."
    r = page.post("/customers", {"mobile": "12", "name": "", "fields": ""})
    assert "درست نیست" in field_error(r.text, "mobile")
    for i, name in enumerate(["مریم", "علی", "سارا"]):
        r = page.post("/customers", {"mobile": f"0912400000{i}", "name": name, "fields": "شهر: یزد"})
        assert r.status_code == 303
    r = page.post("/customers", {"mobile": "+989124000000", "name": "", "fields": ""})
    assert "از پیش دارید" in field_error(r.text, "mobile")
    r = page.get("/customers?q=سارا")
    assert "یافته‌ها: ۱" in r.text
    customer = int(re.search(r'href="/customers/(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    r = page.post(f"/customers/{customer}", {"mobile": "09124000002", "name": "سارا نادری", "fields": ""})
    assert r.headers["location"] == "/customers?ok=saved"
    assert "سارا نادری" in page.get("/customers").text

    r = page.post("/customers/to-group", {"group_id": str(shop.group_id)})
    assert r.status_code == 400 and "دست‌کم یک مشتری" in r.text
    r = page.post("/customers/to-group", {"group_id": str(shop.group_id), "customer": [str(customer)]})
    assert r.status_code == 200 and "افزوده شد: ۱" in r.text
    r = page.post("/customers/to-group", {"group_id": str(shop.group_id), "everyone": "1"})
    assert "افزوده شد: ۲" in r.text and "تکراری: ۱" in r.text
    r = page.post(f"/groups/{shop.group_id}/from-customers")
    assert r.status_code == 200 and "تکراری: ۳" in r.text

    r = page.post(f"/customers/{customer}/delete")
    assert r.headers["location"] == "/customers?ok=deleted"
    assert "سارا نادری" not in page.get("/customers").text
