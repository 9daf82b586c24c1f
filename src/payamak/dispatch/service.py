"""The dispatcher's business logic: what one batch of results, receipts and inbound SMS does to the
queue and to credit, the periodic upkeep of the queue, and route administration.

Nothing here commits: the dispatcher's batch (or the request, or the CLI command) owns the unit of
work, so a batch's status changes, its credit given back and its inbound messages commit together
or not at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.billing import repository as billing_repo
from payamak.billing import service as billing
from payamak.compat import service as compat
from payamak.config import Settings
from payamak.db import utcnow
from payamak.dispatch import repository as repo
from payamak.dispatch import state
from payamak.dispatch.models import ROUTE_KINDS, Route, RouteState
from payamak.dispatch.repository import ClaimedRow, SendInfo
from payamak.dispatch.routing import MESSAGE_KINDS, ROUTE_OPERATORS, SECRET_FIELDS, check_config, parse_list
from payamak.errors import Conflict, DomainError, NotFound, ValidationFailed
from payamak.numbers import key_to_e164, mobile_key
from payamak.providers.base import SubmitResult
from payamak.providers.smpp import Inbound, Receipt
from payamak.sending import blacklist
from payamak.sending.models import InboundMessage

log = logging.getLogger("payamak.dispatch")


# --- what a batch carries -------------------------------------------------------------------


@dataclass(slots=True)
class Claimed:
    """A claimed message on its way out, with everything its result needs."""

    row: ClaimedRow
    send: SendInfo
    route_id: int | None = None  # the route that carried it (None: the built-in simulator)
    route_key: int = 0
    refund_undelivered: bool = False


class Ref(NamedTuple):
    """What a receipt needs to know about a message that was sent."""

    id: int
    account_id: int
    send_id: int
    price: int
    recipient: str
    refund_undelivered: bool
    hooked: bool = True  # its send may have asked for status callbacks (True when not known)


@dataclass(slots=True)
class PendingReceipt:
    route_key: int
    route_id: int | None
    receipt: Receipt
    first_seen: float
    # The rule of the route the receipt came through, which is the route that carried the message.
    refund_undelivered: bool = False
    next_try: float = 0.0


@dataclass(slots=True)
class Batch:
    """Everything collected since the last write."""

    # (message, its submit result) or (message, an outcome decided without submitting)
    results: list[tuple[Claimed, SubmitResult | state.Outcome]] = field(default_factory=list)
    receipts: list[PendingReceipt] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    # Resolved once this batch commits: only then does the provider acknowledge the receipts and
    # inbound messages to the SMSC, which re-sends any it never saw acknowledged.
    acks: list[asyncio.Future[None]] = field(default_factory=list)
    # Set when a write of this batch failed. A failure while committing (the connection lost, the
    # database restarting) leaves the outcome unknown: the earlier write may have committed.
    rewritten: bool = False

    def __len__(self) -> int:
        return len(self.results) + len(self.receipts) + len(self.inbound)

    def extend(self, other: Batch) -> None:
        self.results.extend(other.results)
        self.receipts.extend(other.receipts)
        self.inbound.extend(other.inbound)
        self.acks.extend(other.acks)
        self.rewritten = self.rewritten or other.rewritten

    def committed(self) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_result(None)
        self.acks.clear()


@dataclass(slots=True)
class BatchReport:
    results: int = 0
    sent: int = 0
    retried: int = 0
    deferred: int = 0
    final: dict[str, int] = field(default_factory=dict)
    receipts: int = 0
    receipts_interim: int = 0
    receipts_duplicate: int = 0
    receipts_unknown: int = 0
    receipts_waiting: int = 0
    refunded: int = 0  # rials given back
    blacklisted: int = 0
    inbound: int = 0
    optouts: int = 0

    def count(self, status: str) -> None:
        self.final[status] = self.final.get(status, 0) + 1


class SentIndex:
    """provider id -> message, for messages this dispatcher sent and has no final receipt for.

    Receipts are looked up here first so that most need no query; it is bounded (the oldest are
    forgotten) and whatever it lacks is found by `repo.by_provider_ids`. Changes are staged while
    a batch is written and applied only once it has committed.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._refs: OrderedDict[tuple[int, str], Ref] = OrderedDict()

    def __len__(self) -> int:
        return len(self._refs)

    def get(self, key: tuple[int, str]) -> Ref | None:
        return self._refs.get(key)

    def commit(
        self, added: Iterable[tuple[tuple[int, str], Ref]], removed: Iterable[tuple[int, str]]
    ) -> None:
        refs = self._refs
        for key in removed:
            refs.pop(key, None)
        for key, ref in added:
            refs[key] = ref
        while len(refs) > self.limit:
            refs.popitem(last=False)


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    retry: state.RetryPolicy
    route_down_seconds: float
    receipt_match_seconds: float
    # Unmatched receipts wait this long for their result in memory before the first lookup...
    early_seconds: float = 2.0
    # ...and are looked for again at most this often.
    receipt_retry_seconds: float = 1.0


