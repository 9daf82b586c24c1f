"""Reading phonebook imports: pasted text or an uploaded file, as a stream of rows.

Nothing here touches the database. `open_text` and `open_file` check everything that can be checked
up front (size, real format by magic bytes, password protection, zip bombs, text encoding, header
and phone column, row limit) and only then return a `Reader`; iterating it yields `Row`s lazily.
Every refusal is an `ImportRejected` (a `ValidationFailed`) whose `code` is one of `CODES`.

Two layouts:

* **table** — spreadsheets and delimited text files. The first non-empty row is a header when it
  names a column in Persian or English («موبایل», «شماره همراه», "mobile", «نام», "name" …) or when
  its cell in the phone column is a word rather than a number. The phone column is the header's
  phone column if it holds phone-like values, else the column holding the most of them in the
  first `SAMPLE_ROWS` non-empty rows; the name column is found by header only. `Row.fields` holds
  the other non-empty cells keyed by header text (or column letter when there is no header).
* **list** — pasted text, plain lists of numbers, and delimited files whose rows mostly carry
  several mobile numbers each. Each line is cut at «,» «،» «;» «؛» and tabs. A piece is cut at
  spaces only when some of its words are whole phone numbers on their own; then those words are the
  numbers, and other words with digits (list numbering such as «1-», a country code written apart)
  are dropped. Otherwise the piece is one number, spaces included, so «0912 345 6789» stays whole
  (and «0912 345 6789 0935 123 4567» stays one invalid value: the two numbers cannot be told apart).
  Text without digits on a line with exactly one number becomes that number's name; header words
  and other digit-free lines are skipped. Several numbers on a line share its line number.

`Row.number` is the 1-based row (line) the user sees in the file, the header counted.

Files are told apart by their bytes, not their names: xlsx and ods (zip), xls (OLE2), anything
else readable as text is CSV/TXT (BOM, else strict UTF-8, else Windows-1256). A name that
promises a workbook over other content is `import_corrupt`. Binary workbooks (xlsb) are refused.

Before calamine sees a workbook: every zip entry is inflated against the size its directory
declares; password protection (OOXML EncryptionInfo, BIFF FILEPASS, ODF encryption-data) is
refused; and the numbers calamine sizes memory by are bounded. calamine allocates a sheet as one
rows x columns block from the cell positions the file states (xlsx references and implicit
counters, ods repeat counts, xls cells and DIMENSIONS) and reserves what the shared-string count
claims; a failed allocation there aborts the process, so a few kilobytes could otherwise kill it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import string
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Final, Literal, NamedTuple, TypeAlias

from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from payamak.errors import ValidationFailed
from payamak.numbers import mobile_key, to_ascii_digits

__all__ = [
    "CODES",
    "DEFAULT_LIMITS",
    "SAMPLE_ROWS",
    "ImportRejected",
    "Limits",
    "Preview",
    "Reader",
    "Row",
    "open_file",
    "open_text",
    "preview_file",
    "preview_text",
]

Cell: TypeAlias = int | float | str | bool | date | datetime | time | timedelta
Layout: TypeAlias = Literal["table", "list"]
Format: TypeAlias = Literal["text", "csv", "xlsx", "xls", "ods"]

SAMPLE_ROWS: Final = 1000
_PREVIEW_MAX: Final = 100

CODES: Final = frozenset(
    {
        "import_empty",
        "import_corrupt",
        "import_encrypted",
        "import_zip_bomb",
        "import_too_large",
        "import_too_many_rows",
        "import_no_phone_column",
        "import_unknown_encoding",
        "import_unsupported_format",
        "import_bad_column",
    }
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 2_000_000
    # Unpacked size of all entries of an xlsx/ods; calamine holds a whole sheet in memory.
    max_uncompressed: int = 1024 * 1024 * 1024
    # Real sheets compress about 5-15:1; deflate cannot exceed about 1030:1, which bombs approach.
    max_ratio: int = 100
    # calamine holds a sheet as one dense block of rows x columns (32 bytes a cell), sized from
    # the cell positions the file states: 20 million cells is about 640 MB.
    max_cells: int = 20_000_000


DEFAULT_LIMITS: Final = Limits()


class Row(NamedTuple):
    """One value to import. A NamedTuple because a frozen dataclass doubles the per-row cost."""

    number: int
    phone: str | int | float
    name: str | None
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Preview:
    format: Format
    layout: Layout
    encoding: str | None
    columns: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    phone_column: int
    name_column: int | None
    has_header: bool
    total_rows: int | None


class ImportRejected(ValidationFailed):
    """A file or text that cannot be imported as given; `code` is one of `CODES`."""

    code = "import_rejected"


# --- messages -----------------------------------------------------------------------------------

_FA_DIGITS: Final = str.maketrans("0123456789,.", "۰۱۲۳۴۵۶۷۸۹٬٫")


def _fa(text: str) -> str:
    return text.translate(_FA_DIGITS)


def _size_en(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _size_fa(n: int) -> str:
    units = {"GB": "گیگابایت", "MB": "مگابایت", "KB": "کیلوبایت", "bytes": "بایت"}
    number, unit = _size_en(n).split(" ")
    return f"{_fa(number)} {units[unit]}"


def _empty(*, text: bool = False, header_only: bool = False) -> ImportRejected:
    if header_only:
        return ImportRejected(
            "فایل فقط سطر عنوان دارد و ردیفی برای وارد کردن در آن نیست.",
            "The file has a header row but no rows to import.",
            code="import_empty",
        )
    if text:
        return ImportRejected("متن واردشده خالی است.", "The text is empty.", code="import_empty")
    return ImportRejected("فایل خالی است.", "The file is empty.", code="import_empty")


def _corrupt(filename: str, *, mismatch: bool = False) -> ImportRejected:
    ext = _extension(filename)
    if mismatch and ext:
        return ImportRejected(
            f"فایل «{filename}» یک فایل {ext} واقعی نیست؛ محتوای آن با پسوندش جور درنمی‌آید."
            " آن را در اکسل باز کنید و دوباره ذخیره کنید.",
            f"“{filename}” is not a real {ext} file: its content does not match its extension."
            " Open it in Excel and save it again.",
            code="import_corrupt",
            filename=filename,
        )
    return ImportRejected(
        f"فایل «{filename}» خراب است و خوانده نمی‌شود. آن را در اکسل باز کنید و دوباره ذخیره کنید.",
        f"“{filename}” is damaged and cannot be read. Open it in Excel and save it again.",
        code="import_corrupt",
        filename=filename,
    )


def _encrypted(filename: str) -> ImportRejected:
    return ImportRejected(
        f"فایل «{filename}» با رمز عبور قفل شده است. رمز را در اکسل بردارید، فایل را دوباره ذخیره کنید"
        " و بارگذاری کنید.",
        f"“{filename}” is password-protected. Remove the password in Excel, save the file and upload it"
        " again.",
        code="import_encrypted",
        filename=filename,
    )


def _zip_bomb(filename: str, limits: Limits) -> ImportRejected:
    return ImportRejected(
        f"فایل «{filename}» پس از باز شدن بیش از اندازه بزرگ می‌شود و برای امنیت پذیرفته نشد"
        f" (سقف حجم باز شده {_size_fa(limits.max_uncompressed)} و نسبت فشرده‌سازی حداکثر"
        f" {_fa(str(limits.max_ratio))} به ۱ است).",
        f"“{filename}” unpacks to more than is safe and was rejected (at most"
        f" {_size_en(limits.max_uncompressed)} unpacked and {limits.max_ratio}:1 compression).",
        code="import_zip_bomb",
        filename=filename,
        max_uncompressed=limits.max_uncompressed,
        max_ratio=limits.max_ratio,
    )


def _too_large(size: int, limits: Limits, *, text: bool = False) -> ImportRejected:
    what_fa, what_en = ("متن", "text") if text else ("فایل", "file")
    return ImportRejected(
        f"حجم {what_fa} ({_size_fa(size)}) بیشتر از سقف مجاز {_size_fa(limits.max_bytes)} است."
        f" {what_fa} را کوچک‌تر کنید یا در چند بخش وارد کنید.",
        f"The {what_en} is {_size_en(size)}, over the {_size_en(limits.max_bytes)} limit."
        " Make it smaller or import it in parts.",
        code="import_too_large",
        size=size,
        max_bytes=limits.max_bytes,
    )


def _too_many_rows(limits: Limits) -> ImportRejected:
    return ImportRejected(
        f"تعداد ردیف‌ها بیشتر از {_fa(f'{limits.max_rows:,}')} است که سقف یک بار وارد کردن است."
        " آن را در چند فایل جدا وارد کنید.",
        f"There are more than {limits.max_rows:,} rows, the most one import accepts."
        " Split it into several files.",
        code="import_too_many_rows",
        max_rows=limits.max_rows,
    )


def _no_phone_column(*, text: bool = False) -> ImportRejected:
    if text:
        return ImportRejected(
            "در متن واردشده شماره تلفنی پیدا نشد.",
            "No phone numbers were found in the text.",
            code="import_no_phone_column",
        )
    return ImportRejected(
        "ستونی که شماره موبایل داشته باشد پیدا نشد. ستون شماره را خودتان انتخاب کنید.",
        "No column looks like mobile numbers. Choose the phone column yourself.",
        code="import_no_phone_column",
    )


def _unknown_encoding(filename: str) -> ImportRejected:
    return ImportRejected(
        f"نویسه‌گذاری (encoding) فایل «{filename}» شناخته نشد. آن را با قالب «CSV UTF-8» ذخیره کنید"
        " و دوباره بارگذاری کنید.",
        f"The text encoding of “{filename}” was not recognised. Save it as “CSV UTF-8” and upload it again.",
        code="import_unknown_encoding",
        filename=filename,
    )


def _too_many_cells(rows: int, columns: int, limits: Limits) -> ImportRejected:
    return ImportRejected(
        f"جدول فایل بیش از اندازه بزرگ است: {_fa(f'{rows:,}')} ردیف در {_fa(f'{columns:,}')} ستون، بیشتر از"
        f" سقف {_fa(f'{limits.max_cells:,}')} خانه. خانه‌های دور از داده‌ها را پاک کنید یا فایل را تقسیم کنید.",
        f"The sheet spans {rows:,} rows by {columns:,} columns, over the limit of {limits.max_cells:,} cells."
        " Clear cells far from the data or split the file.",
        code="import_too_large",
        rows=rows,
        columns=columns,
        max_cells=limits.max_cells,
    )


def _unsupported(filename: str) -> ImportRejected:
    return ImportRejected(
        f"نوع فایل «{filename}» پشتیبانی نمی‌شود. فایل اکسل (xlsx یا xls)، ods، csv یا txt بارگذاری کنید.",
        f"The kind of file “{filename}” is not supported. Upload an Excel (xlsx or xls), ods, csv or"
        " txt file.",
        code="import_unsupported_format",
        filename=filename,
    )


def _bad_column(column: int, width: int, *, same_as_phone: bool = False) -> ImportRejected:
    if same_as_phone:
        return ImportRejected(
            "ستون نام و ستون شماره نمی‌توانند یکی باشند.",
            "The name column cannot be the phone column.",
            code="import_bad_column",
            column=column,
            columns=width,
        )
    return ImportRejected(
        f"ستون {_fa(str(column + 1))} در فایل نیست؛ فایل {_fa(str(width))} ستون دارد.",
        f"Column {column + 1} does not exist: the file has {width} columns.",
        code="import_bad_column",
        column=column,
        columns=width,
    )


# --- phone-like values --------------------------------------------------------------------------

_NUMBER_SEPARATORS: Final = re.compile(r"[\s\-().+/\u200c-\u200f\u202a-\u202e\u2066-\u2069]+")
_HAS_DIGIT: Final = re.compile(r"[0-9۰-۹٠-٩]")


def _digits(value: object) -> str | None:
    if isinstance(value, str):
        digits = _NUMBER_SEPARATORS.sub("", to_ascii_digits(value))
        return digits if digits.isascii() and digits.isdigit() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and 0 < value < 1e15 else None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    return None


def _phone_score(value: object) -> int:
    """2 for an Iranian mobile, 1 for any other 10-13 digit number, else 0.

    Only ranks columns and words; the import itself validates each value with `payamak.numbers`.
    A national id (10 digits) scores 1, so a mobile column beside it still wins.
    """
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return 0
    if mobile_key(value) is not None:
        return 2
    digits = _digits(value)
    return 1 if digits is not None and 10 <= len(digits) <= 13 else 0


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# --- header words -------------------------------------------------------------------------------

_HEADER_FOLD: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "\u200c": " ", "ـ": None})
_HEADER_PUNCT: Final = re.compile(r"[\s_\-.:*#()\[\]/\\|\"'؟?!،,;؛]+")

_PHONE_WORDS: Final = {
    "شماره موبایل": 3, "شماره همراه": 3, "تلفن همراه": 3, "موبایل": 3, "مبایل": 3, "همراه": 3,
    "mobile number": 3, "mobile phone": 3, "mobile": 3, "cell phone": 3, "cellphone": 3, "cell": 3,
    "msisdn": 3,
    "شماره تلفن": 2, "شماره تماس": 2, "تلفن": 2, "تماس": 2, "phone number": 2, "phone": 2,
    "telephone": 2, "tel": 2, "contact number": 2,
    "شماره": 1, "شماره ها": 1, "number": 1, "numbers": 1,
}  # fmt: skip
# Words that turn a generic "number"/"phone" header into something that is not a mobile column.
_NOT_PHONE_WORDS: Final = (
    "ملی", "national", "کد", "code", "id", "ردیف", "row", "حساب", "account", "کارت", "card",
    "پستی", "postal", "zip", "فاکتور", "invoice", "ثابت", "landline", "fax", "فکس", "نمابر", "منزل",
)  # fmt: skip
_NAME_WORDS: Final = {
    "نام و نام خانوادگی": 3, "نام کامل": 3, "نام مشتری": 3, "full name": 3, "fullname": 3,
    "customer name": 3, "contact name": 3, "name and surname": 3,
    "نام": 2, "اسم": 2, "name": 2, "first name": 2, "firstname": 2, "نام کوچک": 2,
    "نام خانوادگی": 1, "فامیلی": 1, "last name": 1, "lastname": 1, "surname": 1, "family name": 1,
    "family": 1,
}  # fmt: skip
_NOT_NAME_WORDS: Final = ("پدر", "father", "کاربری", "user", "username", "شهر", "city", "استان", "فایل")


def _fold_header(text: str) -> str:
    return " " + _HEADER_PUNCT.sub(" ", text.translate(_HEADER_FOLD).casefold()).strip() + " "


def _header_rank(cell: Cell, words: dict[str, int], negatives: Sequence[str], *, strong: int) -> int:
    """Rank of the longest keyword in `cell`; negatives cancel anything below `strong`."""
    if not isinstance(cell, str):
        return 0
    folded = _fold_header(cell)
    best_length, rank = 0, 0
    for word, word_rank in words.items():
        if len(word) > best_length and f" {word} " in folded:
            best_length, rank = len(word), word_rank
    if 0 < rank < strong and any(f" {word} " in folded for word in negatives):
        return 0
    return rank


# --- cells --------------------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, date | time):
        return cell.isoformat()
    return str(cell)


def _is_blank(cells: Sequence[Cell]) -> bool:
    return all(isinstance(cell, str) and (not cell or cell.isspace()) for cell in cells)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _extension(filename: str) -> str:
    return Path(filename).suffix.lower().lstrip(".")


# --- the reader ---------------------------------------------------------------------------------

_SampleRow: TypeAlias = tuple[int, Sequence[Cell]]


class Reader:
    """Checked input, ready to stream. Iterate it for `Row`s; each iteration starts over.

    For a file, the file must stay in place until iteration ends: text files are read again from
    disk, workbooks are held in memory by calamine.
    """

    __slots__ = (
        "_preview",
        "_rows",
        "columns",
        "encoding",
        "format",
        "has_header",
        "layout",
        "name_column",
        "phone_column",
        "total_rows_hint",
    )

    def __init__(
        self,
        *,
        format: Format,
        layout: Layout,
        encoding: str | None,
        columns: list[str],
        has_header: bool,
        phone_column: int,
        name_column: int | None,
        total_rows_hint: int | None,
        rows: Callable[[], Iterator[Row]],
        preview: list[tuple[int, list[str]]],
    ) -> None:
        self.format: Format = format
        self.layout: Layout = layout
        self.encoding = encoding
        self.columns = columns
        self.has_header = has_header
        self.phone_column = phone_column
        self.name_column = name_column
        # Rows after the header, blank ones included: an upper bound for progress bars.
        self.total_rows_hint = total_rows_hint
        self._rows = rows
        self._preview = preview

    def __iter__(self) -> Iterator[Row]:
        return self._rows()

    def preview(self, rows: int = 10) -> Preview:
        shown = self._preview[: max(0, min(rows, _PREVIEW_MAX))]
        return Preview(
            format=self.format,
            layout=self.layout,
            encoding=self.encoding,
            columns=list(self.columns),
            rows=[list(cells) for _, cells in shown],
            row_numbers=[number for number, _ in shown],
            phone_column=self.phone_column,
            name_column=self.name_column,
            has_header=self.has_header,
            total_rows=self.total_rows_hint,
        )


def open_text(text: str, *, limits: Limits = DEFAULT_LIMITS) -> Reader:
    """Pasted text, read in the list layout."""
    # A character takes 1 to 4 bytes in UTF-8: encode only when the length alone cannot decide.
    if len(text) * 4 > limits.max_bytes:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise _too_large(size, limits, text=True)
    if not text or text.isspace():
        raise _empty(text=True)
    lines = text.count("\n") + 1 if "\n" in text else text.count("\r") + 1
    if lines > limits.max_rows:
        raise _too_many_rows(limits)
    return _list_reader(
        lambda: _text_lines(text), format="text", encoding=None, lines=lines, limits=limits, pasted=True
    )


def open_file(
    path: Path | str,
    *,
    filename: str,
    limits: Limits = DEFAULT_LIMITS,
    phone_column: int | None = None,
    name_column: int | Literal["auto"] | None = "auto",
) -> Reader:
    """An uploaded file. `filename` is the name the user gave it (for messages and the extension).

    `phone_column` and `name_column` are 0-based indexes into `Reader.columns` (as shown by
    `preview_file`); `phone_column=None` detects it, `name_column="auto"` detects it and `None`
    means no name. Choosing a column reads delimited text as a table even if it looks like a list.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise _too_large(size, limits)
    if size == 0:
        raise _empty()
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    kind: Format | None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        kind = _inspect_zip(path, filename, limits)
    elif head.startswith(_OLE2_MAGIC):
        kind = _inspect_ole2(path.read_bytes(), filename, limits)
    elif head.startswith(_BINARY_MAGICS):
        kind = None
    else:
        if _extension(filename) in _WORKBOOK_EXTENSIONS:
            raise _corrupt(filename, mismatch=True)
        return _open_text_file(path, head, filename, limits, phone_column, name_column)
    if kind is None:
        if _extension(filename) in _WORKBOOK_EXTENSIONS:
            raise _corrupt(filename, mismatch=True)
        raise _unsupported(filename)
    return _open_workbook(path, kind, filename, limits, phone_column, name_column)


