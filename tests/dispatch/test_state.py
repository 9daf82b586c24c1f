"""The status state machine, the credit rules and what a submit result leads to."""

from __future__ import annotations

import datetime as dt

import pytest

from payamak.dispatch import state
from payamak.providers.base import SubmitResult

NOW = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
POLICY = state.RetryPolicy(max_attempts=3, base_seconds=2, max_seconds=10)


def outcome(result: SubmitResult, attempts: int = 1, expires_at: dt.datetime = LATER) -> state.Outcome:
    return state.after_submit(
        result, attempts=attempts, expires_at=expires_at, now=NOW, policy=POLICY, route_down_seconds=7
    )


def test_transitions() -> None:
    assert state.allowed("queued", "submitting") and state.allowed("submitting", "sent")
    assert state.allowed("sent", "delivered") and state.allowed("scheduled", "expired")
    assert not state.allowed("queued", "delivered")
    assert not state.allowed("sent", "queued")
    for final in state.FINAL:
        assert all(not state.allowed(final, other) for other in state.TRANSITIONS)
    with pytest.raises(state.InvalidTransition) as caught:
        state.require("delivered", "failed")
    assert caught.value.code == "invalid_transition" and caught.value.message_fa


@pytest.mark.parametrize(
    ("old", "new", "refund_undelivered", "refunded"),
    [
        ("submitting", "failed", False, True),
        ("submitting", "rejected", False, True),
        ("submitting", "expired", False, True),
        ("queued", "expired", False, True),
        ("queued", "canceled", False, True),
        ("sent", "rejected", False, True),
        ("sent", "blocked", False, True),
        ("sent", "delivered", True, False),
        ("sent", "undelivered", False, False),
        ("sent", "undelivered", True, True),
        ("sent", "expired", False, False),
        ("sent", "expired", True, True),
    ],
)
def test_credit_rules(old: str, new: str, refund_undelivered: bool, refunded: bool) -> None:
    assert state.refund_due(old, new, refund_undelivered=refund_undelivered) is refunded


def test_receipt_statuses() -> None:
    assert state.receipt_status("delivered") == "delivered"
    assert state.receipt_status("blocked") == "blocked"
    assert state.receipt_status("canceled") == "undelivered"
    assert state.receipt_status("accepted") is None and state.receipt_status("unknown") is None


def test_after_submit() -> None:
    assert outcome(SubmitResult("1", True, provider_id="x")) == state.SENT
    retry = outcome(SubmitResult("1", False, error="smpp_throttled:ESME_RTHROTTLED", temporary=True))
    assert retry.status == "queued" and retry.counted and not retry.maybe_duplicate
    assert retry.due_at is not None and NOW + dt.timedelta(seconds=1.5) <= retry.due_at <= NOW + dt.timedelta(
        seconds=2
    )
    lost = outcome(SubmitResult("1", False, error="smpp_connection_lost", temporary=True), attempts=2)
    assert lost.status == "queued" and lost.maybe_duplicate
    assert lost.due_at is not None and lost.due_at <= NOW + dt.timedelta(seconds=4)
    assert (
        outcome(SubmitResult("1", False, error="smpp_timeout", temporary=True), attempts=3).status == "failed"
    )
    late = outcome(SubmitResult("1", False, error="smpp_timeout", temporary=True), expires_at=NOW)
    assert late.status == "expired"
    assert outcome(SubmitResult("1", False, error="smpp_status:ESME_RINVDSTADR")).status == "rejected"
    assert outcome(SubmitResult("1", False, error="invalid_text")).status == "failed"
    down = outcome(SubmitResult("1", False, error="smpp_bind_failed:ESME_RINVPASWD"), attempts=3)
    assert down.status == "queued" and not down.counted and down.due_at == NOW + dt.timedelta(seconds=7)
    assert outcome(SubmitResult("1", False, error="smpp_unavailable", temporary=True)).counted is False


def test_backoff_is_capped() -> None:
    assert all(POLICY.delay(n) <= 10 for n in range(1, 40))
    assert POLICY.delay(1) <= 2 < POLICY.delay(3) * 1.25
