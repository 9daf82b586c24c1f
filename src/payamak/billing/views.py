"""Web pages of billing: credit and packages, the sandbox gateway's page, the payment callback."""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from payamak.accounts import service as accounts
from payamak.api.deps import get_context
from payamak.api.errors import status_for
from payamak.billing import checkout, export
from payamak.billing import service as billing
from payamak.billing.endpoints import CALLBACK_PATH, site_url
from payamak.billing.gateways import (
    GatewayError,
    gateway_for,
    payment_window,
    sandbox_decide,
    sandbox_payment,
)
from payamak.billing.models import Payment
from payamak.db import utcnow
from payamak.errors import DomainError, NotFound
from payamak.web import i18n
from payamak.web.views import check_csrf, done, error_text, lang_of, page_principal, redirect, render

router = APIRouter(include_in_schema=False)

WORDS: dict[str, tuple[str, str]] = {
    "credit": ("اعتبار و خرید بسته", "Credit and packages"),
    "packages": ("بسته‌های اعتبار", "Credit packages"),
    "no_packages": ("اکنون بسته‌ای برای فروش نیست.", "No package is on sale now."),
    "package": ("بسته", "Package"),
    "credit_given": ("اعتبار", "Credit"),
    "bonus": ("هدیه", "Bonus"),
    "buy": ("خرید", "Buy"),
    "vat_note": (
        "بهای پیامک‌ها با مالیات بر ارزش افزوده نمایش و کسر می‌شود.",
        "SMS prices are shown and charged with VAT included.",
    ),
    "payments": ("پرداخت‌ها", "Payments"),
    "balance_after": ("مانده", "Balance"),
    "ref_id": ("کد پیگیری", "Reference"),
    "pending": ("در انتظار پرداخت", "Waiting for payment"),
    "paid": ("پرداخت شد", "Paid"),
    "failed": ("ناموفق", "Failed"),
    "canceled": ("لغو شد", "Canceled"),
    "expired": ("منقضی شد", "Expired"),
    "result_paid": ("پرداخت انجام شد و اعتبار به حساب افزوده شد.", "Paid: the credit was added."),
    "result_pending": (
        "پرداخت هنوز تأیید نشده است؛ اگر پول از حساب شما کم شده، چند دقیقهٔ دیگر این صفحه را دوباره ببینید.",
        "The payment is not verified yet; if you were charged, look at this page again in a few minutes.",
    ),
    "result_failed": (
        "پرداخت انجام نشد و اعتباری افزوده نشد. اگر پولی کم شده باشد، بانک آن را بازمی‌گرداند.",
        "The payment did not go through and no credit was added. Any amount taken is returned by the bank.",
    ),
    "result_expired": (
        "مهلت این پرداخت گذشت و اعتباری افزوده نشد. اگر پولی از حساب شما کم شده باشد، بانک آن را "
        "بازمی‌گرداند؛ برای خرید، بسته را دوباره بخرید.",
        "This payment was not finished in time and no credit was added. Any amount taken is returned "
        "by the bank; buy the package again to get the credit.",
    ),
    "pending_note": (
        "اگر صفحهٔ درگاه را بسته‌اید، تا پایان مهلت می‌توانید پرداخت را ادامه دهید یا از آن انصراف دهید.",
        "If you left the gateway's page, you can continue the payment or cancel it until the deadline.",
    ),
    "deadline": ("مهلت پرداخت", "Pay by"),
    "continue_payment": ("ادامهٔ پرداخت", "Continue payment"),
    "actions": ("کارها", "Actions"),
    "back": ("بازگشت به اعتبار", "Back to credit"),
    "sandbox": ("درگاه پرداخت آزمایشی", "Sandbox payment gateway"),
    "sandbox_note": (
        "این درگاه آزمایشی است و پولی دریافت نمی‌کند؛ پرداخت را تأیید یا لغو کنید.",
        "This gateway is a sandbox and takes no money; confirm or cancel the payment.",
    ),
    "sandbox_missing": ("این پرداخت آزمایشی پیدا نشد.", "No such sandbox payment."),
    "pay": ("پرداخت", "Pay"),
    "cancel": ("انصراف", "Cancel"),
    "retry": ("دوباره تلاش کنید", "Try again"),
}


# The UI's shared words (balance, date, …) serve these pages too; billing's own come first.
_ALL_WORDS = ChainMap(WORDS, i18n.WORDS)


def word(key: str, lang: str) -> str:
    return i18n.translate(key, lang, _ALL_WORDS)


def page(request: Request, template: str, status: int = 200, **values: object) -> HTMLResponse:
    """A page of credit: billing's words (`w`) and the names of the statement's entries."""
    lang = lang_of(request)
    return render(
        request,
        template,
        status=status,
        w=lambda key: word(key, lang),
        kind_label=lambda kind: export.kind_label(kind, lang),
        ref_label=lambda ref_type, ref_id: export.reference_label(ref_type, ref_id, lang),
        **values,
    )


def _message(request: Request, message: str, status: int) -> HTMLResponse:
    return render(request, "message.html", status=status, message=message)


@router.get("/credit", response_class=HTMLResponse)
def credit_page(request: Request) -> Response:
    return _credit(request)


