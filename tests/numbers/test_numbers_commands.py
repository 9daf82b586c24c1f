"""`payamak numbers`, driven through a throwaway Typer app the way the real CLI registers it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from payamak.numbers.commands import numbers_command


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(numbers_command)
    return app


def run(app: typer.Typer, args: list[str], stdin: str | bytes | None = None) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_values_as_arguments(app: typer.Typer) -> None:
    rows = run(app, ["09123456789", "۰۹۳۵ ۱۲۳ ۴۵۶۷", "021-88776655"])
    assert rows == [
        {"input": "09123456789", "valid": True, "e164": "+989123456789", "operator": "MCI", "reason": None},
        {
            "input": "۰۹۳۵ ۱۲۳ ۴۵۶۷",
            "valid": True,
            "e164": "+989351234567",
            "operator": "Irancell",
            "reason": None,
        },
        {"input": "021-88776655", "valid": False, "e164": None, "operator": None, "reason": "landline"},
    ]


def test_output_keeps_persian_readable_and_keys_in_order(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["۰۹۱۲۳۴۵۶۷۸۹"])
    line = result.stdout.strip()
    assert "۰۹۱۲۳۴۵۶۷۸۹" in line  # ensure_ascii=False
    assert list(json.loads(line)) == ["input", "valid", "e164", "operator", "reason"]


def test_stdin_without_values(app: typer.Typer) -> None:
    stdin = "0912 345 6789\r\n+98 921 123 4567\n\nabc\n9123456789.0"
    rows = run(app, [], stdin)
    assert [r["input"] for r in rows] == ["0912 345 6789", "+98 921 123 4567", "", "abc", "9123456789.0"]
    assert [r["e164"] for r in rows] == ["+989123456789", "+989211234567", None, None, "+989123456789"]
    assert [r["reason"] for r in rows] == [None, None, "empty", "not_a_number", None]
    assert rows[1]["operator"] == "RighTel"


def test_jsonl_reads_stdin_and_decodes_json_strings(app: typer.Typer) -> None:
    stdin = '"۰۹۱۲\\u200c۳۴۵\\u200c۶۷۸۹"\n"unterminated\n09351234567\n'
    rows = run(app, ["--jsonl"], stdin)
    assert rows[0] == {
        "input": "۰۹۱۲\u200c۳۴۵\u200c۶۷۸۹",
        "valid": True,
        "e164": "+989123456789",
        "operator": "MCI",
        "reason": None,
    }
    assert rows[1]["input"] == '"unterminated'
    assert rows[1]["reason"] == "not_a_number"
    assert rows[2]["e164"] == "+989351234567"


def test_jsonl_with_values_prints_values_first(app: typer.Typer) -> None:
    rows = run(app, ["--jsonl", "09123456789"], "09351234567\n")
    assert [r["e164"] for r in rows] == ["+989123456789", "+989351234567"]


def test_values_alone_do_not_wait_for_stdin(app: typer.Typer) -> None:
    rows = run(app, ["09123456789"], "09351234567\n")
    assert [r["e164"] for r in rows] == ["+989123456789"]


def test_stdin_bom_and_bad_bytes(app: typer.Typer) -> None:
    rows = run(app, [], "\ufeff09123456789\n".encode() + b"09\xff12\n")
    assert rows[0]["input"] == "09123456789"
    assert rows[0]["valid"] is True
    assert rows[1]["input"] == "09\ufffd12"
    assert rows[1]["reason"] == "not_a_number"


def test_empty_stdin_prints_nothing(app: typer.Typer) -> None:
    assert run(app, [], "") == []


def test_help_is_english_and_names_the_option(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--jsonl" in result.stdout
    assert "SMS" in result.stdout
