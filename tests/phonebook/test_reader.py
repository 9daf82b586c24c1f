from __future__ import annotations

import codecs
import gc
import importlib.util
import json
import os
import re
import string
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import load_workbook

from payamak.errors import ValidationFailed
from payamak.phonebook.reader import (
    CODES,
    ImportRejected,
    Limits,
    Reader,
    Row,
    _at_most,
    _column_letter,
    open_file,
    open_text,
    preview_file,
    preview_text,
)


def _load_files_module() -> ModuleType:
    # Test folders are not packages here, so the helper is loaded by path.
    spec = importlib.util.spec_from_file_location(
        "phonebook_files_make", Path(__file__).with_name("files_make.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


files = _load_files_module()

PERSIAN_TABLE: list[list[Any]] = [
    ["نام و نام خانوادگی", "شماره موبایل", "شهر"],
    ["علی رضایی", 9121234567, "تهران"],
    ["مریم کیانی", "09351234567", "شیراز"],
    [None, None, None],
    ["رضا", 989121112233, None],
]


def triples(reader: Reader) -> list[tuple[int, Any, str | None]]:
    return [(row.number, row.phone, row.name) for row in reader]


def _run(call: Callable[[], object]) -> None:
    result = call()
    if isinstance(result, Reader):
        list(result)


def rejected(call: Callable[[], object], code: str) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        _run(call)
    error = info.value
    assert isinstance(error, ValidationFailed)
    assert error.code == code and code in CODES
    assert any("\u0600" <= ch <= "\u06ff" for ch in error.message_fa)
    assert error.message_en and error.message_fa != error.message_en
    return error


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- workbooks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "suffix", "fmt"),
    [
        (files.write_xlsx, "xlsx", "xlsx"),
        (files.write_xls, "xls", "xls"),
        (files.write_ods, "ods", "ods"),
    ],
)
def test_workbook_with_persian_header(tmp_path: Path, writer: Any, suffix: str, fmt: str) -> None:
    path = writer(tmp_path / f"book.{suffix}", PERSIAN_TABLE)
    reader = open_file(path, filename=f"مشتریان.{suffix}")
    assert reader.format == fmt and reader.layout == "table"
    assert (reader.phone_column, reader.name_column, reader.has_header) == (1, 0, True)
    assert reader.columns == ["نام و نام خانوادگی", "شماره موبایل", "شهر"]
    rows = list(reader)
    assert [(r.number, r.name) for r in rows] == [(2, "علی رضایی"), (3, "مریم کیانی"), (5, "رضا")]
    assert rows[0].phone == 9121234567 and isinstance(rows[0].phone, int | float)
    assert rows[1].phone == "09351234567"
    assert rows[2].phone == 989121112233
    assert [r.fields for r in rows] == [{"شهر": "تهران"}, {"شهر": "شیراز"}, {}]
    assert all(isinstance(r, Row) for r in rows)


@pytest.mark.parametrize("writer", [files.write_xlsx, files.write_xls, files.write_ods])
def test_workbook_with_english_header(tmp_path: Path, writer: Any) -> None:
    table = [["Email", "Full Name", "Mobile No."], ["a@example.com", "Sara", 9121234567.0]]
    reader = open_file(writer(tmp_path / "book", table), filename="contacts.xlsx")
    assert (reader.phone_column, reader.name_column) == (2, 1)
    assert [(r.number, r.phone, r.name, r.fields) for r in reader] == [
        (2, 9121234567, "Sara", {"Email": "a@example.com"})
    ]


def test_xlsx_first_non_empty_sheet_and_offset_rows(tmp_path: Path) -> None:
    table = [["نام", "موبایل"], ["علی", "09121234567"], [None, None], ["رضا", "09351234567"]]
    path = files.write_xlsx(tmp_path / "b.xlsx", table, at=(3, 2), empty_sheets_before=2)
    reader = open_file(path, filename="b.xlsx")
    assert triples(reader) == [(5, "09121234567", "علی"), (7, "09351234567", "رضا")]
    assert reader.total_rows_hint == 3

    headerless = files.write_xlsx(tmp_path / "c.xlsx", table[1:], at=(1, 2))
    reader = open_file(headerless, filename="c.xlsx")
    assert reader.columns == ["C", "D"] and not reader.has_header
    assert [(r.number, r.fields) for r in reader] == [(2, {"C": "علی"}), (4, {"C": "رضا"})]


def test_visible_sheet_is_read_before_a_hidden_one(tmp_path: Path) -> None:
    path = files.write_xlsx(
        tmp_path / "b.xlsx", [["09121234567"]], hidden_sheet_before=[["x", "09350000000"]]
    )
    assert triples(open_file(path, filename="b.xlsx")) == [(1, "09121234567", None)]


def test_ods_skips_an_empty_first_sheet(tmp_path: Path) -> None:
    path = files.write_ods(tmp_path / "b.ods", [["موبایل"], [9121234567]], empty_sheet_first=True)
    assert triples(open_file(path, filename="b.ods")) == [(2, 9121234567, None)]


def test_cell_types_become_text_in_fields(tmp_path: Path) -> None:
    path = tmp_path / "types.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, title in enumerate(["mobile", "joined", "score", "vip"]):
        sheet.write_string(0, col, title)
    sheet.write_number(1, 0, 9121234567)
    sheet.write_datetime(1, 1, datetime(2024, 3, 20), date_format)
    sheet.write_number(1, 2, 12.5)
    sheet.write_boolean(1, 3, True)
    book.close()
    (row,) = open_file(path, filename="types.xlsx")
    assert row.phone == 9121234567
    assert row.fields == {"joined": "2024-03-20", "score": "12.5", "vip": "True"}


