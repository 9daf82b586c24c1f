"""`payamak serve` at start: the embedded SQLite database upgrades itself, a PostgreSQL one must be
upgraded first by `payamak db upgrade`, and the sandbox payment gateway is announced as taking no
money. Each run is a real `payamak serve` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from payamak.db import current_revisions, head_revisions, upgrade

from .conftest import SECRET

PG_URL = os.environ.get("PAYAMAK_TEST_DATABASE_URL", "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """A Payamak process's environment: this data dir and database, nothing of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
    env.update(PAYAMAK_DATA_DIR=str(data_dir), PAYAMAK_SECRET_KEY=SECRET, PAYAMAK_EMBEDDED_DISPATCHER="false")
    if database_url:
        env["PAYAMAK_DATABASE_URL"] = database_url
    return env


def _payamak(*args: str) -> list[str]:
    return [sys.executable, "-m", "payamak", *args]


def _serve_until_healthy(env: dict[str, str]) -> str:
    """Start `payamak serve`, wait until /healthz answers 200, stop it; what it wrote on stderr."""
    port = _free_port()
    server = subprocess.Popen(
        _payamak("serve", "--port", str(port)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert server.poll() is None, f"payamak serve exited: {server.communicate()[1][-2000:]}"
                assert time.monotonic() < deadline, "payamak serve did not answer /healthz"
                time.sleep(0.2)
        assert health.status_code == 200, health.text
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    return stderr


def test_sqlite_upgrades_itself_and_warns_that_the_sandbox_takes_no_money(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'payamak.db'}"
    upgrade(url, "0001")  # a database an older release left behind
    stderr = _serve_until_healthy(_env(data_dir))
    assert current_revisions(url) == head_revisions()
    warning = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert warning and "sandbox gateway, which takes no money" in warning[0], stderr


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    """A database of this test's own on the suite's PostgreSQL server, dropped after."""
    server = make_url(PG_URL)
    name = f"{server.database or 'payamak'}_serve_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_must_be_upgraded_before_serve_starts(fresh_pg_database: str, tmp_path: Path) -> None:
    url = fresh_pg_database
    upgrade(url, "0001")
    env = _env(tmp_path, url)

    refused = subprocess.run(
        _payamak("serve", "--port", str(_free_port())), env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: database_outdated: ") and "0001" in line, line
    assert "run `payamak db upgrade` first" in line
    assert current_revisions(url) == {"0001"}, "serve must not migrate a shared database"

    upgraded = subprocess.run(_payamak("db", "upgrade"), env=env, capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    stderr = _serve_until_healthy(env)
    assert "sandbox gateway, which takes no money" in stderr
