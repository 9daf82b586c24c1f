"""`payamak check`, driven through a Typer app built the way the main CLI registers it."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from payamak.compliance.commands import check_command

app = typer.Typer()


@app.callback()
def root() -> None:
    """Stands in for the `payamak` group."""


app.command("check")(check_command)
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["check", *args], input=stdin)
    return result.exit_code, result.stdout


def test_informational_text_is_checked_and_gets_the_opt_out_line() -> None:
    text = "فروشگاه رضا: تماس ۰۹۱۲۳۴۵۶۷۸۹"
    code, out = run(text, "--kind", "informational", "--sender-name", "فروشگاه رضا")
    assert code == 0
    assert json.loads(out) == {
        "text": text + "\nلغو۱۱",
        "encoding": "UCS-2",
        "segments": 1,
        "characters": len(text) + 6,
        "violations": [
            {
                "rule": "phone_number",
                "start": 18,
                "end": 29,
                "message": "پیامک اطلاع‌رسانی نباید شماره تلفن داشته باشد: «۰۹۱۲۳۴۵۶۷۸۹»",
            }
        ],
    }
    assert "\\u" not in out  # Persian is printed as is
    assert out.endswith("}\n") and out.count("\n") == 1


def test_without_kind_the_text_is_only_analysed_as_given() -> None:
    code, out = run("Visit shop.ir, call 09123456789")
    assert code == 0
    assert json.loads(out) == {
        "text": "Visit shop.ir, call 09123456789",
        "encoding": "GSM-7",
        "segments": 1,
        "characters": 31,
        "violations": [],
    }


def test_counts_describe_the_text_as_it_will_be_sent() -> None:
    code, out = run("a" * 150, "--kind", "informational")
    assert code == 0
    result = json.loads(out)
    assert result["encoding"] == "UCS-2"  # «لغو۱۱» is not GSM-7
    assert (result["characters"], result["segments"]) == (156, 3)


def test_sender_names_are_checked_when_given() -> None:
    _, out = run("سلام", "--kind", "informational", "--sender-name", "فروشگاه رضا", "--sender-name", "Reza")
    assert [v["rule"] for v in json.loads(out)["violations"]] == ["sender_name_missing"]
    _, out = run(
        "Reza: hi", "--kind", "informational", "--sender-name", "فروشگاه رضا", "--sender-name", "Reza"
    )
    assert json.loads(out)["violations"] == []


def test_advertising_keeps_its_text() -> None:
    _, out = run("تخفیف! shop.ir", "--kind", "advertising")
    assert json.loads(out)["text"] == "تخفیف! shop.ir"
    assert json.loads(out)["violations"] == []


def test_text_from_standard_input() -> None:
    code, out = run("--kind", "informational", stdin="shop.ir\n")
    assert code == 0
    assert json.loads(out)["text"] == "shop.ir\nلغو۱۱"


def test_a_text_that_cannot_be_sent_exits_1_with_its_code() -> None:
    result = runner.invoke(app, ["check", "", "--kind", "informational"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: text_empty: ")
    assert result.stderr.count("\n") == 1


def test_jsonl_prints_one_result_a_line_and_goes_on_after_bad_lines() -> None:
    lines = [
        json.dumps(
            {"text": "فروشگاه رضا: shop.ir", "kind": "informational", "sender_names": ["فروشگاه رضا"]}
        ),
        "not json",
        "",
        json.dumps({"text": "سلام"}),
        json.dumps(["text"]),
        json.dumps({"text": "x", "kind": "marketing"}),
        json.dumps({"text": "x", "sender_names": "فروشگاه"}),
        json.dumps({"text": ""}),
        json.dumps({"text": "سلام", "kind": "informational"}),
    ]
    code, out = run("--jsonl", stdin="\n".join(lines) + "\n")
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [v["rule"] for v in results[0]["violations"]] == ["link"]
    assert results[1] == {"error": "invalid_json", "line": 2, "detail": results[1]["detail"]}
    assert results[2]["text"] == "سلام" and results[2]["violations"] == []
    assert [(r["error"], r["line"]) for r in results[3:7]] == [
        ("invalid_input", 5),
        ("kind_invalid", 6),
        ("invalid_input", 7),
        ("text_empty", 8),
    ]
    assert results[7]["text"] == "سلام\nلغو۱۱"
    assert len(results) == 8


def test_jsonl_survives_a_bom_and_bytes_that_are_not_utf8() -> None:
    stdin = "\ufeff" + json.dumps({"text": "shop.ir"}) + "\n"
    result = runner.invoke(
        app, ["check", "--jsonl", "--kind", "informational"], input=stdin.encode() + b"\xff\xfe\n"
    )
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert [v["rule"] for v in first["violations"]] == ["link"]
    assert second["error"] == "invalid_utf8"


def test_jsonl_options_fill_in_what_a_line_leaves_out() -> None:
    lines = [json.dumps({"text": "سلام"}), json.dumps({"text": "سلام", "kind": None, "sender_names": []})]
    code, out = run(
        "--jsonl", "--kind", "informational", "--sender-name", "فروشگاه رضا", stdin="\n".join(lines)
    )
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert [v["rule"] for v in first["violations"]] == ["sender_name_missing"]
    assert second == {"text": "سلام", "encoding": "UCS-2", "segments": 1, "characters": 4, "violations": []}


@pytest.mark.parametrize("args", [["hello", "--jsonl"], ["hello", "--kind", "marketing"]])
def test_usage_errors(args: list[str]) -> None:
    code, _ = run(*args)
    assert code == 2
