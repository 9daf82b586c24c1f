"""Campaign: one advertising send to 1,000,000 recipients, from the API call to the last receipt.

What a shop and its operator do, every part a real process started as a deployment starts it:

1. generate files: the shop's groups as xlsx workbooks (`--groups` of them; numbers in the forms
   spreadsheets hold, 2% repeated within a file, 5% also in another group, 1% invalid) and the
   national blacklist as a text file of exactly `--blacklist` numbers (a tenth of the recipients
   on it, besides those the random list holds by chance);
2. load blacklist: `payamak blacklist load FILE`;
3. import groups: `POST /groups` and `POST /groups/{id}/imports` (multipart xlsx) for all files at
   once, spread over the API processes, until every `GET /imports/{id}` is done;
4. accept send: `POST /sends {kind: advertising, group_ids}` until its 201 (blacklist filter,
   pricing, credit hold and the queued messages);
5. dispatch until last submit: until the last message's submit_sm_resp is recorded;
6. last receipt: until `GET /sends/{id}` counts every message in a final status.

SQLite: one `payamak serve` (API and embedded dispatcher) on a file in the data dir. PostgreSQL:
a fresh database on `--postgres-url`'s server (dropped afterwards), two `payamak serve` with
PAYAMAK_EMBEDDED_DISPATCHER=false and two `payamak dispatcher`. Either way the SMSC is one
`payamak smsc` process (simulated, with receipts), reached through a route added with `payamak
admin routes add`; account, credit and line come from the admin commands.

End to end = from the `POST /sends` call to the last receipt recorded; its rate is messages
(recipients left after the blacklist) per second. Baseline, in the same run and against the same
SMSC process: the bare SMPP client (bench/smpp_blast.py's `provider_run`, SmppProvider with no
database) blasting as many messages with as many binds as the dispatchers hold together, until
every receipt is in; once before the product starts and once after it stopped, averaged so that a
machine getting busier or quieter does not tilt the ratio. `ratio` = end-to-end rate / blast rate.

Peak memory: each child process's peak resident set size (VmHWM in /proc/PID/status, read while
it runs and just before it is stopped).

Afterwards: `payamak ledger verify`, and from the database: no message to a blacklisted number,
as many recipients blocked as were on the list, the credit held equal to the messages' prices,
what was charged equal to the price of what was delivered, and the balance equal to the grant
less that.

    .venv/bin/python bench/campaign.py [--recipients 1000000] [--blacklist 50000000]
        [--db sqlite|postgresql|both] [--postgres-url URL] [--keep]

The last line printed is one JSON object: per run its stages, rate, baseline rate, ratio and
peak memory per process; at the top level the worst run's figures (lowest rate and ratio,
longest end to end, largest process).
"""

from __future__ import annotations

import os
import sys

# bench/ holds a `numbers.py` that would shadow the standard library's `numbers` when a script
# here is run by path, so this folder leaves sys.path before anything else is imported.
# ruff: noqa: E402
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse
import asyncio
import importlib.util
import json
import math
import random
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from pyroaring import BitMap

from payamak.numbers import KEY_BASE

