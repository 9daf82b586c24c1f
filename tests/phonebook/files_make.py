"""Writers of real files for the import reader's tests: spreadsheets, OLE2 containers and zips.

xlsx comes from xlsxwriter and xls from xlwt. ods, OLE2 compound files and zips with forged
directories are written byte by byte here, following the published formats, because no installed
library writes them (or writes them wrong on purpose).
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter
import xlwt

Cell = str | int | float | None
Rows = Sequence[Sequence[Cell]]


def write_xlsx(
    path: Path,
    rows: Rows,
    *,
    at: tuple[int, int] = (0, 0),
    empty_sheets_before: int = 0,
    hidden_sheet_before: Rows | None = None,
) -> Path:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    if hidden_sheet_before is not None:
        hidden = book.add_worksheet("hidden")
        _write_sheet(hidden, hidden_sheet_before, (0, 0))
        hidden.hide()
    for index in range(empty_sheets_before):
        book.add_worksheet(f"empty{index}")
    sheet = book.add_worksheet("data")
    sheet.activate()
    _write_sheet(sheet, rows, at)
    book.close()
    return path


def _write_sheet(sheet: xlsxwriter.worksheet.Worksheet, rows: Rows, at: tuple[int, int]) -> None:
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(at[0] + r, at[1] + c, value)
            else:
                sheet.write_number(at[0] + r, at[1] + c, value)


def write_xls(path: Path, rows: Rows) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("data")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def write_ods(path: Path, rows: Rows, *, empty_sheet_first: bool = False, encrypted: bool = False) -> Path:
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
    ]
    parts.append("<office:body><office:spreadsheet>")
    if empty_sheet_first:
        parts.append('<table:table table:name="empty"></table:table>')
    parts.append('<table:table table:name="data">')
    for row in rows:
        parts.append("<table:table-row>")
        for value in row:
            if value is None:
                parts.append("<table:table-cell/>")
            elif isinstance(value, str):
                parts.append(
                    f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
                    "</table:table-cell>"
                )
            else:
                parts.append(
                    f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>"
                )
        parts.append("</table:table-row>")
    parts.append("</table:table></office:spreadsheet></office:body></office:document-content>")
    encryption = (
        '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA">'
        '<manifest:algorithm manifest:algorithm-name="Blowfish CFB" manifest:initialisation-vector="AAAA"/>'
        '<manifest:key-derivation manifest:key-derivation-name="PBKDF2" manifest:iteration-count="1024"'
        ' manifest:salt="AAAA"/></manifest:encryption-data>'
        if encrypted
        else ""
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        f'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">{encryption}'
        "</manifest:file-entry></manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        # The ODF package rule: "mimetype" first and stored, so the type shows at a fixed offset.
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "".join(parts), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


# --- OLE2 compound files ------------------------------------------------------------------------

_SECTOR = 512
_MINI = 64
_CUTOFF = 4096
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF


def _sectors(size: int, unit: int) -> int:
    return (size + unit - 1) // unit


def write_ole2(path: Path, streams: dict[str, bytes]) -> Path:
    """A version 3 compound file: streams under 4096 bytes go to the mini stream, like Office does."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    big = [n for n in names if len(streams[n]) >= _CUTOFF]
    small = [n for n in names if len(streams[n]) < _CUTOFF]

    mini_container = b""
    minifat: list[int] = []
    mini_start: dict[str, int] = {}
    for name in small:
        data = streams[name]
        count = _sectors(len(data), _MINI)
        first = len(minifat)
        mini_start[name] = first if count else _END
        minifat.extend(first + i + 1 for i in range(count - 1))
        if count:
            minifat.append(_END)
        mini_container += data.ljust(count * _MINI, b"\0")

    layout: list[tuple[str, bytes]] = [(n, streams[n]) for n in big]
    if mini_container:
        layout.append(("<mini>", mini_container))
    if minifat:
        layout.append(("<minifat>", struct.pack(f"<{len(minifat)}I", *minifat)))
    directory_entries = 1 + len(names)
    layout.append(("<directory>", b"\0" * (_sectors(directory_entries, 4) * _SECTOR)))

    starts: dict[str, int] = {}
    fat: list[int] = []
    for name, data in layout:
        count = max(1, _sectors(len(data), _SECTOR))
        first = starts[name] = len(fat)
        fat.extend(first + i + 1 for i in range(count - 1))
        fat.append(_END)
    fat_count = 1
    while fat_count * (_SECTOR // 4) < len(fat) + fat_count:
        fat_count += 1
    fat_first = len(fat)
    fat.extend([_FAT_SECTOR] * fat_count)
    fat.extend([_FREE] * (fat_count * (_SECTOR // 4) - len(fat)))

    def entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
        encoded = name.encode("utf-16-le")
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded) + 2, kind, 1)
            + struct.pack("<III", _NO_STREAM, right, child)
            + b"\0" * 16
            + struct.pack("<IQQ", 0, 0, 0)
            + struct.pack("<IQ", start, size)
        )

    directory = entry(
        "Root Entry",
        5,
        starts.get("<mini>", _END),
        len(mini_container),
        _NO_STREAM,
        1 if names else _NO_STREAM,
    )
    for index, name in enumerate(names, start=1):
        start = starts[name] if name in starts else mini_start[name]
        right = index + 1 if index < len(names) else _NO_STREAM
        directory += entry(name, 2, start, len(streams[name]), right, _NO_STREAM)
    directory = directory.ljust(_sectors(directory_entries, 4) * _SECTOR, b"\0")

    header = bytearray(_SECTOR)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into(
        "<IIIIIIIII",
        header,
        0x28,
        0,
        fat_count,
        starts["<directory>"],
        0,
        _CUTOFF,
        starts.get("<minifat>", _END),
        _sectors(len(minifat) * 4, _SECTOR),
        _END,
        0,
    )
    difat = [fat_first + i for i in range(fat_count)] + [_FREE] * (109 - fat_count)
    struct.pack_into("<109I", header, 0x4C, *difat)

    body = bytearray()
    for name, data in layout:
        block = directory if name == "<directory>" else data
        body += block.ljust(max(1, _sectors(len(block), _SECTOR)) * _SECTOR, b"\0")
    body += struct.pack(f"<{len(fat)}I", *fat)
    path.write_bytes(bytes(header) + bytes(body))
    return path


def write_encrypted_ooxml(path: Path) -> Path:
    """The container Excel writes for a password-protected xlsx (agile encryption, version 4.4)."""
    descriptor = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES"'
        b' cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/>'
        b"</encryption>"
    )
    info = struct.pack("<HHI", 4, 4, 0x40) + descriptor
    package = struct.pack("<Q", 5000) + os.urandom(5008)
    return write_ole2(path, {"EncryptionInfo": info, "EncryptedPackage": package})


