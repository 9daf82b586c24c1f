"""Sends: check the text, resolve recipients, price, hold credit and queue one message per recipient.

Everything a send does happens in the caller's one transaction: the send row, the credit hold and
the message rows (the dispatcher's queue) commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from payamak import compliance, numbers, sms
from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.config import Settings
from payamak.db import utcnow
from payamak.errors import Conflict, DomainError, NotFound, ValidationFailed
from payamak.phonebook import service as phonebook
from payamak.sending import repository as repo
from payamak.sending.blacklist import BlacklistCache
from payamak.sending.models import FINAL_STATUSES, ForbiddenWord, Line, Message, Send
from payamak.sending.optouts import opted_out_keys
from payamak.sending.resolve import Recipients, by_operator, fill, placeholders
from payamak.sending.window import next_opening

Kind = Literal["advertising", "informational"]
LINE_KIND_FOR = {"advertising": "advertising", "informational": "service"}


class ComplianceViolation(ValidationFailed):
    code = "compliance_violation"


@dataclass(frozen=True)
class SendRequest:
    kind: Kind
    text: str
    line: str | None = None
    recipients: Sequence[str] = ()
    group_ids: Sequence[int] = ()
    customer_ids: Sequence[int] = ()
    send_at: dt.datetime | None = None
    # False: braces in the text are literal (the compatible APIs, whose callers know no placeholders).
    personalise: bool = True

    def fingerprint(self) -> str:
        body = {
            "kind": self.kind,
            "text": self.text,
            "line": self.line,
            "recipients": list(self.recipients),
            "group_ids": sorted(self.group_ids),
            "customer_ids": sorted(self.customer_ids),
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "personalise": self.personalise,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Plan:
    """A send worked out but not written: what preview shows and accept writes."""

    kind: Kind
    line: Line
    text: str
    info: sms.TextInfo
    names: list[str]
    recipients: Recipients
    targets_keys: Any  # BitMap of keys to send to
    targets_foreign: dict[str, str | None]
    blocked: int
    cost: int
    send_at: dt.datetime
    delayed_by: str
    expires_at: dt.datetime
    price: billing.PriceTable
    per_operator: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.targets_keys) + len(self.targets_foreign)

    def sample(self) -> str:
        """The text as its first recipient will get it: placeholders filled with their values."""
        if not self.names:
            return self.text
        first: int | str | None = next(iter(self.targets_keys), None)
        if first is None:
            first = next(iter(self.targets_foreign), None)
        values = self.recipients.values.get(first) if first is not None else None
        try:
            return fill(self.text, values, self.names) if values is not None else self.text
        except ValidationFailed:
            return self.text


# --- the text -------------------------------------------------------------------------------


def prepare_text(
    session: Session, *, settings: Settings, account_id: int, kind: Kind, text: str
) -> tuple[str, sms.TextInfo]:
    """The text as it will be sent, after the content rules; raises before anything is charged."""
    if kind not in LINE_KIND_FOR:
        raise ValidationFailed(
            "نوع پیامک باید تبلیغاتی (advertising) یا اطلاع‌رسانی (informational) باشد.",
            "The kind must be advertising or informational.",
            code="kind_invalid",
            field="kind",
        )
    sms.validate_text(text, max_parts=settings.max_parts)
    forbidden = forbidden_words(session)
    names = accounts.approved_sender_names(session, account_id=account_id) if kind == "informational" else []
    violations = compliance.check(text, kind=kind, sender_names=names, forbidden_words=forbidden)
    if violations:
        first = violations[0]
        raise ComplianceViolation(
            f"متن پیامک با قوانین پیامک {'اطلاع‌رسانی' if kind == 'informational' else ''} جور نیست: {first.message}",
            f"The text breaks the rules for {kind} SMS: {first.message_en}",
            violations=[
                {"rule": v.rule, "start": v.start, "end": v.end, "message": v.message, "message_en": v.message_en}
                for v in violations
            ],
        )
    final = compliance.text_to_send(text, kind=kind, opt_out_suffix=settings.opt_out_suffix)
    return final, sms.validate_text(final, max_parts=settings.max_parts)


# --- lines ----------------------------------------------------------------------------------


def choose_line(session: Session, *, account_id: int, kind: Kind, number: str | None) -> Line:
    wanted = LINE_KIND_FOR[kind]
    if number:
        line = repo.line_by_number(session, number.strip())
        if line is None or not line.active or line.account_id not in (None, account_id):
            raise NotFound("این خط پیدا نشد.", "No such line.", code="line_not_found", field="line")
        if line.kind != wanted:
            raise ValidationFailed(
                "پیامک اطلاع‌رسانی فقط از خط خدماتی و پیامک تبلیغاتی فقط از خط تبلیغاتی فرستاده می‌شود.",
                f"A {kind} SMS needs a {wanted} line; {line.number} is a {line.kind} line.",
                code="line_wrong_kind",
                field="line",
                line_kind=line.kind,
            )
        return line
    for line in repo.lines_for_account(session, account_id=account_id):
        if line.kind == wanted:
            return line
    raise NotFound(
        "خطی از این نوع برای حساب شما نیست؛ با پشتیبانی تماس بگیرید.",
        f"The account has no {wanted} line.",
        code="no_line",
        field="line",
    )


# --- resolution -----------------------------------------------------------------------------


def plan(session: Session, *, settings: Settings, principal: Principal, request: SendRequest) -> Plan:
    now = utcnow()
    account_id = principal.account_id
    text, info = prepare_text(session, settings=settings, account_id=account_id, kind=request.kind, text=request.text)
    line = choose_line(session, account_id=account_id, kind=request.kind, number=request.line)

    send_at = now
    if request.send_at is not None:
        send_at = request.send_at if request.send_at.tzinfo else request.send_at.replace(tzinfo=settings.tz)
        if send_at < now - dt.timedelta(minutes=1):
            raise ValidationFailed(
                "زمان ارسال گذشته است.", "The send time is in the past.", code="send_at_past", field="send_at"
            )
        if send_at > now + dt.timedelta(days=settings.max_schedule_days):
            raise ValidationFailed(
                f"زمان ارسال بیش از {settings.max_schedule_days} روز دیگر است.",
                f"The send time is more than {settings.max_schedule_days} days ahead.",
                code="send_at_too_far",
                field="send_at",
                limit_days=settings.max_schedule_days,
            )
        send_at = max(send_at, now)
    delayed_by = ""
    if request.kind == "advertising":
        opening = next_opening(send_at, hours=settings.advertising_hours, tz=settings.tz)
        if opening is not None:
            send_at, delayed_by = opening, "advertising_window"

    names = placeholders(text) if request.personalise else []
    recipients = Recipients()
    recipients.add_numbers(request.recipients)
    if request.group_ids and names:
        for key, e164, values in phonebook.iter_group_recipients(
            session, account_id=account_id, group_ids=request.group_ids, with_values=True
        ):
            recipients.add_member(key, e164, values)
    elif request.group_ids:
        for batch in phonebook.iter_group_key_batches(session, account_id=account_id, group_ids=request.group_ids):
            recipients.add_key_batch(batch)
    if request.customer_ids:
        for key, e164, values in phonebook.iter_customer_recipients(
            session, account_id=account_id, customer_ids=request.customer_ids, with_values=bool(names)
        ):
            recipients.add_member(key, e164, values)
    if names and request.recipients:
        raise ValidationFailed(
            f"متن جای‌خالی «{{{names[0]}}}» دارد، اما برای شماره‌هایی که مستقیم داده شده مقداری نیست.",
            f"The text has the placeholder {{{names[0]}}}, which numbers given directly have no value for.",
            code="placeholder_missing",
            placeholder=names[0],
        )

    blocked_keys = opted_out_keys(session, account_id=account_id, line=line.number, kind=request.kind)
    if request.kind == "advertising":
        blocked_keys = blocked_keys | BlacklistCache.shared().get(session).filter_blocked(recipients.keys)
    targets = recipients.keys - blocked_keys
    blocked = len(recipients.keys) - len(targets)
    foreign = dict(recipients.foreign)

    if not targets and not foreign:
        if recipients.unique == 0 and recipients.invalid_count == 0:
            raise ValidationFailed(
                "گیرنده‌ای نیست: شماره، گروه یا مشتری انتخاب کنید.",
                "There are no recipients: give numbers, groups or customers.",
                code="no_recipients",
            )
        raise ValidationFailed(
            "هیچ گیرنده‌ای برای ارسال نماند: همه نامعتبر یا مسدود بودند.",
            "No recipient is left to send to: all were invalid or blocked.",
            code="no_valid_recipients",
            invalid=recipients.invalid_count,
            blocked=blocked,
        )

    price = billing.price_table(session, kind=request.kind, encoding=info.encoding, line=line.number)
    cost, per_operator = _cost(price, targets, foreign, info.segments, recipients, text, names, settings)
    return Plan(
        kind=request.kind, line=line, text=text, info=info, names=names, recipients=recipients,
        targets_keys=targets, targets_foreign=foreign, blocked=blocked, cost=cost, send_at=send_at,
        delayed_by=delayed_by, expires_at=send_at + dt.timedelta(hours=settings.message_validity_hours),
        price=price, per_operator=per_operator,
    )  # fmt: skip


def _cost(
    price: billing.PriceTable,
    targets: Any,
    foreign: dict[str, str | None],
    segments: int,
    recipients: Recipients,
    text: str,
    names: list[str],
    settings: Settings,
) -> tuple[int, dict[str, int]]:
    per_operator: dict[str, int] = {}
    total = 0
    if names:
        # Each recipient's own text may have its own number of parts, so each is priced alone.
        for _recipient, operator, _parts, cost, _text in _rows(price, targets, foreign, segments, recipients, text, names, settings):
            total += cost
            per_operator[operator or "other"] = per_operator.get(operator or "other", 0) + 1
        return total, per_operator
    for operator, keys in by_operator(targets).items():
        count = len(keys)
        per_operator[operator or "other"] = per_operator.get(operator or "other", 0) + count
        total += price.per_message(operator, segments) * count
    if foreign:
        per_operator["foreign"] = per_operator.get("foreign", 0) + len(foreign)
        total += price.per_message(billing.FOREIGN, segments) * len(foreign)
    return total, per_operator


def _rows(
    price: billing.PriceTable,
    targets: Any,
    foreign: dict[str, str | None],
    segments: int,
    recipients: Recipients,
    text: str,
    names: list[str],
    settings: Settings,
) -> Iterator[tuple[str, str | None, int, int, str | None]]:
    """(recipient E.164, operator, parts, price, own text or None) for every recipient."""
    base = numbers.KEY_BASE
    operator_of = numbers.operator_of_key
    for k in targets:
        key = k + base
        operator = operator_of(key)
        if names:
            own = fill(text, recipients.values.get(k, {}), names)
            parts = sms.validate_text(own, max_parts=settings.max_parts).segments
            yield f"+98{key}", operator, parts, price.per_message(operator, parts), own
        else:
            yield f"+98{key}", operator, segments, price.per_message(operator, segments), None
    for e164, _operator in foreign.items():
        if names:
            own = fill(text, recipients.values.get(e164, {}), names)
            parts = sms.validate_text(own, max_parts=settings.max_parts).segments
            yield e164, "foreign", parts, price.per_message("foreign", parts), own
        else:
            yield e164, "foreign", segments, price.per_message("foreign", segments), None


def accept(
    session: Session, *, settings: Settings, principal: Principal, request: SendRequest, idempotency_key: str | None = None
) -> Send:
    """Write the send, hold its cost and queue its messages, all in the caller's transaction.

    The same idempotency key with the same request returns the first send; with a different
    request it is refused (`idempotency_key_reused`).
    """
    fingerprint = request.fingerprint()
    if idempotency_key:
        existing = repo.send_by_key(session, account_id=principal.account_id, key=idempotency_key)
        if existing is not None:
            return _same_request(existing, fingerprint)
    p = plan(session, settings=settings, principal=principal, request=request)
    state = "scheduled" if p.send_at > utcnow() + dt.timedelta(seconds=1) else "queued"
    send = Send(
        account_id=principal.account_id, kind=p.kind, line_id=p.line.id, line_number=p.line.number, text=p.text,
        encoding=p.info.encoding, segments=p.info.segments, personalised=bool(p.names), state=state,
        recipients=p.count, blocked=p.blocked, invalid=p.recipients.invalid_count,
        duplicates=p.recipients.duplicates, cost=p.cost, send_at=p.send_at, delayed_by=p.delayed_by,
        expires_at=p.expires_at, idempotency_key=idempotency_key, request_hash=fingerprint,
    )  # fmt: skip
    if idempotency_key:
        # Two requests with one key may race (PostgreSQL): the loser's insert fails on the unique
        # key once the winner commits, and it answers with the winner's send instead.
        try:
            with session.begin_nested():
                repo.add(session, send)
        except IntegrityError:
            existing = repo.send_by_key(session, account_id=principal.account_id, key=idempotency_key)
            if existing is None:
                raise
            return _same_request(existing, fingerprint)
    else:
        repo.add(session, send)
    billing.hold(
        session, account_id=principal.account_id, amount=p.cost, ref_type="send", ref_id=send.id,
        description=f"ارسال {send.id}: {p.count} گیرنده",
    )  # fmt: skip
    status = "scheduled" if state == "scheduled" else "queued"
    if p.names:
        rows = (
            (send.id, principal.account_id, recipient, operator, parts, price, own, status, p.send_at)
            for recipient, operator, parts, price, own in _rows(
                p.price, p.targets_keys, p.targets_foreign, p.info.segments, p.recipients, p.text, p.names, settings
            )
        )
        repo.insert_messages(session, rows)
        return send
    # One text for all: the database writes the rows, one statement per operator.
    for operator, keys in by_operator(p.targets_keys).items():
        repo.insert_key_messages(
            session, send_id=send.id, account_id=principal.account_id, keys=keys.to_array(), operator=operator,
            parts=p.info.segments, price=p.price.per_message(operator, p.info.segments), status=status, due_at=p.send_at,
        )  # fmt: skip
    if p.targets_foreign:
        price = p.price.per_message(billing.FOREIGN, p.info.segments)
        repo.insert_messages(
            session,
            ((send.id, principal.account_id, e164, "foreign", p.info.segments, price, None, status, p.send_at) for e164 in p.targets_foreign),
        )
    return send


def _same_request(existing: Send, fingerprint: str) -> Send:
    if existing.request_hash != fingerprint:
        raise Conflict(
            "این کلید یکتایی (Idempotency-Key) پیش‌تر برای درخواست دیگری به کار رفته است.",
            "This Idempotency-Key was already used for a different request.",
            code="idempotency_key_reused",
            send_id=existing.id,
        )
    return existing


def find_idempotent(session: Session, *, principal: Principal, key: str, request: SendRequest) -> Send | None:
    existing = repo.send_by_key(session, account_id=principal.account_id, key=key)
    return _same_request(existing, request.fingerprint()) if existing is not None else None


# --- the status panel -----------------------------------------------------------------------


def get_send(session: Session, *, principal: Principal, send_id: int) -> Send:
    send = repo.send_by_id(session, account_id=principal.account_id, send_id=send_id)
    if send is None:
        raise NotFound("این ارسال پیدا نشد.", "No such send.", code="send_not_found")
    return send


def given_back(session: Session, *, principal: Principal, sends: Sequence[Send]) -> dict[int, int]:
    """Rials given back so far for each send (skipped at the operator, failed, expired, canceled);
    its cost less this is what it has cost the account."""
    return billing.given_back(
        session, account_id=principal.account_id, ref_type="send", ref_ids=[s.id for s in sends]
    )


def counts(session: Session, *, sends: Sequence[Send]) -> dict[int, dict[str, int]]:
    """Messages per status (the DESIGN vocabulary: `submitting` shows as `queued`) for each send."""
    raw = repo.status_counts(session, send_ids=[s.id for s in sends])
    out: dict[int, dict[str, int]] = {}
    for send_id, by_status in raw.items():
        merged: dict[str, int] = {}
        for status, n in by_status.items():
            shown = "queued" if status == "submitting" else status
            merged[shown] = merged.get(shown, 0) + n
        out[send_id] = merged
    return out


def state_of(send: Send, by_status: dict[str, int]) -> str:
    """A send's state as people read it, from its messages."""
    if send.state == "canceled":
        return "canceled"
    waiting = by_status.get("scheduled", 0) + by_status.get("queued", 0)
    if by_status.get("scheduled", 0) and waiting == by_status.get("scheduled", 0) and not by_status.get("sent"):
        return "scheduled"
    if waiting:
        return "sending" if sum(by_status.values()) > waiting else "queued"
    return "done" if all(s in FINAL_STATUSES for s in by_status if by_status[s]) else "sending"