def preview_file(
    path: Path | str,
    *,
    filename: str,
    limits: Limits = DEFAULT_LIMITS,
    rows: int = 10,
    phone_column: int | None = None,
    name_column: int | Literal["auto"] | None = "auto",
) -> Preview:
    return open_file(
        path, filename=filename, limits=limits, phone_column=phone_column, name_column=name_column
    ).preview(rows)


def preview_text(text: str, *, limits: Limits = DEFAULT_LIMITS, rows: int = 10) -> Preview:
    return open_text(text, limits=limits).preview(rows)


# --- table layout -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Table:
    has_header: bool
    header_number: int
    phone: int
    name: int | None
    labels: list[str]
    width: int


def _detect_table(
    sample: list[_SampleRow],
    *,
    column_offset: int,
    phone_column: int | None,
    name_column: int | Literal["auto"] | None,
) -> _Table:
    width = max(len(cells) for _, cells in sample)
    first = sample[0][1]
    # Text rows can be ragged: columns past the first row's end have no header word.
    padding = [0] * (width - len(first))
    phone_ranks = [_header_rank(cell, _PHONE_WORDS, _NOT_PHONE_WORDS, strong=3) for cell in first] + padding
    name_ranks = [_header_rank(cell, _NAME_WORDS, _NOT_NAME_WORDS, strong=3) for cell in first] + padding
    # A data row can hold a shop called "Mobile Centre"; a header row holds no numbers.
    keyword_header = (any(phone_ranks) or any(name_ranks)) and not any(_phone_score(c) for c in first)
    counted = sample[1:] if len(sample) > 1 else sample
    mobiles, phones, filled = [0] * width, [0] * width, [0] * width
    for _, cells in counted:
        for index, cell in enumerate(cells):
            if cell != "":
                filled[index] += 1
                score = _phone_score(cell)
                if score:
                    phones[index] += 1
                    mobiles[index] += score == 2

    def qualifies(index: int) -> bool:
        return phones[index] > 0 and phones[index] * 5 >= filled[index]

    if phone_column is not None:
        if not 0 <= phone_column < width:
            raise _bad_column(phone_column, width)
        phone = phone_column
    else:
        by_data = max(range(width), key=lambda i: (mobiles[i], phones[i], -i))
        labelled = [i for i in range(width) if keyword_header and phone_ranks[i]]
        by_label = max(
            labelled, key=lambda i: (qualifies(i), phone_ranks[i], mobiles[i], phones[i], -i), default=None
        )
        if by_label is not None and qualifies(by_label):
            phone = by_label
        elif qualifies(by_data):
            phone = by_data
        elif by_label is not None and phone_ranks[by_label] == 3:
            # The user labelled it a mobile column; let the import report each bad value.
            phone = by_label
        else:
            raise _no_phone_column()

    head_cell = first[phone] if phone < len(first) else ""
    has_header = keyword_header or (
        isinstance(head_cell, str) and _has_letter(head_cell) and not _phone_score(head_cell)
    )

    if name_column == "auto":
        candidates = [i for i in range(len(first)) if has_header and name_ranks[i] and i != phone]
        name = max(candidates, key=lambda i: (name_ranks[i], -i), default=None)
    elif name_column is not None:
        if not 0 <= name_column < width:
            raise _bad_column(name_column, width)
        if name_column == phone:
            raise _bad_column(name_column, width, same_as_phone=True)
        name = name_column
    else:
        name = None

    labels: list[str] = []
    seen: set[str] = set()
    for index in range(width):
        letter = _column_letter(column_offset + index)
        label = _text(first[index]) if has_header and index < len(first) else ""
        label = label or letter
        if label in seen:
            label = f"{label} ({letter})"
        seen.add(label)
        labels.append(label)
    if has_header and len(sample) == 1:
        raise _empty(header_only=True)
    return _Table(has_header, sample[0][0] if has_header else 0, phone, name, labels, width)


