"""A real Payamak for the browser: uvicorn on a free port, the dispatcher and its simulated SMSC.

Everything runs in this process on threads of its own, against the test database, so a test can
also use the services directly (to make an administrator, say) while the browser uses the UI.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from payamak.accounts.security import Passwords
from payamak.api.app import create_app
from payamak.config import Settings
from payamak.context import Context
from payamak.db import Database
from payamak.dispatch import worker
from payamak.dispatch.settings import DispatchSettings
from payamak.dispatch.worker import Dispatcher


@dataclass
class LiveServer:
    database_url: str
    data_dir: Path
    ctx: Context = field(init=False)
    url: str = field(init=False, default="")
    _server: uvicorn.Server | None = field(init=False, default=None)
    _threads: list[threading.Thread] = field(init=False, default_factory=list)
    _dispatcher: Dispatcher | None = field(init=False, default=None)
    _dispatcher_loop: asyncio.AbstractEventLoop | None = field(init=False, default=None)
    _errors: list[BaseException] = field(init=False, default_factory=list)

    def start(self, *, with_dispatcher: bool = True) -> None:
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            secret_key="e2e-secret-key",
            otp_resend_seconds=0,
            # The window would otherwise move a send made at night to the morning.
            advertising_hours="always",
        )
        settings.ensure_data_dir()
        self.ctx = Context(
            settings=settings,
            db=Database(self.database_url),
            passwords=Passwords(time_cost=1, memory_kib=1024),
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(context=self.ctx), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        server = self._server

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            finally:
                sock.close()

        self._spawn(serve, "e2e-uvicorn")
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or self._errors:
                raise RuntimeError(f"the web server did not start: {self._errors}")
            time.sleep(0.05)
        if with_dispatcher:
            self._start_dispatcher()

    def _spawn(self, target: object, name: str) -> None:
        def run() -> None:
            try:
                target()  # type: ignore[operator]
            except BaseException as exc:  # kept to fail the test that follows, not lost in a thread
                self._errors.append(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_dispatcher(self) -> None:
        config = DispatchSettings(
            smsc_port=0, smsc_receipt_delay=0.5, flush_interval=0.05, heartbeat_seconds=1.0
        )
        dispatcher = Dispatcher(
            db=self.ctx.db, settings=self.ctx.settings, config=config, name="e2e", announce=lambda _m: None
        )
        self._dispatcher = dispatcher

        async def main() -> None:
            self._dispatcher_loop = asyncio.get_running_loop()
            await dispatcher.run()

        self._spawn(lambda: asyncio.run(main()), "e2e-dispatcher")
        deadline = time.monotonic() + 30
        while worker.running() is not dispatcher:
            if time.monotonic() > deadline or self._errors:
                raise RuntimeError(f"the dispatcher did not start: {self._errors}")
            time.sleep(0.05)

    def check(self) -> None:
        """Raise what a server thread died of."""
        if self._errors:
            raise RuntimeError(f"a server thread failed: {self._errors[0]!r}") from self._errors[0]

    def stop(self) -> None:
        if self._dispatcher is not None and self._dispatcher_loop is not None:
            self._dispatcher_loop.call_soon_threadsafe(self._dispatcher.request_stop)
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=30)
        self.ctx.db.dispose()
