"""HTTP shapes of the admin blacklist API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_NUMBERS = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class NumbersIn(Strict):
    numbers: list[str | int] = Field(
        min_length=1, max_length=MAX_NUMBERS, examples=[["09121234567", "+98 935 123 4567"]]
    )
    reason: str = Field(default="", max_length=200, description="Why (kept with each number added).")


class RemoveIn(Strict):
    numbers: list[str | int] = Field(min_length=1, max_length=MAX_NUMBERS)


class InvalidOut(BaseModel):
    row: int
    value: str
    reason: str


class AddedOut(BaseModel):
    added: int = Field(description="Numbers newly put on the manual list.")
    already: int = Field(description="Numbers that were on it already.")
    invalid: list[InvalidOut]


class RemovedOut(BaseModel):
    removed: int = Field(description="Numbers taken off the manual or operator list.")
    not_listed: int = Field(description="Numbers that were on no list.")
    still_national: list[str] = Field(
        description="Numbers that stay blocked: the national list has them (it changes only by a new load)."
    )
    invalid: list[InvalidOut]


class EntryOut(BaseModel):
    kind: Literal["operator", "manual"]
    reason: str
    added_at: dt.datetime
    added_by: int | None


class CheckOut(BaseModel):
    input: str
    e164: str
    blocked: bool
    kinds: list[Literal["national", "operator", "manual"]]
    entries: list[EntryOut]
    version: int


class NationalOut(BaseModel):
    numbers: int
    lines: int
    invalid: int
    source: str
    size_bytes: int
    loaded_at: dt.datetime
    loaded_by: int | None


class LoadOut(BaseModel):
    id: int
    status: Literal["running", "done", "failed"]
    source: str
    progress: float | None = Field(
        description="Share of the file read, 0 to 1 (null when the size is unknown)."
    )
    bytes_total: int | None
    bytes_read: int
    lines: int
    blank: int
    valid: int
    numbers: int
    invalid: int
    duplicates: int
    invalid_samples: list[dict[str, Any]] = Field(
        description="The first invalid lines: {line, value, reason}."
    )
    error: str | None
    detail: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class SummaryOut(BaseModel):
    version: int = Field(description="Moves on with every change of any list.")
    counts: dict[str, int] = Field(description="Numbers on each list: national, operator, manual.")
    loaded_at: dt.datetime | None = Field(description="When the national list in force was loaded.")
    national: NationalOut | None
    last_load: LoadOut | None
