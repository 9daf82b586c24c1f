from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from payamak.accounts.schemas import Strict

# Money is a JSON integer of rials: strict, so 1500.0, "1500" and true are refused by name.
Rials = Annotated[int, Field(strict=True)]

KindKey = Literal["advertising", "informational", "*"]
EncodingKey = Literal["UCS-2", "GSM-7", "*"]
OperatorKey = Literal["MCI", "Irancell", "RighTel", "other", "foreign", "*"]


class TariffIn(Strict):
    """A rule; a rule with the same kind, encoding, operator and line prefix is replaced."""

    kind: KindKey = "*"
    encoding: EncodingKey = "*"
    operator: OperatorKey = "*"
    line_prefix: str = Field(
        default="*",
        pattern=r"^(\*|[0-9]{1,20})$",
        description="Leading digits of the sending line (e.g. 5000, 9821), or * for any line.",
    )
    price: Rials = Field(ge=0, le=10**9, description="Rials per part, before VAT.")


class TariffOut(BaseModel):
    id: int | None = Field(description="None for a built-in default that is not stored.")
    kind: str
    encoding: str
    operator: str
    line_prefix: str
    price: int = Field(description="Rials per part, before VAT.")
    price_with_vat: int
    updated_at: dt.datetime | None


class TariffsOut(BaseModel):
    vat_percent: int
    builtin_defaults: bool = Field(
        description="True when no rule is stored and the built-in default prices apply."
    )
    tariffs: list[TariffOut]


class VatIn(Strict):
    vat_percent: Rials = Field(ge=0, le=100)


class VatOut(BaseModel):
    vat_percent: int


class PriceOut(BaseModel):
    kind: str
    encoding: str
    operator: str
    price: int = Field(description="Rials per part with VAT: what one part to this operator costs.")
    price_before_vat: int


class PricesOut(BaseModel):
    vat_percent: int
    vat_included: bool = True
    line: str | None
    prices: list[PriceOut]


class PackageIn(Strict):
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=500)
    price: Rials = Field(ge=1, le=10**13, description="Rials the buyer pays.")
    credit: Rials = Field(ge=1, le=10**13, description="Rials of credit the buyer receives.")
    active: bool = True


class PackageUpdateIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    price: Rials | None = Field(default=None, ge=1, le=10**13)
    credit: Rials | None = Field(default=None, ge=1, le=10**13)
    active: bool | None = None


class PackageOut(BaseModel):
    id: int
    name: str
    description: str
    price: int
    credit: int
    bonus: int = Field(description="Credit beyond the price paid.")
    active: bool


class PaymentIn(Strict):
    package_id: Rials = Field(ge=1)


class PaymentStartOut(BaseModel):
    payment_id: int
    redirect_url: str = Field(description="Send the buyer here to pay.")
    amount: int
    credit: int
    state: str


class PaymentOut(BaseModel):
    id: int
    package_id: int | None
    package_name: str
    amount: int
    credit: int
    gateway: str
    state: Literal["pending", "paid", "failed", "canceled", "expired"] = Field(
        description="pending: waiting for the buyer at the gateway; paid: verified and credited; "
        "failed: the gateway refused it; canceled: the buyer canceled; expired: left unfinished "
        "at the gateway for too long (PAYAMAK_PAYMENT_EXPIRY_MINUTES). A failed, canceled or "
        "expired payment the gateway later verifies still becomes paid."
    )
    ref_id: str | None
    card_pan: str | None
    failure: str
    created_at: dt.datetime
    paid_at: dt.datetime | None


class CreditIn(Strict):
    amount: Rials = Field(
        ge=-(10**13), le=10**13, description="Rials to add; negative to deduct (never below zero)."
    )
    reason: str = Field(max_length=500, description="Why; shown in the account's statement.")


class CreditOut(BaseModel):
    entry_id: int
    account_id: int
    kind: str
    amount: int
    balance: int


class ReferenceOut(BaseModel):
    type: str
    id: int | None


class StatementEntryOut(BaseModel):
    id: int
    created_at: dt.datetime
    kind: str
    amount: int = Field(description="Change of the spendable balance, rials.")
    held: int = Field(description="Change of the credit held for a send, rials.")
    balance_after: int
    description: str
    reference: ReferenceOut


class StatementOut(BaseModel):
    balance: int
    page: int
    per_page: int
    total: int
    entries: list[StatementEntryOut]