def _table_rows(
    numbered: Iterator[tuple[int, Sequence[Cell]]], table: _Table, filename: str
) -> Iterator[Row]:
    phone_at = table.phone
    name_at = table.name
    extras = [(i, table.labels[i]) for i in range(table.width) if i != phone_at and i != name_at]
    new = tuple.__new__
    try:
        if name_at is None and not extras:
            # One phone column: the common case, kept to an index, a class check and a tuple.
            for number, cells in numbered:
                try:
                    phone = cells[phone_at]
                except IndexError:
                    continue
                if isinstance(phone, str):
                    phone = phone.strip()
                    if not phone and _is_blank(cells):
                        continue
                elif phone.__class__ is not float and phone.__class__ is not int:
                    phone = _text(phone)
                yield new(Row, (number, phone, None, {}))
            return
        for number, cells in numbered:
            width = len(cells)
            phone = cells[phone_at] if phone_at < width else ""
            if isinstance(phone, str):
                phone = phone.strip()
                if not phone and _is_blank(cells):
                    continue
            elif phone.__class__ is not float and phone.__class__ is not int:
                phone = _text(phone)
            name = _text(cells[name_at]) if name_at is not None and name_at < width else ""
            fields: dict[str, str] = {}
            for index, label in extras:
                if index < width:
                    value = _text(cells[index])
                    if value:
                        fields[label] = value
            yield new(Row, (number, phone, name or None, fields))
    except csv.Error as exc:
        raise _corrupt(filename) from exc


