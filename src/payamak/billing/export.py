"""Statement files: CSV and xlsx with Jalali dates, safe to open in a spreadsheet.

Text cells never become formulas: xlsx cells are written as strings explicitly, and in CSV a
text that a spreadsheet would read as a formula (= + - @, tab, carriage return first) gets a
leading apostrophe, the usual defence against CSV injection.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import jdatetime
import xlsxwriter

from payamak.billing.models import LedgerEntry

KIND_LABELS: dict[str, tuple[str, str]] = {
    "purchase": ("خرید بسته", "Package purchase"),
    "grant": ("افزایش اعتبار توسط مدیر", "Credit granted"),
    "adjustment": ("کسر اعتبار توسط مدیر", "Credit deducted"),
    "hold": ("رزرو برای ارسال", "Held for a send"),
    "release": ("بازگشت رزرو", "Hold released"),
    "settle": ("هزینهٔ قطعی ارسال", "Send settled"),
    "refund": ("بازپرداخت", "Refund"),
}
REF_LABELS: dict[str, tuple[str, str]] = {
    "payment": ("پرداخت", "payment"),
    "send": ("ارسال", "send"),
    "admin": ("مدیر", "admin"),
    "operator": ("مدیر سامانه (خط فرمان)", "operator (command line)"),
}
HEADERS = {
    "fa": [
        "شناسه",
        "تاریخ",
        "زمان (UTC)",
        "نوع",
        "مبلغ (ریال)",
        "تغییر رزرو (ریال)",
        "مانده (ریال)",
        "شرح",
        "مرجع",
    ],
    "en": [
        "ID",
        "Date (Jalali)",
        "Time (UTC)",
        "Kind",
        "Amount (rials)",
        "Held change (rials)",
        "Balance (rials)",
        "Description",
        "Reference",
    ],
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def kind_label(kind: str, lang: str = "fa") -> str:
    fa, en = KIND_LABELS.get(kind, (kind, kind))
    return en if lang == "en" else fa


def reference_label(ref_type: str, ref_id: int | None, lang: str = "fa") -> str:
    fa, en = REF_LABELS.get(ref_type, (ref_type, ref_type))
    name = en if lang == "en" else fa
    return f"{name} {ref_id}" if ref_id is not None else name


def jalali_text(entry: LedgerEntry, tz: ZoneInfo) -> str:
    """Jalali date and time in `tz`, Latin digits so spreadsheets sort it: 1404/03/01 14:30:05."""
    local = entry.created_at.astimezone(tz).replace(tzinfo=None)
    return str(jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M:%S"))


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(entry: LedgerEntry, tz: ZoneInfo, lang: str) -> list[str | int]:
    return [
        entry.id,
        jalali_text(entry, tz),
        entry.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        kind_label(entry.kind, lang),
        entry.amount,
        entry.held,
        entry.balance_after,
        entry.description,
        reference_label(entry.ref_type, entry.ref_id, lang),
    ]


def write_csv(entries: Iterable[LedgerEntry], *, tz: ZoneInfo, lang: str = "fa") -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to show Persian rather than mojibake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS["en" if lang == "en" else "fa"])
    for entry in entries:
        writer.writerow(
            [safe_text(cell) if isinstance(cell, str) else cell for cell in _row(entry, tz, lang)]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(entries: Iterable[LedgerEntry], *, tz: ZoneInfo, lang: str = "fa") -> bytes:
    """One right-to-left sheet; rows are streamed to a temporary file, so long histories fit."""
    with tempfile.TemporaryDirectory() as tmp:
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "tmpdir": tmp, "in_memory": False})
        sheet = book.add_worksheet("صورت‌حساب" if lang != "en" else "Statement")
        if lang != "en":
            sheet.right_to_left()
        bold = book.add_format({"bold": True})
        money = book.add_format({"num_format": "#,##0"})
        for col, title in enumerate(HEADERS["en" if lang == "en" else "fa"]):
            sheet.write_string(0, col, title, bold)
        sheet.set_column(0, 0, 10)
        sheet.set_column(1, 2, 21)
        sheet.set_column(3, 3, 22)
        sheet.set_column(4, 6, 16)
        sheet.set_column(7, 7, 44)
        sheet.set_column(8, 8, 18)
        for row, entry in enumerate(entries, start=1):
            for col, cell in enumerate(_row(entry, tz, lang)):
                if isinstance(cell, int):
                    sheet.write_number(row, col, cell, money if col >= 4 else None)
                else:
                    sheet.write_string(row, col, cell)
        book.close()
        return buffer.getvalue()
