"""The ASGI application: API under /api/v1, the web UI at /, health at /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from payamak import __version__
from payamak.accounts.endpoints import router as accounts_router
from payamak.api import errors
from payamak.api.middleware import BodyGuard, ConcurrencyGate
from payamak.billing.endpoints import router as billing_router
from payamak.compat.endpoints import router as compat_router
from payamak.compat.kavenegar import router as kavenegar_router
from payamak.compat.twilio import router as twilio_router
from payamak.config import Settings
from payamak.context import Context
from payamak.dispatch.endpoints import router as dispatch_router
from payamak.phonebook.endpoints import router as phonebook_router
from payamak.sending.blacklist_endpoints import router as blacklist_router
from payamak.sending.endpoints import router as sending_router

API_PREFIX = "/api/v1"
UPLOAD_PATHS = ("/imports", "/imports/preview", "/admin/blacklist/national")


def create_app(
    settings: Settings | None = None, *, context: Context | None = None, dispatcher: bool = False
) -> FastAPI:
    """`dispatcher`: also run the dispatcher (and the simulated SMSC when no route exists) on the
    application's event loop, as `payamak serve` does; PAYAMAK_EMBEDDED_DISPATCHER=false vetoes it."""
    ctx = context or Context.create(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from payamak.dispatch.embedded import start_embedded

        embedded = await start_embedded(ctx) if dispatcher else None
        try:
            yield
        finally:
            if embedded is not None:
                await embedded.stop()
            if context is None:
                ctx.close()

    app = FastAPI(
        title="Payamak",
        version=__version__,
        description="Bulk SMS: phonebook, credit, advertising and informational SMS, delivery status.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.describe_errors(
                get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(accounts_router)
    api.include_router(billing_router)
    api.include_router(dispatch_router)
    api.include_router(blacklist_router)
    api.include_router(phonebook_router)
    api.include_router(sending_router)
    api.include_router(compat_router)
    app.include_router(api)
    # Kavenegar- and Twilio-compatible APIs, at the paths those services use (docs/api.md).
    app.include_router(kavenegar_router)
    app.include_router(twilio_router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """Alive, and the database answers."""
        try:
            with ctx.db.transaction(readonly=True) as session:
                session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "database": ctx.db.dialect})

    from payamak.web.views import install as install_web

    install_web(app)
    gate = ctx.settings.max_concurrent_requests or (10 if ctx.db.dialect == "sqlite" else 25)
    app.add_middleware(ConcurrencyGate, limit=gate)
    app.add_middleware(
        BodyGuard,
        max_body=ctx.settings.max_body_bytes,
        max_upload=ctx.settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    # Last, so its middleware is the outermost: refused requests are counted, logged and given an id too.
    from payamak.metrics import install as install_metrics

    install_metrics(app, ctx)
    return app
