"""HTTP API of billing: prices, packages, payments, the statement, and the operator's controls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from payamak.api.deps import Admin, Caller, Ctx, ShortCaller, Tx, get_context
from payamak.api.errors import error_body, language, responses
from payamak.billing import checkout, export, schemas
from payamak.billing import service as billing
from payamak.billing.gateways import GatewayError, gateway_for, payment_window
from payamak.billing.models import ENCODINGS, KINDS, OPERATOR_KEYS, LedgerEntry, Package, Payment, Tariff
from payamak.billing.pricing import DefaultRule, default_rules, with_vat

router = APIRouter(tags=["billing"])
admin_router = APIRouter(prefix="/admin", tags=["billing admin"])

CALLBACK_PATH = "/payments/callback"


def site_url(request: Request) -> str:
    """The address buyers reach this site at, for links a gateway sends them back to."""
    configured = get_context(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def gateway_error_response(request: Request, exc: GatewayError) -> JSONResponse:
    # 502: the fault is upstream of us, and the client may retry; nothing was charged.
    return JSONResponse(error_body(exc.code, exc.message(language(request)), **exc.extra), status_code=502)


# --- out ----------------------------------------------------------------------------------------


def tariff_out(rule: Tariff | DefaultRule, vat: int) -> schemas.TariffOut:
    """A stored tariff, or a built-in default (no id, never updated) while none is stored."""
    stored = rule if isinstance(rule, Tariff) else None
    return schemas.TariffOut(
        id=stored.id if stored else None,
        kind=rule.kind,
        encoding=rule.encoding,
        operator=rule.operator,
        line_prefix=rule.line_prefix,
        price=rule.price,
        price_with_vat=with_vat(rule.price, vat),
        updated_at=stored.updated_at if stored else None,
    )


def package_out(package: Package) -> schemas.PackageOut:
    return schemas.PackageOut(
        id=package.id,
        name=package.name,
        description=package.description,
        price=package.price,
        credit=package.credit,
        bonus=package.credit - package.price,
        active=package.active,
    )


def payment_out(payment: Payment, window: dt.timedelta) -> schemas.PaymentOut:
    return schemas.PaymentOut(
        id=payment.id,
        package_id=payment.package_id,
        package_name=payment.package_name,
        amount=payment.amount,
        credit=payment.credit,
        gateway=payment.gateway,
        state=billing.payment_state(payment, window=window),
        ref_id=payment.ref_id,
        card_pan=payment.card_pan,
        failure=payment.failure,
        created_at=payment.created_at,
        paid_at=payment.paid_at,
    )


def entry_out(entry: LedgerEntry) -> schemas.StatementEntryOut:
    return schemas.StatementEntryOut(
        id=entry.id,
        created_at=entry.created_at,
        kind=entry.kind,
        amount=entry.amount,
        held=entry.held,
        balance_after=entry.balance_after,
        description=entry.description,
        reference=schemas.ReferenceOut(type=entry.ref_type, id=entry.ref_id),
    )


# --- prices and packages ------------------------------------------------------------------------


@router.get("/prices", response_model=schemas.PricesOut, responses=responses(401, 409, 422))
def prices(
    caller: Caller,
    session: Tx,
    line: Annotated[str | None, Query(max_length=20, description="Sending line number.")] = None,
) -> schemas.PricesOut:
    """What one SMS part costs, VAT included, by kind, encoding (UCS-2 Persian, GSM-7 Latin) and
    operator. A message costs its parts times its operator's price."""
    rows = []
    vat = billing.vat_percent(session)
    for kind in KINDS:
        for encoding in ENCODINGS:
            table = billing.price_table(session, kind=kind, encoding=encoding, line=line)
            rows += [
                schemas.PriceOut(
                    kind=kind,
                    encoding=encoding,
                    operator=op,
                    price=table.prices[op],
                    price_before_vat=table.net[op],
                )
                for op in OPERATOR_KEYS
            ]
    return schemas.PricesOut(vat_percent=vat, line=line, prices=rows)


@router.get("/packages", response_model=list[schemas.PackageOut], responses=responses(401))
def list_packages(caller: Caller, session: Tx) -> list[schemas.PackageOut]:
    """Credit packages on sale. `credit` can exceed `price`: the difference is a bonus."""
    return [package_out(p) for p in billing.packages(session, active_only=True)]


