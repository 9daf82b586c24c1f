"""A Payamak server on a loopback port (plain HTTP and HTTPS) and a shop ready to send through it.

The official SDKs talk to real sockets: uvicorn serves `create_app` in a background thread against
the test database. Kavenegar's SDK only speaks https://, so the HTTPS server uses a self-signed
certificate made with openssl for 127.0.0.1, which the test trusts through REQUESTS_CA_BUNDLE (the
`requests` library's documented setting); the SDK's code is not touched.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import uvicorn
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from payamak.accounts import service as accounts
from payamak.billing import service as billing
from payamak.compat import service as compat
from payamak.context import Context
from payamak.sending import service as sending

AD_LINE = "30001234"
SERVICE_LINE = "20001234"
SENDER_NAME = "فروشگاه نیلی"
CREDIT = 10_000_000


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    scheme: str
    cafile: Path | None = None

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.contextmanager
def serve(ctx: Context, *, tls: tuple[Path, Path] | None) -> Iterator[Server]:
    from payamak.api.app import create_app

    app = create_app(context=ctx)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on",
            ssl_certfile=str(tls[0]) if tls else None, ssl_keyfile=str(tls[1]) if tls else None,
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("the test server did not start")
                time.sleep(0.02)
            yield Server("127.0.0.1", port, "https" if tls else "http", tls[0] if tls else None)
        finally:
            server.should_exit = True
            thread.join(15)


@pytest.fixture
def http_server(ctx: Context) -> Iterator[Server]:
    with serve(ctx, tls=None) as server:
        yield server


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_server(
    ctx: Context, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    with serve(ctx, tls=certificate) as server:
        yield server


@dataclass(frozen=True)
class Shop:
    account_id: int
    mobile: str
    key: str
    token: str
    ad_line: str
    service_line: str

    @property
    def account_sid(self) -> str:
        return compat.account_sid(self.account_id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_shop(ctx: Context, make_user: Callable[..., object]) -> Callable[..., Shop]:
    """An account with credit, an approved sender name, an API key and its own lines of both kinds."""
    ctx.settings.advertising_hours = "always"
    lines = iter(range(0, 1000))

    def make(*, credit: int = CREDIT, lines_of_kind: tuple[str, ...] = ("advertising", "service")) -> Shop:
        user = make_user()
        n = next(lines)
        numbers = {kind: line_of(n, kind) for kind in ("advertising", "service")}
        with ctx.db.transaction() as session:
            owner = accounts.Principal(account_id=user.id, role="user")  # type: ignore[attr-defined]
            for kind in lines_of_kind:
                sending.add_line(session, principal=None, number=numbers[kind], kind=kind, owner_id=user.id)  # type: ignore[attr-defined]
            if credit:
                billing.grant(
                    session, account_id=user.id, amount=credit, reason="اعتبار آزمایشی", actor_id=None
                )  # type: ignore[attr-defined]
            accounts.approve_sender_name_by_mobile(session, mobile=user.mobile, name=SENDER_NAME)  # type: ignore[attr-defined]
            _record, key = accounts.create_api_key(session, principal=owner, name="compat")
        return Shop(
            account_id=user.id, mobile=user.mobile, key=key, token=user.token,  # type: ignore[attr-defined]
            ad_line=numbers["advertising"], service_line=numbers["service"],
        )  # fmt: skip

    return make


def line_of(shop_index: int, kind: str) -> str:
    base = AD_LINE if kind == "advertising" else SERVICE_LINE
    return base + (f"{shop_index:03d}" if shop_index else "")


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()


class Receiver:
    """A StatusCallback receiver on loopback that records what it gets and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], str]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                receiver.received.append(
                    (self.path, dict(parse_qsl(body)), self.headers.get("X-Twilio-Signature", ""))
                )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/status?shop=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


class PayamakHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending to Payamak: same path and query, another scheme and host."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        target = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, target, *args, **kwargs)


def twilio(server: Server, shop: Shop, *, account_sid: str | None = None, key: str | None = None) -> Client:
    return Client(
        shop.account_sid, key or shop.key, account_sid=account_sid, http_client=PayamakHttpClient(server.base)
    )