def _biff(record: int, data: bytes) -> bytes:
    return struct.pack("<HH", record, len(data)) + data


def write_encrypted_xls(path: Path, *, pad_to: int = 0) -> Path:
    """A BIFF8 workbook whose globals start with FILEPASS (RC4), as Excel writes after BOF."""
    bof = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x2775, 0x07CD, 0x000100C1, 0x00000006))
    filepass = _biff(0x002F, struct.pack("<HHH", 1, 1, 1) + os.urandom(48))
    body = _biff(0x00E1, b"\x00\x00") + _biff(0x0042, os.urandom(2))
    stream = bof + filepass + body
    while len(stream) < pad_to:
        stream += _biff(0x003C, os.urandom(min(8000, pad_to - len(stream))))
    stream += _biff(0x000A, b"")
    return write_ole2(path, {"Workbook": stream})


# --- zips ---------------------------------------------------------------------------------------

XLSX_SKELETON = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        "</Relationships>"
    ),
}


def sheet_xml(rows: Sequence[str], *, padding: int = 0) -> bytes:
    """A worksheet of inline strings, with `padding` spaces (which deflate squeezes ~1000:1)."""
    cells = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{escape(v)}</t></is></c></row>'
        for i, v in enumerate(rows, 1)
    )
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + cells.encode()
        + b" " * padding
        + b"</sheetData></worksheet>"
    )


