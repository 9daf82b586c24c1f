"""`payamak numbers`: parse phone numbers from the command line, one JSON line each.

Kept out of the package's `__init__` so that importing `payamak.numbers` never pulls in Typer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO

import typer

from payamak.numbers.parsing import NumberInfo, parse


def _json_line(info: NumberInfo) -> str:
    return json.dumps(
        {
            "input": info.input,
            "valid": info.valid,
            "e164": info.e164,
            "operator": info.operator,
            "reason": info.reason,
        },
        ensure_ascii=False,
    )


def _stdin_values(stream: IO[bytes]) -> Iterator[str]:
    """One value a line, read as it arrives so a pipe of millions never sits in memory."""
    first = True
    for raw in stream:
        # Undecodable bytes become U+FFFD and the line is reported as not a number, rather than
        # one stray byte aborting a whole file.
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if first:
            line = line.removeprefix("\ufeff")  # Excel and Notepad start UTF-8 files with a BOM
            first = False
        if line.startswith('"'):
            # A JSON string literal (or a quoted CSV cell) stands for its content, which lets a
            # caller pass values holding any character unambiguously.
            try:
                decoded = json.loads(line)
            except ValueError:
                decoded = None
            if isinstance(decoded, str):
                line = decoded
        yield line


def _emit(values: Iterable[str], flush: bool) -> None:
    out = sys.stdout
    for value in values:
        out.write(_json_line(parse(value)) + "\n")
        if flush:
            out.flush()


def numbers_command(
    values: list[str] | None = typer.Argument(
        None,
        metavar="VALUE",
        help="Phone numbers in any written form; without any, one number a line is read from stdin.",
        show_default=False,
    ),
    jsonl: bool = typer.Option(
        False,
        "--jsonl",
        help="Read one number a line from stdin even when values are given; a JSON string line is decoded.",
    ),
) -> None:
    """Normalise phone numbers to E.164 and tell which can receive SMS, printing one JSON line each."""
    if values:
        _emit(values, flush=False)
    if jsonl or not values:
        stdin = typer.get_binary_stream("stdin")
        # Someone typing numbers at a terminal wants each answer at once, not when a buffer fills.
        _emit(_stdin_values(stdin), flush=stdin.isatty())
    sys.stdout.flush()