def list_sends(
    session: Session, *, principal: Principal, limit: int, offset: int, kind: str | None = None,
    state: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
) -> tuple[Sequence[Send], int]:  # fmt: skip
    return repo.sends(
        session, account_id=principal.account_id, limit=limit, offset=offset, kind=kind, state=state, since=since,
        until=until,
    )  # fmt: skip


def list_messages(
    session: Session, *, principal: Principal, send_id: int, limit: int, offset: int, status: str | None = None,
    number: str | None = None,
) -> tuple[Sequence[Message], int]:  # fmt: skip
    get_send(session, principal=principal, send_id=send_id)
    needle = None
    if number:
        key = numbers.mobile_key(number)
        needle = numbers.key_to_e164(key) if key is not None else "".join(ch for ch in number if ch.isdigit()) or number
    return repo.messages(
        session, account_id=principal.account_id, send_id=send_id, limit=limit, offset=offset, status=status, recipient=needle
    )


def cancel(session: Session, *, principal: Principal, send_id: int) -> Send:
    """Cancel what has not left yet; its credit comes back at once."""
    send = repo.send_by_id(session, account_id=principal.account_id, send_id=send_id, for_update=True)
    if send is None:
        raise NotFound("این ارسال پیدا نشد.", "No such send.", code="send_not_found")
    if send.state == "canceled":
        return send
    now = utcnow()
    count, amount = repo.cancel_waiting(session, send_id=send.id, now=now)
    if count == 0 and send.state in ("done",):
        raise Conflict("این ارسال پایان یافته و لغوشدنی نیست.", "This send has finished.", code="send_finished")
    if amount:
        billing.release(
            session, account_id=principal.account_id, amount=amount, ref_type="send", ref_id=send.id,
            reason=f"لغو {count} پیامک ارسال {send.id}",
        )  # fmt: skip
    send.state = "canceled"
    send.canceled_at = now
    if count:
        # Imported here: the compatible APIs are built on this module.
        from payamak.compat import service as compat

        compat.record_status_changes(session, send_ids=[send.id])  # a Twilio StatusCallback, if asked for
    return send