def _table_preview(sample: list[_SampleRow], table: _Table) -> list[tuple[int, list[str]]]:
    shown = sample[1:] if table.has_header else sample
    return [
        (number, [_text(cells[i]) if i < len(cells) else "" for i in range(table.width)])
        for number, cells in shown[:_PREVIEW_MAX]
    ]


def _table_reader(
    table: _Table,
    sample: list[_SampleRow],
    *,
    format: Format,
    encoding: str | None,
    total: int,
    rows: Callable[[], Iterator[Row]],
) -> Reader:
    return Reader(
        format=format,
        layout="table",
        encoding=encoding,
        columns=table.labels,
        has_header=table.has_header,
        phone_column=table.phone,
        name_column=table.name,
        total_rows_hint=total,
        rows=rows,
        preview=_table_preview(sample, table),
    )


# --- workbooks ----------------------------------------------------------------------------------

_HEAD_BYTES: Final = 64 * 1024
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY_MAGICS: Final = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")
_WORKBOOK_EXTENSIONS: Final = frozenset({"xlsx", "xlsm", "xls", "ods"})
_MAX_ZIP_ENTRIES: Final = 10_000
# Small entries cannot hurt whatever their ratio, and tiny XML parts compress oddly well.
_RATIO_FLOOR: Final = 1 << 20
_ODS_MIMETYPE: Final = b"application/vnd.oasis.opendocument.spreadsheet"


def _inspect_zip(path: Path, filename: str, limits: Limits) -> Format | None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename.lower() for info in infos}
            kind: Format | None
            if "xl/workbook.xml" in names:
                kind = "xlsx"
            elif "xl/workbook.bin" in names:
                # Binary workbooks get none of the checks below; Excel saves xlsx just as well.
                raise _unsupported(filename)
            elif "content.xml" in names:
                kind = "ods"
                mimetype = next((i for i in infos if i.filename.lower() == "mimetype"), None)
                if mimetype is not None:
                    with archive.open(mimetype) as entry:
                        if not entry.read(len(_ODS_MIMETYPE) + 32).strip().startswith(_ODS_MIMETYPE):
                            kind = None
            else:
                kind = None
            if kind is None:
                return None
            if len(infos) > _MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > limits.max_uncompressed:
                raise _zip_bomb(filename, limits)
            for info in infos:
                if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * info.compress_size:
                    raise _zip_bomb(filename, limits)
            exact = _verify_inflated_sizes(path, infos, filename, limits, scan=kind == "xlsx")
            for info in exact:
                _check_xlsx_part(archive, info, filename, limits)
            manifest = next((i for i in infos if i.filename.lower() == "meta-inf/manifest.xml"), None)
            if kind == "ods" and manifest is not None:
                # An encrypted package's content.xml is ciphertext: say so before reading it.
                with archive.open(manifest) as entry:
                    if b"encryption-data" in entry.read(1 << 20):
                        raise _encrypted(filename)
            if kind == "ods":
                content = next(i for i in infos if i.filename.lower() == "content.xml")
                _check_ods_content(archive, content, filename, limits)
            return kind
    # zipfile reports damage through all of these (RuntimeError: an entry needing a password).
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        raise _corrupt(filename) from exc


def _verify_inflated_sizes(
    path: Path, infos: list[zipfile.ZipInfo], filename: str, limits: Limits, *, scan: bool
) -> list[zipfile.ZipInfo]:
    """Inflate every entry and compare with the sizes the directory declares.

    With `scan`, each xlsx part is also run through `_XlsxScan` on the way; the parts it cannot
    vouch for are returned for the exact (slower) check.

    The directory's sizes are the sender's word, and calamine's zip reader does not stop at them:
    an entry that declares 1 KB and inflates to gigabytes must be caught here, before it is parsed.
    Inflating past the limits is a bomb; any other disagreement with the directory is damage.
    """
    budget = limits.max_uncompressed
    unresolved: list[zipfile.ZipInfo] = []
    with path.open("rb") as handle:
        for info in infos:
            scanner = _XlsxScan(info, filename, limits) if scan else None
            if info.flag_bits & 0x1:
                raise _corrupt(filename)
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise _corrupt(filename)
            name_length, extra_length = struct.unpack_from("<HH", local, 26)
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            if info.compress_type == zipfile.ZIP_STORED:
                if info.compress_size != info.file_size:
                    raise _corrupt(filename)
                if scanner is not None:
                    left = info.file_size
                    while left > 0:
                        data = handle.read(min(left, 1 << 20))
                        if not data:
                            raise _corrupt(filename)
                        left -= len(data)
                        scanner.feed(data)
                    scanner.finish()
                    if scanner.exact:
                        unresolved.append(info)
                continue
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raise _corrupt(filename)
            allowed = min(budget, max(_RATIO_FLOOR, limits.max_ratio * info.compress_size))
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            left, produced, step = info.compress_size, 0, 1 << 20
            try:
                while left > 0 and not inflater.eof:
                    data = handle.read(min(left, 1 << 16))
                    if not data:
                        raise _corrupt(filename)
                    left -= len(data)
                    while True:
                        out = inflater.decompress(data, step)
                        produced += len(out)
                        if produced > allowed:
                            raise _zip_bomb(filename, limits)
                        if scanner is not None and out:
                            scanner.feed(out)
                        data = inflater.unconsumed_tail
                        if inflater.eof or (not data and len(out) < step):
                            break
            except zlib.error as exc:
                raise _corrupt(filename) from exc
            if not inflater.eof or produced != info.file_size:
                raise _corrupt(filename)
            budget -= produced
            if scanner is not None:
                scanner.finish()
                if scanner.exact:
                    unresolved.append(info)
    return unresolved


_FREE_SECTOR: Final = 0xFFFFFFFA  # ids at or above this mark chain ends and special sectors


