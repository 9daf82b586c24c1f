"""Payment gateways behind one protocol: the built-in sandbox and Zarinpal (REST API v4).

Both work the way Iranian gateways do: `request` registers the amount and a callback URL and
returns an authority and the page to send the buyer to; the gateway later sends the buyer back
to the callback with `Authority` and `Status` (OK or NOK); only `verify`, asked by us with the
amount we expect, says whether money was really taken. A callback proves nothing by itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import httpx

from payamak.billing import repository as repo
from payamak.billing.models import SandboxPayment
from payamak.config import Settings
from payamak.db import Database, utcnow
from payamak.errors import DomainError

# Codes as Zarinpal uses them; the sandbox answers with the same ones so both read alike.
VERIFIED = 100
ALREADY_VERIFIED = 101
AMOUNT_MISMATCH = -50
NOT_PAID = -51
UNKNOWN_AUTHORITY = -54


class GatewayError(DomainError):
    """The gateway could not be reached, or refused the request. Nothing was charged."""

    code = "gateway_error"


class Started(NamedTuple):
    authority: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    ref_id: str | None = None
    card_pan: str | None = None
    code: int | None = None
    message: str = ""
    already_verified: bool = False


class PaymentGateway(Protocol):
    name: str

    def request(self, amount: int, callback_url: str, description: str, mobile: str | None) -> Started:
        """Register a payment of `amount` rials; raises GatewayError if refused or unreachable."""
        ...

    def verify(self, authority: str, amount: int) -> VerifyResult:
        """Whether the payment of `authority` was paid in full (`amount` rials).

        Idempotent: asking again after success answers ok with `already_verified`. Raises
        GatewayError only when the gateway cannot be asked (then nothing may be concluded).
        """
        ...


def local_mobile(mobile: str | None) -> str | None:
    """+989121234567 -> 09121234567, the form Iranian gateways show and expect."""
    if mobile and mobile.startswith("+98"):
        return "0" + mobile[3:]
    return mobile


class SandboxGateway:
    """A gateway that takes no money: a page of ours where the buyer presses pay or cancel.

    It keeps its own book (`sandbox_gateway_payments`) in its own transactions, as a remote
    gateway would, so it must not be called inside an open write transaction.
    """

    name = "sandbox"

    def __init__(self, db: Database, *, base_url: str) -> None:
        self.db = db
        self.base_url = base_url.rstrip("/")

    def request(self, amount: int, callback_url: str, description: str, mobile: str | None) -> Started:
        authority = "S" + secrets.token_hex(18)
        with self.db.transaction() as session:
            repo.add(
                session,
                SandboxPayment(
                    authority=authority,
                    amount=amount,
                    description=description[:500],
                    callback_url=callback_url[:500],
                    state="created",
                    created_at=utcnow(),
                ),
            )
        return Started(authority, f"{self.base_url}/pay/sandbox/{authority}")

    def verify(self, authority: str, amount: int) -> VerifyResult:
        with self.db.transaction() as session:
            row = repo.sandbox_payment(session, authority)
            if row is None:
                return VerifyResult(ok=False, code=UNKNOWN_AUTHORITY, message="Invalid authority.")
            if row.amount != amount:
                return VerifyResult(ok=False, code=AMOUNT_MISMATCH, message="Amounts are not the same.")
            if row.state != "paid":
                return VerifyResult(ok=False, code=NOT_PAID, message="The payment was not paid.")
            first = repo.mark_sandbox_verified(session, authority=authority, now=utcnow())
            return VerifyResult(
                ok=True,
                ref_id=row.ref_id,
                card_pan="000000******0000",
                code=VERIFIED if first else ALREADY_VERIFIED,
                message="Verified" if first else "Already verified",
                already_verified=not first,
            )


def sandbox_decide(db: Database, *, authority: str, pay: bool) -> SandboxPayment | None:
    """The buyer's choice on the sandbox page. Returns the payment (None if unknown); a second
    choice changes nothing."""
    with db.transaction() as session:
        ref_id = str(secrets.randbelow(9 * 10**9) + 10**9) if pay else None
        repo.decide_sandbox(
            session, authority=authority, state="paid" if pay else "canceled", ref_id=ref_id, now=utcnow()
        )
        return repo.sandbox_payment(session, authority)


def sandbox_payment(db: Database, *, authority: str) -> SandboxPayment | None:
    with db.transaction(readonly=True) as session:
        return repo.sandbox_payment(session, authority)


class ZarinpalGateway:
    """Zarinpal's REST API v4: request.json -> StartPay/{authority} -> verify.json.

    Amounts are sent with `currency: IRR`, so they are rials whatever the merchant's default.
    """

    name = "zarinpal"

    def __init__(self, *, merchant_id: str, base_url: str, timeout: float = 20.0) -> None:
        self.merchant_id = merchant_id
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            response = httpx.post(
                f"{self.base_url}{path}",
                json=payload,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise _unavailable(str(exc)) from exc
        if response.status_code >= 500:
            raise _unavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise _unavailable(f"HTTP {response.status_code}, not JSON") from exc
        if not isinstance(body, dict):
            raise _unavailable("unexpected answer")
        # Zarinpal sends `data` as an object on success and as [] on error; `errors` the other way.
        data = body.get("data")
        errors = body.get("errors")
        return (data if isinstance(data, dict) else {}), (errors if isinstance(errors, dict) else {})

    def request(self, amount: int, callback_url: str, description: str, mobile: str | None) -> Started:
        payload: dict[str, Any] = {
            "merchant_id": self.merchant_id,
            "amount": amount,
            "currency": "IRR",
            "callback_url": callback_url,
            "description": description[:500],
        }
        if mobile:
            payload["metadata"] = {"mobile": local_mobile(mobile)}
        data, errors = self._post("/pg/v4/payment/request.json", payload)
        authority = data.get("authority")
        if data.get("code") != VERIFIED or not isinstance(authority, str) or not authority:
            code = errors.get("code", data.get("code"))
            message = str(errors.get("message") or data.get("message") or "refused")
            raise GatewayError(
                f"درگاه پرداخت درخواست را نپذیرفت ({code}): {message}",
                f"The payment gateway refused the request ({code}): {message}",
                code="gateway_refused",
                gateway_code=code,
            )
        return Started(authority, f"{self.base_url}/pg/StartPay/{authority}")

    def verify(self, authority: str, amount: int) -> VerifyResult:
        data, errors = self._post(
            "/pg/v4/payment/verify.json",
            {"merchant_id": self.merchant_id, "amount": amount, "authority": authority},
        )
        code = data.get("code")
        if code in (VERIFIED, ALREADY_VERIFIED):
            ref_id = data.get("ref_id")
            return VerifyResult(
                ok=True,
                ref_id=str(ref_id) if ref_id is not None else None,
                card_pan=str(data["card_pan"]) if data.get("card_pan") else None,
                code=code,
                message=str(data.get("message", "")),
                already_verified=code == ALREADY_VERIFIED,
            )
        error_code = errors.get("code", code)
        return VerifyResult(
            ok=False,
            code=error_code if isinstance(error_code, int) else None,
            message=str(errors.get("message") or data.get("message") or "not verified"),
        )


def _unavailable(detail: str) -> GatewayError:
    return GatewayError(
        "درگاه پرداخت در دسترس نیست؛ چند دقیقهٔ دیگر دوباره تلاش کنید.",
        f"The payment gateway cannot be reached ({detail}); try again in a few minutes.",
        code="gateway_unavailable",
    )


def gateway_for(settings: Settings, db: Database, *, base_url: str) -> PaymentGateway:
    """The gateway the settings choose. `base_url` is this site's address (for the sandbox page)."""
    if settings.payment_gateway == "zarinpal":
        if not settings.zarinpal_merchant_id:
            raise GatewayError(
                "درگاه پرداخت پیکربندی نشده است.",
                "The payment gateway is not configured (PAYAMAK_ZARINPAL_MERCHANT_ID).",
                code="gateway_not_configured",
            )
        return ZarinpalGateway(merchant_id=settings.zarinpal_merchant_id, base_url=settings.zarinpal_base_url)
    return SandboxGateway(db, base_url=base_url)


def payment_window(settings: Settings) -> dt.timedelta:
    """How long a started purchase may be continued at the gateway before it counts as expired."""
    return dt.timedelta(minutes=settings.payment_expiry_minutes)