@dataclass(slots=True)
class _Money:
    amounts: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)

    def give(self, account_id: int, send_id: int, price: int) -> None:
        entry = self.amounts.setdefault((account_id, send_id), [0, 0])
        entry[0] += price
        entry[1] += 1


Waiting = dict[tuple[int, str], PendingReceipt]


def apply_batch(
    session: Session,
    *,
    batch: Batch,
    index: SentIndex,
    policy: BatchPolicy,
    waiting: Waiting,
    staged: tuple[list[tuple[tuple[int, str], Ref]], list[tuple[int, str]]],
    answers: list[HelpRequest] | None = None,
) -> BatchReport:
    """Write one batch: results first, then receipts, then inbound SMS, then credit given back.

    A receipt often overtakes its message's result (the SMSC answers the submit and reports the
    delivery within milliseconds, while the result waits for the rest of its chunk). `waiting`
    holds receipts that matched nothing yet, by (route, provider id): a result arriving in a later
    batch takes its receipt from there, and the message goes from submitting to final in one
    write. Only after `early_seconds` is a waiting receipt looked up in the database (it may be
    for a message another dispatcher sent), then again every `receipt_retry_seconds`, until
    `receipt_match_seconds` have passed and it counts as unknown. It is updated in place;
    `staged` receives the changes to `index`, which the caller applies after the commit.
    Status callbacks asked for with a send are queued with its changes. HELP replies are only
    collected in `answers` (when given): they are answered after the commit, by `answer_help`.
    """
    now = utcnow()
    mono = time.monotonic()
    report = BatchReport()
    added, removed = staged
    money = _Money()

    fresh: list[tuple[int, str]] = []  # this batch's receipts, by their key in `waiting`
    for pending in batch.receipts:
        report.receipts += 1
        if state.receipt_status(pending.receipt.status) is None:
            report.receipts_interim += 1
            continue
        pending.next_try = pending.first_seen + policy.early_seconds
        key = (pending.route_key, pending.receipt.provider_id)
        waiting.pop(key, None)  # a repeat goes to the end, in its turn (see below)
        waiting[key] = pending
        fresh.append(key)

    sent_rows: list[tuple[int, int, str, int | None]] = []
    requeue_rows: list[tuple[int, int, dt.datetime, str | None, int, bool]] = []
    final_plain: list[
        tuple[int, int, str, str | None, dt.datetime, str | None, int | None, dt.datetime | None]
    ] = []
    final_money: list[
        tuple[int, int, str, str | None, dt.datetime, str | None, int | None, dt.datetime | None]
    ] = []
    money_of: dict[int, tuple[Claimed | Ref, str]] = {}
    late_receipts: list[tuple[tuple[int, str, str | None, dt.datetime], bool]] = []
    receipt_refs: list[Ref] = []  # messages sent earlier that a receipt finishes now
    overtaken: list[int] = []  # messages sent and finished in one write: their receipt came first

    for claimed, result in batch.results:
        report.results += 1
        row = claimed.row
        if isinstance(result, state.Outcome):
            outcome = result
            provider_id = None
        elif result.accepted:
            # The common case, without the call: accepted is sent, whatever the attempt.
            outcome = state.SENT
            provider_id = result.provider_id
        else:
            outcome = state.after_submit(
                result,
                attempts=row.attempts,
                expires_at=claimed.send.expires_at,
                now=now,
                policy=policy.retry,
                route_down_seconds=policy.route_down_seconds,
            )
            provider_id = result.provider_id
        if outcome.status == "sent" and provider_id:
            key = (claimed.route_key, provider_id)
            receipt = waiting.pop(key, None)
            if receipt is None:
                sent_rows.append((row.id, row.attempts, provider_id, claimed.route_id))
                added.append(
                    (
                        key,
                        Ref(
                            row.id,
                            row.account_id,
                            row.send_id,
                            row.price,
                            row.recipient,
                            claimed.refund_undelivered,
                            claimed.send.hooked,
                        ),
                    )
                )
                report.sent += 1
                continue
            final = state.receipt_status(receipt.receipt.status)
            assert final is not None
            overtaken.append(row.id)
            item = (row.id, row.attempts, final, _receipt_error(receipt.receipt), receipt.receipt.done_at or now,
                    provider_id, claimed.route_id, now)  # fmt: skip
            refund = state.refund_due("sent", final, refund_undelivered=claimed.refund_undelivered)
            if refund:
                final_money.append(item)
                money_of[row.id] = (claimed, final)
            else:
                final_plain.append(item)
            if batch.rewritten:
                # If the earlier write did commit, the message is `sent` already and the write of
                # this result changes nothing: the receipt is applied to it as to any sent message
                # as well. Each write changes only its own status, so at most one of them applies.
                late_receipts.append(((row.id, final, item[3], item[4]), refund))
            report.count(final)
            continue
        if outcome.status == "sent":
            # Accepted without an id: nothing can ever match its receipt, but it did leave.
            sent_rows.append((row.id, row.attempts, "", claimed.route_id))
            report.sent += 1
            continue
        if outcome.status == "queued":
            assert outcome.due_at is not None
            requeue_rows.append(
                (
                    row.id,
                    row.attempts,
                    outcome.due_at,
                    outcome.error,
                    0 if outcome.counted else -1,
                    outcome.maybe_duplicate,
                )
            )
            if outcome.counted:
                report.retried += 1
            else:
                report.deferred += 1
            continue
        final_money.append(
            (row.id, row.attempts, outcome.status, outcome.error, now, None, claimed.route_id, None)
        )
        money_of[row.id] = (claimed, outcome.status)
        report.count(outcome.status)

    # Receipts for messages sent in earlier batches: known here, or looked up once due.
    sent_plain: list[tuple[int, str, str | None, dt.datetime]] = [r for r, refund in late_receipts if not refund]
    sent_money: list[tuple[int, str, str | None, dt.datetime]] = [r for r, refund in late_receipts if refund]
    # Only this batch's receipts can be for a message the index knows: one that waited already
    # was not, and a result written since took its receipt out of `waiting` itself.
    for key in fresh:
        ref = index.get(key)
        if ref is not None and key in waiting:  # not in it: its result was in this batch
            _receipt_change(waiting[key], ref, now, sent_plain, sent_money, money_of, report)
            receipt_refs.append(ref)
            removed.append(key)
            del waiting[key]
    # `waiting` is kept in the order its receipts fall due (each goes to the end when its next try
    # is set), so those due are at its front and a storm of thousands waiting costs nothing until
    # they are. The order is nearly exact (a new receipt's first try is 2 s after it came, a
    # retry's 1 s after the last): one due behind one not due yet waits at most that second.
    lookups: dict[int | None, list[tuple[tuple[int, str], PendingReceipt]]] = {}
    for key, pending in waiting.items():
        if pending.next_try > mono:
            break
        lookups.setdefault(pending.route_id, []).append((key, pending))
    unknown: list[str] = []
    for route_id, group in lookups.items():
        found = {r.provider_id: r for r in repo.by_provider_ids(
            session, route_id=route_id, provider_ids=[p.receipt.provider_id for _, p in group])}  # fmt: skip
        for key, pending in group:
            match = found.get(pending.receipt.provider_id)
            if match is not None and match.status == "sent":
                ref = Ref(match.id, match.account_id, match.send_id, match.price, match.recipient,
                          pending.refund_undelivered)  # fmt: skip
                _receipt_change(pending, ref, now, sent_plain, sent_money, money_of, report)
                receipt_refs.append(ref)
                del waiting[key]
            elif match is not None and match.status in state.FINAL:
                report.receipts_duplicate += 1
                del waiting[key]
            elif mono - pending.first_seen < policy.receipt_match_seconds:
                pending.next_try = mono + policy.receipt_retry_seconds
                del waiting[key]
                waiting[key] = pending
            else:
                unknown.append(pending.receipt.provider_id)
                del waiting[key]
    if unknown:
        # One line for a batch of them: a storm of receipts for unknown ids must not flood the log.
        report.receipts_unknown += len(unknown)
        log.info("%d receipts for unknown message ids ignored, e.g. %s", len(unknown), ", ".join(unknown[:3]))
    report.receipts_waiting = len(waiting)

    repo.mark_sent(session, now=now, rows=sent_rows)
    repo.requeue(session, rows=requeue_rows)
    repo.finish_claimed(session, rows=final_plain, confirm=False)
    changed = repo.finish_claimed(session, rows=final_money, confirm=True)
    repo.finish_sent(session, rows=sent_plain, confirm=False)
    changed |= repo.finish_sent(session, rows=sent_money, confirm=True)
    # Status callbacks: only for sends that may have a hook, which nearly no batch holds.
    changes = [(c.row.id, c.row.send_id) for c, _ in batch.results if c.send.hooked]
    changes += [(r.id, r.send_id) for r in receipt_refs if r.hooked]
    if changes:
        compat.record_batch_changes(session, changes=changes, sent_first=overtaken)

    for message_id in changed:
        source, final = money_of[message_id]
        if isinstance(source, Claimed):
            row = source.row
            money.give(row.account_id, row.send_id, row.price)
            recipient = row.recipient
        else:
            money.give(source.account_id, source.send_id, source.price)
            recipient = source.recipient
        if final == "blocked":
            money.blocked.append(recipient)

    if batch.inbound:
        report.inbound, report.optouts = _store_inbound(session, batch.inbound, answers=answers)
    report.refunded = _give_back(session, money)
    if money.blocked:
        report.blacklisted = blacklist.record_operator_blocked(session, numbers=money.blocked)
    return report


