"""One typed settings object, read from the environment (prefix PAYAMAK_) and from `.env`."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYAMAK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Where the SQLite file, the secret key and uploads live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Unset: SQLite in the data dir. PostgreSQL: postgresql+psycopg://user@host/db",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs cookies and CSRF tokens. Unset: generated once and kept in the data dir.",
    )
    timezone: str = Field(
        default="Asia/Tehran", description="Time zone for sending windows and Jalali dates."
    )
    language: Literal["fa", "en"] = "fa"

    session_days: int = Field(default=30, ge=1, description="How long a 'keep me logged in' login lasts.")
    short_session_hours: int = Field(
        default=12, ge=1, description="How long a login without 'keep me' lasts."
    )
    otp_ttl_seconds: int = Field(default=180, ge=30)
    otp_max_attempts: int = Field(default=5, ge=1)
    otp_resend_seconds: int = Field(default=60, ge=0)
    otp_per_hour: int = Field(default=5, ge=1)
    login_failures_per_mobile: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Largest JSON or form body accepted.")
    max_upload_bytes: int = Field(default=50_000_000, ge=1024, description="Largest uploaded file accepted.")
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure (set when served over HTTPS)."
    )

    public_url: str | None = Field(
        default=None,
        description="This site's address as buyers reach it (https://sms.example.ir); payment "
        "gateways send buyers back here. Unset: the address the request came to.",
    )
    payment_gateway: Literal["sandbox", "zarinpal"] = Field(
        default="sandbox", description="Where credit is paid for. The sandbox takes no money: never in production."
    )
    zarinpal_merchant_id: str = Field(default="", description="Zarinpal merchant id (36 characters).")
    zarinpal_base_url: str = Field(
        default="https://payment.zarinpal.com",
        description="Zarinpal's address; https://sandbox.zarinpal.com for their test gateway.",
    )
    payment_expiry_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="A purchase left unfinished at the gateway this long is shown as expired and can no "
        "longer be continued (the gateway's page lapses too); a late payment the gateway verifies is "
        "still credited.",
    )

    max_concurrent_requests: int | None = Field(
        default=None,
        ge=1,
        description="Requests let into the app at once (the rest queue); default 10 on SQLite, 25 on PostgreSQL.",
    )

    advertising_hours: str = Field(
        default="08:00-21:00",
        description="When advertising SMS may go out (local time), e.g. 08:00-21:00, or 'always'.",
        pattern=r"^(always|\d{2}:\d{2}-\d{2}:\d{2})$",
    )
    message_validity_hours: int = Field(default=24, ge=1, le=72, description="Unsent messages expire after this.")
    max_parts: int = Field(default=10, ge=1, le=50, description="Longest text accepted, in SMS parts.")
    max_schedule_days: int = Field(default=60, ge=1, description="How far ahead a send may be scheduled.")
    opt_out_suffix: bool = Field(default=True, description="Append «لغو۱۱» to informational SMS that lack it.")

    metrics_token: str | None = Field(
        default=None, description="If set, /metrics answers only requests with `Authorization: Bearer <token>`."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object a line (time, level, logger, message, fields)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'payamak.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @cached_property
    def signing_key(self) -> bytes:
        """The secret key, or one generated on first use and kept (mode 0600) in the data dir.

        Kept rather than regenerated so that cookies and CSRF tokens survive a restart.
        """
        if self.secret_key:
            return self.secret_key.encode()
        path = self.ensure_data_dir() / "secret.key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
