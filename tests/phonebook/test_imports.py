"""Imports into a group through the API and the CLI: counts, atomicity, progress, refusals."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from payamak.context import Context
from payamak.phonebook import endpoints, imports, reader
from payamak.phonebook.imports import Progress
from payamak.phonebook.models import GroupNumber, ImportJob

API = "/api/v1"


def _files_make() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "phonebook_files_make_for_imports", Path(__file__).with_name("files_make.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


files = _files_make()


def size(client: TestClient, user: Any, group_id: int) -> int:
    r = client.get(f"{API}/groups/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    value: int = r.json()["size"]
    return value


def items_of(client: TestClient, user: Any, group_id: int) -> list[dict[str, Any]]:
    """The group's first page of numbers, as the API lists them."""
    r = client.get(f"{API}/groups/{group_id}/numbers", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def upload_in_english(client: TestClient, user: Any, group_id: int, path: Path) -> dict[str, Any]:
    """The body of the same upload asked for in English (a refusal's `detail` changes language)."""
    body: dict[str, Any] = client.post(
        f"{API}/groups/{group_id}/imports",
        headers={**user.headers, "Accept-Language": "en"},
        files={"file": (path.name, path.read_bytes())},
    ).json()
    return body


def text_job(ctx: Context, user: Any, group_id: int, count: int) -> tuple[reader.Reader, ImportJob]:
    """`count` numbers as pasted text, and the job to run them into the group with `run_import`."""
    opened = reader.open_text("\n".join(f"0912{i:07d}" for i in range(1, count + 1)))
    with ctx.db.transaction() as session:
        job = imports.create_import(
            session, account_id=user.id, group_id=group_id, source="text", rows_total=opened.total_rows_hint
        )
    return opened, job


def jobs(ctx: Context) -> int:
    with ctx.db.transaction(readonly=True) as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(ImportJob)) or 0)


def test_xlsx_import_reports_added_duplicates_and_every_invalid_row(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
    numbers_of: Callable[..., list[str]],
) -> None:
    user = make_user()
    group_id = new_group(user, numbers=["09120000001", "09120000002"])
    rows: list[list[object]] = [["شماره موبایل"]]
    rows += [[f"0912{i:07d}"] for i in range(1, 301)]  # 1 and 2 are in the group already
    rows += [["09120000005"], [9120000006], ["۰۹۱۲۰۰۰۰۰۰۷"]]  # repeated in the file, other forms
    rows += [["02188776655"], ["hello"], ["0912"]]
    path = xlsx(rows)

    job = upload(user, group_id, path)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0
    assert job["error"] is None
    assert job["rows_read"] == 306
    assert job["added"] == 298
    assert job["duplicates"] == 5
    assert job["invalid_count"] == 3
    # Row numbers are the spreadsheet's, the header being row 1.
    assert [(i["row"], i["value"], i["reason"]) for i in job["invalid"]] == [
        (305, "02188776655", "landline"),
        (306, "hello", "not_a_number"),
        (307, "0912", "too_short"),
    ]
    assert all(i["message"] for i in job["invalid"])
    assert job["source"] == path.name
    assert size(client, user, group_id) == 300
    assert len(set(numbers_of(user, group_id))) == 300

    # The same file again adds nothing: every number is a duplicate now.
    again = upload(user, group_id, path)
    assert (again["added"], again["duplicates"], again["invalid_count"]) == (0, 303, 3)
    assert size(client, user, group_id) == 300


def test_names_and_fields_come_from_the_other_columns(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
) -> None:
    user = make_user()
    group_id = new_group(user)
    path = xlsx(
        [
            ["نام", "موبایل", "شهر", "کد اشتراک"],
            ["علی", "09121234567", "تهران", 1001],
            ["سارا", "09351234567", "", "1002"],
            ["تکراری", "09121234567", "قم", 1003],
        ]
    )
    job = upload(user, group_id, path)
    assert (job["status"], job["added"], job["duplicates"]) == ("done", 2, 1)
    items = items_of(client, user, group_id)
    assert [(i["local"], i["name"], i["fields"]) for i in items] == [
        ("09121234567", "علی", {"شهر": "تهران", "کد اشتراک": "1001"}),
        ("09351234567", "سارا", {"کد اشتراک": "1002"}),
    ]


