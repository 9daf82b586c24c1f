"""Domain errors: a stable code, a Persian message and an English one, and no HTTP.

`api/errors.py` maps a code to an HTTP status; the CLI maps any DomainError to exit code 1 and a
one-line message. Extra keyword arguments travel with the error (e.g. `needed`, `balance`,
`violations`) so callers can show more than a sentence.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a user can cause. `code` is stable and documented; messages are not."""

    code: str = "error"
    # Set on errors whose cause must be remembered even though the request fails (a wrong
    # password or code counts against its limit): the unit of work commits, then re-raises.
    keep_changes: bool = False

    def __init__(self, message_fa: str, message_en: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message_en)
        if code is not None:
            self.code = code
        self.message_fa = message_fa
        self.message_en = message_en
        self.extra: dict[str, Any] = extra

    def message(self, lang: str = "fa") -> str:
        return self.message_en if lang == "en" else self.message_fa


class ValidationFailed(DomainError):
    """Input that can never succeed as given (wrong shape, out of range, unknown value)."""

    code = "validation_error"


class NotFound(DomainError):
    """The thing does not exist, or belongs to another account (the two are never told apart)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with what already exists (a duplicate, a reused key, a wrong state)."""

    code = "conflict"


class PermissionDenied(DomainError):
    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message_fa: str, message_en: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(message_fa, message_en, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class StorageFull(DomainError):
    """The database could not write because its disk is full. Nothing of the unit of work was
    saved (it rolled back); the same request succeeds once space is freed. HTTP 507."""

    code = "disk_full"


def storage_full() -> StorageFull:
    return StorageFull(
        "فضای دیسک پایگاه داده پر است و چیزی ذخیره نشد؛ به مدیر سامانه خبر دهید و پس از آزاد شدن فضا دوباره بفرستید.",
        "The database's disk is full and nothing was saved; tell the operator, and try again once space is freed.",
    )