class _Ole2:
    """Just enough of the compound file format to list streams and read the start of one."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(_OLE2_MAGIC):
            raise ValueError("not a compound file")
        self.data = data
        sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
        if sector_shift not in (9, 12) or mini_shift != 6:
            raise ValueError("bad sector size")
        self.sector = 1 << sector_shift
        fat_count, directory_start = struct.unpack_from("<II", data, 0x2C)
        self.cutoff, minifat_start, _, difat_start, difat_count = struct.unpack_from("<IIIII", data, 0x38)
        self.sector_count = (len(data) + self.sector - 1) // self.sector
        # calamine reserves memory for as many FAT sectors as the header claims.
        if fat_count > self.sector_count or difat_count > self.sector_count:
            raise ValueError("header counts exceed the file")
        difat = list(struct.unpack_from("<109I", data, 0x4C))
        per_sector = self.sector // 4 - 1
        sector = difat_start
        for _ in range(min(difat_count, self.sector_count)):
            if sector >= _FREE_SECTOR:
                break
            values = struct.unpack_from(f"<{per_sector + 1}I", self._sector_bytes(sector))
            difat.extend(values[:per_sector])
            sector = values[per_sector]
        fat_sectors = [s for s in difat[: min(fat_count, self.sector_count)] if s < _FREE_SECTOR]
        fat_bytes = b"".join(self._sector_bytes(s) for s in fat_sectors)
        self.fat = struct.unpack(f"<{len(fat_bytes) // 4}I", fat_bytes)
        directory = self._read_chain(directory_start, self.fat, self._sector_bytes, None)
        self.entries: dict[str, tuple[int, int]] = {}
        self.root: tuple[int, int] = (_FREE_SECTOR, 0)
        for offset in range(0, len(directory) - 127, 128):
            name_length = struct.unpack_from("<H", directory, offset + 0x40)[0]
            kind = directory[offset + 0x42]
            start, size = struct.unpack_from("<IQ", directory, offset + 0x74)
            if self.sector == 512:
                size &= 0xFFFFFFFF  # version 3 files leave the high half undefined
            name = directory[offset : offset + max(0, min(name_length, 64) - 2)].decode(
                "utf-16-le", "replace"
            )
            if kind == 5:
                self.root = (start, size)
            elif kind == 2:
                self.entries[name.lower()] = (start, size)
        self.minifat_start = minifat_start

    def _sector_bytes(self, sector: int) -> bytes:
        offset = (sector + 1) * self.sector
        if sector >= self.sector_count or offset + self.sector > len(self.data) + self.sector:
            raise ValueError("sector out of range")
        return self.data[offset : offset + self.sector]

    def _read_chain(
        self, start: int, fat: Sequence[int], read: Callable[[int], bytes], limit: int | None
    ) -> bytes:
        parts: list[bytes] = []
        length, sector, steps = 0, start, 0
        while sector < _FREE_SECTOR and (limit is None or length < limit):
            if sector >= len(fat) or steps > len(fat):
                raise ValueError("broken sector chain")
            block = read(sector)
            parts.append(block)
            length += len(block)
            sector = fat[sector]
            steps += 1
        return b"".join(parts)

    def read(self, name: str, limit: int) -> bytes:
        start, size = self.entries[name]
        limit = min(limit, size)
        if size >= self.cutoff:
            return self._read_chain(start, self.fat, self._sector_bytes, limit)[:limit]
        container = self._read_chain(self.root[0], self.fat, self._sector_bytes, None)
        minifat_bytes = self._read_chain(self.minifat_start, self.fat, self._sector_bytes, None)
        minifat = struct.unpack(f"<{len(minifat_bytes) // 4}I", minifat_bytes)

        def mini_sector(sector: int) -> bytes:
            if (sector + 1) * 64 > len(container):
                raise ValueError("mini sector out of range")
            return container[sector * 64 : (sector + 1) * 64]

        return self._read_chain(start, minifat, mini_sector, limit)[:limit]


def _inspect_ole2(data: bytes, filename: str, limits: Limits) -> Format | None:
    try:
        ole = _Ole2(data)
        # Password-protected xlsx/xlsm/xlsb are stored as an OLE2 file holding these two streams.
        if "encryptioninfo" in ole.entries or "encryptedpackage" in ole.entries:
            raise _encrypted(filename)
        for stream in ("workbook", "book"):
            if stream in ole.entries:
                if _biff_is_encrypted(ole.read(stream, 256 * 1024)):
                    raise _encrypted(filename)
                # calamine can panic on a cut-off stream (an interrupted upload); refuse it here.
                size = ole.entries[stream][1]
                book = ole.read(stream, size)
                if len(book) != size:
                    raise _corrupt(filename)
                _check_biff_cells(book, limits)
                return "xls"
    except (ValueError, KeyError, struct.error) as exc:
        raise _corrupt(filename) from exc
    return None


def _biff_is_encrypted(stream: bytes) -> bool:
    """FILEPASS (0x2F) sits in the workbook globals, which end at the first EOF (0x0A) record."""
    position = 0
    while position + 4 <= len(stream):
        record, size = struct.unpack_from("<HH", stream, position)
        if record == 0x002F:
            return True
        if record == 0x000A:
            return False
        position += 4 + size
    return False


def _open_workbook(
    path: Path,
    kind: Format,
    filename: str,
    limits: Limits,
    phone_column: int | None,
    name_column: int | Literal["auto"] | None,
) -> Reader:
    try:
        with path.open("rb") as handle:
            # From a file object calamine detects the format from content, not from the path's
            # extension, which for an upload is often a temporary name.
            book = CalamineWorkbook.from_filelike(handle)
        sheet, sample = _first_sheet(book)
    except PasswordError as exc:
        raise _encrypted(filename) from exc
    except (CalamineError, OSError, ValueError) as exc:
        raise _corrupt(filename) from exc
    except BaseException as exc:
        # A Rust panic inside calamine arrives as pyo3's PanicException, a BaseException that
        # cannot be imported by name; a damaged upload must not escape as one.
        if type(exc).__name__ != "PanicException":
            raise
        raise _corrupt(filename) from exc
    if sheet is None:
        raise _empty()
    start = sheet.start or (0, 0)
    table = _detect_table(sample, column_offset=start[1], phone_column=phone_column, name_column=name_column)
    skip = max(table.header_number, start[0])
    total = start[0] + sheet.height - skip
    if total > limits.max_rows:
        raise _too_many_rows(limits)

    def rows() -> Iterator[Row]:
        return _table_rows(itertools.islice(enumerate(sheet.iter_rows(), 1), skip, None), table, filename)

    return _table_reader(table, sample, format=kind, encoding=None, total=total, rows=rows)


def _first_sheet(book: CalamineWorkbook) -> tuple[CalamineSheet | None, list[_SampleRow]]:
    """The first worksheet with a non-blank row, visible sheets before hidden ones."""
    metadata = book.sheets_metadata
    order = sorted(range(len(metadata)), key=lambda i: (metadata[i].visible != SheetVisibleEnum.Visible, i))
    for index in order:
        if metadata[index].typ != SheetTypeEnum.WorkSheet:
            continue
        sheet = book.get_sheet_by_index(index)
        start = sheet.start
        # iter_rows() on a sheet without cells fails inside calamine, so never call it there.
        if start is None or sheet.height == 0:
            continue
        sample: list[_SampleRow] = []
        # calamine yields rows from the top of the sheet, so enumerate() gives the row number.
        for number, cells in itertools.islice(enumerate(sheet.iter_rows(), 1), start[0], None):
            if not _is_blank(cells):
                sample.append((number, cells))
                if len(sample) >= SAMPLE_ROWS:
                    break
        if sample:
            return sheet, sample
    return None, []


# --- allocation guards --------------------------------------------------------------------------
# calamine builds a sheet as one dense block spanning the extreme cell positions the file states,
# and reserves memory for counts the file declares. A few kilobytes can so ask for terabytes, and
# a failed allocation in Rust aborts the whole process instead of raising. The numbers calamine
# will use are therefore bounded here first, mirroring its arithmetic (32-bit positions that wrap)
# and erring towards refusal wherever a file could be read more than one way.

_U32: Final = 0xFFFFFFFF
# Every pattern below matches within this many bytes, so a chunk's last bytes wait for the next.
_CONTEXT: Final = 64
_MAX_TAG: Final = 1 << 20
_XML_SPACE: Final = b" \t\n\r\x0c"
_XML_NAME: Final = re.compile(rb"[^ \t\n\r\x0c]*")
_TAG_END: Final = re.compile(rb"[>\"']")
_NAME_END: Final = re.compile(rb"[\s/>]")
_BOUND_TAG: Final = 4096
_PREFIXED_CELL: Final = re.compile(rb":c[\s/>]")
_UNREFERENCED_CELL: Final = re.compile(rb"<c(?=[\s/>])(?! r=\"[A-Z])")
_LEADING_COLUMNS: Final = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')
_UNIQUE_COUNT: Final = re.compile(rb"uniqueCount\s*=\s*[\"']\s*\+?([0-9]*)")
_CHARACTER_REFERENCE: Final = re.compile(rb"&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});")
_REPEAT: Final = re.compile(rb"\+?[0-9]+")
_ODS_VALUE_KEYS: Final = frozenset(
    {
        b"office:value",
        b"office:string-value",
        b"office:date-value",
        b"office:time-value",
        b"office:boolean-value",
        b"office:value-type",
        b"table:formula",
    }
)
# BIFF records that calamine turns into cells, each starting with a 16-bit row and column.
_BIFF_CELLS: Final = frozenset({0x0006, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E})


class _Box:
    """The rectangle calamine will allocate for the positions seen so far."""

    __slots__ = ("bottom", "left", "right", "top")

    def __init__(self) -> None:
        self.top = self.left = _U32 + 1
        self.bottom = self.right = -1

    def add(self, row: int, column: int) -> None:
        self.top = min(self.top, row)
        self.bottom = max(self.bottom, row)
        self.left = min(self.left, column)
        self.right = max(self.right, column)

    def check(self, limits: Limits) -> None:
        if self.bottom >= 0:
            rows, columns = self.bottom - self.top + 1, self.right - self.left + 1
            if rows * columns > limits.max_cells:
                raise _too_many_cells(rows, columns, limits)


def _at_most(limit: str, symbols: str, *, first: str) -> bytes:
    """A pattern for strings over `symbols` that are at most `limit` in positional order.

    The first symbol ranges from `first` (so numbers have no leading zeros); shorter strings are
    always smaller, which holds for both decimal rows and spreadsheet column letters.
    """
    anything = f"[{symbols[0]}-{symbols[-1]}]"
    options = [f"[{first}-{symbols[-1]}]{anything}{{0,{len(limit) - 2}}}"] if len(limit) > 1 else []
    for index, symbol in enumerate(limit):
        lowest = symbols.index(first if index == 0 else symbols[0])
        below = symbols.index(symbol) - 1
        if below >= lowest:
            options.append(
                f"{limit[:index]}[{symbols[lowest]}-{symbols[below]}]{anything}{{{len(limit) - index - 1}}}"
            )
    options.append(limit)
    return ("(?:" + "|".join(options) + ")").encode()


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _cell_pattern(buffer: bytes, limits: Limits) -> re.Pattern[bytes]:
    """Cell tags outside the box the first rows suggest: those columns, and rows to fill the limit."""
    width = max((_column_number(c) for c in set(_LEADING_COLUMNS.findall(buffer))), default=1)
    rows = limits.max_cells // width
    if rows < 1:
        return re.compile(rb"<c(?=[\s/>])")
    columns = _at_most(_column_letter(width - 1), string.ascii_uppercase, first="A")
    numbers = _at_most(str(rows), string.digits, first="1")
    # Nothing but s= and t= may follow, so no second r= can hide in the tag.
    return re.compile(rb'<c(?=[\s/>])(?! r="' + columns + numbers + rb'"(?: [st]="[^"<>]{0,32}"){0,2} ?/?>)')


class _XlsxScan:
    """Checks one xlsx part chunk by chunk, as it is inflated.

    It vouches for a part whose every cell tag is exactly `<c r="…"` with a reference inside a box
    of at most `max_cells`: calamine's implicit positions never come into play then. Anything else
    (cells without references, other spellings, namespace prefixes, columns beyond those of the
    first rows) sets `exact`, and the part is replayed through `_check_xlsx_part`.
    """

    __slots__ = ("carry", "cells", "exact", "filename", "info", "limits")

    def __init__(self, info: zipfile.ZipInfo, filename: str, limits: Limits) -> None:
        self.info = info
        self.filename = filename
        self.limits = limits
        self.carry = b""
        self.cells: re.Pattern[bytes] | None = None
        self.exact = False

    def feed(self, data: bytes) -> None:
        self._scan(self.carry + data, final=False)

    def finish(self) -> None:
        self._scan(self.carry, final=True)

    def _scan(self, buffer: bytes, *, final: bool) -> None:
        settled = len(buffer) if final else max(0, len(buffer) - _CONTEXT)
        keep = settled
        for match in _UNIQUE_COUNT.finditer(buffer):
            if match.end() == len(buffer) and not final:
                keep = min(keep, match.start())
                break
            # calamine reserves this many strings up front; a part holds at most one per 5 bytes.
            if int(match.group(1) or b"0") > self.info.file_size // 5 + 1:
                raise _corrupt(self.filename)
        if not self.exact:
            if self.cells is None and _LEADING_COLUMNS.search(buffer):
                self.cells = _cell_pattern(buffer, self.limits)
            for pattern in (self.cells or _UNREFERENCED_CELL, _PREFIXED_CELL):
                found = pattern.search(buffer)
                if found is not None and found.start() < settled:
                    self.exact = True
        self.carry = buffer[keep:]
        if len(self.carry) > _MAX_TAG:
            raise _corrupt(self.filename)


class _Ambiguous(Exception):
    """Markup that XML parsers read differently (a DOCTYPE), so positions cannot be replayed."""


def _bound_xlsx_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str, limits: Limits) -> None:
    """A bound that holds however the part's markup is read: every `<` may start a tag.

    calamine's row counter only moves to an explicit reference or up by one at a row's end, and its
    column counter to an explicit reference or up by one per cell, so its box is at most (highest
    row + row ends) by (highest column + cells). Tags may overlap here, so the bytes looked at are
    budgeted to keep the work linear.
    """
    top_row = top_column = row_ends = cells = 0
    budget = 4 * info.file_size + (1 << 20)
    with archive.open(info) as stream:
        carry = b""
        done = False
        while not done:
            chunk = stream.read(1 << 20)
            done = not chunk
            buffer = carry + chunk
            position, resume = 0, len(buffer)
            while (start := buffer.find(b"<", position)) >= 0:
                position = start + 1
                name_end = _NAME_END.search(buffer, position)
                if name_end is None:
                    resume = start
                    break
                local = buffer[position : name_end.start()].lstrip(b"/").rpartition(b":")[2]
                if local != b"row" and local != b"c":
                    continue
                if buffer[position : position + 1] == b"/":
                    row_ends += local == b"row"
                    continue
                end = _tag_end(buffer, name_end.start(), start + _BOUND_TAG)
                if end < 0:
                    if not done and len(buffer) - start < _BOUND_TAG:
                        resume = start
                        break
                    raise _corrupt(filename)
                budget -= end - start
                if budget < 0:
                    raise _corrupt(filename)
                raw = buffer[name_end.start() : end - 1]
                for key, value in _attributes(raw):
                    if key == b"r" and (reference := _reference(value)) is not None:
                        top_row = max(top_row, reference[0])
                        top_column = max(top_column, reference[1] or 0)
                if local == b"c":
                    cells += 1
                elif raw.rstrip(_XML_SPACE).endswith(b"/"):
                    row_ends += 1
            carry = buffer[resume:]
    rows, columns = top_row + row_ends + 1, top_column + cells + 1
    if rows * columns > limits.max_cells:
        raise _too_many_cells(rows, columns, limits)


def _tag_end(buffer: bytes, position: int, limit: int) -> int:
    """Index just past the `>` closing a tag (quotes respected), or -1 if not found before `limit`."""
    while (found := _TAG_END.search(buffer, position, limit)) is not None:
        if found.group() == b">":
            return found.end()
        quote = buffer.find(found.group(), found.end(), limit)
        if quote < 0:
            return -1
        position = quote + 1
    return -1


def _guarded(
    elements: Iterator[tuple[bool, bytes, bytes, bool]], filename: str
) -> Iterator[tuple[bool, bytes, bytes, bool]]:
    """`elements`, with a DOCTYPE taken as damage: content.xml never has one."""
    try:
        yield from elements
    except _Ambiguous as exc:
        raise _corrupt(filename) from exc


def _elements(stream: IO[bytes], filename: str) -> Iterator[tuple[bool, bytes, bytes, bool]]:
    """(closing, name, raw attributes, self-closing) of each element tag, as quick-xml reports them.

    Comments, CDATA and processing instructions are stepped over whole and a tag ends at the first
    `>` outside quotes, so text that merely looks like a tag never moves the counters. Each byte is
    looked at a bounded number of times, whatever the input.
    """
    carry = b""
    done = False
    while not done:
        chunk = stream.read(1 << 20)
        done = not chunk
        buffer = carry + chunk
        position = 0
        while (start := buffer.find(b"<", position)) >= 0:
            end = _markup_end(buffer, start, filename, final=done)
            if end < 0:
                break
            position = end
            if buffer[start + 1 : start + 2] in (b"!", b"?"):
                continue
            content = buffer[start + 1 : end - 1]
            if content.startswith(b"/"):
                yield True, content[1:].strip(_XML_SPACE), b"", False
                continue
            closed = content.endswith(b"/")
            if closed:
                content = content[:-1]
            name = _XML_NAME.match(content)
            assert name is not None
            yield False, name.group(), content[name.end() :], closed
        else:
            start = len(buffer)
        carry = buffer[start:]
        if len(carry) > _MAX_TAG:
            raise _corrupt(filename)


def _markup_end(buffer: bytes, start: int, filename: str, *, final: bool) -> int:
    """Index just past the markup opening at `start`, or -1 if the buffer ends inside it."""
    for opening, closing in ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>")):
        if buffer.startswith(opening, start):
            close = buffer.find(closing, start + len(opening))
            return close + len(closing) if close >= 0 else -1
    if not final and len(buffer) - start < len(b"<![CDATA["):
        return -1
    if buffer.startswith(b"<!", start):
        raise _Ambiguous
    return _tag_end(buffer, start + 1, len(buffer))


def _attributes(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Attributes as calamine's own scanner splits them: the key is all before `=`, trimmed."""
    position, length = 0, len(raw)
    while True:
        while position < length and raw[position] in _XML_SPACE:
            position += 1
        equals = raw.find(b"=", position)
        if position >= length or equals < 0:
            return
        key = raw[position:equals].rstrip(_XML_SPACE)
        position = equals + 1
        while position < length and raw[position] in _XML_SPACE:
            position += 1
        if position >= length or raw[position] not in b"\"'":
            return  # calamine stops with an error here, so nothing after it counts
        closing = raw.find(raw[position : position + 1], position + 1)
        closing = length if closing < 0 else closing
        yield key, raw[position + 1 : closing]
        position = closing + 1