def cancel_messages(session: Session, *, principal: Principal, message_ids: Sequence[int]) -> list[int]:
    """Cancel these messages of the account, each on its own, while they still wait (scheduled or
    queued, not yet taken by a dispatcher); the other messages of their sends go on. Returns the
    ids canceled; others' ids, unknown ids and messages that already left are passed over.

    Their credit comes back at once, one release per send. A send is marked canceled once nothing
    of it is left to go out, as a whole-send cancel would have left it.
    """
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return []
    account_id = principal.account_id
    sends = {s.id: s for s in repo.sends_of_messages(session, account_id=account_id, message_ids=wanted)}
    now = utcnow()
    canceled = repo.cancel_waiting_messages(session, account_id=account_id, message_ids=wanted, now=now)
    by_send: dict[int, list[int]] = {}
    for _message_id, send_id, price in canceled:
        by_send.setdefault(send_id, []).append(price)
    for send_id, prices in sorted(by_send.items()):
        if sum(prices):
            billing.release(
                session, account_id=account_id, amount=sum(prices), ref_type="send", ref_id=send_id,
                reason=f"لغو {len(prices)} پیامک ارسال {send_id}",
            )  # fmt: skip
    left = repo.sends_with_messages_left(session, send_ids=sorted(by_send))
    for send_id in by_send:
        send = sends[send_id]
        if send_id not in left and send.state != "canceled":
            send.state = "canceled"
            send.canceled_at = now
    # Written now: sessions do not autoflush, and the caller reads these sends back.
    session.flush()
    ids = [message_id for message_id, _send_id, _price in canceled]
    if ids:
        # Imported here: the compatible APIs are built on this module.
        from payamak.compat import service as compat

        compat.record_status_changes(session, message_ids=ids)  # a Twilio StatusCallback, if asked for
    return ids


