"""HTTP API of accounts: sign-up, codes, login, sessions, profile, API keys."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from payamak.accounts import schemas
from payamak.accounts import service as accounts
from payamak.accounts.models import Account, SenderName
from payamak.api.deps import Admin, Caller, Ctx, Tx, client_address
from payamak.api.errors import responses

router = APIRouter(tags=["accounts"])


@router.post(
    "/auth/signup", status_code=202, response_model=schemas.CodeSentOut, responses=responses(409, 422, 429)
)
async def sign_up(body: schemas.SignUpIn, ctx: Ctx) -> schemas.CodeSentOut:
    """Create an account; a 6-digit code is sent by SMS to the mobile to verify it."""
    with ctx.db.transaction() as session:
        code = accounts.sign_up(
            session,
            settings=ctx.settings,
            passwords=ctx.passwords,
            mobile=body.mobile,
            password=body.password,
            name=body.name,
        )
    await ctx.send_system_sms(code.mobile, code.text)
    return schemas.CodeSentOut(mobile=code.mobile, code_sent=True, expires_at=code.expires_at)


@router.post("/auth/verify", response_model=schemas.TokenOut, responses=responses(422, 429))
def verify(
    body: schemas.VerifyIn, request: Request, response: Response, ctx: Ctx, session: Tx
) -> schemas.TokenOut:
    """Verify the mobile with the code; the account becomes active and is logged in."""
    account = accounts.verify_mobile(session, settings=ctx.settings, mobile=body.mobile, code=body.code)
    login = accounts.start_session(
        session,
        settings=ctx.settings,
        account=account,
        address=client_address(request),
        client=request.headers.get("user-agent", ""),
    )
    return schemas.TokenOut(token=login.token, expires_at=login.session.expires_at)


@router.post(
    "/auth/resend", status_code=202, response_model=schemas.CodeSentOut, responses=responses(422, 429)
)
async def resend(body: schemas.ResendIn, ctx: Ctx) -> schemas.CodeSentOut:
    """Send a new code (sign-up or password reset). Says the same whether or not the number has an account."""
    with ctx.db.transaction() as session:
        code = accounts.resend_code(session, settings=ctx.settings, mobile=body.mobile, purpose=body.purpose)
    if code is not None:
        await ctx.send_system_sms(code.mobile, code.text)
    return schemas.CodeSentOut(mobile=accounts.normalize_mobile(body.mobile), code_sent=True)


@router.post(
    "/auth/password-reset", status_code=202, response_model=schemas.CodeSentOut, responses=responses(422, 429)
)
async def password_reset(body: schemas.PasswordResetIn, ctx: Ctx) -> schemas.CodeSentOut:
    """Send a code to reset a forgotten password."""
    with ctx.db.transaction() as session:
        code = accounts.request_password_reset(session, settings=ctx.settings, mobile=body.mobile)
    if code is not None:
        await ctx.send_system_sms(code.mobile, code.text)
    return schemas.CodeSentOut(mobile=accounts.normalize_mobile(body.mobile), code_sent=True)


@router.post("/auth/password-reset/confirm", status_code=204, responses=responses(422, 429))
def password_reset_confirm(body: schemas.PasswordResetConfirmIn, ctx: Ctx, session: Tx) -> None:
    """Set a new password with the code; every login of the account ends."""
    accounts.reset_password(
        session,
        settings=ctx.settings,
        passwords=ctx.passwords,
        mobile=body.mobile,
        code=body.code,
        new_password=body.new_password,
    )


@router.post("/auth/login", response_model=schemas.TokenOut, responses=responses(401, 403, 422, 429))
def log_in(body: schemas.LoginIn, request: Request, ctx: Ctx, session: Tx) -> schemas.TokenOut:
    """Log in with mobile and password; the token lasts 30 days (`remember`: true) or some hours."""
    login = accounts.log_in(
        session,
        settings=ctx.settings,
        passwords=ctx.passwords,
        mobile=body.mobile,
        password=body.password,
        address=client_address(request),
        client=request.headers.get("user-agent", ""),
        remember=body.remember,
    )
    return schemas.TokenOut(token=login.token, expires_at=login.session.expires_at)


@router.post("/auth/logout", status_code=204, responses=responses(401))
def log_out(caller: Caller, session: Tx) -> None:
    """End this login (an API key stays valid: revoke keys with DELETE /api-keys/{id})."""
    accounts.log_out(session, principal=caller)


def me_out(account: Account, caller: accounts.Principal) -> schemas.MeOut:
    return schemas.MeOut(
        id=account.id,
        mobile=account.mobile,
        name=account.name,
        role=account.role,
        language=account.language,
        balance=account.balance,
        low_balance_threshold=account.low_balance_threshold,
        low_balance=account.balance < account.low_balance_threshold,
        verified_at=account.verified_at,
        created_at=account.created_at,
        auth="api_key" if caller.api_key_id else "session",
    )


@router.get("/me", response_model=schemas.MeOut, responses=responses(401))
def me(caller: Caller, session: Tx) -> schemas.MeOut:
    """Who is logged in: mobile (E.164), name, role, balance in rials."""
    return me_out(accounts.me(session, principal=caller), caller)


@router.patch("/me", response_model=schemas.MeOut, responses=responses(401, 422))
def update_me(body: schemas.MeUpdateIn, caller: Caller, session: Tx) -> schemas.MeOut:
    """Change the name, the language or the low-balance warning threshold."""
    account = accounts.update_profile(
        session,
        principal=caller,
        name=body.name,
        language=body.language,
        low_balance_threshold=body.low_balance_threshold,
    )
    return me_out(account, caller)


@router.post("/me/password", status_code=204, responses=responses(401, 422))
def change_password(body: schemas.PasswordChangeIn, caller: Caller, ctx: Ctx, session: Tx) -> None:
    """Change the password; every other login of the account ends."""
    accounts.change_password(
        session,
        passwords=ctx.passwords,
        principal=caller,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@router.get("/sessions", response_model=list[schemas.SessionOut], responses=responses(401))
def list_sessions(caller: Caller, session: Tx) -> list[schemas.SessionOut]:
    """The account's live logins, the one in use marked `current`."""
    return [
        schemas.SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            client=s.client,
            address=s.address,
            current=s.id == caller.session_id,
        )
        for s in accounts.sessions(session, principal=caller)
    ]