def _reference(value: bytes) -> tuple[int, int | None] | None:
    """calamine's reading of a cell reference: 0-based row and column, None where it fails."""
    row = column = 0
    index = 0
    while index < len(value) and 97 <= (value[index] | 0x20) <= 122:
        column = (column * 26 + (value[index] | 0x20) - 96) & _U32
        index += 1
    if index == len(value) or not value[index:].isdigit():
        return None
    for digit in value[index:]:
        row = (row * 10 + digit - 48) & _U32
    if row == 0:
        return None
    return row - 1, column - 1 if column else None


def _check_xlsx_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str, limits: Limits) -> None:
    """Replays calamine's positions for every cell of a part, implicit ones included."""
    box = _Box()
    row = column = 0
    try:
        with archive.open(info) as stream:
            for closing, name, raw, closed in _elements(stream, filename):
                local = name.rpartition(b":")[2]
                if local != b"row" and local != b"c":
                    continue
                if closing:
                    if local == b"row":
                        row, column = (row + 1) & _U32, 0
                    continue
                references = [value for key, value in _attributes(raw) if key == b"r"]
                if len(references) > 1:
                    raise _corrupt(filename)  # which one calamine takes depends on its version
                position = _reference(references[0]) if references else None
                if local == b"row":
                    if position is not None:
                        row = position[0]
                    if closed:
                        row, column = (row + 1) & _U32, 0
                    continue
                if references:
                    if position is None or position[1] is None:
                        continue  # calamine refuses the sheet at this cell
                    cell_row, column = position[0], position[1]
                else:
                    cell_row = row
                box.add(cell_row, column)
                column = (column + 1) & _U32
    except _Ambiguous:
        _bound_xlsx_part(archive, info, filename, limits)
        return
    box.check(limits)


