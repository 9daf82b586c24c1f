"""HTTP API under load: `POST /api/v1/sends` (one recipient, informational) and `GET /api/v1/sends/{id}`
against a real `payamak serve`, next to a bare FastAPI endpoint served the same way.

Setup goes through the `payamak` commands an operator would use: migrations, an account, credit,
an approved sender name and a service line. Then `payamak serve` starts on a free loopback port
with a temporary data dir (SQLite there, or `--database-url`, which must be a scratch PostgreSQL
database: accounts and lines are added to it), with the embedded dispatcher switched off so the
API is measured alone (`--with-dispatcher` keeps it, sending what is queued meanwhile). The
baseline is a trivial FastAPI app (a JSON body in, a JSON object out, a plain `def` endpoint as
ours are) served by uvicorn in its own process.

The load comes from a separate process: httpx on asyncio, `--clients` concurrent clients (50),
each sending its next request as soon as the last is answered, for `--seconds` per phase (15)
after a short warm-up. Phases: the baseline, our POST /sends, our GET /sends/{id} over the ids the
POST phase created, the baseline again (the two baseline runs are averaged). Any answer other than
the expected status counts as an error, and the run exits 1 if there was one; `--keep-logs DIR`
keeps the servers' logs to find out why.

Printed: requests/s and p50/p99 latency per phase; the last line is the JSON summary, with
"rate" our POST rate, "baseline_rate" the bare endpoint's and "ratio" their quotient.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a numbers.py, which would shadow the standard library's `numbers` for everything
# imported after it when this script is run by path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

SENDER_NAME = "فروشگاه نیلی"
TEXT = f"{SENDER_NAME}: سفارش شما ثبت شد و فردا به دستتان می‌رسد."
PASSWORD = "bench password 1"  # a throwaway account in a throwaway database

BASELINE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class SendIn(BaseModel):
    kind: str
    text: str
    recipients: list[str] = []


@app.post("/api/v1/sends", status_code=201)
def create_send(body: SendIn) -> dict[str, object]:
    return {"id": 1, "status": "queued", "recipients": len(body.recipients), "cost": 0}
"""


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the load, in its own process -----------------------------------------------------------


def percentile(sorted_ms: list[float], share: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(share * len(sorted_ms)))]


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Keep `clients` requests in flight for `warmup` + `seconds`; measure only after the warm-up."""
    import httpx

    clients: int = spec["clients"]
    method: str = spec["method"]
    expected: int = spec["expect"]
    ids: list[int] = spec.get("ids", [])
    latencies: list[float] = []
    errors: list[str] = []
    created: list[int] = []
    # Idle connections are dropped before uvicorn's 5 s keep-alive would close them under us: a
    # request sent on a connection the server is closing fails with a ReadError, the client's fault.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else {}
    async with httpx.AsyncClient(
        base_url=spec["base"], headers=headers, limits=limits, timeout=60.0
    ) as client:
        start = time.perf_counter()
        measure_from = start + spec["warmup"]
        until = measure_from + spec["seconds"]

        async def worker(index: int) -> None:
            n = index
            while True:
                began = time.perf_counter()
                if began >= until:
                    return
                try:
                    if method == "GET":
                        response = await client.get(spec["path"].format(id=ids[n % len(ids)]))
                        n += clients
                    else:
                        response = await client.post(spec["path"], json=spec["body"])
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                ended = time.perf_counter()
                if response.status_code != expected:
                    errors.append(f"{response.status_code} {response.text[:300]}")
                    continue
                if spec.get("collect") and len(created) < 100_000:
                    created.append(int(response.json()["id"]))
                if began >= measure_from and ended <= until:
                    latencies.append((ended - began) * 1000)

        await asyncio.gather(*(worker(i) for i in range(clients)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "rate": len(latencies) / spec["seconds"],
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "errors": len(errors),
        "error_samples": errors[:5],
        "ids": created,
    }


def load_process(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so the load generator does not share this one's GIL."""
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the load process failed:\n{result.stderr}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


# --- the servers ----------------------------------------------------------------------------


