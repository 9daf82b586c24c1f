"""`payamak check`: what a text would cost and which content rules it breaks, without sending it.

One text (the argument, or standard input when there is none):

    payamak check "متن پیام" --kind informational --sender-name "فروشگاه رضا"

prints one JSON object, `{"text", "encoding", "segments", "characters", "violations"}`, where
`text` is the text as it would be sent (informational messages get «لغو۱۱»), the counts describe
that text, and each violation's `start`/`end` index the text as given. Without `--kind` the text is
only analysed as given: no opt-out line is added and no rule is checked. A text that can never be
sent (empty, too long, control characters) prints `error: <code>: <reason>` on standard error and
exits 1, as every `payamak` command does with a domain error.

With `--jsonl` every line of standard input is one JSON object, `{"text": ..., "kind": ...,
"sender_names": [...]}` (`kind` and `sender_names` optional; `--kind` and `--sender-name` fill in
what a line leaves out), and every line gets one result line. A line that cannot be checked gets
`{"error": code, "line": n, "detail": reason}` instead, checking goes on, and the exit code is 1 at
the end if any line failed. Blank lines are skipped; a BOM at the start is ignored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import IO, Any

import typer

from payamak.compliance.core import Kind, check, text_to_send
from payamak.errors import DomainError
from payamak.sms import validate_text

__all__ = ["KindChoice", "check_command", "check_result"]


class KindChoice(StrEnum):
    advertising = "advertising"
    informational = "informational"


class _BadLine(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check_result(
    text: str, *, kind: Kind | None, sender_names: list[str] | tuple[str, ...] = ()
) -> dict[str, Any]:
    """The `payamak check` object for one text; raises the text's DomainError when it cannot be
    sent at all."""
    to_send = text_to_send(text, kind=kind)
    info = validate_text(to_send)
    violations = check(text, kind=kind, sender_names=sender_names)
    return {
        "text": to_send,
        "encoding": info.encoding,
        "segments": info.segments,
        "characters": info.characters,
        "violations": [
            {"rule": v.rule, "start": v.start, "end": v.end, "message": v.message} for v in violations
        ],
    }


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _parse_line(line: str, kind: Kind | None, names: list[str]) -> tuple[str, Kind | None, list[str]]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise _BadLine("invalid_json", f"not JSON: {exc}") from None
    if not isinstance(item, dict):
        raise _BadLine("invalid_input", "each line must be a JSON object")
    text = item.get("text")
    if not isinstance(text, str):
        raise _BadLine("invalid_input", '"text" must be a string')
    line_kind = item.get("kind", kind)
    if line_kind is not None and line_kind not in ("advertising", "informational"):
        raise _BadLine("kind_invalid", '"kind" must be "advertising", "informational" or null')
    line_names = item.get("sender_names", names)
    if not isinstance(line_names, list) or not all(isinstance(n, str) for n in line_names):
        raise _BadLine("invalid_input", '"sender_names" must be a list of strings')
    return text, line_kind, line_names


def _lines(stream: IO[bytes]) -> Iterator[str | None]:
    """Standard input one line at a time, as it arrives; None for a line that is not UTF-8."""
    first = True
    for raw in stream:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
        if first and line is not None:
            line = line.removeprefix("\ufeff")  # editors on Windows start UTF-8 files with a BOM
        first = False
        yield line


def _run_jsonl(kind: Kind | None, names: list[str]) -> int:
    failed = 0
    out = sys.stdout
    for number, line in enumerate(_lines(sys.stdin.buffer), start=1):
        if line is not None and not line.strip():
            continue
        try:
            if line is None:
                raise _BadLine("invalid_utf8", "the line is not UTF-8 text")
            text, line_kind, line_names = _parse_line(line, kind, names)
            result = check_result(text, kind=line_kind, sender_names=line_names)
        except _BadLine as exc:
            failed += 1
            result = {"error": exc.code, "line": number, "detail": exc.detail}
        except DomainError as exc:
            failed += 1
            result = {"error": exc.code, "line": number, "detail": exc.message_en}
        # One result per line as soon as it is known, so a caller can feed lines and read answers.
        out.write(_dump(result) + "\n")
        out.flush()
    return 1 if failed else 0


def check_command(
    text: str | None = typer.Argument(
        None, help="The message text; read from standard input when left out (and with --jsonl)."
    ),
    kind: KindChoice | None = typer.Option(
        None, "--kind", help="Check as this kind of message; without it the text is only analysed."
    ),
    sender_name: list[str] = typer.Option(
        [], "--sender-name", help="An approved sender name that must appear in an informational text."
    ),
    jsonl: bool = typer.Option(
        False, "--jsonl", help='Read {"text", "kind", "sender_names"} objects from stdin, one a line.'
    ),
) -> None:
    """Show how a text would be sent (encoding, parts) and which content rules it breaks."""
    chosen: Kind | None = None if kind is None else kind.value
    if jsonl:
        if text is not None:
            raise typer.BadParameter("TEXT and --jsonl do not go together: --jsonl reads standard input.")
        code = _run_jsonl(chosen, list(sender_name))
        if code:
            raise typer.Exit(code)
        return
    if text is None:
        text = sys.stdin.buffer.read().decode("utf-8", "replace").removeprefix("\ufeff")
        text = text.removesuffix("\n").removesuffix("\r")
    try:
        result = check_result(text, kind=chosen, sender_names=list(sender_name))
    except DomainError as exc:
        typer.echo(f"error: {exc.code}: {exc.message_en} ({exc.message_fa})", err=True)
        raise typer.Exit(1) from None
    typer.echo(_dump(result))