TEXT = "حراج پاییزهٔ فروشگاه نیلی: ۳۰٪ تخفیف روی همهٔ کالاها تا پایان هفته"  # one UCS-2 part
PASSWORD = "campaign password 1"  # a throwaway account in a throwaway database
CREDIT = 10**13
FINAL = ("delivered", "undelivered", "expired", "rejected", "failed", "blocked", "canceled")
WAITING = ("scheduled", "queued", "submitting")
CHARGED = ("delivered", "undelivered", "expired")  # spent unless the route refunds undelivered
INVALID = ("0912345", "02188776655", "09", "0513 123 4567")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The blacklist file is written in blocks of sorted numbers, the blocks in random order: a loader
# gets no help from a list sorted end to end, which a real *800# export need not be.
BLACKLIST_BLOCK = 100_000


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_bench(name: str) -> ModuleType:
    """Another bench script as a module (by file: this folder is off sys.path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(_HERE) / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --- child processes ------------------------------------------------------------------------


class Process:
    """A child process, its output in a log file, and its peak resident set size.

    The peak is VmHWM from /proc/PID/status, read while the process lives (it only grows) and
    last just before it is told to stop. Not wait4's ru_maxrss: on Linux that also counts the
    memory of this process at the fork, which would credit every child with the bench's own
    50M-number blacklist.
    """

    def __init__(
        self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, stdin: str | None = None
    ) -> None:
        self.name = name
        self.log = cwd / f"{name}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if stdin is not None:
            assert self.popen.stdin is not None
            self.popen.stdin.write(stdin.encode())
            self.popen.stdin.close()
        self.returncode: int | None = None
        self.peak_mb = 0.0

    def sample(self) -> float:
        """Read the peak so far (nothing once the process has exited)."""
        try:
            with open(f"/proc/{self.popen.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                        break
        except OSError:
            pass
        return self.peak_mb

    def _reap(self) -> bool:
        self.sample()
        pid, status = os.waitpid(self.popen.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.returncode = self.popen.returncode = os.waitstatus_to_exitcode(status)
        return True

    def running(self) -> bool:
        return self.returncode is None and not self._reap()

    def wait(self, timeout: float) -> int:
        """Wait for the end, reading the peak every 20 ms meanwhile."""
        deadline = time.monotonic() + timeout
        while self.returncode is None and not self._reap():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still runs after {timeout:.0f} s")
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if not self.running():
            return
        self.sample()
        self.popen.send_signal(sig)
        try:
            self.wait(timeout)
        except TimeoutError:
            note(f"{self.name} did not stop within {timeout:.0f} s; killed")
            self.popen.kill()
            self.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Deployment:
    """One database's run: its folder (data dir and logs), environment and processes."""

    dialect: str
    folder: Path
    env: dict[str, str]
    url: str
    processes: list[Process] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, *args: str, script: bool = False) -> Process:
        command = (
            [sys.executable, os.path.abspath(__file__), *args]
            if script
            else [sys.executable, "-m", "payamak", *args]
        )
        process = Process(name, command, env=self.env, cwd=self.folder)
        self.processes.append(process)
        return process

    def payamak(self, name: str, *args: str, stdin: str | None = None, timeout: float = 1800.0) -> Process:
        """A `payamak` command run to its end; exits the bench with its output if it fails."""
        return self.together((name, args, stdin), timeout=timeout)[0]

    def together(
        self, *commands: tuple[str, tuple[str, ...], str | None], timeout: float = 1800.0
    ) -> list[Process]:
        """`payamak` commands that do not depend on each other, run side by side to their end."""
        started = [
            Process(
                name, [sys.executable, "-m", "payamak", *args], env=self.env, cwd=self.folder, stdin=stdin
            )
            for name, args, stdin in commands
        ]
        self.processes.extend(started)
        for process, (_, args, _) in zip(started, commands, strict=True):
            if process.wait(timeout) != 0:
                raise SystemExit(f"payamak {' '.join(args)} failed:\n{process.output().strip()[-3000:]}")
            self.peaks[process.name] = process.peak_mb
        return started

    def stop(self, process: Process, sig: int = signal.SIGTERM) -> None:
        process.stop(sig)
        self.peaks[process.name] = process.peak_mb

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- files ----------------------------------------------------------------------------------


@dataclass
class GroupFile:
    path: Path
    rows: int
    added: int  # numbers the import must add (the group starts empty)
    duplicates: int
    invalid: int


@dataclass
class Data:
    keys: list[int]  # the recipients: national numbers as ints (9123456789)
    listed: BitMap  # the blacklist, as `key - KEY_BASE`
    blacklist_file: Path
    groups: list[GroupFile]
    blocked: int  # recipients on the blacklist
    seconds: float


def exact_list(helpers: ModuleType, size: int, recipients: BitMap, seed: int) -> BitMap:
    """`size` random valid numbers, a tenth of the recipients among them.

    The random list holds its share of the recipients by chance (13% at 50M of the 370M valid
    mobiles); the added tenth makes the blocked share of the send that of a real list. Random
    non-recipients come off again, so the list has exactly `size` numbers.
    """
    chosen = BitMap(recipients[::10])
    listed = helpers.random_list(size, seed) if size else BitMap()
    listed |= chosen
    excess = len(listed) - size
    if excess > 0:
        spare = listed - recipients
        listed -= spare[len(spare) - excess :]
    listed.run_optimize()
    return listed