def test_awkward_characters_survive_the_bulk_paths(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
) -> None:
    """COPY's escapes on PostgreSQL, JSON on SQLite: backslashes, tabs, quotes, newlines, \\N."""
    user = make_user()
    group_id = new_group(user)
    name = 'O\'Brien \\N "x" \\t'
    note = "a\tb\\c\nd \\\\ e"
    path = xlsx(
        [
            ["mobile", "name", "note", "x" * 80],
            ["09121234567", name, note, "\\N"],
            ["09351234567", "", "", ""],
        ]
    )
    job = upload(user, group_id, path)
    assert (job["status"], job["added"]) == ("done", 2), job
    items = items_of(client, user, group_id)
    assert items[0]["name"] == name
    # Field names are cut to 50 characters, as the API takes them.
    assert items[0]["fields"] == {"note": note, "x" * 50: "\\N"}
    assert (items[1]["name"], items[1]["fields"]) == (None, {})


def test_chosen_columns(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
) -> None:
    user = make_user()
    group_id = new_group(user)
    # Two phone-like columns: detection would take the mobiles; the user picks the other one.
    path = xlsx(
        [["a", "b", "c"], ["09121111111", "Ali", "09352222222"], ["09121111112", "Sara", "09352222223"]]
    )
    job = upload(user, group_id, path, phone_column=2, name_column=1)
    assert job["status"] == "done", job
    items = items_of(client, user, group_id)
    assert [(i["local"], i["name"]) for i in items] == [("09352222222", "Ali"), ("09352222223", "Sara")]

    r = client.post(
        f"{API}/groups/{group_id}/imports",
        headers=user.headers,
        files={"file": ("a.xlsx", path.read_bytes())},
        data={"phone_column": "7"},
    )
    assert r.status_code == 422
    assert r.json()["error"] == "import_bad_column"


def test_pasted_text(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    follow_import: Callable[..., dict[str, Any]],
    background_imports: None,
) -> None:
    user = make_user()
    group_id = new_group(user)
    text = "۰۹۱۲۱۲۳۴۵۶۷ علی\n09351234567، 09121234567\n\n021-88776655\n"
    r = client.post(f"{API}/groups/{group_id}/imports", headers=user.headers, json={"text": text})
    assert r.status_code == 202, r.text
    assert r.json()["group_id"] == group_id
    job = follow_import(user, r.json()["id"])
    assert (job["status"], job["added"], job["duplicates"], job["invalid_count"]) == ("done", 2, 1, 1)
    assert job["invalid"][0]["row"] == 4
    assert job["source"] == "text"
    items = items_of(client, user, group_id)
    assert [(i["local"], i["name"]) for i in items] == [("09121234567", "علی"), ("09351234567", None)]

    r = client.post(f"{API}/groups/{group_id}/imports", headers=user.headers, json={"text": "  \n "})
    assert (r.status_code, r.json()["error"]) == (422, "import_empty")
    r = client.post(f"{API}/groups/{group_id}/imports", headers=user.headers, json={"texts": "x"})
    assert (r.status_code, r.json()["error"]) == (422, "import_input_required")
    # A form without its file part.
    r = client.post(
        f"{API}/groups/{group_id}/imports", headers=user.headers, files={"other": ("a.csv", b"1")}
    )
    assert (r.status_code, r.json()["error"]) == (422, "import_input_required")
    r = client.post(
        f"{API}/imports/preview", headers=user.headers, data={"phone_column": "1"}, files={"x": ("a", b"")}
    )
    assert (r.status_code, r.json()["error"]) == (422, "import_input_required")