# --- lines, words, inbound: the operator's side ---------------------------------------------


def lines_of(session: Session, *, principal: Principal) -> Sequence[Line]:
    return repo.lines_for_account(session, account_id=principal.account_id)


def add_line(
    session: Session, *, principal: Principal | None, number: str, kind: str, owner_mobile: str | None = None,
    owner_id: int | None = None, route_id: int | None = None,
) -> Line:  # fmt: skip
    """Add a sender line (admin). No owner: a shared line every account may send from."""
    if principal is not None:
        accounts.require_admin(principal)
    digits = numbers.digits_only(number)
    if not 4 <= len(digits) <= 16:
        raise ValidationFailed(
            "شمارهٔ خط باید ۴ تا ۱۶ رقم باشد.", "A line number has 4 to 16 digits.", code="line_invalid", field="number"
        )
    if kind not in ("advertising", "service"):
        raise ValidationFailed(
            "نوع خط باید advertising یا service باشد.", "The line kind must be advertising or service.",
            code="line_kind_invalid", field="kind",
        )  # fmt: skip
    if repo.line_by_number(session, digits) is not None:
        raise Conflict("این خط پیش‌تر ثبت شده است.", "This line already exists.", code="line_exists", field="number")
    if owner_mobile:
        owner_id = accounts.account_by_mobile(session, mobile=owner_mobile).id
    line = Line(number=digits, kind=kind, account_id=owner_id, route_id=route_id, active=True)
    repo.add(session, line)
    return line


