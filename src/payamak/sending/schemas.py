from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from payamak.accounts.schemas import Strict


class SendIn(Strict):
    kind: Literal["advertising", "informational"]
    text: str = Field(max_length=5000, description="May hold {name}-style placeholders filled from groups or customers.")
    line: str | None = Field(default=None, max_length=20, description="Sender line; default: the account's line of that kind.")
    recipients: list[str] = Field(default_factory=list, max_length=100_000, description="Numbers in any written form.")
    group_ids: list[int] = Field(default_factory=list, max_length=1000)
    customer_ids: list[int] = Field(default_factory=list, max_length=100_000)
    send_at: dt.datetime | None = Field(default=None, description="A future time; without a zone, Tehran time.")


class InvalidOut(BaseModel):
    row: int
    value: str
    reason: str
    source: str


class SendOut(BaseModel):
    id: int
    status: str = Field(description="scheduled | queued | sending | done | canceled")
    kind: str
    line: str
    text: str
    encoding: str
    segments: int
    recipients: int = Field(description="How many will be sent to (after skipping blocked, invalid and duplicates).")
    blocked: int
    invalid: int
    duplicates: int
    cost: int = Field(description="Rials held for this send when it was accepted.")
    given_back: int = Field(
        0, description="Rials given back so far: messages canceled, expired, failed, or undelivered on a route that refunds."
    )
    charged: int = Field(description="cost - given_back: what the send has cost so far; final once every message is.")
    send_at: dt.datetime
    delayed_by: str = Field(description="'advertising_window' when moved to the next opening of the sending window.")
    expires_at: dt.datetime
    created_at: dt.datetime
    counts: dict[str, int] = Field(default_factory=dict, description="Messages per recipient status.")
    progress: float = Field(default=0.0, description="Share of messages in a final state or sent.")


class PreviewOut(BaseModel):
    kind: str
    line: str
    text: str
    sample: str = Field(description="The text as the first recipient gets it, its placeholders filled.")
    encoding: str
    segments: int
    recipients: int
    blocked: int
    invalid: int
    duplicates: int
    cost: int
    balance: int
    balance_after: int
    send_at: dt.datetime
    delayed_by: str
    per_operator: dict[str, int]
    invalid_rows: list[InvalidOut]


class SendPage(BaseModel):
    items: list[SendOut]
    total: int


class MessageOut(BaseModel):
    id: int
    recipient: str
    operator: str | None
    parts: int
    price: int
    status: str
    error: str | None
    attempts: int
    submitted_at: dt.datetime | None
    done_at: dt.datetime | None
    text: str | None = None


class MessagePage(BaseModel):
    items: list[MessageOut]
    total: int


class LineOut(BaseModel):
    id: int
    number: str
    kind: str
    shared: bool
    account_id: int | None = None
    route_id: int | None = None
    active: bool = True


class LineIn(Strict):
    number: str = Field(max_length=20)
    kind: Literal["advertising", "service"]
    account_mobile: str | None = Field(default=None, max_length=40, description="Owner; none for a shared line.")
    route_id: int | None = None


class WordIn(Strict):
    word: str = Field(max_length=100)


class WordOut(BaseModel):
    id: int
    word: str


class InboundOut(BaseModel):
    id: int
    line: str
    sender: str
    text: str
    action: str
    received_at: dt.datetime


class InboundPage(BaseModel):
    items: list[InboundOut]
    total: int


class CheckIn(Strict):
    kind: Literal["advertising", "informational"] | None = Field(default=None, description="None: only analyse the text.")
    text: str = Field(max_length=5000)
    line: str | None = Field(default=None, max_length=20)


class ViolationOut(BaseModel):
    rule: str
    start: int = Field(description="Index in the text as given.")
    end: int
    message: str
    message_en: str


class CheckOut(BaseModel):
    text: str = Field(description="The text as it would be sent.")
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    characters: int
    remaining: int = Field(description="Characters left before another part is needed.")
    violations: list[ViolationOut]
    cost_per_recipient: dict[str, int] = Field(description="Rials per recipient by operator (MCI, Irancell, RighTel, other, foreign).")
    sender_names: list[str] = Field(description="The account's approved sender names, for insertion.")
