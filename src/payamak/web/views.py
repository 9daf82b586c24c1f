"""Web pages: server-rendered HTML over the same services the API uses."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlparse

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from payamak import numbers
from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.api.deps import SESSION_COOKIE, caller_outside_transaction, get_context
from payamak.api.errors import status_for
from payamak.errors import DomainError, Unauthenticated
from payamak.providers.simulator import RecordingProvider
from payamak.web.i18n import fa_digits, jalali, jalali_year, money, problem_text, translate

HERE = Path(__file__).parent
CSRF_COOKIE = "payamak_csrf"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

T = TypeVar("T")
E = TypeVar("E", bound=Exception)


class LoginRequired(Exception):
    """Raised by pages that need a login; answered with a redirect to /login?next=…"""


def lang_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get("lang") or ""
    return "en" if wanted == "en" else "fa"


# The main menu; each page belongs to the menu entry of its first matching prefix in _SECTIONS.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "panel"),
    ("/send/advertising", "nav_advertising"),
    ("/send/informational", "nav_informational"),
    ("/groups", "nav_groups"),
    ("/customers", "nav_customers"),
    ("/credit", "nav_credit"),
    ("/profile", "profile"),
)
ADMIN_NAV = ("/admin", "nav_admin")
_SECTIONS = (
    ("/sends/", "/"),
    ("/imports/", "/groups"),
    ("/pay/", "/credit"),
    ("/send/advertising", "/send/advertising"),
    ("/send/informational", "/send/informational"),
    ("/groups", "/groups"),
    ("/customers", "/customers"),
    ("/credit", "/credit"),
    ("/profile", "/profile"),
    ("/admin", "/admin"),
)
# Confirmations shown after a redirect (?ok=key): only known keys, so a link cannot inject text.
OK_KEYS = frozenset(
    {
        "saved",
        "created",
        "deleted",
        "renamed",
        "added",
        "canceled",
        "password_changed",
        "revoked",
        "granted",
        "approved",
        "rejected",
        "sent",
    }
)


def section_of(path: str) -> str:
    if path == "/":
        return "/"
    for prefix, section in _SECTIONS:
        if path.startswith(prefix):
            return section
    return ""


def csrf_token(request: Request) -> str:
    """The token of the double-submit check: the cookie's, or a new one set with this response."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.csrf = token
    return str(token)


def local_number(e164: str | None) -> str:
    """An Iranian number as people write it (09121234567); others stay in E.164."""
    if not e164:
        return "—"
    return "0" + e164[3:] if e164.startswith("+98") else e164


def reason_text(code: str, lang: str) -> str:
    """Why a number was refused, in words (the code itself for a reason this version does not know)."""
    try:
        return numbers.reason_message(code, lang)
    except KeyError:
        return code


def _known_principal(request: Request) -> Principal | None:
    """Who is logged in, for pages that do not need a login (error pages, the gateway's page):
    the header then shows the same state as everywhere else."""
    if hasattr(request.state, "principal"):
        principal: Principal | None = request.state.principal
        return principal
    try:
        return page_principal(request)
    except LoginRequired:
        request.state.principal = None
        return None


def _context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    lang = lang_of(request)
    ctx = get_context(request)
    principal: Principal | None = values["principal"] if "principal" in values else _known_principal(request)
    path = request.url.path
    section = section_of(path)
    nav = list(NAV) + ([ADMIN_NAV] if principal is not None and principal.is_admin else [])
    other = "fa" if lang == "en" else "en"
    # A page shown after a POST has no address of its own to reload: switch on its section.
    here = (
        request.url
        if request.method in ("GET", "HEAD")
        else request.url.replace(path=section or "/", query="")
    )
    switch = here.remove_query_params("ok").include_query_params(lang=other)
    ok = request.query_params.get("ok", "")
    digits: Callable[[object], str] = fa_digits if lang == "fa" else str
    return {
        "lang": lang,
        "dir": "ltr" if lang == "en" else "rtl",
        # "Back" points the way the reader's eye goes back: right in Persian, left in English.
        "back_arrow": "←" if lang == "en" else "→",
        "t": lambda key: translate(key, lang),
        "num": digits,
        # Stored text written with Latin digits (ledger descriptions), shown in the page's digits.
        "digits": digits,
        "money": lambda v: money(v, lang),
        "when": lambda v: jalali(v, ctx.settings.tz, lang=lang),
        "day": lambda v: jalali(v, ctx.settings.tz, lang=lang, with_time=False),
        "local": lambda v: fa_digits(local_number(v)) if lang == "fa" else local_number(v),
        "status_label": lambda s: translate(f"status_{s}", lang),
        "kind_name": lambda k: translate(f"kind_{k}", lang),
        "reason": lambda code: reason_text(code, lang),
        "problem": lambda error: problem_text(error, lang),
        "this_year": lambda: jalali_year(dt.datetime.now(ctx.settings.tz)),
        "csrf": csrf_token(request),
        "simulated": isinstance(ctx.system_sms, RecordingProvider),
        "principal": principal,
        "nav": [(href, key, href == section) for href, key in nav],
        "lang_switch": f"{switch.path}?{switch.query}",
        "other_lang": other,
        "ok": translate(f"ok_{ok}", lang) if ok in OK_KEYS else None,
        **values,
    }


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    ctx = get_context(request)
    context = _context(request, values)
    token = context["csrf"]
    response = templates.TemplateResponse(request, template, context, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=ctx.settings.secure_cookies
        )
    wanted = request.query_params.get("lang")
    if wanted in ("fa", "en") and request.cookies.get("lang") != wanted:
        # The switch in the header is a link: remember the choice for the pages that follow.
        response.set_cookie(
            "lang", wanted, max_age=365 * 86400, samesite="lax", secure=ctx.settings.secure_cookies
        )
    return response


def render_fragment(request: Request, template: str, **values: Any) -> str:
    """A template rendered to a string with the page context, for parts that JavaScript swaps in."""
    return templates.get_template(template).render(_context(request, values))


def check_csrf(request: Request, token: str) -> None:
    """Double-submit check: the form's token must match the cookie only this site can set."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not token or not secrets.compare_digest(cookie, token):
        raise _CsrfFailed


class _CsrfFailed(Exception):
    pass


def page_principal(request: Request) -> Principal:
    """The logged-in user of a page, or LoginRequired (the login page, then back here)."""
    try:
        return caller_outside_transaction(request)
    except Unauthenticated as exc:
        raise LoginRequired from exc


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


def set_language_cookie(response: Response, request: Request, lang: str) -> None:
    if lang in ("fa", "en"):
        secure = get_context(request).settings.secure_cookies
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", secure=secure)


def error_text(request: Request, exc: DomainError) -> str:
    return exc.message(lang_of(request))


def refused(request: Request, template: str, exc: DomainError, **values: Any) -> HTMLResponse:
    """A form's page again, saying above the form why the service refused it."""
    return render(request, template, status=400, error=error_text(request, exc), **values)


def attempt(request: Request, action: Callable[[Session], T]) -> T | DomainError:
    """`action` in one transaction of its own; a service's refusal comes back (rolled back) for the
    page to show, anything else propagates."""
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            return action(session)
    except DomainError as exc:
        return exc


def redirect(url: str) -> RedirectResponse:
    """Where to go after a form was done: 303, so the browser asks for it with GET and a reload
    does not post the form again."""
    return RedirectResponse(url, status_code=303)


def done(request: Request, action: Callable[[Session], object], then: str) -> RedirectResponse:
    """A button with nothing to fill in (delete, revoke): `action` in a transaction of its own, then
    `then`. A refusal has no form to be shown on, so it goes on to the error page."""
    with get_context(request).db.transaction() as session:
        action(session)
    return redirect(then)


# --- pages ----------------------------------------------------------------------------------


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
    login = attempt(
        request,
        lambda session: accounts.log_in(
            session,
            settings=ctx.settings,
            passwords=ctx.passwords,
            mobile=mobile,
            password=password,
            address=request.client.host if request.client else "",
            client=request.headers.get("user-agent", ""),
            remember=remember is not None,
        ),
    )
    if isinstance(login, DomainError):
        if login.code == "mobile_not_verified":
            return redirect(f"/verify?mobile={quote(mobile)}")
        return refused(request, "login.html", login, mobile=mobile, next=safe_next(next))
    response = redirect(safe_next(next))
    set_login_cookie(response, request, login.token, remember=remember is not None)
    set_language_cookie(response, request, login.account.language)
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
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request) -> Response:
    return render(request, "signup.html", mobile="", name="", min_password=accounts.MIN_PASSWORD)


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
    code = attempt(
        request,
        lambda session: accounts.sign_up(
            session,
            settings=ctx.settings,
            passwords=ctx.passwords,
            mobile=mobile,
            password=password,
            name=name,
        ),
    )
    if isinstance(code, DomainError):
        return refused(
            request, "signup.html", code, mobile=mobile, name=name, min_password=accounts.MIN_PASSWORD
        )
    await ctx.send_system_sms(code.mobile, code.text)
    return redirect(f"/verify?mobile={quote(code.mobile)}")


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

    def verify_and_log_in(session: Session) -> accounts.Login:
        account = accounts.verify_mobile(session, settings=ctx.settings, mobile=mobile, code=code)
        return accounts.start_session(
            session,
            settings=ctx.settings,
            account=account,
            address=request.client.host if request.client else "",
            client=request.headers.get("user-agent", ""),
        )

    login = attempt(request, verify_and_log_in)
    if isinstance(login, DomainError):
        return refused(request, "verify.html", login, mobile=mobile)
    response = redirect("/")
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
    wanted = "password_reset" if purpose == "password_reset" else "signup"
    return await _send_code(request, mobile, wanted, shown_before=True)


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, mobile: str = "") -> Response:
    return render(request, "reset.html", mobile=mobile, sent=False)


@router.post("/forgot", response_class=HTMLResponse)
async def forgot_submit(
    request: Request, mobile: str = Form("", max_length=40), csrf: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    return await _send_code(request, mobile, "password_reset", shown_before=False)


async def _send_code(request: Request, mobile: str, purpose: str, *, shown_before: bool) -> Response:
    """A new code by SMS, then the page to type it in. A number without an account gets the same
    page and no SMS, so the page does not tell which numbers have accounts; a refusal (asked again
    too soon) is shown on the page the form came from (`shown_before`: the code's own form)."""
    ctx = get_context(request)
    page = "reset.html" if purpose == "password_reset" else "verify.html"
    code = attempt(
        request,
        lambda session: accounts.resend_code(session, settings=ctx.settings, mobile=mobile, purpose=purpose),
    )
    if isinstance(code, DomainError):
        return refused(request, page, code, mobile=mobile, sent=shown_before)
    if code is not None:
        await ctx.send_system_sms(code.mobile, code.text)
    return render(request, page, mobile=mobile, sent=True)


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
    reset = attempt(
        request,
        lambda session: accounts.reset_password(
            session,
            settings=ctx.settings,
            passwords=ctx.passwords,
            mobile=mobile,
            code=code,
            new_password=new_password,
        ),
    )
    if isinstance(reset, DomainError):
        return refused(request, "reset.html", reset, mobile=mobile, sent=True)
    return redirect("/login")


@router.get("/simulator", response_class=HTMLResponse)
def simulator_page(request: Request) -> Response:
    ctx = get_context(request)
    if not isinstance(ctx.system_sms, RecordingProvider):
        raise StarletteHTTPException(404)
    with contextlib.suppress(LoginRequired):  # shown to the logged-out too: they need sign-up codes
        page_principal(request)
    messages = [(dt.datetime.fromisoformat(r.at), r.message) for r in ctx.system_sms.recent(limit=30)]
    return render(request, "simulator.html", messages=messages)


class Forbidden(Exception):
    """Raised by pages only administrators may see."""


def _same_site_referer(request: Request) -> str:
    """The page a form was posted from, when it is on this site."""
    referer = urlparse(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else "")) if referer.path else "/"


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/openapi", "/healthz", "/static/"))


def install(app: FastAPI) -> None:
    # Imported here: each of these modules imports this one for render() and the checks.
    from payamak.billing.views import router as billing_pages
    from payamak.web import (
        admin_views,
        credit_views,
        customer_views,
        panel,
        phonebook_views,
        profile_views,
        send_views,
    )

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    for module in (
        panel,
        send_views,
        phonebook_views,
        customer_views,
        credit_views,
        profile_views,
        admin_views,
    ):
        app.include_router(module.router)
    app.include_router(billing_pages)

    # Pages show what went wrong as a page; the API keeps the JSON answers it had.
    pages: dict[type[Exception], Callable[[Request, Any], Response]] = {
        LoginRequired: lambda request, _exc: _to_login(request),
        _CsrfFailed: lambda request, _exc: _message(request, 403, "csrf"),
        Forbidden: lambda request, _exc: _message(request, 403, "admin_only"),
        DomainError: _domain_error_page,
        RequestValidationError: lambda request, _exc: _message(request, 400, "bad_request"),
        StarletteHTTPException: _http_error_page,
    }
    for exc_class, page in pages.items():
        app.exception_handler(exc_class)(_page_or_api(app.exception_handlers.get(exc_class), page))


def _to_login(request: Request) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        # A form posted after the login expired: come back to the page it was on, not to
        # its POST-only address.
        target = _same_site_referer(request)
    response = redirect(f"/login?next={quote(target)}")
    response.delete_cookie(SESSION_COOKIE)
    return response


def _message(request: Request, status: int, key: str) -> Response:
    lang = lang_of(request)
    title = translate("not_found_title" if status == 404 else "error_title", lang)
    return render(request, "message.html", status=status, message=translate(key, lang), title=title)


def _domain_error_page(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, Unauthenticated):
        return _to_login(request)
    return render(request, "message.html", status=status_for(exc), message=error_text(request, exc))


def _http_error_page(request: Request, exc: StarletteHTTPException) -> Response:
    return _message(request, exc.status_code, "page_not_found" if exc.status_code == 404 else "bad_request")


def _page_or_api(
    api: Any, page: Callable[[Request, E], Response]
) -> Callable[[Request, E], Awaitable[Response]]:
    """An exception handler: an API request gets the answer the API had for it, a page `page`."""

    async def handler(request: Request, exc: E) -> Response:
        if api is not None and not _is_page(request):
            return await _call(api, request, exc)
        return page(request, exc)

    return handler


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    response: Response = result
    return response
