"""Shared pieces of the failure drills: real processes (`payamak serve`, `payamak dispatcher`, an
SMSC), a deployment's accounts, lines and routes made through the services, and the books check
every drill ends with.

A drill breaks something for real (kill -9, a closed port, a database restart, a full disk, a
flood of receipts, a race for the last rial) and then proves that nothing was lost or charged
twice: `check_books`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from payamak.accounts import service as accounts
from payamak.accounts.security import Passwords
from payamak.billing import service as billing
from payamak.billing.models import CreditHold
from payamak.config import Settings
from payamak.db import Database, upgrade
from payamak.dispatch import service as dispatch
from payamak.dispatch.models import Route
from payamak.sending import service as sending
from payamak.sending.models import FINAL_STATUSES, Message, Send

HERE = Path(__file__).resolve().parent
SECRET = "drill-secret-key-drill-secret-key-0123456789"
PASSWORDS = Passwords(time_cost=1, memory_kib=1024)
# Statuses whose message is not paid for, whatever the route (billing's refund rules 1 and 2).
REFUNDED = frozenset({"failed", "rejected", "blocked", "canceled"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    every: float = 0.1,
    state: Callable[[], object] | None = None,
) -> None:
    """Poll until `condition()`; on timeout fail with `what` and, if given, what `state()` says."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {what}: {state() if state else ''}"
            )
        time.sleep(every)


# --- processes ----------------------------------------------------------------------------------


