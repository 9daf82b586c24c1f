"""Buying a package: the steps around a gateway, each in its own unit of work.

Unlike the service, these own their transactions, the way an endpoint does: a gateway is a remote
call (seconds, sometimes a timeout), and holding a write transaction across it would stop every
other writer on SQLite and keep a connection busy on PostgreSQL. So nothing is locked while the
gateway is asked; correctness comes from the payment's state machine, whose crediting step is a
conditional UPDATE in the same transaction as the ledger entry.
"""

from __future__ import annotations

from payamak.billing import service
from payamak.billing.gateways import GatewayError, PaymentGateway
from payamak.billing.models import Payment
from payamak.db import Database
from payamak.errors import Conflict, ValidationFailed


def start_purchase(
    db: Database, gateway: PaymentGateway, *, account_id: int, package_id: int, callback_url: str
) -> Payment:
    """Record a pending payment for the package and get the gateway page to send the buyer to.

    An unknown or inactive package is refused before anything is written. If the gateway
    refuses or cannot be reached the payment is marked failed and GatewayError is raised.
    """
    with db.transaction() as session:
        payment = service.open_payment(
            session, account_id=account_id, package_id=package_id, gateway=gateway.name
        )
        mobile = service.buyer_mobile(session, account_id=account_id)
    description = f"خرید بستهٔ «{payment.package_name}» در پیامک (سفارش {payment.id})"
    try:
        started = gateway.request(payment.amount, callback_url, description, mobile)
    except GatewayError as exc:
        with db.transaction() as session:
            service.fail_payment(session, payment_id=payment.id, reason=f"{exc.code}: {exc.message_en}")
        raise
    with db.transaction() as session:
        return service.attach_authority(
            session, payment_id=payment.id, authority=started.authority, redirect_url=started.redirect_url
        )


def complete_purchase(
    db: Database, gateway: PaymentGateway, *, authority: str, status: str, amount: int | None = None
) -> Payment:
    """Handle the gateway's callback (`Authority`, `Status`): verify, then credit at most once.

    - An authority we never issued is refused (`payment_not_found`) and nothing changes.
    - A callback naming an amount other than the payment's is refused (`payment_amount_mismatch`).
    - A paid payment is returned as it is: a repeated callback never credits twice.
    - A payment started with another gateway than the configured one is left alone.
    - Status other than OK cancels a pending payment without asking the gateway.
    - Otherwise the gateway is asked to verify the payment's own amount; only its yes credits.
    GatewayError (gateway unreachable) leaves the payment pending: the callback can be retried.
    """
    with db.transaction(readonly=True) as session:
        payment = service.payment_by_authority(session, authority=authority)
    if amount is not None and amount != payment.amount:
        raise ValidationFailed(
            "مبلغ بازگشتی با مبلغ این پرداخت یکی نیست؛ اعتباری افزوده نشد.",
            "The amount in the callback is not this payment's amount; no credit was added.",
            code="payment_amount_mismatch",
            field="amount",
        )
    if payment.state == "paid":
        return payment
    if payment.gateway != gateway.name:
        # Its authority means nothing to the gateway configured now; asking it could only fail
        # the payment, which the gateway that took the money may still confirm.
        raise Conflict(
            "این پرداخت در درگاه دیگری آغاز شده است؛ با پشتیبانی تماس بگیرید.",
            f"This payment was started with the {payment.gateway} gateway, not {gateway.name}.",
            code="payment_gateway_changed",
        )
    if status.upper() != "OK":
        with db.transaction() as session:
            service.fail_payment(
                session, payment_id=payment.id, reason="canceled at the gateway", canceled=True
            )
            return service.payment_by_authority(session, authority=authority)
    result = gateway.verify(authority, payment.amount)
    with db.transaction() as session:
        if result.ok:
            service.confirm_payment(
                session, payment_id=payment.id, ref_id=result.ref_id, card_pan=result.card_pan
            )
        else:
            service.fail_payment(
                session, payment_id=payment.id, reason=f"gateway {result.code}: {result.message}"
            )
        return service.payment_by_authority(session, authority=authority)
