"""`payamak admin routes …` and `payamak admin lines …`: what operators script."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from payamak.cli import app
from payamak.context import Context
from payamak.dispatch import service
from payamak.sending import repository as sending_repo


@pytest.fixture
def run(ctx: Context, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAYAMAK_DATABASE_URL", ctx.settings.sqlalchemy_url)
    monkeypatch.setenv("PAYAMAK_DATA_DIR", str(ctx.settings.data_dir))
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args))

    return invoke


def test_routes_and_lines(run, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    r = run("admin", "routes", "add", "--name", "mci", "--smpp", "10.0.0.5:2775", "--system-id", "shop",
            "--password", "pw", "--tps", "100", "--window", "32", "--operators", "MCI,Irancell")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "added route mci" in r.output
    with ctx.db.transaction(readonly=True) as session:
        route = service.route_named(session, name="mci")
        assert route.config == {
            "host": "10.0.0.5",
            "port": 2775,
            "system_id": "shop",
            "password": "pw",
            "tps": 100,
            "window": 32,
        }
        assert route.operators == "MCI,Irancell"

    r = run("admin", "lines", "add", "--number", "3000 5555", "--kind", "advertising", "--route", "mci")
    assert r.exit_code == 0, r.output
    with ctx.db.transaction(readonly=True) as session:
        line = sending_repo.line_by_number(session, "30005555")
        assert line is not None and line.route_id == route.id and line.account_id is None

    listed = run("admin", "routes", "list")
    assert listed.exit_code == 0 and "mci\t10.0.0.5:2775\tpriority 100\tactive\tunknown" in listed.output
    assert "30005555\tadvertising\tshared\troute" in run("admin", "lines", "list").output
    assert run("admin", "routes", "disable", "--name", "mci").exit_code == 0
    assert "inactive" in run("admin", "routes", "list").output
    assert run("admin", "routes", "remove", "--name", "mci").exit_code == 0
    assert run("admin", "routes", "list").output == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "r", "--smpp", "nohost", "--system-id", "s", "--password", "p"], "route_invalid"),
        (["--name", "r", "--smpp", "h:1"], "route_invalid"),
        (["--name", "r", "--smpp", "h:99999", "--system-id", "s", "--password", "p"], "route_invalid"),
        (
            ["--name", "r", "--smpp", "h:1", "--system-id", "s", "--password", "p", "--kinds", "spam"],
            "route_invalid",
        ),
    ],
)
def test_bad_routes_fail_with_one_line(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    r = run("admin", "routes", "add", *args)
    assert r.exit_code == 1
    assert message in r.output and len(r.output.strip().splitlines()) == 1


def test_bad_lines_fail_with_one_line(run) -> None:  # type: ignore[no-untyped-def]
    r = run("admin", "lines", "add", "--number", "30001111", "--kind", "advertising", "--route", "nowhere")
    assert r.exit_code == 1 and "route_not_found" in r.output
    assert run("admin", "lines", "add", "--number", "30001111", "--kind", "advertising").exit_code == 0
    r = run("admin", "lines", "add", "--number", "30001111", "--kind", "advertising")
    assert r.exit_code == 1 and "line_exists" in r.output
    r = run("admin", "lines", "add", "--number", "30002222", "--kind", "spam")
    assert r.exit_code == 1 and "line_kind_invalid" in r.output
    r = run("admin", "routes", "remove", "--name", "nowhere")
    assert r.exit_code == 1 and "route_not_found" in r.output


def test_dispatcher_without_a_database_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYAMAK_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    r = CliRunner().invoke(app, ["dispatcher"])
    assert r.exit_code == 1
    assert "database_unreachable" in r.output and len(r.output.strip().splitlines()) == 1
