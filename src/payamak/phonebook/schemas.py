from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from payamak.accounts.schemas import Strict

Fields = dict[str, str]
# The largest id a database integer holds; bounds every id the API takes.
MAX_ID = 2**63 - 1
NumberKey = Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]
PositiveId = Annotated[int, Field(ge=1, le=MAX_ID)]


class GroupIn(Strict):
    name: str = Field(max_length=200, examples=["مشتریان ویژه"])


class GroupOut(BaseModel):
    id: int
    name: str
    size: int = Field(description="How many numbers the group holds.")
    created_at: dt.datetime


class NumberItemIn(Strict):
    number: str = Field(max_length=64, examples=["09121234567"])
    name: str | None = Field(default=None, max_length=200)
    fields: Fields | None = Field(default=None, description="Values for {name}-style placeholders.")


class NumbersIn(Strict):
    numbers: list[str | NumberItemIn] = Field(
        max_length=10_000,
        description="Numbers in any written form (Persian digits, 0912…, +98…, 0098…), or objects with"
        " number, name and fields.",
        examples=[["09121234567", {"number": "۰۹۳۵۱۲۳۴۵۶۷", "name": "رضا", "fields": {"city": "تهران"}}]],
    )


class InvalidOut(BaseModel):
    row: int = Field(description="1-based: the position in the list, or the row in the file.")
    value: str
    reason: str = Field(description="Stable code, e.g. landline, too_short, invalid_prefix.")
    message: str = Field(description="The reason in words, in the caller's language.")


class AddResultOut(BaseModel):
    added: int
    duplicates: int = Field(description="Repeated in the input or already in the group.")
    invalid: list[InvalidOut]


class NumberOut(BaseModel):
    id: int = Field(
        description="The number's id in its group (stable; the same number in another group has it too)."
    )
    number: str = Field(description="E.164, e.g. +989121234567.")
    local: str = Field(description="As written in Iran, e.g. 09121234567.")
    operator: str | None
    name: str | None
    fields: Fields
    created_at: dt.datetime


class NumberPage(BaseModel):
    items: list[NumberOut]
    total: int
    offset: int
    limit: int


class NumberUpdateIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    fields: Fields | None = Field(default=None, description="Replaces all fields; {} or null clears them.")


class IdsIn(Strict):
    ids: list[NumberKey] = Field(max_length=10_000, description="Ids of numbers in the group.")


class DeletedOut(BaseModel):
    deleted: int


class CustomerIn(Strict):
    mobile: str = Field(max_length=64, examples=["09121234567"])
    name: str | None = Field(default=None, max_length=200)
    fields: Fields | None = None


class CustomerUpdateIn(Strict):
    mobile: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    fields: Fields | None = None


class CustomerOut(BaseModel):
    id: int
    mobile: str = Field(description="E.164.")
    local: str
    operator: str | None
    name: str | None
    fields: Fields
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int
    offset: int
    limit: int


class GroupCustomersIn(Strict):
    customer_ids: list[PositiveId] | None = Field(
        default=None, max_length=10_000, description="The customers to add; omit with all=true."
    )
    all: bool = Field(default=False, description="Add every customer of the account.")


class TextImportIn(Strict):
    # The request body limit bounds it, not the usual string limit: a pasted list is long.
    text: str = Field(
        max_length=50_000_000, description="Pasted numbers: one or more a line, with names if you like."
    )


class ImportStartedOut(BaseModel):
    id: int
    group_id: int
    status: Literal["running", "done", "failed"]
    rows_total: int | None = Field(description="Rows found in the file (an upper bound).")


class ImportErrorOut(BaseModel):
    """Why an import failed; some codes add fields, e.g. `max_rows` for import_too_many_rows."""

    model_config = ConfigDict(extra="allow")

    code: str
    detail: str


class ImportOut(BaseModel):
    id: int
    group_id: int
    source: str
    status: Literal["running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    rows_read: int
    rows_total: int | None
    added: int
    duplicates: int = Field(description="Repeated in the file or already in the group.")
    invalid_count: int
    invalid: list[InvalidOut] = Field(
        description="The first 1000 invalid rows; page through all of them at /imports/{id}/invalid."
    )
    error: ImportErrorOut | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class InvalidPage(BaseModel):
    items: list[InvalidOut]
    total: int
    offset: int
    limit: int


class PreviewOut(BaseModel):
    format: str
    layout: Literal["table", "list"]
    encoding: str | None
    columns: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    phone_column: int = Field(description="0-based index into columns: the detected phone column.")
    name_column: int | None
    has_header: bool
    total_rows: int | None
