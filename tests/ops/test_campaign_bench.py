"""bench/campaign.py at a tiny size, so the full-size campaign benchmark keeps working.

The bench is run as it is run by hand: a script starting real `payamak` processes (the simulated
SMSC, the admin commands, `payamak serve`, `payamak dispatcher`), xlsx groups imported over HTTP,
a blacklist loaded by `payamak blacklist load`, the send accepted by POST /sends and dispatched
to the last receipt, then the ledger and the blacklist checked. Its figures are not asserted
(the machine decides them); that it completes and that its checks hold is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from payamak.db import Database

BENCH = Path(__file__).resolve().parents[2] / "bench" / "campaign.py"
RECIPIENTS = 2_000
STAGES = {"load blacklist", "import groups", "accept send", "dispatch until last submit", "last receipt"}


def run_campaign(*args: str) -> dict[str, Any]:
    sizes = ["--recipients", str(RECIPIENTS), "--blacklist", "100000", "--groups", "2"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *sizes, "--receipt-delay", "0.2", "--timeout", "120", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def assert_campaign(summary: dict[str, Any], database: str, processes: set[str]) -> None:
    assert summary["bench"] == "campaign"
    assert summary["ok"] is True
    [run] = summary["runs"]
    assert run["database"] == database
    assert set(run["stages"]) == STAGES
    assert all(seconds > 0 for seconds in run["stages"].values())
    checks = run["checks"]
    assert checks["problems"] == []
    # A tenth of the recipients were put on the list, and more are on it by chance.
    assert checks["blocked"] >= RECIPIENTS // 10
    assert run["messages"] == checks["messages"] == RECIPIENTS - checks["blocked"]
    assert checks["blacklisted_messages"] == 0
    assert checks["settled"] is True
    assert checks["charged"] == checks["held"] > 0
    assert checks["ledger_verify"].startswith("ok:")
    assert run["rate"] > 0
    assert run["baseline_rate"] > 0
    assert summary["ratio"] == run["ratio"] == pytest.approx(run["rate"] / run["baseline_rate"], rel=0.01)
    assert set(run["peak_mb"]) == processes
    # Each process's own peak: a Python process with the app loaded, not the bench's memory.
    assert all(20 < mb < 1000 for mb in run["peak_mb"].values())


def test_campaign_on_sqlite_in_one_process() -> None:
    summary = run_campaign("--db", "sqlite")
    assert_campaign(summary, "sqlite", {"blacklist-load", "serve", "smsc"})


@pytest.mark.postgres
def test_campaign_on_postgresql_with_two_api_and_two_dispatcher_processes(db: Database) -> None:
    # On the test database's server the bench creates a database of its own, and drops it after.
    summary = run_campaign(
        "--db", "postgresql", "--postgres-url", db.engine.url.render_as_string(hide_password=False)
    )
    assert_campaign(
        summary,
        "postgresql",
        {"blacklist-load", "api-1", "api-2", "dispatcher-1", "dispatcher-2", "smsc"},
    )
