"""The ASGI application: API under /api/v1, the web UI at /, health at /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from payamak import __version__
from payamak.accounts.endpoints import router as accounts_router
from payamak.api import errors
from payamak.api.middleware import BodyGuard
from payamak.config import Settings
from payamak.context import Context

API_PREFIX = "/api/v1"
UPLOAD_PATHS = ("/imports",)


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    ctx = context or Context.create(settings or Settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
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

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(accounts_router)
    app.include_router(api)

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
    app.add_middleware(
        BodyGuard,
        max_body=ctx.settings.max_body_bytes,
        max_upload=ctx.settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    return app