def test_extension_does_not_decide_the_format(tmp_path: Path) -> None:
    path = files.write_xlsx(tmp_path / "upload.tmp", [["09121234567"]])
    reader = open_file(path, filename="numbers.csv")
    assert reader.format == "xlsx" and triples(reader) == [(1, "09121234567", None)]


# --- text files ---------------------------------------------------------------------------------

CSV_TEXT = "نام,موبایل\nعلی کیانی,09121234567\r\nپریسا,۰۹۳۵۱۲۳۴۵۶۷\n"
CSV_ROWS = [(2, "09121234567", "علی کیانی"), (3, "۰۹۳۵۱۲۳۴۵۶۷", "پریسا")]


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (CSV_TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CSV_TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + CSV_TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + CSV_TEXT.encode("utf-32-le"), "utf-32-le"),
        # Windows has no Persian ی in cp1256 and writes the Arabic ي in its place.
        (CSV_TEXT.replace("ی", "ي").replace("۰۹۳۵۱۲۳۴۵۶۷", "09351234567").encode("cp1256"), "windows-1256"),
    ],
)
def test_csv_encodings(tmp_path: Path, data: bytes, label: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    reader = open_file(path, filename="list.csv")
    assert reader.encoding == label and reader.format == "csv"
    expected = CSV_ROWS if label != "windows-1256" else [CSV_ROWS[0], (3, "09351234567", "پریسا")]
    assert triples(reader) == expected


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "،", "؛"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    text = "\n".join(
        delimiter.join(cells)
        for cells in [("name", "mobile", "city"), ("Ali", "09121234567", "Tehran"), ("Sara", "", "Yazd")]
    )
    reader = open_file(write_text(tmp_path / "d.txt", text), filename="d.txt")
    assert reader.layout == "table" and reader.columns == ["name", "mobile", "city"]
    assert [tuple(r) for r in reader] == [
        (2, "09121234567", "Ali", {"city": "Tehran"}),
        # A row without a number but with other data is kept, so the import can report it.
        (3, "", "Sara", {"city": "Yazd"}),
    ]


def test_quoted_fields_and_record_numbers(tmp_path: Path) -> None:
    text = 'name,mobile\n"Rezaei, Ali",09121234567\n\n"two\nlines",09351234567\n'
    reader = open_file(write_text(tmp_path / "q.csv", text), filename="q.csv")
    assert triples(reader) == [(2, "09121234567", "Rezaei, Ali"), (4, "09351234567", "two\nlines")]


def test_ragged_rows_longer_than_the_header(tmp_path: Path) -> None:
    text = "mobile\n09121234567,Ali\n09351234567,Sara,Tehran\n09121112233,Reza\n09124445566,Mina\n"
    reader = open_file(write_text(tmp_path / "r.csv", text), filename="r.csv")
    assert reader.layout == "table" and reader.columns == ["mobile", "B", "C"]
    assert [tuple(r) for r in reader] == [
        (2, "09121234567", None, {"B": "Ali"}),
        (3, "09351234567", None, {"B": "Sara", "C": "Tehran"}),
        (4, "09121112233", None, {"B": "Reza"}),
        (5, "09124445566", None, {"B": "Mina"}),
    ]
    chosen = open_file(tmp_path / "r.csv", filename="r.csv", phone_column=0, name_column=1)
    assert [r.name for r in chosen] == ["Ali", "Sara", "Reza", "Mina"]


def test_numbers_list_file_is_read_as_a_list(tmp_path: Path) -> None:
    text = "شماره ها\n09121234567\n\n+98 912 111 2233\n۰۹۳۵۱۲۳۴۵۶۷\n"
    reader = open_file(write_text(tmp_path / "n.txt", text), filename="n.txt")
    assert reader.layout == "list" and reader.has_header
    assert triples(reader) == [
        (2, "09121234567", None),
        (4, "+98 912 111 2233", None),
        (5, "۰۹۳۵۱۲۳۴۵۶۷", None),
    ]


def test_comma_separated_numbers_on_few_lines_are_a_list(tmp_path: Path) -> None:
    numbers = [f"0912{i:07d}" for i in range(12)]
    text = ",".join(numbers[:5]) + "\n" + ",".join(numbers[5:]) + "\n"
    reader = open_file(write_text(tmp_path / "n.csv", text), filename="n.csv")
    assert reader.layout == "list"
    assert [(r.number, r.phone) for r in reader] == [(1, n) for n in numbers[:5]] + [
        (2, n) for n in numbers[5:]
    ]


def test_one_huge_line_of_numbers(tmp_path: Path) -> None:
    numbers = [f"0935{i:07d}" for i in range(20_000)]
    reader = open_file(write_text(tmp_path / "n.txt", "،".join(numbers)), filename="n.txt")
    assert reader.layout == "list" and [r.phone for r in reader] == numbers


def test_choosing_a_column_reads_a_list_like_file_as_a_table(tmp_path: Path) -> None:
    text = "09121234567,09351234567\n09121112233,09351112233\n"
    reader = open_file(write_text(tmp_path / "t.csv", text), filename="t.csv", phone_column=1)
    assert reader.layout == "table"
    assert [(r.number, r.phone, r.fields) for r in reader] == [
        (1, "09351234567", {"A": "09121234567"}),
        (2, "09351112233", {"A": "09121112233"}),
    ]


# --- column and header detection ----------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "موبایل",
        "تلفن همراه",
        "شماره",
        "شماره موبايل",
        "همراه",
        "شماره‌ی همراه",
        "mobile",
        "Phone Number",
        "CELL",
        "Tel:",
    ],
)
def test_phone_header_words(tmp_path: Path, title: str) -> None:
    table = [["کد", title, "یادداشت"], [7, "09121234567", "x"], [8, "9351234567", "y"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert reader.has_header and reader.phone_column == 1
    assert [r.number for r in reader] == [2, 3]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("نام", "علی"),
        ("نام و نام‌خانوادگی", "علی"),
        ("Name", "علی"),
        ("Full name", "علی"),
        ("first name", "علی"),
    ],
)
def test_name_header_words(tmp_path: Path, title: str, expected: str) -> None:
    reader = open_file(
        files.write_xlsx(tmp_path / "n.xlsx", [["mobile", title], ["09121234567", expected]]),
        filename="n.xlsx",
    )
    assert reader.name_column == 1 and [r.name for r in reader] == [expected]


