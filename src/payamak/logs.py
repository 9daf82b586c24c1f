"""Log lines: one JSON object a line (PAYAMAK_LOG_FORMAT=json) or readable text, and the request id
every line written while a request is handled carries.

Fields given with `extra=` (`log.info("sent", extra={"send_id": 7, "route": "mci"})`) become keys
of the JSON object, or `key=value` pairs after the text, so they can be searched without parsing
the message.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import uuid
from typing import Any, Final, Literal, TextIO

LogFormat = Literal["text", "json"]

# Set by the request middleware; asyncio tasks and the threads sync endpoints run in copy it, so
# every line logged on a request's behalf names it.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("payamak_request_id", default=None)

# What a client may send as X-Request-ID: ids of the usual tracing systems fit, while anything
# that could forge a log line or blow up its size does not and is replaced by a fresh id.
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

# Attributes every LogRecord has; anything else on a record came from `extra=`. Uvicorn adds a
# copy of its message with terminal colours, which has no place in a log file.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
    | {"message", "asctime", "taskName", "color_message"}
)


def new_request_id(offered: str | None = None) -> str:
    """The client's id when it is a sane one, otherwise a fresh one."""
    if offered and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    current = request_id.get()
    if current is not None:
        fields["request_id"] = current
    for key, value in vars(record).items():
        if key not in _RESERVED and not key.startswith("_"):
            fields[key] = value
    return fields


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the extra fields, and `exception` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra field that is not JSON (a datetime, a Decimal) must never cost
        # the line itself.
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-01-02 10:00:00,123 INFO payamak.access: GET /x 200 3.1ms request_id=… status=200`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        # Fields the message already spells out (an access line's method, path, status and time)
        # are not repeated after it.
        shown: tuple[str, ...] = getattr(record, "_in_message", ())
        fields = {key: value for key, value in extra_fields(record).items() if key not in shown}
        if not fields:
            return line
        pairs = " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        head, sep, rest = line.partition("\n")
        return f"{head}  {pairs}{sep}{rest}"


def _text_value(value: Any) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False)
        if not text or any(c.isspace() or c == '"' for c in text)
        else text
    )


def configure(
    *, format: LogFormat = "text", level: int | str = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's lines to `stream` (stderr) in `format`, replacing earlier handlers.

    Uvicorn's loggers are made to propagate here too, so a JSON deployment has no line in
    another shape."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    # A dozen "setup plugin" lines on every start say nothing an operator needs; the migrations
    # applied (alembic.runtime.migration) still show.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler
