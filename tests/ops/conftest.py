"""A shop with credit and a line, messages queued through the real sending service, and a real
dispatcher run against the simulated SMSC over loopback, to give the metrics and `payamak doctor`
real state to look at."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.context import Context
from payamak.dispatch import service as dispatch
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher
from payamak.sending import service as sending

CREDIT = 10_000_000
# Long enough for the secret key check, which refuses short ones.
SECRET = "an-operations-test-secret-key-of-some-length"


@dataclass
class Shop:
    ctx: Context
    account_id: int
    line: str

    def send(self, recipients: Sequence[str], *, text: str = "حراج پاییزه") -> int:
        with self.ctx.db.transaction() as session:
            principal = Principal(account_id=self.account_id, role="user")
            request = sending.SendRequest(kind="advertising", text=text, recipients=tuple(recipients))
            return sending.accept(
                session, settings=self.ctx.settings, principal=principal, request=request
            ).id

    def add_route(self, name: str, *, port: int) -> int:
        config = {"host": "127.0.0.1", "port": port, "system_id": "payamak", "password": "payamak"}
        with self.ctx.db.transaction() as session:
            return dispatch.add_route(session, principal=None, name=name, kind="smpp", config=config).id


@pytest.fixture
def shop(ctx: Context, make_user: Callable[..., Any]) -> Shop:
    ctx.settings.advertising_hours = "always"
    ctx.settings.secret_key = SECRET
    user = make_user()
    with ctx.db.transaction() as session:
        billing.grant(session, account_id=user.id, amount=CREDIT, reason="test credit", actor_id=None)
        line = sending.add_line(
            session, principal=None, number="30001234", kind="advertising", owner_id=user.id
        )
        number = line.number
    return Shop(ctx=ctx, account_id=user.id, line=number)


def dispatcher_for(shop: Shop, **overrides: Any) -> Dispatcher:
    """A dispatcher whose receipts, writes and heartbeats come within fractions of a second."""
    values: dict[str, Any] = {
        "smsc_port": 0,
        "smsc_receipt_delay": 0.05,
        "flush_interval": 0.02,
        "housekeeping_seconds": 0.1,
        "heartbeat_seconds": 0.2,
        "receipt_match_seconds": 1.0,
    }
    values.update(overrides)
    return Dispatcher(
        db=shop.ctx.db,
        settings=shop.ctx.settings,
        config=DispatchSettings(**values),
        announce=lambda _line: None,
    )


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse_metrics(text: str) -> tuple[set[str], Samples]:
    """(family names, {(sample name, sorted labels): value}) of a Prometheus text exposition."""
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`logs.configure` replaces the root handlers (pytest's capture among them): put them back."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    uvicorn = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate) in uvicorn.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate
