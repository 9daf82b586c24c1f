"""End-to-end fixtures: Debian's Chromium (never a downloaded browser) driven by Playwright, and a
real server (web, API, dispatcher, simulated SMSC) on a free port against the test database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from payamak.db import Database
from payamak.models import metadata
from payamak.phonebook import imports

from .server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("end-to-end tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _empty(database_url: str) -> None:
    """Leave the database as the other tests expect it: empty (as the `db` fixture does)."""
    database = Database(database_url)
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    try:
        with database.engine.begin() as conn:
            if database.dialect == "postgresql":
                conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(sa.text(f"DELETE FROM {name}"))
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def live(browser: Any, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(database_url, tmp_path_factory.mktemp("e2e"))
    _empty(database_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        assert imports.wait_for_imports(timeout=60), "an import outlived the end-to-end tests"
        _empty(database_url)
    server.check()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)
