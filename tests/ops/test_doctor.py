"""`payamak doctor` on a healthy deployment, and on ones with each thing it must catch."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from payamak.cli import app
from payamak.config import Settings
from payamak.db import upgrade, utcnow
from payamak.dispatch import service as dispatch
from payamak.providers.smpp import SimulatedSmsc, SmscConfig

from .conftest import SECRET, Shop, dispatcher_for, wait_for


def doctor(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> tuple[int, str]:
    """Run `payamak doctor` against `settings`' database and data dir, as its environment would say."""
    monkeypatch.setenv("PAYAMAK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAYAMAK_SECRET_KEY", settings.secret_key or "")
    if settings.database_url:
        monkeypatch.setenv("PAYAMAK_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(app, ["doctor", "--min-free-mb", "1", *args])
    return result.exit_code, result.output


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def checks_of(output: str) -> dict[str, dict[str, object]]:
    data = json.loads(output)
    return {check["name"]: check for check in data["checks"]}


@pytest.fixture
def healthy(shop: Shop) -> Shop:
    """A route that a real dispatcher bound and reported up, and messages it delivered."""

    async def scenario() -> None:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.05)) as smsc:
            shop.add_route("main", port=smsc.port)
            shop.send(["09121111111", "09351111112"])
            dispatcher = dispatcher_for(shop)
            await dispatcher.start()
            try:
                await wait_for(lambda: dispatcher.stats.final.get("delivered", 0) == 2, what="two receipts")
            finally:
                await dispatcher.stop()

    asyncio.run(scenario())
    return shop


def test_passes_on_a_healthy_deployment(healthy: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = doctor(monkeypatch, healthy.ctx.settings)
    assert code == 0, output
    lines = output.splitlines()
    for name in (
        "database",
        "migrations",
        "route main",
        "queue",
        "stuck",
        "ledger",
        "data dir",
        "secret key",
    ):
        assert any(line.startswith(f"✓ {name} ") for line in lines), (name, output)
    assert lines[-1] == "all checks passed"

    code, output = doctor(monkeypatch, healthy.ctx.settings, "--json")
    assert code == 0
    checks = checks_of(output)
    assert json.loads(output)["ok"] is True
    assert checks["database"]["dialect"] == healthy.ctx.db.dialect
    assert checks["route main"]["state"] == "up"
    assert checks["ledger"]["status"] == "ok"
    # Nothing due, and the dispatcher stopped: not known to be wrong, so not a failure.
    assert checks["dispatchers"]["status"] == "unknown"


def test_fails_when_migrations_are_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, secret_key=SECRET)
    upgrade(settings.sqlalchemy_url, "0001")  # a database the last release left behind
    code, output = doctor(monkeypatch, settings, "--json")
    assert code == 1
    checks = checks_of(output)
    assert checks["migrations"]["status"] == "fail"
    assert "payamak db upgrade" in str(checks["migrations"]["detail"])
    assert checks["migrations"]["current"] == ["0001"]
    # What the old schema lacks is not checked, and not blamed on anything else.
    assert checks["routes"]["status"] == "unknown"

    code, output = doctor(monkeypatch, settings)
    assert code == 1
    assert any(line.startswith("✗ migrations ") for line in output.splitlines())
    assert "failed: migrations" in output


def test_fails_on_a_message_stuck_in_submitting(healthy: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    healthy.send(["09121111113"])
    now = utcnow()
    with healthy.ctx.db.transaction() as session:
        # Claimed by a dispatcher that then died; its lease ended ten minutes ago, nobody took it back.
        claimed = dispatch.claim(
            session, now=now, lease_until=now - dt.timedelta(minutes=10), limit=10, known={}
        )
    assert len(claimed) == 1
    code, output = doctor(monkeypatch, healthy.ctx.settings)
    assert code == 1
    stuck = [line for line in output.splitlines() if line.startswith("✗ stuck ")]
    assert stuck and "1 messages in `submitting`" in stuck[0], output
    assert output.splitlines()[-1].endswith("failed: stuck")

    # Within the grace it is a claim like any other.
    code, _ = doctor(monkeypatch, healthy.ctx.settings, "--stuck-grace", "3600")
    assert code == 0


def test_fails_when_the_ledger_is_tampered_with(healthy: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    with healthy.ctx.db.transaction() as session:
        session.execute(
            sa.text("UPDATE accounts SET balance = balance + 1000 WHERE id = :id"), {"id": healthy.account_id}
        )
    code, output = doctor(monkeypatch, healthy.ctx.settings, "--json")
    assert code == 1
    ledger = checks_of(output)["ledger"]
    assert ledger["status"] == "fail"
    assert f"account {healthy.account_id}" in str(ledger["detail"])
    assert [name for name, check in checks_of(output).items() if check["status"] == "fail"] == ["ledger"]


def test_fails_on_a_route_that_is_down_and_on_an_old_queue(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.add_route("dead", port=closed_port())

    async def scenario() -> None:
        dispatcher = dispatcher_for(shop)
        await dispatcher.start()
        await dispatcher.stop()

    asyncio.run(scenario())
    shop.send(["09121111111"])
    code, output = doctor(monkeypatch, shop.ctx.settings, "--json", "--max-queue-age", "0")
    assert code == 1
    checks = checks_of(output)
    assert checks["route dead"]["status"] == "fail"
    assert checks["route dead"]["state"] in ("down", "failing")
    assert checks["queue"]["status"] == "fail"
    assert checks["queue"]["due"] == 1
    # Due messages and no dispatcher running to take them.
    assert checks["dispatchers"]["status"] == "fail"


def test_no_database_file_is_reported_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET)
    code, output = doctor(monkeypatch, settings, "--json")
    assert code == 1
    assert checks_of(output)["database"]["status"] == "fail"
    assert not (tmp_path / "payamak.db").exists()