def _repeat_count(value: bytes) -> int:
    """A repeat attribute as calamine parses it, entities decoded; 1 where it would fail."""
    decoded = _CHARACTER_REFERENCE.sub(
        lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[:1] in b"xX" else int(m.group(1))).encode(),
        value,
    )
    return int(decoded) if _REPEAT.fullmatch(decoded) else 1


def _check_ods_content(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str, limits: Limits
) -> None:
    """Bounds each table as calamine expands its repeated rows and cells, without its own caps."""
    box = _Box()
    rows_before = 0  # rows of this table ended so far, repeats included
    row_repeats, position, pending, first, last = 1, 0, 0, -1, -1
    with archive.open(info) as stream:
        elements = _elements(stream, filename)
        for closing, name, raw, closed in _guarded(elements, filename):
            if name == b"table:table":
                box.check(limits)
                box, rows_before = _Box(), 0
            elif name == b"table:table-row":
                if not closing:
                    counts = [
                        _repeat_count(v) for k, v in _attributes(raw) if k == b"table:number-rows-repeated"
                    ]
                    row_repeats = max(counts, default=1)
                    position, pending, first, last = 0, 0, -1, -1
                if closing or closed:
                    if last >= 0:
                        box.add(rows_before, first)
                        box.add(rows_before + row_repeats - 1, last)
                    rows_before += row_repeats
                    position, pending, first, last = 0, 0, -1, -1
            elif not closing and name in (b"table:table-cell", b"table:covered-table-cell"):
                attributes = list(_attributes(raw))
                count = max(
                    (_repeat_count(v) for k, v in attributes if k == b"table:number-columns-repeated"),
                    default=1,
                )
                if closed and not any(key in _ODS_VALUE_KEYS for key, _ in attributes):
                    pending += count
                else:
                    # Empty cells count once a filled one follows them in the row.
                    position += pending
                    pending = 0
                    first = position if first < 0 else first
                    position += count
                    last = position - 1
    box.check(limits)


def _biff_records(stream: bytes, position: int) -> Iterator[tuple[int, int, int]]:
    while position + 4 <= len(stream):
        record, size = struct.unpack_from("<HH", stream, position)
        start = position + 4
        if start + size > len(stream):
            return
        yield record, start, start + size
        position = start + size


def _check_biff_cells(stream: bytes, limits: Limits) -> None:
    """Bounds every sheet of an xls workbook stream, walked from where calamine starts each."""
    sheets = [
        struct.unpack_from("<I", stream, start)[0]
        for record, start, end in _biff_records(stream, 0)
        if record == 0x0085 and end - start >= 4
    ]
    for offset in sheets:
        box = _Box()
        depth, seen_bof = 0, False
        for record, start, end in _biff_records(stream, offset):
            if record in _BIFF_CELLS:
                if end - start >= 4:
                    box.add(*struct.unpack_from("<HH", stream, start))
            elif record == 0x00BD and end - start >= 6:  # MULRK: one row, a run of columns
                row, first = struct.unpack_from("<HH", stream, start)
                box.add(row, first)
                box.add(row, max(first, struct.unpack_from("<H", stream, end - 2)[0]))
            elif record == 0x0200:
                _check_biff_dimensions(stream[start:end], limits)
            elif record == 0x0809:
                depth, seen_bof = depth + seen_bof, True
            elif record == 0x000A:
                # Charts nest their own BOF..EOF; their cells are counted too, which only errs high.
                if depth == 0:
                    break
                depth -= 1
        box.check(limits)


def _check_biff_dimensions(data: bytes, limits: Limits) -> None:
    """calamine reserves room for the DIMENSIONS record's rectangle before reading any cell."""
    if len(data) == 10:
        first_row, end_row, first_column, end_column = struct.unpack("<HHHH", data[:8])
    elif len(data) == 14:
        first_row, end_row = struct.unpack_from("<II", data)
        first_column, end_column = struct.unpack_from("<HH", data, 8)
    else:
        return
    if end_row < 1 or end_column < 1:
        return
    # Newer calamine starts a nonsensical first column at 0; older ones did not. Check both.
    for start_column in {first_column, 0}:
        rows = ((end_row - 1 - first_row) & _U32) + 1
        columns = ((end_column - 1 - start_column) & _U32) + 1
        if rows * columns > limits.max_cells:
            raise _too_many_cells(rows, columns, limits)


# --- text files ---------------------------------------------------------------------------------

_DELIMITERS: Final = ("\t", ",", ";", "،", "؛")
# Windows writes Persian ی and ک in cp1256 as the Arabic letters it has; give the Persian ones back.
_CP1256_PERSIAN: Final = str.maketrans({"ي": "ی", "ك": "ک"})
_CONTROL: Final = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class _Encoding:
    codec: str
    label: str
    bom: int
    persian_fix: bool


def _detect_encoding(path: Path, head: bytes, filename: str) -> tuple[_Encoding, int]:
    """The file's encoding and its number of lines: BOM, else strict UTF-8, else Windows-1256."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    )
    for bom, codec in boms:
        if head.startswith(bom):
            lines = _count_lines(path, len(bom), codec)
            if lines is None:
                raise _unknown_encoding(filename)
            label = "utf-8-sig" if codec == "utf-8" else codec
            return _Encoding(codec, label, len(bom), False), lines
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        # ASCII text in UTF-16 without a BOM has a zero in every other byte.
        if max(even, odd) * 3 >= len(head) and min(even, odd) * 10 <= max(even, odd):
            raise _unknown_encoding(filename)
        raise _unsupported(filename)
    lines = _count_lines(path, 0, "utf-8")
    if lines is not None:
        return _Encoding("utf-8", "utf-8", 0, False), lines
    if _CONTROL.search(head.decode("cp1256")):
        raise _unknown_encoding(filename)
    lines = _count_lines(path, 0, None)
    assert lines is not None
    return _Encoding("cp1256", "windows-1256", 0, True), lines


def _count_lines(path: Path, skip: int, codec: str | None) -> int | None:
    """Lines in the file, or None if it is not valid `codec` (None: any single-byte codec)."""
    decoder = codecs.getincrementaldecoder(codec)("strict") if codec else None
    # Line ends may be LF, CRLF or a lone CR (old Mac exports); the larger count covers each.
    feeds = returns = 0
    last = ""
    with path.open("rb") as handle:
        handle.seek(skip)
        try:
            while chunk := handle.read(_CHUNK):
                text = chunk.decode("latin-1") if decoder is None else decoder.decode(chunk)
                feeds += text.count("\n")
                returns += text.count("\r")
                last = text or last
            if decoder is not None:
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    return max(feeds, returns) + (0 if not last or last.endswith(("\n", "\r")) else 1)


def _file_lines(path: Path, encoding: _Encoding) -> Generator[str, None, None]:
    with path.open("rb") as raw:
        raw.seek(encoding.bom)
        with io.TextIOWrapper(raw, encoding=encoding.codec, newline="") as stream:
            if encoding.persian_fix:
                for line in stream:
                    yield line.translate(_CP1256_PERSIAN)
            else:
                yield from stream


def _sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter splitting most lines into the same number (2+) of fields."""
    best_share, best = 0.5, None
    for delimiter in _DELIMITERS:
        counts: Counter[int] = Counter()
        for line in lines:
            try:
                counts[len(next(csv.reader([line], delimiter=delimiter)))] += 1
            except (csv.Error, StopIteration):
                counts[1] += 1
        fields, frequency = counts.most_common(1)[0]
        share = frequency / len(lines)
        if fields >= 2 and share > best_share:
            best_share, best = share, delimiter
    return best


