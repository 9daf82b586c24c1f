"""Exports of a group to CSV and xlsx, streamed in pages so memory stays flat at any size.

Every text cell that a spreadsheet could take for a formula (it starts with = + - @, a tab or a
carriage return) gets a leading apostrophe: a name such as `=HYPERLINK(...)` typed by anyone who
can reach the phonebook must never run in the account owner's Excel.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import xlsxwriter
from sqlalchemy.orm import Session

from payamak.phonebook import keys as numkeys
from payamak.phonebook import repository as repo
from payamak.phonebook import service

PAGE: Final = 5000
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
NUMBER_HEADER: Final = "شماره موبایل"
NAME_HEADER: Final = "نام"
CSV_CHUNK: Final = 1 << 16


def safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_table(
    session: Session, *, account_id: int, group_id: int
) -> tuple[list[str], Iterator[list[str]]]:
    """The header and, lazily, one row per number (number, name, then every field used)."""
    service.owned_group(session, account_id=account_id, group_id=group_id)
    fields = repo.field_names(session, group_id=group_id)
    header = [safe_cell(h) for h in (NUMBER_HEADER, NAME_HEADER, *fields)]

    def rows() -> Iterator[list[str]]:
        after: int | None = None
        while True:
            page = repo.numbers_after(session, group_id=group_id, after_key=after, limit=PAGE)
            for key, name, values in page:
                row = [safe_cell(numkeys.to_local(key)), safe_cell(name or "")]
                if fields:
                    values = values or {}
                    row.extend(safe_cell(str(values.get(f, ""))) for f in fields)
                yield row
            if len(page) < PAGE:
                return
            after = page[-1][0]

    return header, rows()


def csv_chunks(session: Session, *, account_id: int, group_id: int) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark, which Excel needs to show Persian text."""
    header, rows = export_table(session, account_id=account_id, group_id=group_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(session: Session, *, account_id: int, group_id: int, path: Path) -> None:
    """An xlsx file at `path`; constant-memory mode writes rows out as they come."""
    header, rows = export_table(session, account_id=account_id, group_id=group_id)
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        sheet = workbook.add_worksheet()
        sheet.right_to_left()
        bold = workbook.add_format({"bold": True})
        sheet.set_column(0, 0, 16)
        sheet.set_column(1, 1, 24)
        for column, title in enumerate(header):
            sheet.write_string(0, column, title, bold)
        for number, row in enumerate(rows, 1):
            for column, value in enumerate(row):
                if value:
                    sheet.write_string(number, column, value)
    finally:
        workbook.close()