def _receipt_error(receipt: Receipt) -> str | None:
    if receipt.status == "delivered":
        return None
    code = f"receipt:{receipt.status}"
    return code if receipt.error is None else f"{code}:{receipt.error}"


def _receipt_change(
    pending: PendingReceipt,
    ref: Ref,
    now: dt.datetime,
    plain: list[tuple[int, str, str | None, dt.datetime]],
    with_money: list[tuple[int, str, str | None, dt.datetime]],
    money_of: dict[int, tuple[Claimed | Ref, str]],
    report: BatchReport,
) -> None:
    final = state.receipt_status(pending.receipt.status)
    assert final is not None
    item = (ref.id, final, _receipt_error(pending.receipt), pending.receipt.done_at or now)
    if state.refund_due("sent", final, refund_undelivered=ref.refund_undelivered):
        with_money.append(item)
        money_of[ref.id] = (ref, final)
    else:
        plain.append(item)
    report.count(final)


def _give_back(session: Session, money: _Money) -> int:
    """One release (or, once a send is settled, refund) per account and send, in account order
    so that concurrent dispatchers lock balances in the same order."""
    total = 0
    for (account_id, send_id), (amount, count) in sorted(money.amounts.items()):
        give_back(session, account_id=account_id, send_id=send_id, amount=amount, count=count)
        total += amount
    return total