def all_lines(session: Session, *, principal: Principal) -> Sequence[Line]:
    accounts.require_admin(principal)
    return repo.all_lines(session)


def remove_line(session: Session, *, principal: Principal, line_id: int) -> None:
    accounts.require_admin(principal)
    if not repo.delete_line(session, line_id):
        raise NotFound("این خط پیدا نشد.", "No such line.", code="line_not_found")


def forbidden_words(session: Session) -> list[str]:
    return [w.word for w in repo.forbidden_words(session)]


def list_forbidden_words(session: Session, *, principal: Principal) -> Sequence[ForbiddenWord]:
    accounts.require_admin(principal)
    return repo.forbidden_words(session)


def add_forbidden_word(session: Session, *, principal: Principal, word: str) -> ForbiddenWord:
    accounts.require_admin(principal)
    word = " ".join(word.split())
    if not word or len(word) > 64:
        raise ValidationFailed(
            "واژه باید ۱ تا ۶۴ نویسه باشد.", "The word must be 1 to 64 characters.", code="word_invalid", field="word"
        )
    if repo.forbidden_word(session, word) is not None:
        raise Conflict("این واژه پیش‌تر افزوده شده است.", "This word is already listed.", code="word_exists")
    record = ForbiddenWord(word=word)
    repo.add(session, record)
    return record


