"""Tables out: CSV and xlsx exports that stream, and cells spreadsheet programs cannot run.

Every export (group numbers, send reports, statements) goes through here, so the defence against
formula injection (a cell starting with = + - @ is executed by Excel) lives in one place.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal
from urllib.parse import quote

import xlsxwriter
from fastapi.responses import StreamingResponse

Cell = str | int | float | None
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Cell:
    """Numbers stay numbers; text that a spreadsheet would read as a formula gets a leading quote."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value).lower()
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, which Excel needs to show Persian text rightly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([safe(v) for v in row])
        if n % 2000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1", rtl: bool = True) -> Iterator[bytes]:
    """An xlsx written row by row to a temporary file (constant memory), then streamed and removed."""
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
        ws = book.add_worksheet(sheet[:31])
        if rtl:
            ws.right_to_left()
        bold = book.add_format({"bold": True})
        ws.write_row(0, 0, list(header), bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                cell = safe(value)
                if isinstance(cell, str):
                    ws.write_string(r, c, cell)
                elif cell is not None:
                    ws.write_number(r, c, cell)
        book.close()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                yield chunk
    finally:
        os.unlink(path)


def download(filename: str, fmt: Literal["xlsx", "csv"], header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1") -> StreamingResponse:
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    body = csv_chunks(header, rows) if fmt == "csv" else xlsx_chunks(header, rows, sheet=sheet)
    name = f"{filename}.{fmt}"
    disposition = f"attachment; filename=\"{name.encode('ascii', 'ignore').decode() or 'export.' + fmt}\"; filename*=UTF-8''{quote(name)}"
    return StreamingResponse(body, media_type=media, headers={"Content-Disposition": disposition})
