"""Web pages: server-rendered HTML over the same services the API uses."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.api.deps import SESSION_COOKIE, get_context
from payamak.errors import DomainError, Unauthenticated
from payamak.providers.simulator import RecordingProvider
from payamak.web.i18n import fa_digits, jalali, money, translate

HERE = Path(__file__).parent
CSRF_COOKIE = "payamak_csrf"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """Raised by pages that need a login; answered with a redirect to /login?next=…"""


def lang_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("lang") or ""
    return "en" if wanted == "en" else "fa"


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    lang = lang_of(request)
    ctx = get_context(request)
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    values.setdefault("principal", getattr(request.state, "principal", None))
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "dir": "ltr" if lang == "en" else "rtl",
            "t": lambda key: translate(key, lang),
            "num": (lambda v: fa_digits(v)) if lang == "fa" else str,
            "money": lambda v: money(v, lang),
            "when": lambda v: jalali(v, ctx.settings.tz, lang=lang),
            "csrf": token,
            "simulated": isinstance(ctx.system_sms, RecordingProvider),
            **values,
        },
        status_code=status,
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=ctx.settings.secure_cookies
        )
    return response


def check_csrf(request: Request, token: str) -> None:
    """Double-submit check: the form's token must match the cookie only this site can set."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not token or not secrets.compare_digest(cookie, token):
        raise _CsrfFailed


class _CsrfFailed(Exception):
    pass


def page_principal(request: Request) -> Principal:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    ctx = get_context(request)
    try:
        with ctx.db.transaction(readonly=True) as session:
            principal = accounts.authenticate(session, token=token)
    except Unauthenticated as exc:
        raise LoginRequired from exc
    request.state.principal = principal
    return principal


def safe_next(value: str | None) -> str:
    """Only same-site paths, so a crafted link cannot send the user elsewhere after login."""
    if not value:
        return "/"
    parsed = urlparse(value)
    if parsed.scheme or parsed.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


def set_login_cookie(response: Response, request: Request, token: str, *, remember: bool) -> None:
    ctx = get_context(request)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.settings.session_days * 86400 if remember else None,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies,
    )


def error_text(request: Request, exc: DomainError) -> str:
    return exc.message(lang_of(request))


# --- pages ----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        account = accounts.me(session, principal=principal)
    return render(request, "home.html", account=account)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), mobile="")


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    mobile: str = Form("", max_length=40),
    password: str = Form("", max_length=200),
    remember: str | None = Form(None),
    next: str = Form("/"),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            login = accounts.log_in(
                session,
                settings=ctx.settings,
                passwords=ctx.passwords,
                mobile=mobile,
                password=password,
                address=request.client.host if request.client else "",
                client=request.headers.get("user-agent", ""),
                remember=remember is not None,
            )
    except DomainError as exc:
        if exc.code == "mobile_not_verified":
            return RedirectResponse(f"/verify?mobile={quote(mobile)}", status_code=303)
        return render(
            request,
            "login.html",
            status=400,
            error=error_text(request, exc),
            mobile=mobile,
            next=safe_next(next),
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_login_cookie(response, request, login.token, remember=remember is not None)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        principal = page_principal(request)
        with ctx.db.transaction() as session:
            accounts.log_out(session, principal=principal)
    except LoginRequired:
        pass
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return render(request, "signup.html", mobile="", name="")


@router.post("/signup", response_class=HTMLResponse)
async def signup_submit(
    request: Request,
    mobile: str = Form("", max_length=40),
    password: str = Form("", max_length=200),
    name: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            code = accounts.sign_up(
                session,
                settings=ctx.settings,
                passwords=ctx.passwords,
                mobile=mobile,
                password=password,
                name=name,
            )
    except DomainError as exc:
        return render(
            request, "signup.html", status=400, error=error_text(request, exc), mobile=mobile, name=name
        )
    await ctx.send_system_sms(code.mobile, code.text)
    return RedirectResponse(f"/verify?mobile={quote(code.mobile)}", status_code=303)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, mobile: str = "") -> Response:
    return render(request, "verify.html", mobile=mobile)


@router.post("/verify", response_class=HTMLResponse)
def verify_submit(
    request: Request,
    mobile: str = Form("", max_length=40),
    code: str = Form("", max_length=20),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            account = accounts.verify_mobile(session, settings=ctx.settings, mobile=mobile, code=code)
            login = accounts.start_session(
                session,
                settings=ctx.settings,
                account=account,
                address=request.client.host if request.client else "",
                client=request.headers.get("user-agent", ""),
            )
    except DomainError as exc:
        return render(request, "verify.html", status=400, error=error_text(request, exc), mobile=mobile)
    response = RedirectResponse("/", status_code=303)
    set_login_cookie(response, request, login.token, remember=True)
    return response


@router.post("/resend", response_class=HTMLResponse)
async def resend_submit(
    request: Request,
    mobile: str = Form("", max_length=40),
    purpose: str = Form("signup"),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    page = "reset.html" if purpose == "password_reset" else "verify.html"
    try:
        with ctx.db.transaction() as session:
            code = accounts.resend_code(
                session,
                settings=ctx.settings,
                mobile=mobile,
                purpose="password_reset" if purpose == "password_reset" else "signup",
            )
    except DomainError as exc:
        return render(request, page, status=400, error=error_text(request, exc), mobile=mobile, sent=True)
    if code is not None:
        await ctx.send_system_sms(code.mobile, code.text)
    return render(request, page, mobile=mobile, sent=True)


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, mobile: str = "") -> Response:
    return render(request, "reset.html", mobile=mobile, sent=False)


@router.post("/forgot", response_class=HTMLResponse)
async def forgot_submit(
    request: Request, mobile: str = Form("", max_length=40), csrf: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            code = accounts.request_password_reset(session, settings=ctx.settings, mobile=mobile)
    except DomainError as exc:
        return render(
            request, "reset.html", status=400, error=error_text(request, exc), mobile=mobile, sent=False
        )
    if code is not None:
        await ctx.send_system_sms(code.mobile, code.text)
    return render(request, "reset.html", mobile=mobile, sent=True)


@router.post("/reset", response_class=HTMLResponse)
def reset_submit(
    request: Request,
    mobile: str = Form("", max_length=40),
    code: str = Form("", max_length=20),
    new_password: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            accounts.reset_password(
                session,
                settings=ctx.settings,
                passwords=ctx.passwords,
                mobile=mobile,
                code=code,
                new_password=new_password,
            )
    except DomainError as exc:
        return render(
            request, "reset.html", status=400, error=error_text(request, exc), mobile=mobile, sent=True
        )
    return RedirectResponse("/login", status_code=303)


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request) -> Response:
    ctx = get_context(request)
    if not isinstance(ctx.system_sms, RecordingProvider):
        raise StarletteHTTPException(404)
    with contextlib.suppress(LoginRequired):  # shown to the logged-out too: they need sign-up codes
        page_principal(request)
    return render(request, "simulator.html", messages=ctx.system_sms.recent(limit=30))


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.exception_handler(_CsrfFailed)
    async def _csrf(request: Request, _exc: _CsrfFailed) -> Response:
        return render(request, "message.html", status=403, message=translate("csrf", lang_of(request)))
