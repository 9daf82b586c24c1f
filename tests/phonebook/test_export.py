"""Exports: the file's content, formula injection, streaming, and a round trip through an import."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook

from payamak.phonebook import export

API = "/api/v1"

HOSTILE = {
    '=HYPERLINK("http://evil","x")': '\'=HYPERLINK("http://evil","x")',
    "+1+2": "'+1+2",
    "-2+3": "'-2+3",
    "@SUM(A1)": "'@SUM(A1)",
    "رضا": "رضا",
}


def test_safe_cell() -> None:
    assert [export.safe_cell(v) for v in HOSTILE] == list(HOSTILE.values())
    # Names and fields are stripped when stored, but a cell must be safe whatever reaches it.
    assert export.safe_cell("\tcmd") == "'\tcmd"
    assert export.safe_cell("\rcmd") == "'\rcmd"
    assert export.safe_cell("") == ""
    assert export.safe_cell("09121234567") == "09121234567"


def _group_with_hostile_cells(client: TestClient, user: Any, new_group: Callable[..., int]) -> int:
    items: list[object] = [
        {"number": f"0912000000{i}", "name": name, "fields": {"note": name}} for i, name in enumerate(HOSTILE)
    ]
    items.append({"number": "09351234567", "fields": {"=cmd": "ok"}})
    items.append("+1 650 253 0000")
    group_id = new_group(user, "مشتریان «ویژه»", numbers=items)
    # Names are stored as typed (spaces folded); only the exported cells are defused.
    names = {
        i["name"]
        for i in client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers).json()["items"]
    }
    assert '=HYPERLINK("http://evil","x")' in names
    return group_id


def test_csv_export(client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]) -> None:
    user = make_user()
    group_id = _group_with_hostile_cells(client, user, new_group)
    r = client.get(f"{API}/groups/{group_id}/export", headers=user.headers, params={"format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    disposition = r.headers["content-disposition"]
    assert f'filename="group-{group_id}.csv"' in disposition
    assert "filename*=utf-8''" in disposition
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["شماره موبایل", "نام", "note", "'=cmd"]
    by_number = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_number) == len(HOSTILE) + 2
    for i, (name, safe) in enumerate(HOSTILE.items()):
        assert by_number[f"0912000000{i}"][:2] == [safe, safe], name
    assert by_number["09351234567"] == ["", "", "ok"]
    assert by_number["'+16502530000"] == ["", "", ""]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_xlsx_export(
    tmp_path: Path, client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = _group_with_hostile_cells(client, user, new_group)
    r = client.get(f"{API}/groups/{group_id}/export", headers=user.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="group-{group_id}.xlsx"' in r.headers["content-disposition"]
    path = tmp_path / "export.xlsx"
    path.write_bytes(r.content)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["شماره موبایل", "نام", "note", "'=cmd"]
    assert len(rows) == len(HOSTILE) + 3
    for row in rows:
        for cell in row:
            assert isinstance(cell, str)  # numbers stay text: 0912… keeps its zero
            assert not cell.startswith(("=", "+", "-", "@")), cell
    by_number = {row[0]: row[1:] for row in rows[1:]}
    assert by_number["09120000000"][0] == '\'=HYPERLINK("http://evil","x")'
    assert by_number["'+16502530000"] == ["", "", ""]
    assert not list((tmp_path / "data" / "exports").glob("*.xlsx")), "the temporary file is removed"


def test_export_round_trip_and_size(
    tmp_path: Path,
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    upload: Callable[..., dict[str, Any]],
    numbers_of: Callable[..., list[str]],
) -> None:
    """More numbers than one page of the export's reads, and back in through an import."""
    user = make_user()
    source = new_group(user, "مبدا")
    numbers = [f"0912{i:07d}" for i in range(12_000)]
    for start in range(0, len(numbers), 10_000):
        chunk = [{"number": n, "name": f"n{n[-4:]}"} for n in numbers[start : start + 10_000]]
        r = client.post(f"{API}/groups/{source}/numbers", headers=user.headers, json={"numbers": chunk})
        assert r.json()["added"] == len(chunk)
    for file_format in ("xlsx", "csv"):
        r = client.get(f"{API}/groups/{source}/export", headers=user.headers, params={"format": file_format})
        assert r.status_code == 200
        path = tmp_path / f"export.{file_format}"
        path.write_bytes(r.content)
        target = new_group(user, f"مقصد {file_format}")
        job = upload(user, target, path)
        assert (job["status"], job["added"], job["invalid_count"]) == ("done", 12_000, 0), job
        assert numbers_of(user, target) == numbers_of(user, source)
        first = client.get(f"{API}/groups/{target}/numbers", headers=user.headers, params={"limit": 1}).json()
        assert first["items"][0]["name"] == "n0000"


def test_export_of_an_empty_group_and_bad_format(
    client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user)
    r = client.get(f"{API}/groups/{group_id}/export", headers=user.headers, params={"format": "csv"})
    assert r.content.decode("utf-8-sig").splitlines() == ["شماره موبایل,نام"]
    r = client.get(f"{API}/groups/{group_id}/export", headers=user.headers, params={"format": "pdf"})
    assert r.status_code == 422