class Process:
    """A command in its own process group, its output in a log file."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str], log: Path) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None and self.popen.poll() is None
        self.popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush, nothing written after this instant."""
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; killed if it does not stop in time. Returns the exit code."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
                raise AssertionError(f"{self.args[2:4]} did not stop within {timeout:.0f} s") from None
        return self.popen.returncode

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready()` until it is true; fail with the process's output if it exits first."""
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.alive, f"{what} exited:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"{what} did not start"
            time.sleep(0.05)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def payamak(*args: str) -> list[str]:
    return [sys.executable, "-m", "payamak", *args]


class OneProcess:
    """Something that runs as one process (`process`, once started)."""

    process: Process | None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class Server(OneProcess):
    """`payamak serve` on a port of its own."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        self.process = Process(payamak("serve", "--port", str(self.port)), env=self.env, log=self.log).start()
        self.process.wait_ready(self.healthy, timeout, "payamak serve")
        return self

    def healthy(self) -> bool:
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200
        return False


@dataclass
class Smsc(OneProcess):
    """tests/drills/smsc_peer.py: an SMSC process that journals what it accepted."""

    dir: Path
    name: str = "smsc"
    port: int = 0
    receipt_delay: float = 0.2
    storm: int = 50_000
    runs: int = 0
    process: Process | None = None

    @property
    def journal(self) -> Path:
        return self.dir / f"{self.name}.journal"

    @property
    def stats_file(self) -> Path:
        return self.dir / f"{self.name}.stats.json"

    def start(self) -> int:
        self.runs += 1
        log = self.dir / f"{self.name}-{self.runs}.log"
        args = [
            sys.executable, str(HERE / "smsc_peer.py"), "--journal", str(self.journal),
            "--port", str(self.port), "--receipt-delay", str(self.receipt_delay),
            "--storm", str(self.storm), "--stats", str(self.stats_file),
        ]  # fmt: skip
        process = self.process = Process(args, env=os.environ, log=log).start()
        ports: list[int] = []

        def listening() -> bool:
            lines = process.text().splitlines()
            ports.extend(json.loads(line)["port"] for line in lines if line.startswith('{"port"'))
            return bool(ports)

        process.wait_ready(listening, 30, "the SMSC")
        self.port = int(ports[0])
        return self.port

    def stats(self) -> dict[str, int]:
        try:
            data: dict[str, int] = json.loads(self.stats_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data

    def accepted(self) -> Counter[str]:
        """How many times the SMSC accepted a message for each destination, over all its runs."""
        lines = self.journal.read_text().splitlines() if self.journal.exists() else []
        return Counter(line.split(" ", 1)[0] for line in lines)


def base_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Payamak process: this database, and nothing inherited from the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYAMAK_")}
    env.update(
        PAYAMAK_DATABASE_URL=database_url,
        PAYAMAK_DATA_DIR=str(data_dir),
        PAYAMAK_SECRET_KEY=SECRET,
        PAYAMAK_ADVERTISING_HOURS="always",
        PAYAMAK_EMBEDDED_DISPATCHER="false",
        # A built-in simulated SMSC, when one starts, takes any free port, never the usual one.
        PAYAMAK_DISPATCH_SMSC_PORT="0",
        PAYAMAK_DISPATCH_SMSC_RECEIPT_DELAY="0.1",
    )
    env.update(extra)
    return env


# A dispatcher that notices quickly, tries again soon and claims 400 messages at a time.
DISPATCHER_ENV = {
    "PAYAMAK_DISPATCH_WINDOW": "400",
    "PAYAMAK_DISPATCH_HEARTBEAT_SECONDS": "0.5",
    "PAYAMAK_DISPATCH_HOUSEKEEPING_SECONDS": "0.2",
    "PAYAMAK_DISPATCH_RETRY_BASE_SECONDS": "0.5",
    "PAYAMAK_DISPATCH_RETRY_MAX_SECONDS": "2",
    "PAYAMAK_DISPATCH_ROUTE_DOWN_SECONDS": "1",
}


# --- a deployment: database, accounts, lines, routes ---------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    mobile: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Campaign:
    line: str
    shop: Account
    recipients: list[str]


@dataclass
class Deployment:
    """One database and a data dir, with what the drills set up in them through the services."""

    url: str
    data_dir: Path
    db: Database
    granted: dict[int, int] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, database_url=self.url, secret_key=SECRET)

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.url, self.data_dir, **extra)

    def dispatcher(self, log: Path, *options: str, **env: str) -> Process:
        """`payamak dispatcher` on this deployment, with DISPATCHER_ENV; not started yet."""
        return Process(payamak("dispatcher", *options), env=self.env(**DISPATCHER_ENV, **env), log=log)

    def campaign(self, smsc_port: int, total: int, *, prefix: str = "0912", **route: Any) -> Campaign:
        """What a sending drill starts from: a route "smsc" to `smsc_port`, a line, an account with
        credit to spare, and one send to `total` numbers, queued."""
        self.route("smsc", smsc_port, **route)
        line = self.line()
        shop = self.account(10**9)
        recipients = numbers(total, prefix=prefix)
        self.send(shop, recipients)
        return Campaign(line, shop, recipients)

    def account(self, credit: int, mobile: str | None = None) -> Account:
        mobile = mobile or f"0912{secrets.randbelow(10**7):07d}"
        with self.db.transaction() as session:
            record = accounts.create_user(
                session, passwords=PASSWORDS, mobile=mobile, password="drill password 1"
            )
            login = accounts.start_session(
                session, settings=self.settings, account=record, address="drill", client="drill"
            )
            if credit:
                billing.grant(
                    session, account_id=record.id, amount=credit, reason="drill credit", actor_id=None
                )
            self.granted[record.id] = credit
            return Account(record.id, record.mobile, login.token)

    def line(self, number: str = "30001234", *, owner_id: int | None = None) -> str:
        with self.db.transaction() as session:
            return sending.add_line(
                session, principal=None, number=number, kind="advertising", owner_id=owner_id
            ).number

    def route(self, name: str, port: int, **config: Any) -> int:
        full = {"host": "127.0.0.1", "port": port, "system_id": "payamak", "password": "payamak"}
        full.update(config)
        with self.db.transaction() as session:
            return dispatch.add_route(session, principal=None, name=name, kind="smpp", config=full).id

    def send(self, account: Account, recipients: Sequence[str], text: str = "حراج پاییزه") -> int:
        principal = accounts.Principal(account_id=account.id, role="user")
        with self.db.transaction() as session:
            return sending.accept(
                session,
                settings=self.settings.model_copy(update={"advertising_hours": "always"}),
                principal=principal,
                request=sending.SendRequest(kind="advertising", text=text, recipients=tuple(recipients)),
            ).id

    def statuses(self) -> Counter[str]:
        with self.db.transaction(readonly=True) as session:
            rows = session.execute(sa.select(Message.status, sa.func.count()).group_by(Message.status))
            return Counter({status: int(n) for status, n in rows})

    def messages(self) -> list[Message]:
        with self.db.transaction(readonly=True) as session:
            return list(session.scalars(sa.select(Message).order_by(Message.id)))

    def final(self, total: int) -> bool:
        counts = self.statuses()
        return sum(counts.values()) == total and all(s in FINAL_STATUSES for s in counts)

    def balance(self, account_id: int) -> int:
        with self.db.transaction(readonly=True) as session:
            return billing.balance(session, account_id=account_id)


def check_books(deployment: Deployment, *, all_final: bool = True) -> None:
    """Nothing lost, nothing charged twice.

    - the ledger verifies (`payamak ledger verify`: balances are the sums of their entries, no
      running balance below zero, every hold matches its entries);
    - every message is in exactly one final state (unless `all_final` is False: then waiting too);
    - every send's hold is its cost, which is the sum of its messages' prices, and what was given
      back of it is exactly the price of its messages that are not paid for;
    - every account's balance is what was granted minus what its paid-for messages cost, never
      below zero.
    """
    with deployment.db.transaction(readonly=True) as session:
        report = billing.verify_ledger(session)
        assert report.ok, report.lines()
        refunding_routes = {
            r.id for r in session.scalars(sa.select(Route).where(Route.refund_undelivered.is_(True)))
        }
        rows = session.execute(
            sa.select(
                Message.account_id, Message.send_id, Message.status, Message.price, Message.route_id,
                Message.submitted_at,
            )
        ).all()  # fmt: skip
        sends = {s.id: s for s in session.scalars(sa.select(Send))}
        holds = {
            h.ref_id: h for h in session.scalars(sa.select(CreditHold).where(CreditHold.ref_type == "send"))
        }
        balances = {a: billing.balance(session, account_id=a) for a in deployment.granted}
    statuses = Counter(status for _a, _s, status, *_ in rows)
    if all_final:
        assert set(statuses) <= FINAL_STATUSES, f"messages not final: {statuses}"
    prices: Counter[int] = Counter()
    given_back: Counter[int] = Counter()
    spent: Counter[int] = Counter()
    for account_id, send_id, status, price, route_id, submitted_at in rows:
        prices[send_id] += price
        paid = not (
            status in REFUNDED
            or (status == "expired" and (submitted_at is None or route_id in refunding_routes))
            or (status == "undelivered" and route_id in refunding_routes)
        )
        if paid:
            spent[account_id] += price
        else:
            given_back[send_id] += price
    for send_id, send in sends.items():
        assert send.cost == prices[send_id], f"send {send_id}: cost {send.cost}, messages {prices[send_id]}"
        hold = holds.get(send_id)
        held = hold.amount if hold is not None else 0
        assert held == send.cost, f"send {send_id}: held {held} of a cost of {send.cost}"
        if hold is not None:
            assert hold.released + hold.refunded == given_back[send_id], (send_id, hold.released, given_back)
    for account_id, granted in deployment.granted.items():
        assert balances[account_id] >= 0
        assert balances[account_id] == granted - spent[account_id], (
            f"account {account_id}: balance {balances[account_id]}, granted {granted}, "
            f"paid-for messages {spent[account_id]}"
        )


def ledger_verify_command(deployment: Deployment) -> None:
    """`payamak ledger verify`, the operators' own check, as a process."""
    result = subprocess.run(
        payamak("ledger", "verify"),
        env=deployment.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def deployment(database_url: str, db: Database, tmp_path: Path) -> Deployment:
    """The suite's database (SQLite, or PostgreSQL with PAYAMAK_TEST_DATABASE_URL), emptied after."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Deployment(url=database_url, data_dir=data_dir, db=db)


@contextlib.contextmanager
def own_deployment(url: str, data_dir: Path) -> Iterator[Deployment]:
    """A database of the drill's own (a full disk, a private PostgreSQL), migrated; its
    connections are closed at the end, before the disk or the server under it goes away."""
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    db = Database(url)
    try:
        yield Deployment(url=url, data_dir=data_dir, db=db)
    finally:
        db.dispose()


# --- a PostgreSQL cluster of the drill's own ---------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise AssertionError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")


@dataclass
class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, on a port of its own.

    Never the machine's shared server: other test runs use that one, and this one is restarted."""

    root: Path
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=postgres_bindir)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "payamak") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str, timeout: float = 120.0) -> str:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode == 0, f"{program} {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def pg_ctl(self, action: str, *args: str) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            *args,
            action,
        )

    def start(self) -> PrivateCluster:
        if os.geteuid() == 0:
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        self.pg_ctl("start", "-o", options)
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE payamak"))
        engine.dispose()
        return self

    def restart(self, mode: str) -> None:
        self.pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("stop", "-m", "immediate")


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    # Not under pytest's tmp_path: that is private to this user (0700), and the server runs as
    # postgres, which must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="payamak-drill-pg-"))
    cluster = PrivateCluster(root)
    try:
        yield cluster.start()
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def numbers(count: int, start: int = 0, prefix: str = "0912") -> list[str]:
    """Mobile numbers whose last seven digits never hit the simulator's test numbers (…000000x)."""
    return [f"{prefix}{1_000_000 + start + n:07d}" for n in range(count)]