def test_csv_in_windows_1256(
    tmp_path: Path,
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    upload: Callable[..., dict[str, Any]],
) -> None:
    user = make_user()
    group_id = new_group(user)
    path = tmp_path / "list.csv"
    # Windows-1256 has only the Arabic yeh and kaf; the import gives the Persian letters back.
    text = "نام,موبایل\nعلی,09121234567\nکیان,09351234567\n".replace("ی", "ي").replace("ک", "ك")
    path.write_bytes(text.encode("cp1256"))
    job = upload(user, group_id, path)
    assert (job["status"], job["added"]) == ("done", 2)
    items = items_of(client, user, group_id)
    assert [i["name"] for i in items] == ["علی", "کیان"]


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04" + os.urandom(4000))
    renamed = tmp_path / "photo.xlsx"
    renamed.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
    bomb_sheet = files.sheet_xml(["09121234567"], padding=8 * 1024 * 1024)
    bomb = files.write_zip(
        tmp_path / "bomb.xlsx", {**files.XLSX_SKELETON, "xl/worksheets/sheet1.xml": bomb_sheet}
    )
    liar_entries = {name: (data.encode(), len(data.encode())) for name, data in files.XLSX_SKELETON.items()}
    liar_entries["xl/worksheets/sheet1.xml"] = (
        files.sheet_xml(["09121234567"], padding=4 * 1024 * 1024),
        2000,
    )
    liar = files.write_zip_declaring(tmp_path / "liar.xlsx", liar_entries)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    no_phones = tmp_path / "names.csv"
    no_phones.write_text("name,city\nAli,Tehran\nSara,Shiraz\n", encoding="utf-8")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("mobile\n09121234567\n09351234567\n".encode("utf-16-le"))
    header_only = tmp_path / "header.xlsx"
    files.write_xlsx(header_only, [["موبایل", "نام"]])
    return {
        "corrupt": (corrupt, "import_corrupt"),
        "not a workbook": (renamed, "import_corrupt"),
        "encrypted xlsx": (files.write_encrypted_ooxml(tmp_path / "locked.xlsx"), "import_encrypted"),
        "encrypted xls": (files.write_encrypted_xls(tmp_path / "locked.xls"), "import_encrypted"),
        "zip bomb": (bomb, "import_zip_bomb"),
        "zip bomb with a lying directory": (liar, "import_zip_bomb"),
        "empty": (empty, "import_empty"),
        "header only": (header_only, "import_empty"),
        "no phone column": (no_phones, "import_no_phone_column"),
        "unknown encoding": (utf16, "import_unknown_encoding"),
    }


def test_bad_files_are_refused_clearly_and_change_nothing(
    tmp_path: Path,
    ctx: Context,
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    upload: Callable[..., dict[str, Any]],
) -> None:
    user = make_user()
    group_id = new_group(user, numbers=["09129999999"])
    for label, (path, code) in _bad_files(tmp_path).items():
        refused = upload(user, group_id, path)
        assert refused.get("status_code") == 422, (label, refused)
        assert refused["error"] == code, (label, refused)
        assert refused["detail"], label
        english = upload_in_english(client, user, group_id, path)
        assert english["error"] == code
        assert english["detail"] != refused["detail"], label
    assert size(client, user, group_id) == 1
    assert jobs(ctx) == 0
    assert not list((ctx.settings.data_dir / "imports").iterdir())