def _credit(request: Request, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    principal = page_principal(request)
    ctx = get_context(request)
    window = payment_window(ctx.settings)
    with ctx.db.transaction(readonly=True) as session:
        account = accounts.me(session, principal=principal)
        packages = billing.packages(session)
        payments = billing.payments(session, account_id=account.id, limit=10)
        recent = billing.statement(session, account_id=account.id, per_page=20)
    return page(
        request,
        "billing_credit.html",
        status=status,
        error=error,
        account=account,
        packages=packages,
        payments=payments,
        entries=recent.entries,
        state_of=_states(window),
    )


def _states(window: dt.timedelta) -> Callable[[Payment], str]:
    """The state a page shows for a payment, fixed at one moment for the whole page."""
    now = utcnow()
    return lambda payment: billing.payment_state(payment, window=window, now=now)


@router.post("/credit/buy", response_class=HTMLResponse)
def buy(request: Request, package_id: int = Form(0), csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    ctx = get_context(request)
    base = site_url(request)
    try:
        gateway = gateway_for(ctx.settings, ctx.db, base_url=base)
        payment = checkout.start_purchase(
            ctx.db,
            gateway,
            account_id=principal.account_id,
            package_id=package_id,
            callback_url=base + CALLBACK_PATH,
        )
    except GatewayError as exc:
        return _credit(request, error=error_text(request, exc), status=502)
    except DomainError as exc:
        return _credit(request, error=error_text(request, exc), status=400)
    return redirect(payment.redirect_url)


@router.get(CALLBACK_PATH, response_class=HTMLResponse)
def payment_callback(
    request: Request,
    authority: Annotated[str, Query(alias="Authority", max_length=64)] = "",
    status: Annotated[str, Query(alias="Status", max_length=10)] = "",
    amount: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """Where the gateway sends the buyer back. Needs no login: the authority names the payment,
    and only the gateway's verification adds credit."""
    ctx = get_context(request)
    try:
        gateway = gateway_for(ctx.settings, ctx.db, base_url=site_url(request))
        payment = checkout.complete_purchase(
            ctx.db, gateway, authority=authority, status=status, amount=amount
        )
    except GatewayError as exc:
        return _message(request, error_text(request, exc), 502)
    except DomainError as exc:
        return _message(request, error_text(request, exc), status_for(exc))
    return redirect(f"/credit/payments/{payment.id}")


@router.get("/credit/payments/{payment_id}", response_class=HTMLResponse)
def payment_page(request: Request, payment_id: int) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    window = payment_window(ctx.settings)
    try:
        with ctx.db.transaction(readonly=True) as session:
            payment = billing.payment(session, account_id=principal.account_id, payment_id=payment_id)
            account = accounts.me(session, principal=principal)
    except NotFound as exc:
        return _message(request, error_text(request, exc), 404)
    return page(
        request,
        "billing_payment.html",
        payment=payment,
        account=account,
        state_of=_states(window),
        deadline=payment.created_at + window,
    )


@router.get("/credit/payments/{payment_id}/continue", response_class=HTMLResponse)
def continue_payment(request: Request, payment_id: int) -> Response:
    """Back to the gateway's page of a payment still open; otherwise to the payment's own page,
    which says what became of it."""
    principal = page_principal(request)
    ctx = get_context(request)
    try:
        with ctx.db.transaction(readonly=True) as session:
            payment = billing.payment(session, account_id=principal.account_id, payment_id=payment_id)
    except NotFound as exc:
        return _message(request, error_text(request, exc), 404)
    window = payment_window(ctx.settings)
    if billing.payment_state(payment, window=window) == "pending" and payment.redirect_url:
        return redirect(payment.redirect_url)
    return redirect(f"/credit/payments/{payment.id}")


@router.post("/credit/payments/{payment_id}/cancel", response_class=HTMLResponse)
def cancel_payment(request: Request, payment_id: int, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: billing.cancel_payment(session, account_id=principal.account_id, payment_id=payment_id),
        f"/credit/payments/{payment_id}",
    )


@router.get("/pay/sandbox/{authority}", response_class=HTMLResponse)
def sandbox_page(request: Request, authority: str) -> Response:
    ctx = get_context(request)
    row = sandbox_payment(ctx.db, authority=authority) if ctx.settings.payment_gateway == "sandbox" else None
    if row is None:
        return _message(request, word("sandbox_missing", lang_of(request)), 404)
    return page(request, "billing_sandbox.html", payment=row)


@router.post("/pay/sandbox/{authority}", response_class=HTMLResponse)
def sandbox_choice(
    request: Request, authority: str, action: str = Form(""), csrf: str = Form("")
) -> Response:
    check_csrf(request, csrf)
    ctx = get_context(request)
    row = (
        sandbox_decide(ctx.db, authority=authority, pay=action == "pay")
        if ctx.settings.payment_gateway == "sandbox"
        else None
    )
    if row is None:
        return _message(request, word("sandbox_missing", lang_of(request)), 404)
    query = urlencode({"Authority": row.authority, "Status": "OK" if row.state == "paid" else "NOK"})
    joiner = "&" if "?" in row.callback_url else "?"
    return redirect(f"{row.callback_url}{joiner}{query}")