def write_blacklist(listed: BitMap, path: Path, rng: random.Random) -> None:
    values = listed.to_array()
    starts = list(range(0, len(values), BLACKLIST_BLOCK))
    rng.shuffle(starts)
    with path.open("w", encoding="ascii") as out:
        for start in starts:
            out.write("\n".join([f"0{KEY_BASE + v}" for v in values[start : start + BLACKLIST_BLOCK]]))
            out.write("\n")


def write_group(path: Path, rows: list[int | str], rng: random.Random) -> None:
    """One column under a header, as shops export it: mostly text with the leading 0, a fifth
    numeric cells (a spreadsheet's idea of a number), a few in international form."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "شماره موبایل")
    for row, value in enumerate(rows, start=1):
        if isinstance(value, str):
            sheet.write_string(row, 0, value)
            continue
        draw = rng.random()
        if draw < 0.2:
            sheet.write_number(row, 0, value)
        elif draw < 0.25:
            sheet.write_string(row, 0, f"+98{value}")
        else:
            sheet.write_string(row, 0, f"0{value}")
    book.close()


def generate(folder: Path, *, recipients: int, blacklist: int, groups: int, seed: int) -> Data:
    started = time.perf_counter()
    helpers = load_bench("blacklist")
    rng = random.Random(seed)
    note(f"drawing {recipients:,} recipients and a {blacklist:,}-number blacklist")
    keys: list[int] = helpers.random_recipients(recipients, seed)
    recipient_bitmap = BitMap(k - KEY_BASE for k in keys)
    listed = exact_list(helpers, blacklist, recipient_bitmap, seed + 1)
    blocked = len(recipient_bitmap & listed)
    note(f"writing the blacklist file ({len(listed):,} lines)")
    blacklist_file = folder / "national-800.txt"
    write_blacklist(listed, blacklist_file, rng)

    shuffled = keys[:]
    rng.shuffle(shuffled)
    share = math.ceil(len(shuffled) / groups)
    files: list[GroupFile] = []
    for index in range(groups):
        own = shuffled[index * share : (index + 1) * share]
        others = len(shuffled) - len(own)
        # Also in another group: deduplicated by the send, new to this group.
        cross_positions = rng.sample(range(others), min(others, len(own) // 20))
        cross = [shuffled[p if p < index * share else p + len(own)] for p in cross_positions]
        repeats = [own[rng.randrange(len(own))] for _ in range(len(own) // 50)] if own else []
        invalid: list[int | str] = [rng.choice(INVALID) for _ in range(len(own) // 100)]
        rows: list[int | str] = [*own, *cross, *repeats, *invalid]
        rng.shuffle(rows)
        path = folder / f"customers-{index + 1}.xlsx"
        note(f"writing {path.name} ({len(rows):,} rows)")
        write_group(path, rows, rng)
        files.append(GroupFile(path, len(rows), len(own) + len(cross), len(repeats), len(invalid)))
    return Data(keys, listed, blacklist_file, files, blocked, time.perf_counter() - started)


# --- databases ------------------------------------------------------------------------------


def create_pg_database(server_url: str) -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"payamak_campaign_{os.getpid()}_{secrets.token_hex(3)}"
    conninfo = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), name


def drop_pg_database(server_url: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, ready: Any, processes: list[Process], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for process in processes:
            if not process.running():
                raise SystemExit(
                    f"{process.name} exited with {process.returncode}:\n{process.output()[-3000:]}"
                )
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(0.1)


def smsc_port(process: Process) -> int:
    found: list[int] = []

    def said() -> bool:
        match = re.search(r"listening on [^:\s]+:(\d+)", process.output())
        if match:
            found.append(int(match.group(1)))
        return bool(found)

    wait_for("the simulated SMSC", said, [process], timeout=30)
    return found[0]


# --- the HTTP side --------------------------------------------------------------------------


class Api:
    """The API processes, taken in turn, as a load balancer would."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self.token = ""
        self._turn = 0
        self._lock = threading.Lock()

    def client(self, base: str | None = None) -> Any:
        import httpx

        if base is None:
            with self._lock:
                base = self.bases[self._turn % len(self.bases)]
                self._turn += 1
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=1800.0)


