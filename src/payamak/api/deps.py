"""FastAPI dependencies: the process context, the request's unit of work, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.context import Context
from payamak.errors import Unauthenticated

SESSION_COOKIE = "payamak_session"


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _transaction(request: Request) -> Iterator[Session]:
    """The request's unit of work: it commits when the endpoint returns, before the response."""
    ctx = get_context(request)
    with ctx.db.transaction(readonly=request.method in ("GET", "HEAD")) as session:
        yield session


Ctx = Annotated[Context, Depends(get_context)]
Tx = Annotated[Session, Depends(_transaction, scope="function")]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


def _required_token(request: Request) -> str:
    token = bearer_token(request)
    if not token:
        raise Unauthenticated(
            "برای این کار باید وارد شوید.", "You need to log in for this.", code="not_authenticated"
        )
    return token


def current_principal(request: Request, session: Tx) -> Principal:
    principal = accounts.authenticate(session, token=_required_token(request))
    if principal.touch_due:
        if request.method in ("GET", "HEAD"):
            # A read's own transaction is read-only (rolled back), so the write goes in a small
            # one of its own; a read-only SQLite transaction holds no lock that would block it.
            with get_context(request).db.transaction() as own:
                accounts.touch(own, principal=principal)
        else:
            accounts.touch(session, principal=principal)
    request.state.principal = principal
    return principal


def admin_principal(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    accounts.require_admin(principal)
    return principal


def caller_outside_transaction(request: Request) -> Principal:
    """The caller, authenticated in a transaction that is closed before the endpoint runs.

    For endpoints that work for seconds outside the database (reading an upload, calling a
    payment gateway): the usual `Caller` keeps the request's write transaction open all that
    time, and on SQLite that locks out every other writer. Web pages log their user in the same
    way (`web.views.page_principal`).
    """
    token = _required_token(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        principal = accounts.authenticate(session, token=token)
    if principal.touch_due:
        with ctx.db.transaction() as session:
            accounts.touch(session, principal=principal)
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(current_principal)]
Admin = Annotated[Principal, Depends(admin_principal)]
# The caller of an endpoint that must not hold a transaction while it works.
ShortCaller = Annotated[Principal, Depends(caller_outside_transaction)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""