def remove_forbidden_word(session: Session, *, principal: Principal, word_id: int) -> None:
    accounts.require_admin(principal)
    if not repo.delete_forbidden_word(session, word_id):
        raise NotFound("این واژه پیدا نشد.", "No such word.", code="word_not_found")


def inbox(
    session: Session, *, principal: Principal, limit: int, offset: int, line: str | None = None
) -> tuple[Sequence[Any], int]:
    return repo.inbound(session, account_id=principal.account_id, limit=limit, offset=offset, line=line)


__all__ = ["ComplianceViolation", "DomainError", "Plan", "SendRequest"]


# --- checking a text as it is typed ---------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    text: str
    info: sms.TextInfo
    violations: list[compliance.Violation]
    cost_per_recipient: dict[str, int]
    sender_names: list[str]


def check_text(
    session: Session, *, settings: Settings, principal: Principal, kind: Kind | None, text: str, line: str | None = None
) -> CheckResult:
    """The `payamak check` result for the UI and integrators, with the price per recipient by operator.

    Unlike a send, a violation is an answer here, not an error; only unusable text (empty, too
    long, invalid characters) raises.
    """
    sms.validate_text(text, max_parts=settings.max_parts)
    names = accounts.approved_sender_names(session, account_id=principal.account_id) if kind == "informational" else []
    violations = compliance.check(text, kind=kind, sender_names=names, forbidden_words=forbidden_words(session)) if kind else []
    final = compliance.text_to_send(text, kind=kind, opt_out_suffix=settings.opt_out_suffix) if kind else text
    info = sms.analyse(final)
    costs: dict[str, int] = {}
    if kind is not None:
        line_number = line
        if line_number is None:
            with_line = [ln for ln in repo.lines_for_account(session, account_id=principal.account_id) if ln.kind == LINE_KIND_FOR[kind]]
            line_number = with_line[0].number if with_line else None
        table = billing.price_table(session, kind=kind, encoding=info.encoding, line=line_number)
        costs = {op: table.per_message(op, info.segments) for op in ("MCI", "Irancell", "RighTel", "other", "foreign")}
    return CheckResult(text=final, info=info, violations=violations, cost_per_recipient=costs, sender_names=names)