def answer(response: Any, expected: int) -> dict[str, Any]:
    if response.status_code != expected:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:2000]}"
        )
    result: dict[str, Any] = response.json()
    return result


def import_group(api: Api, index: int, group: GroupFile) -> dict[str, Any]:
    with api.client() as client:
        group_id = answer(client.post("/groups", json={"name": f"مشتریان {index + 1}"}), 201)["id"]
        with group.path.open("rb") as upload:
            files = {"file": (group.path.name, upload, XLSX)}
            started = answer(client.post(f"/groups/{group_id}/imports", files=files), 202)
        while True:
            job = answer(client.get(f"/imports/{started['id']}"), 200)
            if job["status"] != "running":
                break
            time.sleep(0.1)
    if job["status"] != "done" or (job["added"], job["duplicates"], job["invalid_count"]) != (
        group.added,
        group.duplicates,
        group.invalid,
    ):
        raise SystemExit(
            f"wrong import of {group.path.name}: {job['status']} {job.get('error')}, added {job['added']}"
            f" duplicates {job['duplicates']} invalid {job['invalid_count']}; expected added {group.added}"
            f" duplicates {group.duplicates} invalid {group.invalid}"
        )
    return {"group_id": group_id, **job}


# --- the bare client --------------------------------------------------------------------------


def blast_child(port: int, count: int, window: int, binds: int, timeout: float) -> None:
    smpp_blast = load_bench("smpp_blast")
    phase = asyncio.run(smpp_blast.provider_run(port, count, window, binds, 1000, 4, timeout))
    print(
        json.dumps(
            {"accepted": phase.accepted, "receipts": phase.receipts, "seconds": phase.receipts_seconds}
        )
    )


def blast(run: Deployment, name: str, *, port: int, count: int, window: int, binds: int) -> float:
    process = run.start(
        name, "--blast-child", str(port), str(count), str(window), str(binds), "600", script=True
    )
    if process.wait(1800) != 0:
        raise SystemExit(f"the blast failed:\n{process.output()[-3000:]}")
    run.peaks[name] = process.peak_mb
    result = json.loads(process.output().strip().splitlines()[-1])
    if result["accepted"] != count or result["receipts"] != count:
        raise SystemExit(
            f"the blast got {result['accepted']} accepted, {result['receipts']} receipts of {count}"
        )
    rate = count / float(result["seconds"])
    note(
        f"bare SMPP client ({binds} bind(s), window {window}): {count:,} messages in {result['seconds']:.1f} s = {rate:,.0f}/s with receipts"
    )
    return rate


# --- checks ---------------------------------------------------------------------------------


def check(url: str, *, send_id: int, data: Data, mobile: str) -> dict[str, Any]:
    """What the database says happened: statuses, blocked numbers never charged, the credit."""
    import sqlalchemy as sa

    import payamak.models  # noqa: F401  (the whole schema, as the app loads it)
    from payamak.accounts import service as accounts
    from payamak.billing import service as billing
    from payamak.billing.models import CreditHold
    from payamak.db import Database
    from payamak.numbers import mobile_key
    from payamak.sending.models import Message, Send

    db = Database(url)
    try:
        with db.transaction(readonly=True) as session:
            send = session.get(Send, send_id)
            assert send is not None
            sent_to = BitMap()
            rows = 0
            prices: dict[str, int] = {}
            for recipient, status, price in session.execute(
                sa.select(Message.recipient, Message.status, Message.price)
                .where(Message.send_id == send_id)
                .execution_options(yield_per=50_000)
            ):
                key = mobile_key(recipient)
                assert key is not None, recipient
                sent_to.add(key - KEY_BASE)
                rows += 1
                prices[status] = prices.get(status, 0) + price
            hold = session.execute(
                sa.select(CreditHold).where(CreditHold.ref_type == "send", CreditHold.ref_id == send_id)
            ).scalar_one()
            balance = accounts.account_by_mobile(session, mobile=mobile).balance
            ledger_ok = billing.verify_ledger(session).ok
            state = send.state
            cost, blocked = send.cost, send.blocked
    finally:
        db.dispose()
    listed_messages = len(sent_to & data.listed)
    charged = hold.settled - hold.refunded
    delivered_price = sum(prices.get(status, 0) for status in CHARGED)
    problems = []
    if rows != len(sent_to):
        problems.append(f"{rows - len(sent_to)} recipients got more than one message")
    if listed_messages:
        problems.append(f"{listed_messages} messages to blacklisted numbers")
    if blocked != data.blocked:
        problems.append(f"{blocked} blocked, expected {data.blocked}")
    if hold.amount != cost or cost != sum(prices.values()):
        problems.append(f"held {hold.amount}, send cost {cost}, messages priced {sum(prices.values())}")
    if state == "done" and charged != delivered_price:
        problems.append(f"charged {charged}, delivered messages priced {delivered_price}")
    if balance != CREDIT - (charged if state == "done" else hold.amount - hold.released):
        problems.append(f"balance {balance} is not the grant less what the send took")
    if not ledger_ok:
        problems.append("verify_ledger found mismatches")
    return {
        "messages": rows,
        "blocked": blocked,
        "blacklisted_messages": listed_messages,
        "held": hold.amount,
        "charged": charged,
        "settled": state == "done",
        "balance": balance,
        "ledger_ok": ledger_ok,
        "problems": problems,
    }