def _looks_like_list(sample: list[_SampleRow]) -> bool:
    """True when most rows carry several mobile numbers: a wrapped list, not a table."""
    with_any = with_many = 0
    for _, cells in sample:
        found = 0
        for cell in cells:
            if _phone_score(cell) == 2:
                found += 1
            elif isinstance(cell, str):
                found += sum(_phone_score(word) == 2 for word in cell.split())
        with_any += found > 0
        with_many += found > 1
    return with_many * 2 > with_any > 0


def _open_text_file(
    path: Path,
    head: bytes,
    filename: str,
    limits: Limits,
    phone_column: int | None,
    name_column: int | Literal["auto"] | None,
) -> Reader:
    encoding, lines = _detect_encoding(path, head, filename)
    non_blank: list[str] = []
    text_seen = 0
    source = _file_lines(path, encoding)
    try:
        for line in source:
            text_seen += len(line)
            if line.strip():
                non_blank.append(line)
                if len(non_blank) >= 200 or text_seen >= _HEAD_BYTES:
                    break
    finally:
        source.close()
    if not non_blank:
        raise _empty()
    # Numbers run together on one long line make a list, however many commas it has.
    one_huge_line = any(len(line) >= _HEAD_BYTES for line in non_blank)
    delimiter = None if one_huge_line else _sniff_delimiter(non_blank)

    def as_list() -> Reader:
        if lines > limits.max_rows:
            raise _too_many_rows(limits)
        return _list_reader(
            lambda: _file_lines(path, encoding),
            format="csv",
            encoding=encoding.label,
            lines=lines,
            limits=limits,
            pasted=False,
        )

    if phone_column is None and delimiter is None:
        return as_list()

    def records(source: Iterator[str]) -> Iterator[tuple[int, list[str]]]:
        return enumerate(csv.reader(source, delimiter=delimiter or ","), 1)

    sample: list[_SampleRow] = []
    source = _file_lines(path, encoding)
    try:
        for number, cells in records(source):
            if cells and not _is_blank(cells):
                sample.append((number, cells))
                if len(sample) >= SAMPLE_ROWS:
                    break
    except csv.Error as exc:
        raise _corrupt(filename) from exc
    finally:
        source.close()
    if not sample:
        raise _empty()
    if phone_column is None and _looks_like_list(sample):
        first = sample[0][1]
        if not any(_header_rank(c, _PHONE_WORDS, _NOT_PHONE_WORDS, strong=3) for c in first):
            return as_list()

    table = _detect_table(sample, column_offset=0, phone_column=phone_column, name_column=name_column)
    total = lines - table.header_number
    if total > limits.max_rows:
        # Quoted fields may span lines, so count records before refusing.
        try:
            total = sum(1 for _ in records(_file_lines(path, encoding))) - table.header_number
        except csv.Error as exc:
            raise _corrupt(filename) from exc
        if total > limits.max_rows:
            raise _too_many_rows(limits)
    skip = table.header_number

    def rows() -> Iterator[Row]:
        return _table_rows(
            itertools.islice(records(_file_lines(path, encoding)), skip, None), table, filename
        )

    return _table_reader(table, sample, format="csv", encoding=encoding.label, total=total, rows=rows)


# --- list layout --------------------------------------------------------------------------------

_PIECE: Final = re.compile(r"[^,،;؛\t\r\n]+")
_TRIM: Final = (
    " \t\r\n\v\f\xa0\"'\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_NAME_TRIM: Final = _TRIM + "()[]{}«»<>-–—:.*_|"
_LIST_COLUMNS: Final = ["شماره", "نام"]


def _text_lines(text: str) -> Generator[str, None, None]:
    separator = "\n" if "\n" in text or "\r" not in text else "\r"
    start = 0
    while True:
        end = text.find(separator, start)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _split_piece(piece: str) -> tuple[list[str], str | None]:
    """The numbers in one comma-free piece of a line, and the words around them."""
    words = piece.split()
    if len(words) == 1:
        return [piece], None
    whole = [word for word in words if _phone_score(word)]
    if whole:
        name = " ".join(word for word in words if _HAS_DIGIT.search(word) is None).strip(_NAME_TRIM)
        return whole, name if _has_letter(name) else None
    with_digits = [i for i, word in enumerate(words) if _HAS_DIGIT.search(word)]
    first, last = with_digits[0], with_digits[-1]
    name = " ".join(words[:first] + words[last + 1 :]).strip(_NAME_TRIM)
    return [" ".join(words[first : last + 1])], name if _has_letter(name) else None


def _list_rows(lines: Iterable[str], limits: Limits) -> Iterator[Row]:
    new = tuple.__new__
    produced = 0
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.isdigit():
            produced += 1
            if produced > limits.max_rows:
                raise _too_many_rows(limits)
            yield new(Row, (number, stripped, None, {}))
            continue
        # The first number waits until the line ends: only a number alone on its line gets a name.
        held: str | None = None
        alone = True
        name: str | None = None
        for match in _PIECE.finditer(stripped):
            piece = match.group().strip(_TRIM)
            if not piece:
                continue
            if _HAS_DIGIT.search(piece) is None:
                if name is None and _has_letter(piece):
                    name = piece.strip(_NAME_TRIM)
                continue
            values, around = _split_piece(piece)
            if name is None:
                name = around
            for value in values:
                if held is None and alone:
                    held = value
                    continue
                alone = False
                if held is not None:
                    produced += 1
                    if produced > limits.max_rows:
                        raise _too_many_rows(limits)
                    yield new(Row, (number, held, None, {}))
                    held = None
                produced += 1
                if produced > limits.max_rows:
                    raise _too_many_rows(limits)
                yield new(Row, (number, value, None, {}))
        if held is not None:
            produced += 1
            if produced > limits.max_rows:
                raise _too_many_rows(limits)
            yield new(Row, (number, held, name, {}))


def _list_reader(
    source: Callable[[], Generator[str, None, None]],
    *,
    format: Format,
    encoding: str | None,
    lines: int,
    limits: Limits,
    pasted: bool,
) -> Reader:
    sample: list[str] = []
    non_blank = 0
    stream = source()
    try:
        for line in stream:
            sample.append(line)
            if line.strip():
                non_blank += 1
                if non_blank >= SAMPLE_ROWS:
                    break
    finally:
        stream.close()
    if not non_blank:
        raise _empty(text=pasted)
    preview: list[tuple[int, list[str]]] = []
    phone_like = 0
    for row in _list_rows(sample, limits):
        phone_like += _phone_score(row.phone) > 0
        if len(preview) < _PREVIEW_MAX:
            preview.append((row.number, [_text(row.phone), row.name or ""]))
    if not phone_like:
        raise _no_phone_column(text=pasted)
    header_number = next(n for n, line in enumerate(sample, 1) if line.strip())
    has_header = _HAS_DIGIT.search(sample[header_number - 1]) is None
    return Reader(
        format=format,
        layout="list",
        encoding=encoding,
        columns=list(_LIST_COLUMNS),
        has_header=has_header,
        phone_column=0,
        name_column=1,
        total_rows_hint=lines - header_number if has_header else lines,
        rows=lambda: _list_rows(source(), limits),
        preview=preview,
    )
