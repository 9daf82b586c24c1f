"""The dispatcher's settings, read from the environment (prefix PAYAMAK_DISPATCH_).

Kept apart from `payamak.config.Settings` because only dispatcher processes read them; the
database and the data directory still come from there.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAYAMAK_DISPATCH_", env_file=".env", extra="ignore", populate_by_name=True
    )

    embedded: bool = Field(
        default=True,
        validation_alias=AliasChoices("PAYAMAK_EMBEDDED_DISPATCHER", "PAYAMAK_DISPATCH_EMBEDDED"),
        description="Run the dispatcher (and, with no route, the simulated SMSC) inside `payamak serve`.",
    )
    window: int = Field(
        default=4096,
        ge=1,
        le=1_000_000,
        description="Most messages this process holds claimed but whose result is not committed yet; "
        "also the most that can be sent twice if it is killed.",
    )
    batch_max: int = Field(default=2000, ge=1, description="Most messages taken in one claim.")
    chunk: int = Field(
        default=128,
        ge=1,
        le=10_000,
        description="Messages per provider call; results come back a chunk at a time.",
    )
    flush_interval: float = Field(
        default=0.05, gt=0, le=5, description="Seconds between writes of results and receipts."
    )
    flush_max: int = Field(
        default=3000, ge=1, description="Results that trigger a write before the interval."
    )
    lease_seconds: float = Field(
        default=120.0,
        ge=2,
        description="How long a claim is held before another dispatcher may take the message back.",
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a dispatcher says it is alive."
    )
    max_attempts: int = Field(default=6, ge=1, le=100, description="Submits tried before a message fails.")
    retry_base_seconds: float = Field(default=2.0, ge=0, description="First retry delay; doubles each time.")
    retry_max_seconds: float = Field(default=300.0, ge=0, description="Longest retry delay.")
    route_down_seconds: float = Field(
        default=10.0, ge=0, description="How long messages wait when no route can take them."
    )
    receipt_match_seconds: float = Field(
        default=60.0, ge=0, description="How long a receipt for an unknown message id is retried."
    )
    receipt_wait_hours: float = Field(
        default=72.0,
        ge=0,
        description="After validity, how long sent messages wait for a receipt before "
        "their send's credit is settled.",
    )
    housekeeping_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often scheduled messages are promoted, old ones expired and "
        "abandoned claims recovered.",
    )
    smsc_host: str = Field(default="127.0.0.1", description="Where the built-in simulated SMSC listens.")
    smsc_port: int = Field(
        default=2775, ge=0, le=65535, description="Its port (0: any free one; a busy port falls back to any)."
    )
    smsc_receipt_delay: float = Field(default=1.0, ge=0, description="Seconds from submit to receipt there.")

    @model_validator(mode="after")
    def _retry_order(self) -> DispatchSettings:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError("retry_max_seconds must be at least retry_base_seconds")
        return self

    @property
    def dead_after_seconds(self) -> float:
        """A dispatcher silent this long is taken for dead."""
        return self.heartbeat_seconds * 3