def follow(
    api: Api, send_id: int, messages: int, processes: list[Process], timeout: float
) -> tuple[float, float]:
    """Poll `GET /sends/{id}` until every message is final: (perf_counter then, the last step).

    Polled more often as the end nears, so that the last receipt is timed to a small step
    without a count over a million rows every tenth of a second.
    """
    step = rate = 0.0
    deadline = time.monotonic() + timeout
    last_mark = (time.perf_counter(), 0)
    with api.client() as client:
        while True:
            counts: dict[str, int] = answer(client.get(f"/sends/{send_id}"), 200)["counts"]
            now = time.perf_counter()
            final = sum(counts.get(status, 0) for status in FINAL)
            if final >= messages:
                return now, step
            for process in processes:
                if not process.running():
                    raise SystemExit(
                        f"{process.name} exited with {process.returncode}:\n{process.output()[-3000:]}"
                    )
            if time.monotonic() > deadline:
                raise SystemExit(f"{final:,} of {messages:,} final after {timeout:.0f} s: {counts}")
            if sum(counts.get(status, 0) for status in WAITING) == 0:
                step = 0.05  # all submitted: only receipts are missing, a receipt delay away
            else:
                if now - last_mark[0] >= 1.0:
                    rate = max(rate * 0.5, (final - last_mark[1]) / (now - last_mark[0]))
                    last_mark = (now, final)
                step = min(2.0, max(0.05, (messages - final) / rate / 4 if rate else 0.5))
            time.sleep(step)


def settled(db: Any, send_id: int, timeout: float = 60.0) -> bool:
    """Wait for the send's credit to be settled, which the dispatcher's upkeep does (every 10 s)
    once nothing of it waits; the send's state says so (the API's status is "done" already, from
    the counts)."""
    import sqlalchemy as sa

    from payamak.sending.models import Send

    deadline = time.monotonic() + timeout
    while True:
        with db.transaction(readonly=True) as session:
            state = session.execute(sa.select(Send.state).where(Send.id == send_id)).scalar_one()
        if state == "done":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def start_product(
    run: Deployment, *, apis: int, dispatchers: int
) -> tuple[Api, list[Process], list[Process], Any]:
    """The API processes and the dispatchers, once they answer and have said they are alive.

    SQLite: one `payamak serve` whose dispatcher is embedded. PostgreSQL: `apis` of `payamak serve`
    without one, and `dispatchers` of `payamak dispatcher`.
    """
    import httpx
    import sqlalchemy as sa

    from payamak.db import Database
    from payamak.dispatch.models import Dispatcher

    embedded = run.dialect == "sqlite"
    note(
        f"{run.dialect}: starting {apis} API process(es) and {'an embedded' if embedded else dispatchers} dispatcher(s)"
    )
    started = time.perf_counter()
    bases = []
    servers = []
    for n in range(apis):
        port = free_port()
        bases.append(f"http://127.0.0.1:{port}")
        servers.append(run.start("serve" if embedded else f"api-{n + 1}", "serve", "--port", str(port)))
    workers = [run.start(f"dispatcher-{n + 1}", "dispatcher") for n in range(0 if embedded else dispatchers)]

    def healthy() -> bool:
        try:
            return all(httpx.get(base + "/healthz", timeout=5).status_code == 200 for base in bases)
        except httpx.TransportError:
            return False

    wait_for("the API processes", healthy, servers)
    db = Database(run.url)

    def dispatchers_up() -> bool:
        with db.transaction(readonly=True) as session:
            alive = session.execute(
                sa.select(sa.func.count()).select_from(Dispatcher).where(Dispatcher.stopped_at.is_(None))
            ).scalar_one()
        return int(alive) >= dispatchers

    wait_for("the dispatchers", dispatchers_up, servers + workers)
    note(f"{run.dialect}: all up in {time.perf_counter() - started:.1f} s")
    return Api(bases), servers, workers, db