def give_back(session: Session, *, account_id: int, send_id: int, amount: int, count: int) -> None:
    """Return `amount` rials of a send's messages: from the hold while it is open, as a refund of
    settled credit after it was settled."""
    if amount <= 0:
        return
    hold = billing_repo.hold_for(session, account_id=account_id, ref_type="send", ref_id=send_id)
    if hold is None:
        log.error(
            "no credit hold for send %s of account %s; %s rials not given back", send_id, account_id, amount
        )
        return
    session.refresh(hold)
    outstanding = hold.amount - hold.released - hold.settled
    released = min(amount, max(0, outstanding))
    if released:
        billing.release(
            session, account_id=account_id, amount=released, ref_type="send", ref_id=send_id,
            reason=f"بازگشت هزینهٔ {count} پیامک ناموفق ارسال {send_id}",
        )  # fmt: skip
    rest = amount - released
    if rest:
        refundable = hold.settled - hold.refunded
        if rest > refundable:
            log.error("send %s: %s rials to give back but only %s settled", send_id, rest, refundable)
            rest = refundable
        billing.refund(
            session, account_id=account_id, amount=rest, ref_type="send", ref_id=send_id,
            reason=f"بازگشت هزینهٔ {count} پیامک ناموفق ارسال {send_id}",
        )  # fmt: skip