def payamak(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "payamak", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"payamak {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def wait_ready(base: str, process: subprocess.Popen[bytes], path: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + path, timeout=2.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"the server at {base} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the server at {base} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, base: str, ready_path: str) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(base, process, ready_path)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def phase(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    note(f"{name}: {spec['clients']} clients, {spec['warmup']:.0f} s warm-up + {spec['seconds']:.0f} s")
    result = load_process(spec)
    note(
        f"{name}: {result['requests']} requests, {result['rate']:.0f}/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, {result['errors']} errors"
    )
    for sample in result["error_samples"]:
        note(f"  {name} error: {sample}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="Measured time per phase.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured time before each phase.")
    parser.add_argument(
        "--database-url", default=None, help="A scratch PostgreSQL database (default: SQLite)."
    )
    parser.add_argument(
        "--with-dispatcher", action="store_true", help="Keep the embedded dispatcher running."
    )
    parser.add_argument(
        "--keep-logs", type=Path, default=None, help="Copy the servers' logs into this folder."
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(drive(json.loads(sys.stdin.read())))))
        return

    with tempfile.TemporaryDirectory(prefix="payamak-bench-api-") as tmp:
        data_dir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
        env.update(
            PAYAMAK_DATA_DIR=str(data_dir),
            PAYAMAK_SECRET_KEY=secrets.token_urlsafe(48),
            PAYAMAK_EMBEDDED_DISPATCHER="true" if args.with_dispatcher else "false",
            # Messages stay valid and the simulated SMSC (with --with-dispatcher) stays off any usual port.
            PAYAMAK_DISPATCH_SMSC_PORT="0",
        )
        if args.database_url:
            env["PAYAMAK_DATABASE_URL"] = args.database_url
        database = "postgresql" if args.database_url else "sqlite"

        note(f"setting up an account on {database} through the payamak commands")
        # Numbers of their own each run, so a reused scratch PostgreSQL database takes them too.
        mobile = f"0912{secrets.randbelow(10**7):07d}"
        line = f"2000{secrets.randbelow(10**8):08d}"
        payamak(env, "db", "upgrade")
        payamak(env, "admin", "create-user", "--mobile", mobile, "--password-stdin", stdin=PASSWORD + "\n")
        payamak(env, "admin", "grant", "--mobile", mobile, "--amount", str(10**13), "--reason", "bench")
        payamak(env, "admin", "sender-names", "approve", "--mobile", mobile, "--name", SENDER_NAME)
        payamak(env, "admin", "lines", "add", "--number", line, "--kind", "service", "--mobile", mobile)

        common = {"clients": args.clients, "seconds": args.seconds, "warmup": args.warmup}
        results: dict[str, dict[str, Any]] = {}

        baseline_dir = data_dir / "baseline"
        baseline_dir.mkdir()
        (baseline_dir / "bare.py").write_text(BASELINE_APP)
        body = {"kind": "informational", "text": TEXT, "recipients": ["09121112233"]}

        def baseline(log_name: str) -> dict[str, Any]:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "bare:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--app-dir",
                str(baseline_dir),
            ]
            with running(command, env, data_dir / log_name, base, "/docs"):
                spec = {
                    **common,
                    "base": base,
                    "method": "POST",
                    "path": "/api/v1/sends",
                    "body": body,
                    "expect": 201,
                }
                return phase("bare FastAPI POST", spec)

        # Measured before and after ours, and averaged, so that a machine whose load drifts during
        # the run does not tilt the ratio one way.
        results["baseline"] = baseline("baseline.log")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "payamak", "serve", "--port", str(port), "--data-dir", str(data_dir)]
        with running(command, env, data_dir / "serve.log", base, "/healthz"):
            import httpx

            login = httpx.post(f"{base}/api/v1/auth/login", json={"mobile": mobile, "password": PASSWORD})
            login.raise_for_status()
            token = login.json()["token"]
            probe = httpx.post(
                f"{base}/api/v1/sends", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            if probe.status_code != 201:
                raise SystemExit(f"a single send failed: {probe.status_code} {probe.text}")
            results["post"] = phase(
                "payamak POST /sends",
                {
                    **common,
                    "base": base,
                    "method": "POST",
                    "path": "/api/v1/sends",
                    "body": body,
                    "expect": 201,
                    "token": token,
                    "collect": True,
                },
            )
            ids = results["post"]["ids"] or [probe.json()["id"]]
            results["get"] = phase(
                "payamak GET /sends/{id}",
                {
                    **common,
                    "base": base,
                    "method": "GET",
                    "path": "/api/v1/sends/{id}",
                    "ids": ids,
                    "expect": 200,
                    "token": token,
                },
            )
        results["baseline_after"] = baseline("baseline-after.log")
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for name in ("serve.log", "baseline.log", "baseline-after.log"):
                shutil.copy(data_dir / name, args.keep_logs / name)
        serve_log = (data_dir / "serve.log").read_text(errors="replace")
        locked = serve_log.count("database is locked")
        if locked:
            note(f"the server logged 'database is locked' {locked} times")

    post, get = results["post"], results["get"]
    before, after = results["baseline"], results["baseline_after"]
    bare = {
        "rate": (before["rate"] + after["rate"]) / 2,
        "p50_ms": (before["p50_ms"] + after["p50_ms"]) / 2,
        "p99_ms": (before["p99_ms"] + after["p99_ms"]) / 2,
        "errors": before["errors"] + after["errors"],
    }
    errors = post["errors"] + get["errors"] + bare["errors"]
    print(
        f"{database}, {args.clients} clients: POST /sends {post['rate']:.0f}/s (p50 {post['p50_ms']:.1f} ms, "
        f"p99 {post['p99_ms']:.1f} ms); GET /sends/{{id}} {get['rate']:.0f}/s (p50 {get['p50_ms']:.1f} ms, "
        f"p99 {get['p99_ms']:.1f} ms); bare FastAPI {bare['rate']:.0f}/s (p50 {bare['p50_ms']:.1f} ms, "
        f"p99 {bare['p99_ms']:.1f} ms); errors {errors}"
    )
    summary = {
        "bench": "api",
        "database": database,
        "rate": round(post["rate"], 1),
        "baseline_rate": round(bare["rate"], 1),
        "ratio": round(post["rate"] / bare["rate"], 4) if bare["rate"] else None,
        "p50_ms": round(post["p50_ms"], 2),
        "p99_ms": round(post["p99_ms"], 2),
        "get_rate": round(get["rate"], 1),
        "get_p50_ms": round(get["p50_ms"], 2),
        "get_p99_ms": round(get["p99_ms"], 2),
        "baseline_p50_ms": round(bare["p50_ms"], 2),
        "baseline_p99_ms": round(bare["p99_ms"], 2),
        "baseline_rates": [round(before["rate"], 1), round(after["rate"], 1)],
        "errors": errors,
    }
    print(json.dumps(summary))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