# --- payments -----------------------------------------------------------------------------------


@router.post(
    "/payments",
    status_code=201,
    response_model=schemas.PaymentStartOut,
    responses={**responses(401, 404, 409, 422), 502: {"description": "The payment gateway failed"}},
)
def start_payment(body: schemas.PaymentIn, request: Request, caller: ShortCaller, ctx: Ctx) -> Response:
    """Start buying a package: send the buyer to `redirect_url`. After paying, the gateway brings
    them back to this site, the payment is verified and the credit added."""
    base = site_url(request)
    try:
        gateway = gateway_for(ctx.settings, ctx.db, base_url=base)
        payment = checkout.start_purchase(
            ctx.db,
            gateway,
            account_id=caller.account_id,
            package_id=body.package_id,
            callback_url=base + CALLBACK_PATH,
        )
    except GatewayError as exc:
        return gateway_error_response(request, exc)
    out = schemas.PaymentStartOut(
        payment_id=payment.id,
        redirect_url=payment.redirect_url,
        amount=payment.amount,
        credit=payment.credit,
        state=payment.state,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.get("/payments", response_model=list[schemas.PaymentOut], responses=responses(401))
def list_payments(
    caller: Caller, ctx: Ctx, session: Tx, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> list[schemas.PaymentOut]:
    """The account's payments, newest first, 50 a page."""
    rows = billing.payments(session, account_id=caller.account_id, limit=50, offset=(page - 1) * 50)
    window = payment_window(ctx.settings)
    return [payment_out(p, window) for p in rows]


@router.get("/payments/{payment_id}", response_model=schemas.PaymentOut, responses=responses(401, 404))
def get_payment(payment_id: int, caller: Caller, ctx: Ctx, session: Tx) -> schemas.PaymentOut:
    found = billing.payment(session, account_id=caller.account_id, payment_id=payment_id)
    return payment_out(found, payment_window(ctx.settings))


# --- statement ----------------------------------------------------------------------------------

FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="First day (Jalali 1404/03/01 or Gregorian 2025-05-22, Tehran time) or an ISO date-time.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(alias="to", max_length=40, description="Last day, included (or an ISO date-time, excluded)."),
]


@router.get("/statement", response_model=schemas.StatementOut, responses=responses(401, 422))
def statement(
    caller: Caller,
    ctx: Ctx,
    session: Tx,
    start: FromQuery = None,
    end: ToQuery = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.StatementOut:
    """The account's ledger, newest first: every purchase, grant, hold, release, settle and refund,
    with the balance after it and what caused it."""
    since, until = billing.statement_period(start=start, end=end, tz=ctx.settings.tz)
    found = billing.statement(
        session, account_id=caller.account_id, since=since, until=until, page=page, per_page=per_page
    )
    return schemas.StatementOut(
        balance=found.balance,
        page=found.page,
        per_page=found.per_page,
        total=found.total,
        entries=[entry_out(e) for e in found.entries],
    )


@router.get(
    "/statement/export",
    responses={
        **responses(401, 422),
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
            "description": "The statement as a file, Jalali dates",
        },
    },
)
def export_statement(
    request: Request,
    caller: Caller,
    ctx: Ctx,
    session: Tx,
    format: Annotated[Literal["xlsx", "csv"], Query(description="File type.")] = "xlsx",
    start: FromQuery = None,
    end: ToQuery = None,
) -> Response:
    """The statement (same period rules) as an xlsx or CSV file with Jalali dates."""
    since, until = billing.statement_period(start=start, end=end, tz=ctx.settings.tz)
    rows = billing.statement_entries(session, account_id=caller.account_id, since=since, until=until)
    lang = language(request)
    if format == "csv":
        content = export.write_csv(rows, tz=ctx.settings.tz, lang=lang)
        media = "text/csv; charset=utf-8"
    else:
        content = export.write_xlsx(rows, tz=ctx.settings.tz, lang=lang)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"payamak-statement.{format}"
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- the operator -------------------------------------------------------------------------------


@admin_router.get("/tariffs", response_model=schemas.TariffsOut, responses=responses(401, 403))
def list_tariffs(admin: Admin, session: Tx) -> schemas.TariffsOut:
    """Every tariff rule (rials per part before VAT) and the VAT rate added to them."""
    rows, builtin = billing.tariffs(session)
    vat = billing.vat_percent(session)
    rules: Sequence[Tariff | DefaultRule] = default_rules() if builtin else rows
    return schemas.TariffsOut(
        vat_percent=vat, builtin_defaults=builtin, tariffs=[tariff_out(r, vat) for r in rules]
    )


@admin_router.post("/tariffs", response_model=schemas.TariffOut, responses=responses(401, 403, 422))
def put_tariff(body: schemas.TariffIn, admin: Admin, session: Tx) -> schemas.TariffOut:
    """Add a rule or change its price ('*' matches anything; the most specific matching rule
    prices a part: more exact fields first, then operator, longer line prefix, encoding, kind)."""
    tariff = billing.put_tariff(
        session,
        kind=body.kind,
        encoding=body.encoding,
        operator=body.operator,
        line_prefix=body.line_prefix,
        price=body.price,
    )
    return tariff_out(tariff, billing.vat_percent(session))


@admin_router.delete("/tariffs/{tariff_id}", status_code=204, responses=responses(401, 403, 404))
def delete_tariff(tariff_id: int, admin: Admin, session: Tx) -> None:
    billing.delete_tariff(session, tariff_id=tariff_id)


@admin_router.get("/vat", response_model=schemas.VatOut, responses=responses(401, 403))
def get_vat(admin: Admin, session: Tx) -> schemas.VatOut:
    return schemas.VatOut(vat_percent=billing.vat_percent(session))


@admin_router.put("/vat", response_model=schemas.VatOut, responses=responses(401, 403, 422))
def put_vat(body: schemas.VatIn, admin: Admin, session: Tx) -> schemas.VatOut:
    """The VAT rate added to every tariff price; prices shown and charged include it."""
    return schemas.VatOut(vat_percent=billing.set_vat_percent(session, percent=body.vat_percent))


@admin_router.get("/packages", response_model=list[schemas.PackageOut], responses=responses(401, 403))
def admin_packages(admin: Admin, session: Tx) -> list[schemas.PackageOut]:
    """Every package, on sale or not."""
    return [package_out(p) for p in billing.packages(session, active_only=False)]


@admin_router.post(
    "/packages", status_code=201, response_model=schemas.PackageOut, responses=responses(401, 403, 422)
)
def create_package(body: schemas.PackageIn, admin: Admin, session: Tx) -> schemas.PackageOut:
    return package_out(
        billing.create_package(
            session,
            name=body.name,
            description=body.description,
            price=body.price,
            credit=body.credit,
            active=body.active,
        )
    )


@admin_router.patch(
    "/packages/{package_id}", response_model=schemas.PackageOut, responses=responses(401, 403, 404, 422)
)
def update_package(
    package_id: int, body: schemas.PackageUpdateIn, admin: Admin, session: Tx
) -> schemas.PackageOut:
    """Change a package, or take it off sale with `active: false` (packages are never deleted:
    payments point at them)."""
    return package_out(
        billing.update_package(
            session,
            package_id=package_id,
            name=body.name,
            description=body.description,
            price=body.price,
            credit=body.credit,
            active=body.active,
        )
    )


@admin_router.post(
    "/accounts/{account_id}/credit",
    status_code=201,
    response_model=schemas.CreditOut,
    responses=responses(401, 402, 403, 404, 422),
)
def change_credit(
    account_id: Annotated[int, Path(ge=1)], body: schemas.CreditIn, admin: Admin, session: Tx
) -> schemas.CreditOut:
    """Grant credit (positive amount) or deduct it (negative), with a reason the account sees in
    its statement. A deduction beyond the balance is refused (402)."""
    entry = billing.grant(
        session, account_id=account_id, amount=body.amount, reason=body.reason, actor_id=admin.account_id
    )
    return schemas.CreditOut(
        entry_id=entry.id,
        account_id=account_id,
        kind=entry.kind,
        amount=entry.amount,
        balance=entry.balance_after,
    )


router.include_router(admin_router)