def test_limits_say_which_limit(
    tmp_path: Path,
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
) -> None:
    user = make_user()
    group_id = new_group(user)
    path = xlsx([[f"0912{i:07d}"] for i in range(1, 2001)])
    app = client.app
    app.dependency_overrides[endpoints.import_limits] = lambda: reader.Limits(max_rows=1000)  # type: ignore[attr-defined]
    try:
        refused = upload(user, group_id, path)
        assert (refused["status_code"], refused["error"], refused["max_rows"]) == (
            422,
            "import_too_many_rows",
            1000,
        )
        assert "1,000" in upload_in_english(client, user, group_id, path)["detail"]
        app.dependency_overrides[endpoints.import_limits] = lambda: reader.Limits(max_bytes=10_000)  # type: ignore[attr-defined]
        refused = upload(user, group_id, path)
        assert (refused["status_code"], refused["error"], refused["max_bytes"]) == (
            422,
            "import_too_large",
            10_000,
        )
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert size(client, user, group_id) == 0


def test_upload_over_the_body_limit_is_refused_before_it_is_read(
    tmp_path: Path,
    client: TestClient,
    ctx: Context,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
) -> None:
    user = make_user()
    group_id = new_group(user)
    big = tmp_path / "big.csv"
    big.write_bytes(b"09121234567\n" * (ctx.settings.max_upload_bytes // 12 + 10))
    with big.open("rb") as handle:
        r = client.post(
            f"{API}/groups/{group_id}/imports", headers=user.headers, files={"file": ("big.csv", handle)}
        )
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"
    assert size(client, user, group_id) == 0


def test_another_accounts_group_is_not_found(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    xlsx: Callable[..., Path],
    upload: Callable[..., dict[str, Any]],
) -> None:
    owner, intruder = make_user(), make_user()
    group_id = new_group(owner, numbers=["09121111111"])
    refused = upload(intruder, group_id, xlsx([["09121234567"]]))
    assert (refused["status_code"], refused["error"]) == (404, "group_not_found")
    refused = upload(intruder, 10**9, xlsx([["09121234567"]]))
    assert (refused["status_code"], refused["error"]) == (404, "group_not_found")
    assert size(client, owner, group_id) == 1


def test_an_import_failing_midway_leaves_the_group_as_it_was(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    follow_import: Callable[..., dict[str, Any]],
    numbers_of: Callable[..., list[str]],
    background_imports: None,
) -> None:
    """The row limit is met late: the last lines carry two numbers each, so the text has fewer lines
    than the limit and passes the up-front checks, and the reader stops near its end."""
    user = make_user()
    group_id = new_group(user, numbers=["09120000001", {"number": "09120000002", "name": "قبلی"}])
    before = numbers_of(user, group_id)
    lines = [f"0912{i:07d}" for i in range(10, 1110)]
    lines += [f"0935{i:07d}, 0936{i:07d}" for i in range(1000)]
    text = "\n".join(lines)  # 2,100 lines, 3,100 numbers
    limits = reader.Limits(max_rows=3000)
    client.app.dependency_overrides[endpoints.import_limits] = lambda: limits  # type: ignore[attr-defined]
    try:
        r = client.post(f"{API}/groups/{group_id}/imports", headers=user.headers, json={"text": text})
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert r.status_code == 202, r.text
    job = follow_import(user, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "import_too_many_rows"
    assert job["error"]["max_rows"] == 3000
    assert "۳٬۰۰۰" in job["error"]["detail"]
    assert job["rows_read"] == 3000
    assert job["added"] == 0
    assert numbers_of(user, group_id) == before
    items = items_of(client, user, group_id)
    assert [i["name"] for i in items] == [None, "قبلی"]


def test_a_failure_while_saving_rolls_everything_back(
    ctx: Context, client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    """Rows are already inserted in the saving transaction when it breaks: none may stay."""
    user = make_user()
    group_id = new_group(user, numbers=["09120000001"])
    opened, job = text_job(ctx, user, group_id, 3000)
    inserted: list[int] = []

    def break_after_inserting(progress: Progress) -> None:
        if progress.stage == "saving" and progress.added:
            inserted.append(progress.added)
            raise OSError("disk full")

    final = imports.run_import(ctx.db, import_id=job.id, reader=opened, on_progress=break_after_inserting)
    assert inserted == [2999]
    assert (final.status, final.error_code, final.added) == ("failed", "import_failed", 0)
    assert size(client, user, group_id) == 1
    with ctx.db.transaction(readonly=True) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GroupNumber)) == 1
    body = client.get(f"{API}/imports/{job.id}", headers=user.headers).json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "import_failed"


def test_progress_is_visible_while_the_import_runs(
    ctx: Context, client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    """Seen through the API from the progress callback, which runs while the import is under way."""
    user = make_user()
    group_id = new_group(user, numbers=["09120000001"])
    opened, job = text_job(ctx, user, group_id, 5000)
    seen: list[tuple[str, dict[str, Any], int]] = []

    def look(progress: Progress) -> None:
        if progress.stage in ("reading", "saving"):
            body = client.get(f"{API}/imports/{job.id}", headers=user.headers).json()
            seen.append((progress.stage, body, size(client, user, group_id)))

    final = imports.run_import(
        ctx.db, import_id=job.id, reader=opened, on_progress=look, progress_every=500, write_interval=0
    )
    assert final.status == "done"
    reading = [(body, group_size) for stage, body, group_size in seen if stage == "reading"]
    assert len(reading) >= 10
    assert all(body["status"] == "running" for body, _ in reading)
    figures = [body["progress"] for body, _ in reading]
    assert figures == sorted(figures)
    assert 0 < figures[0] < figures[-1] < 1
    assert [body["rows_read"] for body, _ in reading][:3] == [500, 1000, 1500]
    # Nothing is in the group until the import commits as a whole.
    assert {group_size for _, group_size in reading} == {1}
    done = client.get(f"{API}/imports/{job.id}", headers=user.headers).json()
    assert (done["status"], done["progress"], done["added"], done["duplicates"]) == ("done", 1.0, 4999, 1)
    assert size(client, user, group_id) == 5000


@pytest.mark.postgres
def test_on_postgresql_progress_also_moves_while_saving(
    ctx: Context, client: TestClient, make_user: Callable[..., Any], new_group: Callable[..., int]
) -> None:
    user = make_user()
    group_id = new_group(user)
    opened, job = text_job(ctx, user, group_id, 120_000)
    saving: list[float] = []

    def look(progress: Progress) -> None:
        if progress.stage == "saving" and progress.added:
            saving.append(client.get(f"{API}/imports/{job.id}", headers=user.headers).json()["progress"])

    imports.run_import(ctx.db, import_id=job.id, reader=opened, on_progress=look, write_interval=0)
    assert saving and saving[0] > imports.READ_SHARE


def test_import_list_and_invalid_pages(
    client: TestClient,
    make_user: Callable[..., Any],
    new_group: Callable[..., int],
    follow_import: Callable[..., dict[str, Any]],
    background_imports: None,
) -> None:
    user = make_user()
    group_id = new_group(user)
    other = new_group(user, "دیگر")
    text = "\n".join(["09121234567"] + [f"bad{i}" for i in range(1, 1201)])
    first = client.post(f"{API}/groups/{group_id}/imports", headers=user.headers, json={"text": text}).json()
    job = follow_import(user, first["id"])
    assert (job["status"], job["added"], job["invalid_count"]) == ("done", 1, 1200)
    assert len(job["invalid"]) == 1000  # the rest are paged
    page = client.get(
        f"{API}/imports/{job['id']}/invalid", headers=user.headers, params={"offset": 1000, "limit": 500}
    ).json()
    assert page["total"] == 1200
    assert [i["value"] for i in page["items"]] == [f"bad{i}" for i in range(1001, 1201)]
    assert page["items"][0]["row"] == 1002

    second = client.post(f"{API}/groups/{other}/imports", headers=user.headers, json={"text": "09351234567"})
    follow_import(user, second.json()["id"])
    listed = client.get(f"{API}/imports", headers=user.headers).json()
    assert [j["id"] for j in listed] == [second.json()["id"], first["id"]]
    assert all(j["invalid"] == [] for j in listed)
    only = client.get(f"{API}/imports", headers=user.headers, params={"group_id": group_id}).json()
    assert [j["id"] for j in only] == [first["id"]]


def test_preview(
    client: TestClient, make_user: Callable[..., Any], xlsx: Callable[..., Path], tmp_path: Path
) -> None:
    user = make_user()
    path = xlsx(
        [["نام", "تلفن همراه", "شهر"], ["علی", "09121234567", "تهران"], ["سارا", "09351234567", "قم"]]
    )
    r = client.post(
        f"{API}/imports/preview", headers=user.headers, files={"file": ("list.xlsx", path.read_bytes())}
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["format"] == "xlsx"
    assert preview["columns"] == ["نام", "تلفن همراه", "شهر"]
    assert preview["rows"] == [["علی", "09121234567", "تهران"], ["سارا", "09351234567", "قم"]]
    assert (preview["phone_column"], preview["name_column"], preview["has_header"]) == (1, 0, True)
    assert preview["total_rows"] == 2

    r = client.post(f"{API}/imports/preview", headers=user.headers, json={"text": "09121234567 علی"})
    assert r.status_code == 200
    assert r.json()["layout"] == "list"
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"PK\x03\x04garbage")
    r = client.post(
        f"{API}/imports/preview", headers=user.headers, files={"file": ("broken.xlsx", bad.read_bytes())}
    )
    assert (r.status_code, r.json()["error"]) == (422, "import_corrupt")
    assert client.post(f"{API}/imports/preview", files={"file": ("a.csv", b"0912")}).status_code == 401


def test_cli_import(
    tmp_path: Path,
    ctx: Context,
    client: TestClient,
    make_user: Callable[..., Any],
    xlsx: Callable[..., Path],
    numbers_of: Callable[..., list[str]],
) -> None:
    from payamak.cli import app

    user = make_user()
    path = xlsx([["mobile"], ["09121234567"], ["09121234567"], ["09351234567"], ["not a number"]])
    env = {"PAYAMAK_DATABASE_URL": ctx.db.url, "PAYAMAK_DATA_DIR": str(tmp_path / "cli-data")}
    runner = CliRunner()
    result = runner.invoke(
        app, ["import", str(path), "--group", "از فایل", "--account", user.mobile], env=env
    )
    assert result.exit_code == 0, result.output
    assert "از فایل" in result.output
    assert "created" in result.output
    assert "added 2" in result.output
    assert "duplicates 1" in result.output
    assert "invalid 1" in result.output
    assert "row 5" in result.output
    groups = client.get(f"{API}/groups", headers=user.headers).json()
    assert [(g["name"], g["size"]) for g in groups] == [("از فایل", 2)]

    again = runner.invoke(app, ["import", str(path), "--group", "از فایل", "--account", user.mobile], env=env)
    assert again.exit_code == 0, again.output
    assert "created" not in again.output
    assert "added 0" in again.output

    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(b"PK\x03\x04" + os.urandom(1000))
    failed = runner.invoke(
        app, ["import", str(corrupt), "--group", "دیگر", "--account", user.mobile], env=env
    )
    assert failed.exit_code == 1
    assert "import_corrupt" in failed.output
    assert len(failed.output.strip().splitlines()) == 1
    assert [g["name"] for g in client.get(f"{API}/groups", headers=user.headers).json()] == ["از فایل"]

    nobody = runner.invoke(app, ["import", str(path), "--group", "x", "--account", "09129999999"], env=env)
    assert nobody.exit_code == 1
    assert "account" in nobody.output
    missing = runner.invoke(
        app, ["import", str(tmp_path / "nope.xlsx"), "--group", "x", "--account", user.mobile], env=env
    )
    assert missing.exit_code != 0
    assert numbers_of(user, groups[0]["id"]) == ["+989121234567", "+989351234567"]
