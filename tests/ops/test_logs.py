"""Structured logs: JSON lines that parse, the request id in and out, access lines by route template."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from payamak import logs
from payamak.api.app import create_app
from payamak.context import Context

pytestmark = pytest.mark.usefixtures("restore_logging")


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in json_lines(stream) if line["logger"] == "payamak.access"]


def test_json_lines_carry_the_standard_and_extra_fields() -> None:
    stream = io.StringIO()
    logs.configure(format="json", stream=stream)
    log = logging.getLogger("payamak.test")
    log.info("send %s queued", 7, extra={"send_id": 7, "account_id": 3, "route": "mci", "at": object()})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it broke")
    first, second = json_lines(stream)
    assert first["message"] == "send 7 queued"
    assert (first["level"], first["logger"]) == ("info", "payamak.test")
    assert (first["send_id"], first["account_id"], first["route"]) == (7, 3, "mci")
    assert first["at"].startswith("<object object")  # not JSON, written as text rather than lost
    assert first["time"].endswith("+00:00")
    assert second["level"] == "error"
    assert "ValueError: boom" in second["exception"]


def test_text_lines_append_fields() -> None:
    stream = io.StringIO()
    logs.configure(format="text", stream=stream)
    logging.getLogger("payamak.test").warning("route down", extra={"route": "mci 2", "binds": 0})
    line = stream.getvalue().strip()
    assert " WARNING payamak.test: route down" in line
    assert line.endswith('route="mci 2" binds=0')


def test_text_access_lines_do_not_repeat_the_message(ctx: Context) -> None:
    stream = io.StringIO()
    logs.configure(format="text", stream=stream)
    with TestClient(create_app(context=ctx)) as client:
        answer = client.get("/api/v1/sends/5", headers={"X-Request-ID": "abc"})
    (line,) = [line for line in stream.getvalue().splitlines() if "payamak.access" in line]
    assert " INFO payamak.access: GET /api/v1/sends/{send_id} 401 " in line
    assert line.endswith("request_id=abc client=testclient")
    assert answer.headers["x-request-id"] == "abc"


def test_request_id_is_echoed_and_in_every_line_of_the_request(
    ctx: Context, make_user: Callable[..., Any]
) -> None:
    stream = io.StringIO()
    logs.configure(format="json", stream=stream)
    user = make_user()
    with TestClient(create_app(context=ctx)) as client:
        answered = client.get("/api/v1/me", headers={**user.headers, "X-Request-ID": "lb-7f3a.1"})
        fresh = client.get("/api/v1/sends/12")
        forged = client.get("/api/v1/sends/12", headers={"X-Request-ID": "x\tinjected=1"})
    assert answered.status_code == 200
    assert answered.headers["x-request-id"] == "lb-7f3a.1"
    assert len(fresh.headers["x-request-id"]) == 32
    assert forged.headers["x-request-id"] not in ("x\tinjected=1", fresh.headers["x-request-id"])

    me, anonymous, _ = access_lines(stream)
    assert me["request_id"] == "lb-7f3a.1"
    assert (me["method"], me["path"], me["status"]) == ("GET", "/api/v1/me", 200)
    assert me["account_id"] == user.id
    assert isinstance(me["duration_ms"], float)
    assert me["message"].startswith("GET /api/v1/me 200 ")
    # The template, not the id: access lines group by endpoint.
    assert (anonymous["path"], anonymous["status"]) == ("/api/v1/sends/{send_id}", 401)
    assert anonymous["request_id"] == fresh.headers["x-request-id"]
    assert "account_id" not in anonymous


def test_refused_requests_get_an_id_and_a_line(ctx: Context) -> None:
    stream = io.StringIO()
    logs.configure(format="json", stream=stream)
    with TestClient(create_app(context=ctx)) as client:
        refused = client.post("/api/v1/sends", content=b"x=1", headers={"Content-Type": "text/plain"})
    assert refused.status_code == 415
    (line,) = access_lines(stream)
    assert line["status"] == 415
    assert line["request_id"] == refused.headers["x-request-id"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_payamak_serve_writes_only_json_lines(tmp_path: Path) -> None:
    port = _free_port()
    # SQLite in a data dir of its own, whatever database the rest of the suite uses.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
    env.update(PAYAMAK_LOG_FORMAT="json", PAYAMAK_EMBEDDED_DISPATCHER="false", PAYAMAK_SECRET_KEY="k" * 40)
    command = [sys.executable, "-m", "payamak", "serve", "--port", str(port), "--data-dir", str(tmp_path)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"X-Request-ID": "probe-1"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert answer.status_code == 401
        assert answer.headers["x-request-id"] == "probe-1"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "payamak.access"} <= loggers
    (access,) = [line for line in lines if line["logger"] == "payamak.access"]
    assert (access["request_id"], access["path"], access["status"]) == ("probe-1", "/api/v1/me", 401)
    assert all("color_message" not in line for line in lines)
