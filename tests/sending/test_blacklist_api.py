"""The admin blacklist API and the `payamak blacklist` commands."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from payamak.context import Context
from payamak.sending import blacklist

API = "/api/v1/admin/blacklist"


def test_summary_add_check_remove(client: TestClient, make_user: Callable[..., Any]) -> None:
    admin = make_user(admin=True)
    h = admin.headers
    r = client.get(API, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "version": 0,
        "counts": {"national": 0, "operator": 0, "manual": 0},
        "loaded_at": None,
        "national": None,
        "last_load": None,
    }

    r = client.post(
        f"{API}/numbers", headers=h, json={"numbers": ["09121111111", 9352222222, "abc"], "reason": "شکایت"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "added": 2,
        "already": 0,
        "invalid": [{"row": 3, "value": "abc", "reason": "not_a_number"}],
    }

    r = client.get(f"{API}/check", headers=h, params={"number": "+98 912 111 1111"})
    body = r.json()
    assert body["blocked"] and body["kinds"] == ["manual"] and body["e164"] == "+989121111111"
    assert body["entries"][0]["reason"] == "شکایت" and body["entries"][0]["added_by"] == admin.id
    assert client.get(API, headers=h).json()["counts"]["manual"] == 2

    r = client.request(
        "DELETE", f"{API}/numbers", headers=h, json={"numbers": ["09121111111", "09120000000"]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"removed": 1, "not_listed": 1, "still_national": [], "invalid": []}
    r = client.post(f"{API}/numbers/remove", headers=h, json={"numbers": ["09352222222"]})
    assert r.json()["removed"] == 1
    assert not client.get(f"{API}/check", headers=h, params={"number": "09352222222"}).json()["blocked"]
    assert client.get(API, headers=h).json()["counts"]["manual"] == 0

    r = client.get(f"{API}/check", headers=h, params={"number": "02188887777", "lang": "en"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_number"
    assert client.post(f"{API}/numbers", headers=h, json={"numbers": []}).status_code == 422


def test_national_upload_loads_in_the_background(client: TestClient, make_user: Callable[..., Any]) -> None:
    admin = make_user(admin=True)
    h = admin.headers
    content = "".join(f"0912{i:07d}\n" for i in range(5000)) + "junk\n\n"
    files = {"file": ("800.txt.gz", gzip.compress(content.encode()), "application/gzip")}
    r = client.post(f"{API}/national", headers=h, files=files)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["source"] == "800.txt.gz"

    # the test client returns once the background work has finished too
    load = client.get(f"{API}/loads/{started['id']}", headers=h).json()
    assert load["status"] == "done", load
    assert (load["lines"], load["valid"], load["numbers"], load["invalid"], load["blank"]) == (
        5002,
        5000,
        5000,
        1,
        1,
    )
    assert load["progress"] == 1.0 and load["invalid_samples"] == [
        {"line": 5001, "value": "junk", "reason": "not_a_number"}
    ]
    summary = client.get(API, headers=h).json()
    assert summary["counts"]["national"] == 5000 and summary["national"]["source"] == "800.txt.gz"
    assert summary["loaded_at"] is not None and summary["last_load"]["id"] == started["id"]
    assert client.get(f"{API}/check", headers=h, params={"number": "09120000042"}).json()["kinds"] == [
        "national"
    ]

    r = client.post(f"{API}/numbers/remove", headers=h, json={"numbers": ["09120000042"]})
    assert r.json() == {"removed": 0, "not_listed": 0, "still_national": ["+989120000042"], "invalid": []}


def test_a_wrong_file_is_refused_and_changes_nothing(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    admin = make_user(admin=True)
    h = admin.headers
    ok = client.post(f"{API}/national", headers=h, files={"file": ("a.txt", b"09121111111\n", "text/plain")})
    assert client.get(f"{API}/loads/{ok.json()['id']}", headers=h).json()["status"] == "done"

    wrong = "name,mobile\n" + "".join(f"x{i},0912{i:07d}\n" for i in range(5))
    r = client.post(
        f"{API}/national",
        headers={**h, "Accept-Language": "en"},
        files={"file": ("c.csv", wrong, "text/csv")},
    )
    load = client.get(f"{API}/loads/{r.json()['id']}", headers={**h, "Accept-Language": "en"}).json()
    assert load["status"] == "failed" and load["error"] == "blacklist_file_empty"
    assert "no valid mobile" in load["detail"]
    summary = client.get(API, headers=h).json()
    assert summary["counts"]["national"] == 1 and summary["last_load"]["status"] == "failed"


def test_one_upload_at_a_time_and_unknown_loads(
    client: TestClient, ctx: Context, make_user: Callable[..., Any]
) -> None:
    admin = make_user(admin=True)
    h = admin.headers
    with ctx.db.transaction() as session:
        blacklist.begin_national_load(session, source="running.txt")
    r = client.post(f"{API}/national", headers=h, files={"file": ("a.txt", b"09121111111\n", "text/plain")})
    assert r.status_code == 409 and r.json()["error"] == "blacklist_load_running"
    assert not list((ctx.settings.data_dir / "uploads").iterdir())  # the spooled copy is gone
    r = client.get(f"{API}/loads/999999", headers=h)
    assert r.status_code == 404 and r.json()["error"] == "blacklist_load_not_found"


def test_only_admins(client: TestClient, make_user: Callable[..., Any]) -> None:
    user = make_user()
    h = user.headers
    assert client.get(API, headers=h).status_code == 403
    assert client.post(f"{API}/numbers", headers=h, json={"numbers": ["09121111111"]}).status_code == 403
    assert client.get(f"{API}/check", params={"number": "09121111111"}).status_code == 401


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    from payamak.cli import app

    monkeypatch.setenv("PAYAMAK_DATABASE_URL", ctx.db.url)
    monkeypatch.setenv("PAYAMAK_DATA_DIR", str(ctx.settings.data_dir))

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, ["blacklist", *args])

    return run


def test_cli_add_check_remove(cli: Callable[..., Any]) -> None:
    r = cli("add", "09121111111", "+98 935 222 2222", "--reason", "complaint")
    assert r.exit_code == 0, r.output
    assert "added 2, already listed 0" in r.output
    r = cli("check", "۰۹۱۲۱۱۱۱۱۱۱")
    assert r.exit_code == 0 and "+989121111111 blocked (manual)" in r.output
    r = cli("remove", "09121111111")
    assert r.exit_code == 0 and "removed 1, not listed 0" in r.output
    r = cli("check", "09121111111")
    assert r.exit_code == 0 and "+989121111111 not blocked" in r.output


def test_cli_refuses_invalid_numbers_entirely(cli: Callable[..., Any]) -> None:
    r = cli("add", "09121111111", "0218888777")
    assert r.exit_code == 1
    assert "invalid_number" in r.output and "0218888777" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = cli("check", "09121111111")
    assert "not blocked" in r.output  # nothing was added
    r = cli("check", "hello")
    assert r.exit_code == 1 and "invalid_number" in r.output
    r = cli("remove", "hello")
    assert r.exit_code == 1 and "invalid_number" in r.output


def test_cli_load(cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "800.txt"
    path.write_text("09121111111\n+989352222222\n۰۹۹۰۳۳۳۳۳۳۳\nbad line\n09121111111\n")
    r = cli("load", str(path))
    assert r.exit_code == 0, r.output
    assert "loaded 3 numbers from 5 lines: 1 invalid, 0 blank, 1 duplicates" in r.output
    assert "line 4: 'bad line' (not_a_number)" in r.output
    r = cli("check", "09903333333")
    assert "blocked (national)" in r.output

    r = cli("load", str(tmp_path / "missing.txt"))
    assert r.exit_code == 1 and "file_unreadable" in r.output
    r = cli("load", str(tmp_path))
    assert r.exit_code == 1 and "file_unreadable" in r.output

    wrong = tmp_path / "wrong.txt"
    wrong.write_text("a\nb\nc\n09121111111\n")
    r = cli("load", str(wrong))
    assert r.exit_code == 1 and "blacklist_file_rejected" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = cli("check", "09903333333")
    assert "blocked (national)" in r.output  # the list in force is unchanged


def test_cli_in_a_fresh_process(ctx: Context, tmp_path: Path) -> None:
    """The command imports only what it needs: run it as an operator would, in its own interpreter."""
    path = tmp_path / "800.txt"
    path.write_text("09121111111\n")
    env = {
        **os.environ,
        "PAYAMAK_DATABASE_URL": ctx.db.url,
        "PAYAMAK_DATA_DIR": str(ctx.settings.data_dir),
    }
    load = subprocess.run(
        [sys.executable, "-m", "payamak", "blacklist", "load", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert load.returncode == 0, load.stderr
    assert "loaded 1 numbers" in load.stdout
    check = subprocess.run(
        [sys.executable, "-m", "payamak", "blacklist", "check", "09121111111"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0 and "blocked (national)" in check.stdout, check.stderr