def test_full_name_column_wins_over_last_name(tmp_path: Path) -> None:
    table = [["نام خانوادگی", "نام و نام خانوادگی", "موبایل"], ["کیانی", "علی کیانی", "09121234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "n.xlsx", table), filename="n.xlsx")
    assert reader.name_column == 1
    assert [(r.name, r.fields) for r in reader] == [("علی کیانی", {"نام خانوادگی": "کیانی"})]


def test_headerless_detection_prefers_the_mobile_column(tmp_path: Path) -> None:
    # National ids are 10 digits too; only the mobile column has the 09… shape.
    table = [["0012345678", "علی", "09121234567"], ["0076543210", "رضا", "09351234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert (reader.phone_column, reader.name_column, reader.has_header) == (2, None, False)
    assert [(r.number, r.phone, r.fields) for r in reader] == [
        (1, "09121234567", {"A": "0012345678", "B": "علی"}),
        (2, "09351234567", {"A": "0076543210", "B": "رضا"}),
    ]


def test_unknown_header_words_are_still_a_header(tmp_path: Path) -> None:
    table = [["ستون یک", "ستون دو"], ["علی", "09121234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert reader.has_header and reader.columns == ["ستون یک", "ستون دو"]
    assert [(r.number, r.fields) for r in reader] == [(2, {"ستون یک": "علی"})]


def test_a_first_row_naming_a_mobile_shop_is_data(tmp_path: Path) -> None:
    table = [["فروشگاه موبایل", "09121234567"], ["Cell Centre", "09351234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert not reader.has_header and [r.number for r in reader] == [1, 2]


def test_index_and_landline_columns_lose_to_the_mobile_column(tmp_path: Path) -> None:
    table = [["ردیف", "تلفن ثابت", "شماره", "موبایل"], [1, "02188776655", 1, "09121234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert reader.phone_column == 3


def test_generic_number_header_without_numbers_loses_to_data(tmp_path: Path) -> None:
    table = [["شماره", "x"], [1, "09121234567"], [2, "09351234567"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert reader.phone_column == 1 and reader.has_header


def test_a_mobile_labelled_column_is_trusted_even_with_bad_values(tmp_path: Path) -> None:
    table = [["نام", "موبایل"], ["علی", "ندارد"], ["رضا", "۱۲۳"]]
    reader = open_file(files.write_xlsx(tmp_path / "h.xlsx", table), filename="h.xlsx")
    assert triples(reader) == [(2, "ندارد", "علی"), (3, "۱۲۳", "رضا")]


def test_explicit_columns(tmp_path: Path) -> None:
    table = [["a", "b", "c"], ["علی", "09121234567", "09351234567"]]
    path = files.write_xlsx(tmp_path / "e.xlsx", table)
    reader = open_file(path, filename="e.xlsx", phone_column=2, name_column=0)
    assert [tuple(r) for r in reader] == [(2, "09351234567", "علی", {"b": "09121234567"})]
    named = [["نام", "موبایل"], ["علی", "09121234567"]]
    path = files.write_xlsx(tmp_path / "f.xlsx", named)
    reader = open_file(path, filename="f.xlsx", name_column=None)
    assert [tuple(r) for r in reader] == [(2, "09121234567", None, {"نام": "علی"})]


@pytest.mark.parametrize(("phone", "name"), [(5, "auto"), (-1, "auto"), (1, 9), (1, 1)])
def test_bad_explicit_columns(tmp_path: Path, phone: int, name: Any) -> None:
    path = files.write_xlsx(tmp_path / "e.xlsx", [["علی", "09121234567"]])
    error = rejected(
        lambda: open_file(path, filename="e.xlsx", phone_column=phone, name_column=name), "import_bad_column"
    )
    assert error.extra["columns"] == 2


def test_duplicate_and_blank_header_labels(tmp_path: Path) -> None:
    table = [["موبایل", "یادداشت", "", "یادداشت"], ["09121234567", "a", "b", "c"]]
    reader = open_file(files.write_xlsx(tmp_path / "d.xlsx", table), filename="d.xlsx")
    assert reader.columns == ["موبایل", "یادداشت", "C", "یادداشت (D)"]
    assert next(iter(reader)).fields == {"یادداشت": "a", "C": "b", "یادداشت (D)": "c"}


# --- pasted text --------------------------------------------------------------------------------


def test_pasted_text_separators() -> None:
    text = (
        "09121234567\n"
        "09121234568, 09121234569،09121234570;09121234571؛09121234572\t09121234573\r\n"
        "09121234574 09121234575\n"
        "\n"
        "0912 345 6789\n"
        "+98 (912) 345-6780\n"
    )
    reader = open_text(text)
    assert reader.format == "text" and reader.layout == "list"
    assert [(r.number, r.phone) for r in reader] == [
        (1, "09121234567"),
        *[(2, f"091212345{n}") for n in range(68, 74)],
        (3, "09121234574"),
        (3, "09121234575"),
        (5, "0912 345 6789"),
        (6, "+98 (912) 345-6780"),
    ]


def test_pasted_text_names_numbering_and_noise() -> None:
    text = (
        "نام\tموبایل\n"
        "علی رضایی، 09121234567\n"
        "09351234567 مریم\n"
        "1- 09121112233\n"
        "۰۹۱۲۱۲۳۴۵۶۷ (مشتری قدیمی)\n"
        "09121234567, 09351234567 حسن\n"
        "0912 345 6789 0935 123 4567\n"
    )
    assert triples(open_text(text)) == [
        (2, "09121234567", "علی رضایی"),
        (3, "09351234567", "مریم"),
        (4, "09121112233", None),
        (5, "۰۹۱۲۱۲۳۴۵۶۷", "مشتری قدیمی"),
        (6, "09121234567", None),
        (6, "09351234567", None),
        # Two spaced-out numbers cannot be told apart; the import reports the value as invalid.
        (7, "0912 345 6789 0935 123 4567", None),
    ]


def test_pasted_text_with_old_mac_line_ends() -> None:
    assert [(r.number, r.phone) for r in open_text("09121234567\r09351234567")] == [
        (1, "09121234567"),
        (2, "09351234567"),
    ]


MOBILE = st.builds(
    lambda prefix, digits: prefix + digits,
    st.sampled_from(["0912", "0935", "+98912", "98901", "00989", "912"]),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(MOBILE, st.sampled_from(["\n", ",", "،", ";", "؛", "\t", " ", " , ", "\r\n"])), min_size=1
    )
)
def test_pasted_numbers_come_back_in_order(items: list[tuple[str, str]]) -> None:
    text = "".join(number + separator for number, separator in items)
    assert [r.phone for r in open_text(text)] == [number for number, _ in items]


def test_text_preview() -> None:
    preview = preview_text("موبایل\nعلی، 09121234567\n09351234567\n", rows=5)
    assert preview.layout == "list" and preview.has_header
    assert preview.columns == ["شماره", "نام"] and (preview.phone_column, preview.name_column) == (0, 1)
    assert preview.rows == [["09121234567", "علی"], ["09351234567", ""]]
    assert preview.row_numbers == [2, 3]


# --- preview ------------------------------------------------------------------------------------


def test_file_preview(tmp_path: Path) -> None:
    path = files.write_xlsx(tmp_path / "p.xlsx", PERSIAN_TABLE)
    preview = preview_file(path, filename="p.xlsx", rows=2)
    assert preview.format == "xlsx" and preview.layout == "table" and preview.encoding is None
    assert preview.columns == ["نام و نام خانوادگی", "شماره موبایل", "شهر"]
    assert preview.rows == [["علی رضایی", "9121234567", "تهران"], ["مریم کیانی", "09351234567", "شیراز"]]
    assert preview.row_numbers == [2, 3]
    assert (preview.phone_column, preview.name_column, preview.has_header) == (1, 0, True)
    assert preview.total_rows == 4

    chosen = preview_file(path, filename="p.xlsx", phone_column=2, name_column=None)
    assert (chosen.phone_column, chosen.name_column) == (2, None)


def test_csv_preview(tmp_path: Path) -> None:
    path = write_text(tmp_path / "p.csv", CSV_TEXT, "utf-16")
    preview = preview_file(path, filename="p.csv")
    assert preview.format == "csv" and preview.encoding == "utf-16-le"
    assert preview.rows == [["علی کیانی", "09121234567"], ["پریسا", "۰۹۳۵۱۲۳۴۵۶۷"]]


# --- reader behaviour ---------------------------------------------------------------------------


def test_reader_can_be_iterated_again_and_partial_reads_close_the_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.csv", "mobile,name\n" + "09121234567,x\n" * 50)
    reader = open_file(path, filename="r.csv")
    assert list(reader) == list(reader)
    rows = iter(reader)
    next(rows)
    del rows
    gc.collect()  # an unclosed file would surface here as an unraisable ResourceWarning


def test_validation_happens_before_the_first_row(tmp_path: Path) -> None:
    path = files.write_xlsx(tmp_path / "v.xlsx", [["09121234567"]] * 20)
    rejected(lambda: open_file(path, filename="v.xlsx", limits=Limits(max_rows=10)), "import_too_many_rows")


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.xlsx", "empty.csv", "empty.txt"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    rejected(lambda: open_file(path, filename=name), "import_empty")


@pytest.mark.parametrize(
    "data", [b"  \n\r\n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + " \n".encode("utf-16-le")]
)
def test_blank_text_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(data)
    rejected(lambda: open_file(path, filename="blank.csv"), "import_empty")


def test_workbook_with_only_a_header_or_no_cells(tmp_path: Path) -> None:
    header_only = files.write_xlsx(tmp_path / "h.xlsx", [["نام", "موبایل"]])
    rejected(lambda: open_file(header_only, filename="h.xlsx"), "import_empty")
    no_cells = files.write_xlsx(tmp_path / "e.xlsx", [])
    rejected(lambda: open_file(no_cells, filename="e.xlsx"), "import_empty")
    ods = files.write_ods(tmp_path / "e.ods", [[None, None]])
    rejected(lambda: open_file(ods, filename="e.ods"), "import_empty")


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text(text: str) -> None:
    rejected(lambda: open_text(text), "import_empty")


def test_corrupt_workbooks(tmp_path: Path) -> None:
    good = files.write_xlsx(tmp_path / "good.xlsx", PERSIAN_TABLE)
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    rejected(lambda: open_file(truncated, filename="truncated.xlsx"), "import_corrupt")

    broken = files.write_zip(
        tmp_path / "broken.xlsx", {**files.XLSX_SKELETON, "xl/workbook.xml": "<workbook><sheets><sheet"}
    )
    rejected(lambda: open_file(broken, filename="broken.xlsx"), "import_corrupt")

    ole = tmp_path / "ole.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2000))
    rejected(lambda: open_file(ole, filename="ole.xls"), "import_corrupt")


@pytest.mark.parametrize("kind", ["csv", "docx", "doc", "png"])
def test_content_not_matching_a_workbook_extension_is_corrupt(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "upload"
    if kind == "csv":
        write_text(path, "mobile\n09121234567\n")
    elif kind == "docx":
        files.write_zip(path, {"word/document.xml": "<w:document/>", "[Content_Types].xml": "<Types/>"})
    elif kind == "doc":
        files.write_ole2(path, {"WordDocument": b"\0" * 5000})
    else:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    error = rejected(lambda: open_file(path, filename="مشتریان.xlsx"), "import_corrupt")
    assert "xlsx" in error.message_en


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
        ("data.bin", bytes(range(256)) * 4),
        ("letter.docx", None),
        ("letter.doc", None),
    ],
)
def test_unsupported_formats(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if name.endswith(".docx"):
        files.write_zip(path, {"word/document.xml": "<w:document/>"})
    elif name.endswith(".doc"):
        files.write_ole2(path, {"WordDocument": b"\0" * 100})
    else:
        assert content is not None
        path.write_bytes(content)
    rejected(lambda: open_file(path, filename=name), "import_unsupported_format")


def test_encrypted_workbooks(tmp_path: Path) -> None:
    ooxml = files.write_encrypted_ooxml(tmp_path / "locked.xlsx")
    rejected(lambda: open_file(ooxml, filename="locked.xlsx"), "import_encrypted")
    small_xls = files.write_encrypted_xls(tmp_path / "locked.xls")
    rejected(lambda: open_file(small_xls, filename="locked.xls"), "import_encrypted")
    big_xls = files.write_encrypted_xls(tmp_path / "big.xls", pad_to=40_000)
    rejected(lambda: open_file(big_xls, filename="big.xls"), "import_encrypted")
    ods = files.write_ods(tmp_path / "locked.ods", [["09121234567"]], encrypted=True)
    rejected(lambda: open_file(ods, filename="locked.ods"), "import_encrypted")


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    sheet = files.sheet_xml(["09121234567"], padding=8 * 1024 * 1024)
    path = files.write_zip(tmp_path / "bomb.xlsx", {**files.XLSX_SKELETON, "xl/worksheets/sheet1.xml": sheet})
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").compress_size < 20_000
    error = rejected(lambda: open_file(path, filename="bomb.xlsx"), "import_zip_bomb")
    assert error.extra["max_ratio"] == 100
    # The same archive is accepted when the ratio allowed is above deflate's maximum.
    relaxed = Limits(max_ratio=2000)
    assert triples(open_file(path, filename="bomb.xlsx", limits=relaxed)) == [(1, "09121234567", None)]


def test_zip_bomb_by_total_size(tmp_path: Path) -> None:
    path = files.write_xlsx(tmp_path / "big.xlsx", [[f"0912{i:07d}"] for i in range(5000)])
    error = rejected(
        lambda: open_file(path, filename="big.xlsx", limits=Limits(max_uncompressed=100_000)),
        "import_zip_bomb",
    )
    assert error.extra["max_uncompressed"] == 100_000


def test_zip_bomb_hidden_behind_small_declared_sizes(tmp_path: Path) -> None:
    sheet = files.sheet_xml(["09121234567"], padding=4 * 1024 * 1024)
    entries = {name: (data.encode(), len(data.encode())) for name, data in files.XLSX_SKELETON.items()}
    entries["xl/worksheets/sheet1.xml"] = (sheet, 2000)
    path = files.write_zip_declaring(tmp_path / "liar.xlsx", entries)
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    assert info.file_size == 2000  # the directory looks harmless
    rejected(lambda: open_file(path, filename="liar.xlsx"), "import_zip_bomb")


def test_zip_with_too_many_entries(tmp_path: Path) -> None:
    entries: dict[str, bytes | str] = {**files.XLSX_SKELETON}
    entries.update({f"xl/media/{i}.bin": b"" for i in range(10_001)})
    path = files.write_zip(tmp_path / "many.xlsx", entries)
    rejected(lambda: open_file(path, filename="many.xlsx"), "import_zip_bomb")


def test_too_large(tmp_path: Path) -> None:
    path = write_text(tmp_path / "big.csv", "09121234567\n" * 200)
    error = rejected(
        lambda: open_file(path, filename="big.csv", limits=Limits(max_bytes=1000)), "import_too_large"
    )
    assert error.extra == {"size": 2400, "max_bytes": 1000}
    assert "۱۰۰۰ بایت" in error.message_fa or "کیلوبایت" in error.message_fa
    error = rejected(
        lambda: open_text("۰۹۱۲۱۲۳۴۵۶۷\n" * 50, limits=Limits(max_bytes=1000)), "import_too_large"
    )
    assert error.extra["max_bytes"] == 1000


@pytest.mark.parametrize("writer", [files.write_xlsx, files.write_xls, files.write_ods])
def test_too_many_rows_in_workbooks(tmp_path: Path, writer: Any) -> None:
    table = [["موبایل"]] + [[f"0912{i:07d}"] for i in range(10)]
    path = writer(tmp_path / "rows", table)
    assert len(list(open_file(path, filename="rows.xlsx", limits=Limits(max_rows=10)))) == 10
    error = rejected(
        lambda: open_file(path, filename="rows.xlsx", limits=Limits(max_rows=9)), "import_too_many_rows"
    )
    assert error.extra == {"max_rows": 9}
    assert "۹" in error.message_fa


def test_too_many_rows_in_text_files(tmp_path: Path) -> None:
    table = write_text(tmp_path / "t.csv", "name,mobile\n" + "x,09121234567\n" * 10)
    assert len(list(open_file(table, filename="t.csv", limits=Limits(max_rows=10)))) == 10
    rejected(lambda: open_file(table, filename="t.csv", limits=Limits(max_rows=9)), "import_too_many_rows")
    # Quoted line breaks make more lines than rows; only rows count.
    quoted = write_text(tmp_path / "q.csv", "name,mobile\n" + '"a\nb",09121234567\n' * 10)
    assert len(list(open_file(quoted, filename="q.csv", limits=Limits(max_rows=10)))) == 10
    listed = write_text(tmp_path / "l.txt", "09121234567\n" * 11)
    rejected(lambda: open_file(listed, filename="l.txt", limits=Limits(max_rows=10)), "import_too_many_rows")


def test_too_many_numbers_in_text() -> None:
    rejected(lambda: open_text("09121234567\n" * 11, limits=Limits(max_rows=10)), "import_too_many_rows")
    # Several numbers on a line are counted as they are read, past the sampled lines too.
    text = "09121234567, 09351234567\n" * 1500
    reader = open_text(text, limits=Limits(max_rows=2500))
    rejected(lambda: list(reader), "import_too_many_rows")


@pytest.mark.parametrize(
    "table",
    [
        [["نام", "شهر"], ["علی", "تهران"]],
        [["کد"], [12345], [67890]],
        [["phone"], ["0212"], ["abc"]],
    ],
)
def test_no_phone_column(tmp_path: Path, table: list[list[Any]]) -> None:
    path = files.write_xlsx(tmp_path / "n.xlsx", table)
    rejected(lambda: open_file(path, filename="n.xlsx"), "import_no_phone_column")


def test_no_phone_numbers_in_text(tmp_path: Path) -> None:
    rejected(lambda: open_text("سلام\nخداحافظ"), "import_no_phone_column")
    rejected(lambda: open_text("12, 345"), "import_no_phone_column")
    path = write_text(tmp_path / "names.txt", "علی\nرضا\n")
    rejected(lambda: open_file(path, filename="names.txt"), "import_no_phone_column")


@pytest.mark.parametrize(
    "data",
    [
        "mobile\n09121234567\n".encode("utf-16-le"),  # UTF-16 without its BOM
        codecs.BOM_UTF8 + b"mobile\n\xff\xfe\xfa09121234567\n",
        codecs.BOM_UTF16_LE + b"\x00\xd8A\x00",  # a lone surrogate
        b"\x01\x02\x03\x04\x05\x06\x07\x08 \xff\xfe 09121234567\n",
    ],
)
def test_unknown_encoding(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(data)
    rejected(lambda: open_file(path, filename="e.csv"), "import_unknown_encoding")


# --- memory guards ------------------------------------------------------------------------------
# Each file below is a few kilobytes that makes calamine ask for gigabytes to terabytes; a failed
# allocation there aborts the process. They are opened in a child process so that a guard that
# stopped working fails this test instead of killing the test run.

_CHILD = """
import json, sys
from payamak.phonebook.reader import ImportRejected, open_file
try:
    count = sum(1 for _ in open_file(sys.argv[1], filename=sys.argv[2]))
    print(json.dumps({"code": None, "rows": count}))
except ImportRejected as error:
    print(json.dumps({"code": error.code, **error.extra}))
"""


def open_elsewhere(path: Path, filename: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), filename],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def cell(reference: str, value: str = "9121234567") -> bytes:
    return f'<c r="{reference}"><v>{value}</v></c>'.encode()


XLSX_ATTACKS = {
    # Two cells at opposite corners: one dense block of 17 billion cells.
    "corners": b'<row r="1">' + cell("A1") + b'</row><row r="1048576">' + cell("XFD1048576") + b"</row>",
    # Cells without references sit where calamine's counters say: 20,000 columns by 900,000 rows.
    "counters": b'<row r="1">' + b"<c><v>1</v></c>" * 20_000 + b'</row><row r="900000"><c><v>1</v></c></row>',
    # The same far cell behind spellings a careless scan would miss.
    "lowercase": b'<row r="1">' + cell("A1") + cell("xfd1048576") + b"</row>",
    "spaces": b'<row r="1">' + cell("A1") + b'<c  r = "XFD1048576"><v>1</v></c></row>',
    "prefix": b'<row r="1">' + cell("A1") + b'<x:c xmlns:x="urn:x" r="XFD1048576"><v>1</v></x:c></row>',
    "quoted-gt": b'<row r="1">' + cell("A1") + b'<c x=">" r="XFD1048576"><v>1</v></c></row>',
    # A row reference inside a comment must not reset the row counter as real markup would.
    "comment": b'<row r="1">'
    + cell("A1")
    + b'</row><row r="2">'
    + cell("Z2")
    + b'</row><row r="2000000"><!-- <row r="1"> --><c><v>1</v></c></row>',
}


@pytest.mark.parametrize("attack", sorted(XLSX_ATTACKS))
def test_xlsx_dense_range_bombs(tmp_path: Path, attack: str) -> None:
    path = files.write_xlsx_sheet(tmp_path / "bomb.xlsx", XLSX_ATTACKS[attack])
    result = open_elsewhere(path, "bomb.xlsx")
    assert result["code"] == "import_too_large"
    assert result["rows"] * result["columns"] > result["max_cells"] == 20_000_000


def test_xlsx_far_cell_written_by_xlsxwriter(tmp_path: Path) -> None:
    path = tmp_path / "far.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "09121234567")
    sheet.write_string(1_048_575, 16_383, "x")
    book.close()
    assert open_elsewhere(path, "far.xlsx") == {
        "code": "import_too_large",
        "rows": 1_048_576,
        "columns": 16_384,
        "max_cells": 20_000_000,
    }


def test_xlsx_second_reference_in_a_cell_is_refused(tmp_path: Path) -> None:
    # Which of two r= attributes calamine takes depends on its version.
    sheet_data = b'<row r="1">' + cell("A1") + b'<c r="B1" r="XFD1048576"><v>1</v></c></row>'
    path = files.write_xlsx_sheet(tmp_path / "odd.xlsx", sheet_data)
    assert open_elsewhere(path, "odd.xlsx")["code"] == "import_corrupt"


def test_xlsx_doctype_falls_back_to_a_bound_that_holds_however_it_is_read(tmp_path: Path) -> None:
    harmless = b"<row><c><v>9121234567</v></c></row><!DOCTYPE x>"
    path = files.write_xlsx_sheet(tmp_path / "ok.xlsx", harmless)
    assert open_elsewhere(path, "ok.xlsx") == {"code": None, "rows": 1}
    # A DTD can hide markup from one parser and show it to another; the bound counts it either way.
    hiding = (
        b'<!DOCTYPE x [<!ENTITY e "<row r=\'1\'>">]><row r="1">'
        + b"<c><v>1</v></c>" * 20_000
        + b'</row><row r="900000"><c><v>1</v></c></row>'
    )
    path = files.write_xlsx_sheet(tmp_path / "bomb.xlsx", hiding)
    assert open_elsewhere(path, "bomb.xlsx")["code"] == "import_too_large"


def test_binary_parts_that_look_like_markup_do_not_trip_the_checks(tmp_path: Path) -> None:
    good = files.write_xlsx(tmp_path / "good.xlsx", [["موبایل"], ["09121234567"]])
    with zipfile.ZipFile(good) as archive:
        entries: dict[str, bytes | str] = {name: archive.read(name) for name in archive.namelist()}
    noise = bytearray(os.urandom(300_000))
    for offset, fragment in ((1000, b"<c \x00\x9f"), (50_000, b"<!\xff\x10"), (90_000, b"<?\x01")):
        noise[offset : offset + len(fragment)] = fragment
    entries["xl/media/image1.png"] = b"\x89PNG\r\n\x1a\n" + bytes(noise)
    path = files.write_zip(tmp_path / "picture.xlsx", entries)
    assert triples(open_file(path, filename="picture.xlsx")) == [(2, "09121234567", None)]


def test_xlsx_shared_strings_count_is_bounded(tmp_path: Path) -> None:
    lying = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        b' count="1" uniqueCount="100000000000"><si><t>x</t></si></sst>'
    )
    path = files.write_xlsx_sheet(
        tmp_path / "sst.xlsx", b'<row r="1">' + cell("A1") + b"</row>", shared_strings=lying
    )
    assert open_elsewhere(path, "sst.xlsx")["code"] == "import_corrupt"
    honest = lying.replace(b"100000000000", b"1")
    path = files.write_xlsx_sheet(
        tmp_path / "ok.xlsx", b'<row r="1">' + cell("A1") + b"</row>", shared_strings=honest
    )
    assert triples(open_file(path, filename="ok.xlsx")) == [(1, 9121234567, None)]


@pytest.mark.parametrize(
    "sheet_data",
    [
        # No references at all: positions come from the counters.
        b'<row><c><v>9121234567</v></c><c t="inlineStr"><is><t>x</t></is></c></row><row><c><v>9351234567</v></c></row>',
        # Attributes beyond r, s and t, single quotes, lowercase references: all legal, all slower.
        b'<row r="1"><c r="A1" s="0" t="n" cm="1"><v>9121234567</v></c></row>'
        b"<row r='2'><c r='a2'><v>9351234567</v></c></row>",
    ],
)
def test_unusual_but_harmless_xlsx_markup_is_read(tmp_path: Path, sheet_data: bytes) -> None:
    path = files.write_xlsx_sheet(tmp_path / "odd.xlsx", sheet_data)
    assert [(r.number, r.phone) for r in open_file(path, filename="odd.xlsx")] == [
        (1, 9121234567),
        (2, 9351234567),
    ]


def test_wide_sheet_takes_the_exact_check_and_is_read(tmp_path: Path) -> None:
    table = [[f"c{c}" for c in range(40)]] + [
        [f"0912{r:07d}" if c == 31 else f"v{c}" for c in range(40)] for r in range(300)
    ]
    reader = open_file(files.write_xlsx(tmp_path / "wide.xlsx", table), filename="wide.xlsx")
    rows = list(reader)
    assert reader.phone_column == 31 and len(rows) == 300 and rows[0].fields["c39"] == "v39"


def test_max_cells_applies_to_ordinary_files(tmp_path: Path) -> None:
    path = files.write_xlsx(tmp_path / "t.xlsx", [["09121234567", "x", "y"]] * 10)
    error = rejected(
        lambda: open_file(path, filename="t.xlsx", limits=Limits(max_cells=29)), "import_too_large"
    )
    assert error.extra == {"rows": 10, "columns": 3, "max_cells": 29}
    assert len(list(open_file(path, filename="t.xlsx", limits=Limits(max_cells=30)))) == 10


FILLED = '<table:table-cell table:number-columns-repeated="{}" office:value-type="string"><text:p>x</text:p></table:table-cell>'
ODS_ATTACKS = {
    "repeats": '<table:table-row table:number-rows-repeated="100000">'
    + FILLED.format(1000)
    + "</table:table-row>",
    # calamine decodes character references in the row count before parsing it.
    "entities": '<table:table-row table:number-rows-repeated="&#49;&#48;&#48;&#48;&#48;&#48;">'
    + FILLED.format(1000)
    + "</table:table-row>",
    "hidden": "<table:table-row table:style-name=\"table:number-rows-repeated='1'\""
    ' table:number-rows-repeated="100000">' + FILLED.format(1000) + "</table:table-row>",
}


@pytest.mark.parametrize("attack", sorted(ODS_ATTACKS))
def test_ods_repeat_bombs(tmp_path: Path, attack: str) -> None:
    # 800 bytes that make calamine use 12 GB.
    path = files.write_ods_rows(tmp_path / "bomb.ods", ODS_ATTACKS[attack])
    assert open_elsewhere(path, "bomb.ods") == {
        "code": "import_too_large",
        "rows": 100_000,
        "columns": 1000,
        "max_cells": 20_000_000,
    }


def test_ods_trailing_empty_repeats_as_office_suites_write_them(tmp_path: Path) -> None:
    rows = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>موبایل</text:p>'
        '</table:table-cell><table:table-cell table:number-columns-repeated="1023"/></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="float" office:value="9121234567">'
        '<text:p>9121234567</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1023"/>'
        '</table:table-row><table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    path = files.write_ods_rows(tmp_path / "lo.ods", rows)
    assert triples(open_file(path, filename="lo.ods")) == [(2, 9121234567, None)]


@pytest.mark.parametrize(
    ("cells", "dimensions", "size"),
    [
        ([(0, 0, 9121234567.0)], (0, 0xFFFFFFF0, 0, 200), (0xFFFFFFF0, 200)),  # DIMENSIONS reserved up front
        ([(0, 0, 9121234567.0)], (10, 5, 0, 1), (0xFFFFFFFB, 1)),  # last row before the first: wraps
        ([(0, 0, 9121234567.0), (65535, 60000, 1.0)], (0, 1, 0, 1), (65536, 60001)),  # far cell
    ],
)
def test_xls_allocation_bombs(
    tmp_path: Path,
    cells: list[tuple[int, int, float]],
    dimensions: tuple[int, int, int, int],
    size: tuple[int, int],
) -> None:
    path = files.write_biff(tmp_path / "bomb.xls", cells, dimensions=dimensions)
    result = open_elsewhere(path, "bomb.xls")
    assert result["code"] == "import_too_large" and (result["rows"], result["columns"]) == size


def test_hand_written_biff_is_read(tmp_path: Path) -> None:
    path = files.write_biff(tmp_path / "b.xls", [(0, 0, "موبایل"), (1, 0, 9121234567.0), (2, 1, "علی")])
    assert [(r.number, r.phone, r.fields) for r in open_file(path, filename="b.xls")] == [
        (2, 9121234567, {}),
        (3, "", {"B": "علی"}),
    ]


def test_binary_workbooks_are_not_supported(tmp_path: Path) -> None:
    path = files.write_zip(
        tmp_path / "b.xlsb", {"xl/workbook.bin": b"\0" * 10, "[Content_Types].xml": "<Types/>"}
    )
    rejected(lambda: open_file(path, filename="b.xlsb"), "import_unsupported_format")


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**9), st.integers(1, 10**9), st.integers(1, 20_000), st.integers(1, 20_000))
def test_bound_patterns_match_exactly_the_values_at_or_below_the_limit(
    limit: int, value: int, column_limit: int, column: int
) -> None:
    numbers = re.compile(_at_most(str(limit), string.digits, first="1"))
    assert bool(numbers.fullmatch(str(value).encode())) == (value <= limit)
    letters = re.compile(_at_most(_column_letter(column_limit - 1), string.ascii_uppercase, first="A"))
    assert bool(letters.fullmatch(_column_letter(column - 1).encode())) == (column <= column_limit)


def test_every_code_is_exercised() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    assert all(f'"{code}"' in source for code in CODES)


# --- speed --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_reading_stays_close_to_calamine(tmp_path: Path) -> None:
    path = tmp_path / "speed.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "موبایل")
    for i in range(1, 200_001):
        sheet.write_number(i, 0, 9120000000 + i)
    book.close()

    def calamine() -> float:
        start = time.perf_counter()
        load_workbook(str(path)).get_sheet_by_index(0).to_python()
        return time.perf_counter() - start

    def ours() -> float:
        start = time.perf_counter()
        count = sum(1 for _ in open_file(path, filename="speed.xlsx"))
        assert count == 200_000
        return time.perf_counter() - start

    baseline = min(calamine() for _ in range(2))
    measured = min(ours() for _ in range(2))
    assert measured < 2.5 * baseline, (measured, baseline)


def test_row_is_an_immutable_record() -> None:
    row = Row(1, "09121234567", None, {})
    with pytest.raises(AttributeError):
        row.number = 2  # type: ignore[misc]
    assert row._fields == ("number", "phone", "name", "fields")