# --- inbound --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelpRequest:
    """A HELP that came to an account's line, to be answered once its batch has committed."""

    line: str
    account_id: int | None
    to: str
    text: str
    outcome: compat.KeywordOutcome
    received_at: dt.datetime


def _store_inbound(
    session: Session, items: Sequence[Inbound], *, answers: list[HelpRequest] | None = None
) -> tuple[int, int]:
    """Store inbound SMS; act on keywords (11/12, STOP/START/HELP, see `compat.handle_keyword`)
    sent to one of our lines, collecting HELPs in `answers`."""
    records = []
    opted = 0
    for item in items:
        line = "".join(ch for ch in item.to if ch.isdigit())
        exists, account_id = repo.line_owner(session, number=line)
        if not exists and line.startswith("98"):
            # An SMSC may write our line in international form.
            exists, account_id = repo.line_owner(session, number=line[2:])
            line = line[2:] if exists else line
        key = mobile_key(item.from_)
        sender = key_to_e164(key) if key is not None else item.from_[:20]
        action = ""
        if exists:
            try:
                outcome = compat.handle_keyword(
                    session, line=line, from_number=item.from_, text=item.text, account_id=account_id
                )
            except DomainError as exc:
                log.warning(
                    "reply %r to line %s from %s not applied: %s", item.text, line, item.from_, exc.code
                )
                outcome = None
            if outcome is not None:
                action = outcome.keyword
                if outcome.keyword != "help":
                    opted += 1
                elif answers is not None:
                    answers.append(HelpRequest(line, account_id, sender, item.text, outcome, item.received_at))
        else:
            log.info(
                "SMS from %s to %s, which is not one of our lines, kept without an owner", item.from_, item.to
            )
        records.append(
            InboundMessage(
                line_number=line[:20], account_id=account_id, sender=sender, text=item.text,
                action=action, received_at=item.received_at,
            )
        )  # fmt: skip
    repo.add_inbound(session, records)
    return len(records), opted


def answer_help(session: Session, *, settings: Settings, requests: Sequence[HelpRequest]) -> int:
    """Answer HELPs whose inbound SMS has committed, each in a savepoint of its own; returns how
    many were answered.

    Apart from the batch that stored them: an answer is a whole send (blacklist, pricing, a credit
    hold) that must neither slow the batch's receipts nor fail it. Its idempotency key is the SMS
    itself, so a HELP stored twice (a batch written again after an unknown commit) is answered and
    charged once."""
    answered = 0
    for request in requests:
        key = f"help:{request.line}:{request.to}:{request.received_at:%Y%m%d%H%M%S%f}"
        try:
            with session.begin_nested():
                sent = compat.answer_keyword(
                    session, settings=settings, line=request.line, account_id=request.account_id,
                    to=request.to, text=request.text, outcome=request.outcome, idempotency_key=key,
                )  # fmt: skip
        except Exception:
            log.exception("HELP from %s to line %s not answered", request.to, request.line)
            continue
        answered += sent is not None
    return answered


# --- upkeep ---------------------------------------------------------------------------------


@dataclass(slots=True)
class UpkeepReport:
    promoted: int = 0
    expired: int = 0
    recovered: int = 0
    settled: int = 0
    refunded: int = 0


def promote(session: Session, *, now: dt.datetime, limit: int = 10_000) -> int:
    return repo.promote_due(session, now=now, limit=limit)