def write_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def write_zip_declaring(path: Path, entries: dict[str, tuple[bytes, int]]) -> Path:
    """A zip whose directory declares, for each entry, the given size rather than the true one.

    The CRC is that of the declared prefix, so a reader that trusts the directory finds nothing wrong.
    """
    local = bytearray()
    central = bytearray()
    for name, (data, declared) in entries.items():
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        packed = compressor.compress(data) + compressor.flush()
        crc = zlib.crc32(data[:declared])
        encoded = name.encode()
        fixed = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(packed), declared)
        central += (
            struct.pack("<IH", 0x02014B50, 20)
            + fixed
            + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, len(local))
            + encoded
        )
        local += (
            struct.pack("<I", 0x04034B50) + fixed + struct.pack("<HH", len(encoded), 0) + encoded + packed
        )
    count = len(entries)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def write_biff(
    path: Path,
    cells: Sequence[tuple[int, int, str | float]],
    *,
    dimensions: tuple[int, int, int, int] | None = None,
) -> Path:
    """A BIFF8 workbook with one sheet holding `cells` (row, column, value), written record by record.

    `dimensions` (first row, last row + 1, first column, last column + 1) overrides the DIMENSIONS
    record, which otherwise spans the cells.
    """
    rows = [row for row, _, _ in cells] or [0]
    columns = [column for _, column, _ in cells] or [0]
    first_row, end_row, first_column, end_column = dimensions or (
        min(rows),
        max(rows) + 1,
        min(columns),
        max(columns) + 1,
    )
    sheet = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x2775, 0x07CD, 0, 6))
    sheet += _biff(0x0200, struct.pack("<IIHHH", first_row, end_row, first_column, end_column, 0))
    for row, column, value in cells:
        if isinstance(value, str):
            text = value.encode("utf-16-le")
            sheet += _biff(0x0204, struct.pack("<HHHHB", row, column, 0, len(value), 1) + text)
        else:
            sheet += _biff(0x0203, struct.pack("<HHHd", row, column, 0, value))
    sheet += _biff(0x000A, b"")

    def globals_with(offset: int) -> bytes:
        name = b"data"
        return (
            _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x2775, 0x07CD, 0, 6))
            + _biff(0x0042, struct.pack("<H", 1200))
            + _biff(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name)
            + _biff(0x000A, b"")
        )

    head = globals_with(0)
    stream = globals_with(len(head)) + sheet
    return write_ole2(path, {"Workbook": stream.ljust(4096, b"\0")})


def write_xlsx_sheet(path: Path, sheet_data: bytes, *, shared_strings: bytes | None = None) -> Path:
    """An xlsx assembled part by part around the given `<sheetData>` content."""
    entries: dict[str, bytes | str] = {**XLSX_SKELETON}
    entries["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + sheet_data
        + b"</sheetData></worksheet>"
    )
    if shared_strings is not None:
        entries["xl/_rels/workbook.xml.rels"] = XLSX_SKELETON["xl/_rels/workbook.xml.rels"].replace(
            "</Relationships>",
            '<Relationship Id="rId2" Target="sharedStrings.xml" Type='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
            "</Relationships>",
        )
        entries["xl/sharedStrings.xml"] = shared_strings
    return write_zip(path, entries)


def write_ods_rows(path: Path, rows: str) -> Path:
    """An ods whose single table holds the given `<table:table-row>` markup as is."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="data">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path
