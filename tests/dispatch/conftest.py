"""A shop with credit and lines, sends queued through the real sending service, and a dispatcher
run against a real SMSC (the simulated one, in process, over loopback SMPP) until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.context import Context
from payamak.dispatch import service as dispatch
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher
from payamak.sending import service as sending
from payamak.sending.models import Message

CREDIT = 1_000_000_000


@dataclass
class Shop:
    ctx: Context
    account_id: int
    line: str

    @property
    def principal(self) -> Principal:
        return Principal(account_id=self.account_id, role="user")

    def send(self, recipients: Sequence[str], *, text: str = "حراج پاییزه", line: str | None = None) -> int:
        with self.ctx.db.transaction() as session:
            send = sending.accept(
                session,
                settings=self.ctx.settings,
                principal=self.principal,
                request=sending.SendRequest(
                    kind="advertising", text=text, recipients=tuple(recipients), line=line
                ),
            )
            return send.id

    def messages(self, send_id: int | None = None) -> list[Message]:
        with self.ctx.db.transaction(readonly=True) as session:
            stmt = sa.select(Message).order_by(Message.id)
            if send_id is not None:
                stmt = stmt.where(Message.send_id == send_id)
            return list(session.scalars(stmt))

    def by_recipient(self, send_id: int | None = None) -> dict[str, Message]:
        return {m.recipient: m for m in self.messages(send_id)}

    def balance(self) -> int:
        with self.ctx.db.transaction(readonly=True) as session:
            return billing.balance(session, account_id=self.account_id)

    def ledger_ok(self) -> bool:
        with self.ctx.db.transaction(readonly=True) as session:
            report = billing.verify_ledger(session)
            assert report.ok, report.lines()
            return True

    def expected_balance(self) -> int:
        """The credit left if exactly the messages that must be paid for were paid for."""
        refunded = {"failed", "rejected", "blocked", "expired", "canceled"}
        with self.ctx.db.transaction(readonly=True) as session:
            rows = session.execute(
                sa.select(Message.status, Message.price, Message.route_id, Message.submitted_at)
            )
            spent = 0
            for status, price, route_id, submitted in rows:
                if (status == "expired" and submitted is not None) or status == "undelivered":
                    spent += 0 if self.refunds_undelivered(route_id) else price
                elif status not in refunded:
                    spent += price
        return CREDIT - spent

    def refunds_undelivered(self, route_id: int | None) -> bool:
        if route_id is None:
            return False
        with self.ctx.db.transaction(readonly=True) as session:
            return bool(dispatch.get_route(session, principal=None, route_id=route_id).refund_undelivered)

    def add_route(self, name: str, *, port: int, **fields: Any) -> int:
        config = {"host": "127.0.0.1", "port": port, "system_id": "payamak", "password": "payamak"}
        config.update(fields.pop("config", {}))
        with self.ctx.db.transaction() as session:
            return dispatch.add_route(
                session, principal=None, name=name, kind="smpp", config=config, **fields
            ).id


@pytest.fixture
def shop(ctx: Context, make_user: Callable[..., Any]) -> Shop:
    ctx.settings.advertising_hours = "always"
    user = make_user()
    with ctx.db.transaction() as session:
        billing.grant(session, account_id=user.id, amount=CREDIT, reason="test credit", actor_id=None)
        line = sending.add_line(
            session, principal=None, number="30001234", kind="advertising", owner_id=user.id
        )
        number = line.number
    return Shop(ctx=ctx, account_id=user.id, line=number)


def fast_config(**overrides: Any) -> DispatchSettings:
    """Settings that make a test's retries, receipts and upkeep happen in fractions of a second."""
    values: dict[str, Any] = {
        "smsc_port": 0,
        "smsc_receipt_delay": 0.05,
        "flush_interval": 0.02,
        "housekeeping_seconds": 0.1,
        "heartbeat_seconds": 0.3,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "route_down_seconds": 0.3,
        "receipt_match_seconds": 1.0,
        "max_attempts": 3,
        "lease_seconds": 10.0,
    }
    values.update(overrides)
    return DispatchSettings(**values)


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.05)


def all_final(shop: Shop, count: int) -> Callable[[], bool]:
    finals = {"delivered", "undelivered", "expired", "rejected", "failed", "blocked", "canceled"}

    def check() -> bool:
        messages = shop.messages()
        return len(messages) >= count and all(m.status in finals for m in messages)

    return check


def start_dispatcher(shop: Shop, config: DispatchSettings | None = None) -> Dispatcher:
    return Dispatcher(
        db=shop.ctx.db, settings=shop.ctx.settings, config=config or fast_config(), announce=lambda _l: None
    )