def expire(
    session: Session, *, now: dt.datetime, lookback: dt.timedelta, limit: int = 10_000
) -> tuple[int, int]:
    """Messages still waiting past their send's validity expire, and their credit comes back."""
    rows = repo.expire_waiting(session, now=now, since=now - lookback, limit=limit)
    compat.record_batch_changes(session, changes=[(row.id, row.send_id) for row in rows])
    money = _Money()
    for row in rows:
        money.give(row.account_id, row.send_id, row.price)
    return len(rows), _give_back(session, money)


def recover(
    session: Session,
    *,
    now: dt.datetime,
    dispatcher_id: int | None,
    started_at: dt.datetime,
    dead_after: float,
    limit: int = 50_000,
) -> int:
    """Take back claims of dispatchers that died, marked as possibly sent already.

    A claim whose lease ran out is taken back always. When no other dispatcher is alive, every
    claim made before this one started is taken back at once: its dispatcher is gone, and this
    one's own claims are all younger.
    """
    others = repo.live_dispatchers(
        session, alive_since=now - dt.timedelta(seconds=dead_after), exclude=dispatcher_id
    )
    return repo.recover_claims(session, now=now, claimed_before=None if others else started_at, limit=limit)


def settle_finished(
    session: Session, *, now: dt.datetime, receipt_wait: dt.timedelta, limit: int = 200
) -> int:
    """Turn what is still held for finished sends into spent credit; returns how many."""
    done = 0
    for send_id, account_id in repo.unsettled_sends(
        session, now=now, receipts_until=now - receipt_wait, since=now - dt.timedelta(days=7), limit=limit
    ):
        billing.settle(session, account_id=account_id, ref_type="send", ref_id=send_id,
                       description=f"هزینهٔ قطعی ارسال {send_id}")  # fmt: skip
        repo.mark_send_done(session, send_id=send_id)
        done += 1
    return done


def claim(
    session: Session, *, now: dt.datetime, lease_until: dt.datetime, limit: int, known: dict[int, SendInfo]
) -> list[tuple[ClaimedRow, SendInfo]]:
    """Claim due messages and attach their send's shared facts (`known` caches them)."""
    rows = repo.claim(session, now=now, lease_until=lease_until, limit=limit)
    missing = {r.send_id for r in rows if r.send_id not in known}
    if missing:
        hooked = compat.hooked_sends(session, send_ids=missing)
        for info in repo.send_infos(session, send_ids=missing):
            known[info.id] = replace(info, hooked=True) if info.id in hooked else info
    return [(r, known[r.send_id]) for r in rows]


# --- routes (administration) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteView:
    route: Route
    state: str
    binds_up: int
    binds: int
    last_error: str | None
    updated_at: dt.datetime | None
    live: bool  # from a dispatcher in this process, not the last state it wrote

    @property
    def public_config(self) -> dict[str, Any]:
        return {k: ("***" if k in SECRET_FIELDS and v else v) for k, v in (self.route.config or {}).items()}


def _route_not_found() -> NotFound:
    return NotFound("این مسیر پیدا نشد.", "No such route.", code="route_not_found")


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 64:
        raise ValidationFailed("نام مسیر باید ۱ تا ۶۴ نویسه باشد.", "A route name has 1 to 64 characters.",
                               code="route_invalid", field="name")  # fmt: skip
    return name


def _require(principal: Principal | None) -> None:
    if principal is not None:
        accounts.require_admin(principal)


def list_routes(session: Session, *, principal: Principal | None) -> Sequence[Route]:
    _require(principal)
    return repo.routes(session)


def get_route(session: Session, *, principal: Principal | None, route_id: int) -> Route:
    _require(principal)
    route = repo.route_by_id(session, route_id)
    if route is None:
        raise _route_not_found()
    return route


def route_named(session: Session, *, name: str) -> Route:
    route = repo.route_by_name(session, " ".join(name.split()))
    if route is None:
        raise NotFound(f"مسیری به نام «{name}» نیست.", f"No route named {name!r}.", code="route_not_found")
    return route


