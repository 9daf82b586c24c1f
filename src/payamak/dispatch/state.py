"""Message status as a state machine: the transitions allowed, what a submit result or a receipt
moves a message to, and whose credit comes back.

    scheduled  -> queued | canceled | expired
    queued     -> submitting | canceled | expired
    submitting -> sent | queued (a temporary failure: retried later) | failed | rejected
                  | expired (validity ran out before it left)
    sent       -> delivered | undelivered | expired | rejected | blocked
    delivered, undelivered, expired, rejected, failed, blocked, canceled: final, never change.

Receipts are inputs: a receipt changes only a `sent` message, so a duplicate receipt, or one for a
message already final, changes nothing and moves no credit.

Credit (billing's refund rules): a message that never reached the operator (failed, rejected at
submit, expired in our queue, canceled) and one the operator refused or found blacklisted
(rejected, blocked) is given back. One the operator accepted but could not deliver (undelivered,
expired after acceptance) is given back only if its route says so (`refund_undelivered`).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Final

from payamak.errors import Conflict
from payamak.providers.base import SubmitResult
from payamak.sending.models import FINAL_STATUSES

WAITING: Final = frozenset({"scheduled", "queued", "submitting"})
FINAL: Final = FINAL_STATUSES

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "scheduled": frozenset({"queued", "canceled", "expired"}),
    "queued": frozenset({"submitting", "canceled", "expired"}),
    "submitting": frozenset({"sent", "queued", "failed", "rejected", "expired"}),
    "sent": frozenset({"delivered", "undelivered", "expired", "rejected", "blocked"}),
    **{status: frozenset() for status in FINAL_STATUSES},
}

# What a final receipt makes of a sent message. DELETED (the SMSC dropped it) reached no phone.
RECEIPT_STATUS: Final[dict[str, str]] = {
    "delivered": "delivered",
    "undelivered": "undelivered",
    "expired": "expired",
    "rejected": "rejected",
    "blocked": "blocked",
    "canceled": "undelivered",
}

# Errors that mean the route could not take the message at all: it never left, so the attempt
# does not count and the message waits for the route (or another) instead of burning retries.
ROUTE_DOWN_ERRORS: Final = ("smpp_unavailable", "smpp_bind_failed", "smpp_closed", "route_unavailable")
# Errors after which the SMSC may have the message although we never heard so.
MAYBE_SENT_ERRORS: Final = ("smpp_timeout", "smpp_connection_lost", "provider_error")


class InvalidTransition(Conflict):
    code = "invalid_transition"


def allowed(old: str, new: str) -> bool:
    return new in TRANSITIONS.get(old, frozenset())


def require(old: str, new: str) -> None:
    if not allowed(old, new):
        raise InvalidTransition(
            f"وضعیت پیامک از «{old}» به «{new}» نمی‌رود.",
            f"A message cannot go from {old} to {new}.",
            old=old,
            new=new,
        )


def receipt_status(status: str) -> str | None:
    """The message status a receipt's status leads to; None for news that is not final."""
    return RECEIPT_STATUS.get(status)


def refund_due(old: str, new: str, *, refund_undelivered: bool) -> bool:
    """Whether moving a message from `old` to `new` gives its price back."""
    if new in ("failed", "rejected", "blocked", "canceled"):
        return True
    if new == "expired":
        return old != "sent" or refund_undelivered
    if new == "undelivered":
        return refund_undelivered
    return False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempts: int) -> float:
        """Exponential, capped, with jitter so that a burst of failures does not come back as one."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return float(raw * random.uniform(0.8, 1.0))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a submit did to a claimed message."""

    status: str  # sent | queued | failed | rejected | expired
    error: str | None = None
    due_at: dt.datetime | None = None  # when a queued message may go again
    counted: bool = True  # False: the attempt is given back (the message never left)
    maybe_duplicate: bool = False


SENT: Final = Outcome("sent")


def is_route_down(error: str | None) -> bool:
    return error is not None and error.startswith(ROUTE_DOWN_ERRORS)


def after_submit(
    result: SubmitResult,
    *,
    attempts: int,
    expires_at: dt.datetime,
    now: dt.datetime,
    policy: RetryPolicy,
    route_down_seconds: float,
) -> Outcome:
    """Where a message goes after its submit result: `attempts` counts this one."""
    if result.accepted:
        return SENT
    error = (result.error or "unknown_error")[:120]
    if is_route_down(error):
        if now >= expires_at:
            return Outcome("expired", error)
        return Outcome("queued", error, due_at=now + dt.timedelta(seconds=route_down_seconds), counted=False)
    if result.temporary:
        if now >= expires_at:
            return Outcome("expired", error)
        if attempts >= policy.max_attempts:
            return Outcome("failed", error)
        due = now + dt.timedelta(seconds=policy.delay(attempts))
        return Outcome("queued", error, due_at=due, maybe_duplicate=error.startswith(MAYBE_SENT_ERRORS))
    # The SMSC answered and said no: the operator rejected it. Anything else failed on our side.
    return Outcome("rejected" if error.startswith("smpp_status:") else "failed", error)