# --- daily totals for the status panel ------------------------------------------------------

# Final statuses of messages that did not reach the phone.
_NOT_DELIVERED = frozenset({"undelivered", "expired", "rejected", "failed", "blocked"})
# Statuses of messages that reached the operator and stay charged (by default; a route may give
# undelivered ones back, which this does not know).
_CHARGED = frozenset({"sent", "delivered", "undelivered", "expired"})


@dataclass(frozen=True)
class DayTotals:
    """One local day of an account's sends (by the day each send was made)."""

    day: dt.date
    sent: int  # reached the operator
    delivered: int
    failed: int  # ended without reaching the phone
    cost: int  # rials of the messages that reached the operator


def daily_totals(
    session: Session, *, principal: Principal, settings: Settings, days: int = 30, now: dt.datetime | None = None
) -> list[DayTotals]:
    """The last `days` local days, oldest first and today last, every day present (zeros included)."""
    days = min(max(days, 1), 366)
    tz = settings.tz
    today = (now or utcnow()).astimezone(tz).date()
    dates = [today - dt.timedelta(days=days - 1 - i) for i in range(days + 1)]
    bounds = [dt.datetime.combine(d, dt.time(), tzinfo=tz) for d in dates]
    totals = [[0, 0, 0, 0] for _ in range(days)]
    for day, status, submitted, count, price in repo.daily_message_totals(
        session, account_id=principal.account_id, bounds=bounds
    ):
        row = totals[day]
        if submitted:
            row[0] += count
            if status in _CHARGED:
                row[3] += price
        if status == "delivered":
            row[1] += count
        elif status in _NOT_DELIVERED:
            row[2] += count
    return [DayTotals(dates[i], *totals[i]) for i in range(days)]