# --- one run --------------------------------------------------------------------------------


def campaign(dialect: str, data: Data, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    import payamak.models  # noqa: F401
    from payamak.sending.models import Message

    folder = root / dialect
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
    env.update(
        PAYAMAK_DATA_DIR=str(folder / "data"),
        PAYAMAK_SECRET_KEY=secrets.token_urlsafe(48),
        PAYAMAK_ADVERTISING_HOURS="always",
        PAYAMAK_EMBEDDED_DISPATCHER="true" if dialect == "sqlite" else "false",
        PAYAMAK_DISPATCH_SMSC_PORT="0",
    )
    pg_name = ""
    if dialect == "postgresql":
        url, pg_name = create_pg_database(args.postgres_url)
        env["PAYAMAK_DATABASE_URL"] = url
        apis, dispatchers = int(args.api_processes), int(args.dispatchers)
    else:
        url = f"sqlite:///{folder / 'data' / 'payamak.db'}"
        apis, dispatchers = 1, 1
    run = Deployment(dialect, folder, env, url)
    stages: dict[str, float] = {}
    mobile = f"0912{secrets.randbelow(10**7):07d}"
    line = f"3000{secrets.randbelow(10**6):06d}"
    try:
        smsc = run.start(
            "smsc", "smsc", "--port", "0", "--receipt-delay", str(args.receipt_delay), "--keep", "0"
        )
        port = smsc_port(smsc)
        note(f"{dialect}: simulated SMSC on port {port}; setting up through the payamak commands")
        run.payamak("db-upgrade", "db", "upgrade")
        route = (
            "admin", "routes", "add", "--name", "operator", "--smpp", f"127.0.0.1:{port}", "--system-id", "payamak",
            "--password", "payamak", "--window", str(args.window), "--binds", "1",
        )  # fmt: skip
        user = ("admin", "create-user", "--mobile", mobile, "--password-stdin")
        run.together(("create-user", user, PASSWORD + "\n"), ("routes-add", route, None))
        line_add = (
            "admin", "lines", "add", "--number", line, "--kind", "advertising", "--mobile", mobile, "--route",
            "operator",
        )  # fmt: skip
        grant = ("admin", "grant", "--mobile", mobile, "--amount", str(CREDIT), "--reason", "campaign")
        run.together(("grant", grant, None), ("lines-add", line_add, None))

        note(f"{dialect}: loading the blacklist")
        started = time.perf_counter()
        loaded = run.payamak("blacklist-load", "blacklist", "load", str(data.blacklist_file))
        stages["load blacklist"] = time.perf_counter() - started
        note(f"{dialect}: {loaded.output().strip().splitlines()[-1]} in {stages['load blacklist']:.1f} s")

        messages = len(data.keys) - data.blocked
        binds = dispatchers  # one bind per dispatcher process on the route
        blast_before = blast(run, "blast-before", port=port, count=messages, window=args.window, binds=binds)

        api, servers, workers, db = start_product(run, apis=apis, dispatchers=dispatchers)
        with api.client() as client:
            api.token = answer(
                client.post("/auth/login", json={"mobile": mobile, "password": PASSWORD}), 200
            )["token"]

        note(f"{dialect}: importing {len(data.groups)} groups over HTTP")
        started = time.perf_counter()
        with ThreadPoolExecutor(len(data.groups)) as pool:
            jobs = list(pool.map(lambda item: import_group(api, *item), enumerate(data.groups)))
        stages["import groups"] = time.perf_counter() - started
        note(
            f"{dialect}: imported {sum(job['added'] for job in jobs):,} numbers in {stages['import groups']:.1f} s"
        )

        note(f"{dialect}: POST /sends")
        body = {
            "kind": "advertising",
            "text": TEXT,
            "line": line,
            "group_ids": [job["group_id"] for job in jobs],
        }
        with api.client() as client:
            accept_wall = time.time()
            accept_started = time.perf_counter()
            send = answer(
                client.post("/sends", json=body, headers={"Idempotency-Key": secrets.token_hex(8)}), 201
            )
            stages["accept send"] = time.perf_counter() - accept_started
        note(
            f"{dialect}: send {send['id']} accepted in {stages['accept send']:.1f} s: {send['recipients']:,} to send,"
            f" {send['blocked']:,} blocked, {send['duplicates']:,} duplicates, {send['invalid']:,} invalid, cost {send['cost']:,}"
        )
        if send["recipients"] != messages or send["blocked"] != data.blocked:
            raise SystemExit(f"expected {messages} to send and {data.blocked} blocked")

        done_at, step = follow(api, send["id"], messages, [*servers, *workers, smsc], args.timeout)
        end_to_end = done_at - accept_started
        with db.transaction(readonly=True) as session:
            last_submit = session.execute(
                sa.select(sa.func.max(Message.submitted_at)).where(Message.send_id == send["id"])
            ).scalar_one()
        assert last_submit is not None
        submit_seconds = last_submit.timestamp() - accept_wall
        stages["dispatch until last submit"] = submit_seconds - stages["accept send"]
        stages["last receipt"] = end_to_end - submit_seconds
        rate = messages / end_to_end
        note(f"{dialect}: every message final {end_to_end:.1f} s after POST /sends: {rate:,.0f} messages/s")

        if not settled(db, send["id"]):
            note(f"{dialect}: the send's credit is not settled 60 s after its last receipt")
        db.dispose()

        # The operator's check, while the product processes shut down.
        verify = run.start("ledger-verify", "ledger", "verify")
        for process in servers + workers:
            run.stop(process)
        if verify.wait(600) != 0:
            raise SystemExit(f"payamak ledger verify failed:\n{verify.output()[-3000:]}")
        verified = verify.output().strip().splitlines()[-1]
        blast_after = blast(run, "blast-after", port=port, count=messages, window=args.window, binds=binds)
        run.stop(smsc, signal.SIGINT)
        checks = check(url, send_id=send["id"], data=data, mobile=mobile)
        checks["ledger_verify"] = verified
    finally:
        run.stop_all()
        if pg_name and not args.keep:
            drop_pg_database(args.postgres_url, pg_name)

    baseline_rate = (blast_before + blast_after) / 2
    product = {
        name: mb
        for name, mb in run.peaks.items()
        if name in {"serve", "smsc", "blacklist-load"} or name.startswith(("api-", "dispatcher-"))
    }
    return {
        "database": dialect,
        "api_processes": apis,
        "dispatchers": dispatchers,
        "stages": {name: round(seconds, 2) for name, seconds in stages.items()},
        "seconds": round(end_to_end, 2),
        "messages": messages,
        "recipients": len(data.keys),
        "rate": round(rate, 1),
        "recipient_rate": round(len(data.keys) / end_to_end, 1),
        "baseline_rate": round(baseline_rate, 1),
        "baseline_rates": [round(blast_before, 1), round(blast_after, 1)],
        "ratio": round(rate / baseline_rate, 3),
        "poll_step": round(step, 2),
        "peak_mb": {name: round(mb, 1) for name, mb in product.items()},
        "blast_peak_mb": round(max(run.peaks.get("blast-before", 0), run.peaks.get("blast-after", 0)), 1),
        "checks": checks,
    }


def report(result: dict[str, Any], data: Data) -> None:
    dialect = result["database"]
    layout = (
        "one process: payamak serve with its dispatcher"
        if dialect == "sqlite"
        else f"{result['api_processes']} payamak serve + {result['dispatchers']} payamak dispatcher"
    )
    print(f"\n{dialect} ({layout}), simulated SMSC in its own process")
    print(f"  {'generate files':<28}{data.seconds:>9.1f} s  (shared by the runs)")
    for name, seconds in result["stages"].items():
        print(f"  {name:<28}{seconds:>9.1f} s")
    print(
        f"  end to end: POST /sends to the last receipt {result['seconds']:.1f} s: {result['rate']:,.0f} messages/s"
        f" ({result['messages']:,} messages; {result['recipient_rate']:,.0f} recipients/s of {result['recipients']:,};"
        f" last receipt timed to {result['poll_step']:.2f} s)"
    )
    before, after = result["baseline_rates"]
    print(
        f"  bare SMPP client, same SMSC: {result['baseline_rate']:,.0f} messages/s (before {before:,.0f}, after {after:,.0f});"
        f" ratio {result['ratio']:.3f}"
    )
    peaks = ", ".join(f"{name} {mb:,.0f}" for name, mb in result["peak_mb"].items())
    print(f"  peak RSS (MB): {peaks}; the bare client {result['blast_peak_mb']:,.0f}")
    c = result["checks"]
    print(f"  ledger: {c['ledger_verify']}")
    print(
        f"  blacklist: {c['blocked']:,} recipients blocked, {c['blacklisted_messages']} messages to blacklisted numbers,"
        f" charged for them: {'nothing' if not c['blacklisted_messages'] else 'WRONG'}; held {c['held']:,} rials for"
        f" {c['messages']:,} messages, charged {c['charged']:,}{'' if c['settled'] else ' (not settled yet)'};"
        f" balance {c['balance']:,}"
    )
    for problem in c["problems"]:
        print(f"  PROBLEM: {problem}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--blast-child":
        port, count, window, binds, timeout = sys.argv[2:7]
        blast_child(int(port), int(count), int(window), int(binds), float(timeout))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--blacklist", type=int, default=50_000_000, help="numbers on the national list")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server to create (and drop) a fresh database on",
    )
    parser.add_argument("--groups", type=int, default=4, help="xlsx files, one group each")
    parser.add_argument("--api-processes", type=int, default=2, help="payamak serve processes (PostgreSQL)")
    parser.add_argument(
        "--dispatchers", type=int, default=2, help="payamak dispatcher processes (PostgreSQL)"
    )
    parser.add_argument("--window", type=int, default=64, help="the route's SMPP window per bind")
    parser.add_argument(
        "--receipt-delay", type=float, default=1.0, help="the SMSC's seconds from submit to receipt"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the last receipt")
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument(
        "--keep", action="store_true", help="keep the files, logs and the PostgreSQL database"
    )
    args = parser.parse_args()
    if args.recipients < args.groups or args.blacklist < args.recipients // 10 + 1:
        parser.error("need at least one recipient per group and a blacklist of a tenth of the recipients")

    root = Path(tempfile.mkdtemp(prefix="payamak-campaign-"))
    results = []
    try:
        data = generate(
            root, recipients=args.recipients, blacklist=args.blacklist, groups=args.groups, seed=args.seed
        )
        note(f"files written in {data.seconds:.1f} s; {data.blocked:,} recipients are on the blacklist")
        for dialect in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
            results.append(campaign(dialect, data, args, root))
    finally:
        if args.keep:
            note(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    print(
        f"campaign: {args.recipients:,} recipients in {args.groups} xlsx groups"
        f" ({sum(g.rows for g in data.groups):,} rows), {len(data.listed):,} numbers on the blacklist"
    )
    for result in results:
        report(result, data)
    summary = {
        "bench": "campaign",
        "recipients": args.recipients,
        "blacklist": len(data.listed),
        "groups": args.groups,
        "generate_seconds": round(data.seconds, 2),
        "rate": min(r["rate"] for r in results),
        "baseline_rate": min(r["baseline_rate"] for r in results),
        "ratio": min(r["ratio"] for r in results),
        "seconds": max(r["seconds"] for r in results),
        "peak_mb": max(mb for r in results for mb in r["peak_mb"].values()),
        "ok": not any(r["checks"]["problems"] for r in results),
        "runs": results,
    }
    print(json.dumps(summary, ensure_ascii=False))
    if not summary["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