@router.delete("/sessions/{session_id}", status_code=204, responses=responses(401, 404))
def revoke_session(session_id: int, caller: Caller, session: Tx) -> None:
    """End one login of the account."""
    accounts.revoke_session(session, principal=caller, session_id=session_id)


@router.post(
    "/api-keys", status_code=201, response_model=schemas.ApiKeyCreatedOut, responses=responses(401, 422)
)
def create_api_key(body: schemas.ApiKeyIn, caller: Caller, session: Tx) -> schemas.ApiKeyCreatedOut:
    """A key for integrations, used as `Authorization: Bearer <key>`. It is shown this once."""
    record, key = accounts.create_api_key(session, principal=caller, name=body.name)
    return schemas.ApiKeyCreatedOut(
        id=record.id, name=record.name, key=key, prefix=record.prefix, created_at=record.created_at
    )


@router.get("/api-keys", response_model=list[schemas.ApiKeyOut], responses=responses(401))
def list_api_keys(caller: Caller, session: Tx) -> list[schemas.ApiKeyOut]:
    return [
        schemas.ApiKeyOut(
            id=k.id, name=k.name, prefix=k.prefix, created_at=k.created_at, last_used_at=k.last_used_at
        )
        for k in accounts.api_keys(session, principal=caller)
    ]


@router.delete("/api-keys/{key_id}", status_code=204, responses=responses(401, 404))
def revoke_api_key(key_id: int, caller: Caller, session: Tx) -> None:
    accounts.revoke_api_key(session, principal=caller, key_id=key_id)


def sender_name_out(record: SenderName) -> schemas.SenderNameOut:
    return schemas.SenderNameOut(
        id=record.id,
        name=record.name,
        status=record.state,
        reason=record.reason,
        created_at=record.created_at,
        decided_at=record.decided_at,
    )


@router.post(
    "/sender-names", status_code=201, response_model=schemas.SenderNameOut, responses=responses(401, 409, 422)
)
def register_sender_name(body: schemas.SenderNameIn, caller: Caller, session: Tx) -> schemas.SenderNameOut:
    """Register a sender name (نام صادرکننده); it counts once an admin approves it."""
    return sender_name_out(accounts.register_sender_name(session, principal=caller, name=body.name))


@router.get("/sender-names", response_model=list[schemas.SenderNameOut], responses=responses(401))
def list_sender_names(caller: Caller, session: Tx) -> list[schemas.SenderNameOut]:
    return [sender_name_out(r) for r in accounts.sender_names(session, principal=caller)]


@router.delete("/sender-names/{name_id}", status_code=204, responses=responses(401, 404))
def delete_sender_name(name_id: int, caller: Caller, session: Tx) -> None:
    accounts.delete_sender_name(session, principal=caller, name_id=name_id)


@router.get(
    "/admin/sender-names", response_model=list[schemas.SenderNameReviewOut], responses=responses(401, 403)
)
def review_sender_names(
    caller: Admin,
    session: Tx,
    status: Literal["pending", "approved", "rejected"] | None = "pending",
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> list[schemas.SenderNameReviewOut]:
    """Sender names waiting for a decision (or in another state)."""
    records = accounts.sender_names_for_review(
        session, principal=caller, state=status, limit=limit, offset=offset
    )
    return [
        schemas.SenderNameReviewOut(account_id=r.account_id, **sender_name_out(r).model_dump())
        for r in records
    ]


@router.post(
    "/admin/sender-names/{name_id}/approve",
    response_model=schemas.SenderNameOut,
    responses=responses(401, 403, 404),
)
def approve_sender_name(name_id: int, caller: Admin, session: Tx) -> schemas.SenderNameOut:
    return sender_name_out(
        accounts.decide_sender_name(session, principal=caller, name_id=name_id, approve=True)
    )


@router.post(
    "/admin/sender-names/{name_id}/reject",
    response_model=schemas.SenderNameOut,
    responses=responses(401, 403, 404, 422),
)
def reject_sender_name(
    name_id: int, body: schemas.SenderNameDecisionIn, caller: Admin, session: Tx
) -> schemas.SenderNameOut:
    """Reject a name with a reason the user will read."""
    record = accounts.decide_sender_name(
        session, principal=caller, name_id=name_id, approve=False, reason=body.reason
    )
    return sender_name_out(record)
