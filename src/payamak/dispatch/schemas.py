from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from payamak.accounts.schemas import Strict


class RouteIn(Strict):
    name: str = Field(max_length=64, examples=["mci-smsc"])
    kind: Literal["smpp", "http", "simulator"] = "smpp"
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="SMPP: host, port, system_id, password (required), and optionally binds, window, tps, "
        "system_type, long_mode (udh|payload), source_addr, request_timeout, receipt_timezone, "
        "blacklist_errors. A simulator route uses the built-in SMSC and takes the same optional keys.",
        examples=[{"host": "10.0.0.5", "port": 2775, "system_id": "shop", "password": "secret", "tps": 100}],
    )
    operators: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Operators carried (MCI, Irancell, RighTel, …, foreign, other); empty: all.",
    )
    kinds: list[Literal["advertising", "informational"]] = Field(
        default_factory=list, description="Empty: both."
    )
    priority: int = Field(default=100, ge=0, le=1_000_000, description="Lower is tried first.")
    refund_undelivered: bool = Field(
        default=False, description="Give back accepted-but-undelivered messages."
    )
    active: bool = True


class RoutePatch(Strict):
    name: str | None = Field(default=None, max_length=64)
    config: dict[str, Any] | None = Field(
        default=None, description="Keys to change; a key set to null is removed; '***' keeps the password."
    )
    operators: list[str] | None = Field(default=None, max_length=20)
    kinds: list[Literal["advertising", "informational"]] | None = None
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    refund_undelivered: bool | None = None
    active: bool | None = None


class RouteOut(BaseModel):
    id: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="The password is shown as ***.")
    operators: list[str]
    kinds: list[str]
    priority: int
    refund_undelivered: bool
    active: bool
    created_at: dt.datetime
    state: str = Field(
        description="starting | up | down | failing | unsupported | disabled | pending (not picked up yet) | unknown (no dispatcher has reported)"
    )
    binds_up: int
    binds: int
    last_error: str | None = Field(description="Why it is down or failing, e.g. ESME_RINVPASWD.")
    state_updated_at: dt.datetime | None
    state_source: Literal["live", "stored"] = Field(
        description="live: from the dispatcher in this process; stored: as the last dispatcher wrote it."
    )
