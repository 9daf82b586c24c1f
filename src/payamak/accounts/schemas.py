from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class SignUpIn(Strict):
    mobile: str = Field(max_length=40, examples=["09121234567"])
    password: str = Field(max_length=200)
    name: str = Field(max_length=200)


class CodeSentOut(BaseModel):
    mobile: str
    code_sent: bool
    expires_at: dt.datetime | None = None


class VerifyIn(Strict):
    mobile: str = Field(max_length=40)
    code: str = Field(max_length=20)


class ResendIn(Strict):
    mobile: str = Field(max_length=40)
    purpose: Literal["signup", "password_reset"] = "signup"


class PasswordResetIn(Strict):
    mobile: str = Field(max_length=40)


class PasswordResetConfirmIn(Strict):
    mobile: str = Field(max_length=40)
    code: str = Field(max_length=20)
    new_password: str = Field(max_length=200)


class LoginIn(Strict):
    mobile: str = Field(max_length=40, examples=["09121234567"])
    password: str = Field(max_length=200)
    remember: bool = Field(default=True, description="Keep the login for a month (else for hours).")


class TokenOut(BaseModel):
    token: str
    expires_at: dt.datetime


class MeOut(BaseModel):
    id: int
    logged_in: bool = True
    mobile: str
    name: str
    role: str
    language: str
    balance: int = Field(description="Credit in rials.")
    low_balance_threshold: int
    low_balance: bool
    verified_at: dt.datetime | None
    created_at: dt.datetime
    auth: Literal["session", "api_key"]


class MeUpdateIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    language: Literal["fa", "en"] | None = None
    low_balance_threshold: int | None = Field(default=None, ge=0, le=10**15)


class PasswordChangeIn(Strict):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


class SessionOut(BaseModel):
    id: int
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    client: str
    address: str
    current: bool


class ApiKeyIn(Strict):
    name: str = Field(max_length=200)


class ApiKeyCreatedOut(BaseModel):
    id: int
    name: str
    key: str = Field(description="Shown this once; only its hash is kept.")
    prefix: str
    created_at: dt.datetime


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class SenderNameIn(Strict):
    name: str = Field(max_length=200, examples=["فروشگاه نمونه"])


class SenderNameOut(BaseModel):
    id: int
    name: str
    status: Literal["pending", "approved", "rejected"]
    reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class SenderNameReviewOut(SenderNameOut):
    account_id: int


class SenderNameDecisionIn(Strict):
    reason: str = Field(default="", max_length=300)
