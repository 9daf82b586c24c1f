"""Shared fixtures: a real database (SQLite, or PostgreSQL when PAYAMAK_TEST_DATABASE_URL is set).

Every test that touches the database gets it migrated by Alembic and emptied after the test.
With PAYAMAK_TEST_DATABASE_URL set, a run in which no database test ran, or a PostgreSQL-only
test was skipped, fails: CI must never pass on SQLite while believing it tested PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from payamak.accounts import service as accounts
from payamak.accounts.security import Passwords
from payamak.config import Settings
from payamak.context import Context
from payamak.db import Database, upgrade
from payamak.models import metadata

PG_URL = os.environ.get("PAYAMAK_TEST_DATABASE_URL", "")

# Tests assert behaviour, never timings: no per-example deadline, and in CI the same examples
# every run so a failure can be reproduced.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")
_stats = {"db_tests": 0, "pg_skipped": 0}
# In CI every outside peer (PostgreSQL, node-smpp, Chromium) is installed, so a test that skips for
# want of one means the run did not test what it claims to: CI=true turns such skips into a failure.
_ci_skips: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if PG_URL and not PG_URL.startswith("postgresql"):
        raise pytest.UsageError("PAYAMAK_TEST_DATABASE_URL must be a postgresql+psycopg:// URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set PAYAMAK_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped:
        return
    if PG_URL and "postgres" in report.keywords:
        _stats["pg_skipped"] += 1
    if os.environ.get("CI") == "true" and not (not PG_URL and "postgres" in report.keywords):
        _ci_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _ci_skips and exitstatus == 0:
        print(f"\nCI=true but {len(_ci_skips)} tests skipped: {_ci_skips[:10]}")
        session.exitstatus = 1
    if not PG_URL or exitstatus not in (0, 5):
        return
    if _stats["db_tests"] == 0 or _stats["pg_skipped"]:
        ran, skipped = _stats["db_tests"], _stats["pg_skipped"]
        print(f"\nPostgreSQL run is not valid: {ran} database tests ran, {skipped} skipped")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        url = PG_URL
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # a reused database starts from nothing, like a fresh one
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def db(_database: Database) -> Iterator[Database]:
    _stats["db_tests"] += 1
    yield _database
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with _database.engine.begin() as conn:
        if _database.dialect == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        otp_resend_seconds=0,
    )


@pytest.fixture(scope="session")
def passwords() -> Passwords:
    # Real argon2id, with small costs so hundreds of logins in the suite stay quick.
    return Passwords(time_cost=1, memory_kib=1024)


@pytest.fixture
def ctx(settings: Settings, db: Database, passwords: Passwords) -> Context:
    settings.ensure_data_dir()
    return Context(settings=settings, db=db, passwords=passwords)


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    from payamak.api.app import create_app

    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client


@dataclass(frozen=True)
class User:
    id: int
    mobile: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(ctx: Context) -> Callable[..., User]:
    """An active account and a login token for it, made through the real services."""
    counter = iter(range(1, 10_000))

    def make(mobile: str | None = None, *, admin: bool = False, password: str = "correct horse 1") -> User:
        mobile = mobile or f"0912{next(counter):07d}"
        with ctx.db.transaction() as session:
            account = accounts.create_user(
                session, passwords=ctx.passwords, mobile=mobile, password=password, admin=admin
            )
            login = accounts.start_session(
                session, settings=ctx.settings, account=account, address="test", client="test"
            )
            return User(id=account.id, mobile=account.mobile, password=password, token=login.token)

    return make
