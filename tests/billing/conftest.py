"""Billing fixtures: an admin, credit helpers, and a local server that answers like Zarinpal v4."""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from payamak.billing import service as billing
from payamak.context import Context
from payamak.db import Database

API = "/api/v1"
MERCHANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture(autouse=True)
def _no_seeded_rows(request: pytest.FixtureRequest) -> None:
    """Start from empty billing tables: the migration seeds tariffs, VAT and packages, and only
    the first database test of a run would otherwise see them."""
    if "db" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("db")
    with database.engine.begin() as conn:
        for table in ("tariffs", "billing_config", "packages"):
            conn.execute(sa.text(f"DELETE FROM {table}"))


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


@pytest.fixture
def give(ctx: Context) -> Callable[[int, int], None]:
    """Credit an account through the ledger (an operator grant), as tests' starting balance."""

    def run(account_id: int, amount: int) -> None:
        with ctx.db.transaction() as session:
            billing.grant(session, account_id=account_id, amount=amount, reason="test credit", actor_id=None)

    return run


@dataclass
class FakeSession:
    amount: int
    callback_url: str
    description: str
    mobile: str | None
    paid: bool = False
    verified: bool = False
    ref_id: int = field(default_factory=lambda: secrets.randbelow(9 * 10**9) + 10**9)


class FakeZarinpal:
    """Zarinpal's request/verify as their documents describe, on 127.0.0.1.

    `pay(authority)` stands for the buyer paying on StartPay; `pay(authority, amount=...)` for a
    buyer who paid some other amount than the one requested.
    """

    def __init__(self) -> None:
        self.sessions: dict[str, FakeSession] = {}
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.verifies: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def pay(self, authority: str, *, amount: int | None = None) -> None:
        with self.lock:
            session = self.sessions[authority]
            session.paid = True
            if amount is not None:
                session.amount = amount

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int, message: str, status: int = 200) -> None:
                self._answer(
                    status, {"data": [], "errors": {"code": code, "message": message, "validations": []}}
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    self._error(-9, "The input params invalid, validation error.", 422)
                    return
                if body.get("merchant_id") != MERCHANT:
                    self._error(-10, "Terminal is not valid, please check merchant_id or ip address.")
                    return
                if self.path == "/pg/v4/payment/request.json":
                    self._request(body)
                elif self.path == "/pg/v4/payment/verify.json":
                    self._verify(body)
                else:
                    self._answer(404, {"data": [], "errors": {"code": -1, "message": "not found"}})

            def _request(self, body: dict[str, Any]) -> None:
                fake.requests.append(body)
                amount = body.get("amount")
                if not isinstance(amount, int) or amount < 1000 or not body.get("callback_url"):
                    self._error(-9, "The input params invalid, validation error.", 422)
                    return
                authority = "A" + "".join(str(secrets.randbelow(10)) for _ in range(35))
                with fake.lock:
                    fake.sessions[authority] = FakeSession(
                        amount=amount,
                        callback_url=body["callback_url"],
                        description=body.get("description", ""),
                        mobile=(body.get("metadata") or {}).get("mobile"),
                    )
                self._answer(
                    200,
                    {
                        "data": {
                            "code": 100,
                            "message": "Success",
                            "authority": authority,
                            "fee_type": "Merchant",
                            "fee": 0,
                        },
                        "errors": [],
                    },
                )

            def _verify(self, body: dict[str, Any]) -> None:
                fake.verifies.append(body)
                with fake.lock:
                    session = fake.sessions.get(str(body.get("authority")))
                    if session is None:
                        self._error(-54, "Invalid authority.")
                        return
                    if body.get("amount") != session.amount:
                        self._error(-50, "Session is not valid, amounts values is not the same.")
                        return
                    if not session.paid:
                        self._error(-51, "Session is not valid, session is not active paid try.")
                        return
                    code = 101 if session.verified else 100
                    session.verified = True
                self._answer(
                    200,
                    {
                        "data": {
                            "code": code,
                            "message": "Verified" if code == 101 else "Paid",
                            "card_hash": "1EBE3EBEBE35C7EC0F8D6EE4F2F859107A87822CA179BC9528767EA7B5489B69",
                            "card_pan": "502229******5995",
                            "ref_id": session.ref_id,
                            "fee_type": "Merchant",
                            "fee": 0,
                        },
                        "errors": [],
                    },
                )

        return Handler


@pytest.fixture
def zarinpal(ctx: Context) -> Iterator[FakeZarinpal]:
    """The fake server, and the context's settings pointed at it."""
    fake = FakeZarinpal()
    fake.thread.start()
    ctx.settings.payment_gateway = "zarinpal"
    ctx.settings.zarinpal_merchant_id = MERCHANT
    ctx.settings.zarinpal_base_url = fake.url
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    fake.thread.join(timeout=5)


@pytest.fixture
def package(ctx: Context) -> Callable[..., int]:
    def make(
        price: int = 1_000_000, credit: int = 1_100_000, *, active: bool = True, name: str = "نقره‌ای"
    ) -> int:
        with ctx.db.transaction() as session:
            return billing.create_package(session, name=name, price=price, credit=credit, active=active).id

    return make