def add_route(
    session: Session,
    *,
    principal: Principal | None,
    name: str,
    kind: str,
    config: dict[str, Any],
    operators: str | Sequence[str] = "",
    kinds: str | Sequence[str] = "",
    priority: int = 100,
    refund_undelivered: bool = False,
    active: bool = True,
) -> Route:
    """Add a route (admin). The dispatcher picks it up within seconds; lines may then be pinned to it."""
    _require(principal)
    name = _check_name(name)
    if kind not in ROUTE_KINDS:
        raise ValidationFailed("نوع مسیر باید smpp، http یا simulator باشد.", "The kind must be smpp, http or simulator.",
                               code="route_invalid", field="kind")  # fmt: skip
    if repo.route_by_name(session, name) is not None:
        raise Conflict(
            "مسیری با این نام هست.", "A route with this name exists.", code="route_exists", field="name"
        )
    route = Route(
        name=name, kind=kind, config=check_config(kind, config),
        operators=parse_list(operators, ROUTE_OPERATORS, "operators"), kinds=parse_list(kinds, MESSAGE_KINDS, "kinds"),
        priority=_priority(priority), refund_undelivered=refund_undelivered, active=active,
    )  # fmt: skip
    repo.add_route(session, route)
    return route


def _priority(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise ValidationFailed("اولویت باید عددی بین ۰ و ۱۰۰۰۰۰۰ باشد.", "The priority must be 0-1000000.",
                               code="route_invalid", field="priority")  # fmt: skip
    return value


def update_route(
    session: Session, *, principal: Principal | None, route_id: int, changes: dict[str, Any]
) -> Route:
    """Change some of a route's fields; `config` keys given are merged into the current config
    (a key set to null is removed), so a password need not be sent again."""
    route = get_route(session, principal=principal, route_id=route_id)
    if "name" in changes and changes["name"] is not None:
        name = _check_name(changes["name"])
        other = repo.route_by_name(session, name)
        if other is not None and other.id != route.id:
            raise Conflict(
                "مسیری با این نام هست.", "A route with this name exists.", code="route_exists", field="name"
            )
        route.name = name
    if "config" in changes and changes["config"] is not None:
        merged = dict(route.config or {})
        for key, value in dict(changes["config"]).items():
            if value is None:
                merged.pop(key, None)
            elif not (key in SECRET_FIELDS and value == "***"):
                merged[key] = value
        route.config = check_config(route.kind, merged)
    if changes.get("operators") is not None:
        route.operators = parse_list(changes["operators"], ROUTE_OPERATORS, "operators")
    if changes.get("kinds") is not None:
        route.kinds = parse_list(changes["kinds"], MESSAGE_KINDS, "kinds")
    if changes.get("priority") is not None:
        route.priority = _priority(changes["priority"])
    for flag in ("refund_undelivered", "active"):
        if changes.get(flag) is not None:
            setattr(route, flag, bool(changes[flag]))
    session.flush()
    return route


def remove_route(session: Session, *, principal: Principal | None, route_id: int) -> None:
    """Delete a route; lines pinned to it go back to routing by operator and kind."""
    route = get_route(session, principal=principal, route_id=route_id)
    repo.delete_route(session, route)


def route_views(
    session: Session, routes: Sequence[Route], live: Mapping[int | None, Any] | None = None
) -> list[RouteView]:
    """Each route with its connection state: live from a dispatcher in this process when there is
    one, else as the last dispatcher wrote it, else unknown."""
    stored: dict[int, RouteState] = repo.route_states(session) if live is None else {}
    out = []
    for route in routes:
        if live is not None:
            status = live.get(route.id)
            if status is not None:
                out.append(
                    RouteView(
                        route, status.state, status.binds_up, status.binds, status.last_error, utcnow(), True
                    )
                )
            else:
                out.append(
                    RouteView(route, "disabled" if not route.active else "pending", 0, 0, None, None, True)
                )
            continue
        saved = stored.get(route.id)
        if saved is None:
            out.append(RouteView(route, "unknown", 0, 0, None, None, False))
        else:
            out.append(
                RouteView(
                    route, saved.state, saved.binds_up, saved.binds, saved.last_error, saved.updated_at, False
                )
            )
    return out
