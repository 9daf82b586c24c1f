"""Helpers for the phonebook API tests: groups, files, and imports followed to their end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from fastapi.testclient import TestClient

from payamak.db import Database
from payamak.phonebook import imports

API = "/api/v1"


@pytest.fixture
def background_imports(db: Database) -> Iterator[None]:
    """Background imports started by a test end before its database is emptied."""
    yield
    assert imports.wait_for_imports(timeout=120), "an import thread outlived its test"


@pytest.fixture
def new_group(client: TestClient) -> Callable[..., int]:
    def make(user: Any, name: str = "مشتریان", numbers: Sequence[object] = ()) -> int:
        r = client.post(f"{API}/groups", headers=user.headers, json={"name": name})
        assert r.status_code == 201, r.text
        group_id: int = r.json()["id"]
        if numbers:
            added = client.post(
                f"{API}/groups/{group_id}/numbers", headers=user.headers, json={"numbers": numbers}
            )
            assert added.status_code == 200, added.text
        return group_id

    return make


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()
    return path


@pytest.fixture
def xlsx(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(10_000))

    def make(rows: Sequence[Sequence[object]], name: str | None = None) -> Path:
        return write_xlsx(tmp_path / (name or f"book{next(counter)}.xlsx"), rows)

    return make


@pytest.fixture
def follow_import(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Poll GET /imports/{id} until the job is no longer running; returns its last state."""

    def follow(user: Any, import_id: int, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = client.get(f"{API}/imports/{import_id}", headers=user.headers)
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            assert 0.0 <= body["progress"] <= 1.0
            if body["status"] != "running":
                return body
            assert time.monotonic() < deadline, f"import still running: {body}"
            time.sleep(0.02)

    return follow


@pytest.fixture
def upload(
    client: TestClient, follow_import: Callable[..., dict[str, Any]], background_imports: None
) -> Callable[..., dict[str, Any]]:
    """Upload a file to a group's imports and return the finished job (or the refusal's body)."""

    def send(
        user: Any, group_id: int, path: Path, *, filename: str | None = None, **form: object
    ) -> dict[str, Any]:
        with path.open("rb") as handle:
            r = client.post(
                f"{API}/groups/{group_id}/imports",
                headers=user.headers,
                files={"file": (filename or path.name, handle)},
                data={k: str(v) for k, v in form.items()},
            )
        if r.status_code != 202:
            return {"status_code": r.status_code, **r.json()}
        started = r.json()
        assert started["status"] == "running"
        return follow_import(user, started["id"])

    return send


@pytest.fixture
def numbers_of(client: TestClient) -> Callable[..., list[str]]:
    """Every number of a group, as E.164, in the API's order."""

    def read(user: Any, group_id: int) -> list[str]:
        found: list[str] = []
        offset = 0
        while True:
            r = client.get(
                f"{API}/groups/{group_id}/numbers",
                headers=user.headers,
                params={"offset": offset, "limit": 500},
            )
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            found.extend(item["number"] for item in items)
            if len(items) < 500:
                return found
            offset += 500

    return read
