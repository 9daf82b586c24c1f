"""What the compatible APIs do, in Payamak's terms. Never commits; raises domain errors with stable
codes that `kavenegar.py` and `twilio.py` translate into those services' own codes and envelopes.

The kind of a message follows its sender line, as Kavenegar and Twilio know no kinds: a service
line sends informational SMS (the content rules apply, «لغو۱۱» is appended), an advertising line
advertising SMS (the blacklist, opt-outs and the sending window apply).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from payamak import numbers
from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.compat import repository as repo
from payamak.compat.models import StatusHook, Template
from payamak.config import Settings
from payamak.db import utcnow
from payamak.errors import DomainError, NotFound, ValidationFailed
from payamak.sending import optouts
from payamak.sending import service as sending
from payamak.sending.models import InboundMessage, Line, Message, Send

log = logging.getLogger("payamak.compat")

Kind = Literal["advertising", "informational"]

# Kavenegar's limits: recipients per send call, ids per status/select/cancel call.
MAX_RECEPTORS: Final = 200
MAX_IDS: Final = 500
INBOX_PAGE: Final = 100
# localid values are namespaced so they can never collide with the native Idempotency-Key.
LOCALID_PREFIX: Final = "kavenegar:"
MAX_LOCALID: Final = 100 - len(LOCALID_PREFIX)


class SenderInvalid(NotFound):
    code = "sender_invalid"


class ReceptorInvalid(ValidationFailed):
    code = "receptor_invalid"


class TemplateNotFound(NotFound):
    code = "template_not_found"


class TokenInvalid(ValidationFailed):
    code = "lookup_token_invalid"


def kind_of(line: Line) -> Kind:
    return "informational" if line.kind == "service" else "advertising"


# --- lines ----------------------------------------------------------------------------------


def sender_line(session: Session, *, principal: Principal, number: str | None) -> Line:
    """The line a message goes out from: the one named (it must be one the account may use), or
    the account's first line (its own before the shared ones), as Kavenegar's default sender."""
    lines = sending.lines_of(session, principal=principal)
    if number is None or not number.strip():
        if not lines:
            raise SenderInvalid(
                "هیچ خطی برای این حساب تعریف نشده است.", "The account has no line to send from.", field="sender"
            )
        return lines[0]
    digits = numbers.digits_only(number)
    for line in lines:
        if line.number == digits or (digits.startswith("98") and line.number == digits[2:]):
            return line
    raise SenderInvalid(
        f"خط «{number.strip()}» از خطوط این حساب نیست.",
        f"{number.strip()!r} is not a line of this account.",
        field="sender",
        value=number.strip()[:40],
    )


def own_line(session: Session, *, principal: Principal, number: str) -> Line:
    """A line that belongs to the account alone (shared lines receive nothing)."""
    line = sender_line(session, principal=principal, number=number)
    if line.account_id != principal.account_id:
        raise SenderInvalid(
            f"خط «{number}» اختصاصی این حساب نیست و پیامکی دریافت نمی‌کند.",
            f"{number!r} is a shared line and receives no SMS.",
            field="linenumber",
        )
    return line


# --- recipients -----------------------------------------------------------------------------


def parse_receptor(value: str, *, field: str = "receptor") -> str:
    """A recipient in any written form -> E.164, or `receptor_invalid` naming it."""
    info = numbers.parse(value.strip())
    if not info.valid or info.e164 is None:
        reason = info.reason or "invalid"
        raise ReceptorInvalid(
            f"گیرندهٔ «{value.strip()[:40]}» نامعتبر است: {numbers.reason_message(reason, 'fa')}",
            f"The recipient {value.strip()[:40]!r} is not valid: {numbers.reason_message(reason, 'en')}",
            field=field,
            value=value.strip()[:40],
            reason=reason,
        )
    return info.e164


def local_form(e164: str) -> str:
    """How Iranian panels write a number: 09… for Iranian mobiles, 00… for the rest."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


# --- sending --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One recipient of a compatible send call, in the order the caller gave it."""

    receptor: str  # as the caller wrote it
    e164: str
    text: str
    sender: str | None = None
    localid: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """What became of one Item: its message, or none when it was skipped (opted out, blacklisted)."""

    item: Item
    send: Send | None  # None when every recipient of its send was skipped
    line: Line
    message: Message | None


def send_items(
    session: Session,
    *,
    settings: Settings,
    principal: Principal,
    items: Sequence[Item],
    send_at: dt.datetime | None = None,
) -> list[Sent]:
    """Send each item, in one transaction: every item goes, or (on any error) none does.

    Items without a localid that share a line and a text become one send (one credit hold, one
    row in the status panel); an item with a localid is its own send keyed by it, and a localid
    this account used before gives back that first message instead of sending again.
    """
    results: dict[int, Sent] = {}
    groups: dict[tuple[int, str], list[int]] = {}
    lines: dict[str | None, Line] = {}
    for index, item in enumerate(items):
        line = lines.get(item.sender)
        if line is None:
            line = lines[item.sender] = sender_line(session, principal=principal, number=item.sender)
        if item.localid:
            results[index] = _send_keyed(session, settings=settings, principal=principal, item=item, line=line, send_at=send_at)
        else:
            groups.setdefault((line.id, item.text), []).append(index)
    by_id = {line.id: line for line in lines.values()}
    for (line_id, text), indexes in groups.items():
        line = by_id[line_id]
        recipients = list(dict.fromkeys(items[i].e164 for i in indexes))
        request = sending.SendRequest(
            kind=kind_of(line), text=text, line=line.number, recipients=tuple(recipients), send_at=send_at,
            personalise=False,
        )
        send = _accept_or_none(session, settings=settings, principal=principal, request=request)
        mine = repo.messages_of_sends(session, account_id=principal.account_id, send_ids=[send.id]) if send else []
        by_recipient = {m.recipient: m for m in mine}
        for i in indexes:
            results[i] = Sent(items[i], send, line, by_recipient.get(items[i].e164))
    return [results[i] for i in range(len(items))]


def _accept_or_none(
    session: Session, *, settings: Settings, principal: Principal, request: sending.SendRequest, key: str | None = None
) -> Send | None:
    """The send, or None when every recipient was skipped (opted out, blacklisted): the caller
    reports those recipients one by one instead of failing the call."""
    try:
        return sending.accept(session, settings=settings, principal=principal, request=request, idempotency_key=key)
    except ValidationFailed as exc:
        if exc.code == "no_valid_recipients":
            return None
        raise


def _send_keyed(
    session: Session, *, settings: Settings, principal: Principal, item: Item, line: Line, send_at: dt.datetime | None
) -> Sent:
    key = LOCALID_PREFIX + (item.localid or "")
    send = repo.send_by_key(session, account_id=principal.account_id, key=key)
    if send is None:
        request = sending.SendRequest(
            kind=kind_of(line), text=item.text, line=line.number, recipients=(item.e164,), send_at=send_at,
            personalise=False,
        )
        send = _accept_or_none(session, settings=settings, principal=principal, request=request, key=key)
    found = repo.messages_of_sends(session, account_id=principal.account_id, send_ids=[send.id]) if send else []
    return Sent(item, send, line, found[0] if found else None)


def check_localids(localids: Sequence[str], *, field: str) -> None:
    for value in localids:
        if len(value) > MAX_LOCALID:
            raise ValidationFailed(
                f"شناسهٔ محلی «{value[:20]}…» بلندتر از {MAX_LOCALID} نویسه است.",
                f"A local id is longer than {MAX_LOCALID} characters.",
                code="localid_invalid",
                field=field,
            )


def messages(session: Session, *, principal: Principal, ids: Sequence[int]) -> dict[int, tuple[Message, Send]]:
    """The account's messages among `ids` (others' and unknown ids are simply absent)."""
    return repo.messages_with_sends(session, account_id=principal.account_id, message_ids=list(dict.fromkeys(ids)))


def by_localids(
    session: Session, *, principal: Principal, localids: Sequence[str]
) -> dict[str, tuple[Message, Send]]:
    """The message each localid sent (one recipient each), for those this account used."""
    out: dict[str, tuple[Message, Send]] = {}
    for localid in dict.fromkeys(localids):
        send = repo.send_by_key(session, account_id=principal.account_id, key=LOCALID_PREFIX + localid)
        if send is None:
            continue
        found = repo.messages_of_sends(session, account_id=principal.account_id, send_ids=[send.id])
        if found:
            out[localid] = (found[0], send)
    return out


def cancel_messages(session: Session, *, principal: Principal, ids: Sequence[int]) -> dict[int, tuple[Message, Send]]:
    """Cancel each of these messages that has not left yet, and only those (as Kavenegar cancels
    per messageid): the other recipients of the same call still go. Their credit comes back, and
    their status callbacks are queued, as with any cancel. Returns the account's messages among
    `ids` as they are now."""
    sending.cancel_messages(session, principal=principal, message_ids=ids)
    found = messages(session, principal=principal, ids=ids)
    for message, send in found.values():
        session.refresh(message)
        session.refresh(send)
    return found


# --- templates (verify/lookup) --------------------------------------------------------------

TOKEN_NAMES: Final = ("token", "token2", "token3", "token10", "token20")
# The most spaces each token may hold, and the longest a token may be (Kavenegar's rules).
TOKEN_SPACES: Final = {"token": 0, "token2": 0, "token3": 0, "token10": 5, "token20": 8}
TOKEN_MAX: Final = 100
# %token, %token2, %token3, %token10, %token20; a closing % is allowed too (%token%), as some
# panels write it, unless it starts the next placeholder.
PLACEHOLDER: Final = re.compile(r"%(token(?:20|10|2|3)?)(?![0-9])(?:%(?!token))?")
TEMPLATE_NAME: Final = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


def placeholders_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)))


def fill_template(text: str, tokens: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: tokens.get(m.group(1), ""), text)


def check_tokens(text: str, tokens: Mapping[str, str]) -> None:
    for name in placeholders_in(text):
        value = tokens.get(name, "")
        if not value:
            raise TokenInvalid(
                f"الگو «%{name}» دارد، اما مقداری برای {name} داده نشده است.",
                f"The template has %{name} but no {name} was given.",
                field=name,
            )
    for name, value in tokens.items():
        if len(value) > TOKEN_MAX or value.count(" ") > TOKEN_SPACES[name] or "\n" in value:
            spaces = TOKEN_SPACES[name]
            raise TokenInvalid(
                f"مقدار {name} درست نیست: حداکثر {TOKEN_MAX} نویسه"
                + (f" و حداکثر {spaces} فاصله" if spaces else " و بدون فاصله"),
                f"{name} is not valid: at most {TOKEN_MAX} characters"
                + (f" and {spaces} spaces" if spaces else " and no spaces"),
                field=name,
            )


def template_named(session: Session, *, principal: Principal, name: str) -> Template:
    found = repo.template(session, account_id=principal.account_id, name=name.strip())
    if found is None:
        raise TemplateNotFound(
            f"الگوی «{name.strip()[:100]}» برای این حساب تأیید نشده است.",
            f"No approved template named {name.strip()[:100]!r} for this account.",
            field="template",
        )
    return found


def templates_of(session: Session, *, principal: Principal) -> Sequence[Template]:
    return repo.templates(session, account_id=principal.account_id)


def lookup(
    session: Session,
    *,
    settings: Settings,
    principal: Principal,
    template: str,
    receptor: str,
    tokens: Mapping[str, str],
) -> Sent:
    """Kavenegar's verify/lookup: fill an approved template and send it as an informational SMS
    from the account's service line (the content rules run on the filled text)."""
    found = template_named(session, principal=principal, name=template)
    check_tokens(found.text, tokens)
    e164 = parse_receptor(receptor)
    line = sending.choose_line(session, account_id=principal.account_id, kind="informational", number=None)
    item = Item(receptor=receptor.strip(), e164=e164, text=fill_template(found.text, tokens), sender=line.number)
    return send_items(session, settings=settings, principal=principal, items=[item])[0]


def approve_template(
    session: Session, *, settings: Settings, mobile: str, name: str, text: str, approver_id: int | None = None
) -> Template:
    """Operator: approve (or replace the text of) a lookup template for the account of `mobile`.

    A template whose every use would be refused is not approved: it must hold %token, and with
    its placeholders filled it must pass the informational rules (it goes out from a service line).
    """
    account = accounts.account_by_mobile(session, mobile=mobile)
    name = name.strip()
    if not TEMPLATE_NAME.match(name):
        raise ValidationFailed(
            "نام الگو باید ۱ تا ۱۰۰ نویسه از حروف و رقم‌های انگلیسی، _ ، - یا . باشد.",
            "A template name has 1 to 100 English letters, digits, _, - or .",
            code="template_name_invalid",
            field="name",
        )
    text = text.strip()
    if "token" not in placeholders_in(text):
        raise ValidationFailed(
            "متن الگو باید %token را داشته باشد.", "The template text must hold %token.",
            code="template_without_token", field="text",
        )  # fmt: skip
    owner = Principal(account_id=account.id, role=account.role)
    sample = fill_template(text, dict.fromkeys(TOKEN_NAMES, "0"))
    result = sending.check_text(session, settings=settings, principal=owner, kind="informational", text=sample)
    if result.violations:
        first = result.violations[0]
        raise sending.ComplianceViolation(
            f"الگو با قوانین پیامک اطلاع‌رسانی جور نیست: {first.message}",
            f"The template breaks the rules for informational SMS: {first.message_en}",
            violations=[{"rule": v.rule, "message": v.message, "message_en": v.message_en} for v in result.violations],
        )
    record = repo.template(session, account_id=account.id, name=name)
    now = utcnow()
    if record is None:
        record = Template(account_id=account.id, name=name, text=text, approved_at=now, approved_by=approver_id)
        repo.add(session, record)
    else:
        record.text, record.approved_at, record.approved_by = text, now, approver_id
    return record


def revoke_template(session: Session, *, mobile: str, name: str) -> None:
    account = accounts.account_by_mobile(session, mobile=mobile)
    if not repo.delete_template(session, account_id=account.id, name=name.strip()):
        raise TemplateNotFound("چنین الگویی نیست.", "No such template.", field="name")


# --- inbound (Kavenegar receive) ------------------------------------------------------------


def receive(session: Session, *, principal: Principal, line_number: str, unread: bool) -> Sequence[InboundMessage]:
    """Unread SMS to one of the account's lines (which then count as read), oldest first; or the
    latest ones already read."""
    line = own_line(session, principal=principal, number=line_number)
    cursor = repo.inbox_cursor(session, account_id=principal.account_id, line=line.number)
    last = cursor.last_id if cursor is not None else 0
    if not unread:
        return repo.inbound_up_to(session, account_id=principal.account_id, line=line.number, last_id=last, limit=INBOX_PAGE)
    rows = repo.inbound_after(session, account_id=principal.account_id, line=line.number, after_id=last, limit=INBOX_PAGE)
    if rows:
        repo.set_inbox_cursor(session, account_id=principal.account_id, line=line.number, last_id=rows[-1].id)
    return rows


# --- Twilio ---------------------------------------------------------------------------------

TWILIO_API_VERSION: Final = "2010-04-01"
_SID = re.compile(r"^(AC|SM|MG)([0-9a-f]{32})$")


def sid(prefix: Literal["AC", "SM", "MG"], number: int) -> str:
    """A Twilio-shaped id (two letters and 32 hex digits) for an account, message or line id."""
    return f"{prefix}{number:032x}"


def sid_number(value: str, prefix: Literal["AC", "SM", "MG"]) -> int | None:
    match = _SID.match(value.strip())
    if match is None or match.group(1) != prefix:
        return None
    number = int(match.group(2), 16)
    # Ids are 64-bit signed in the database: anything larger names nothing.
    return number if number < 2**63 else None


def account_sid(account_id: int) -> str:
    return sid("AC", account_id)


# Our statuses as Twilio's, with the Twilio error code that explains a failure.
TWILIO_STATUS: Final[dict[str, tuple[str, int | None]]] = {
    "scheduled": ("scheduled", None),
    "queued": ("queued", None),
    "submitting": ("sending", None),
    "sent": ("sent", None),
    "delivered": ("delivered", None),
    "undelivered": ("undelivered", 30003),
    "rejected": ("undelivered", 30007),
    "blocked": ("undelivered", 30007),
    "failed": ("failed", 30008),
    "canceled": ("canceled", None),
}
TWILIO_ERRORS: Final[dict[int, str]] = {
    30001: "Queue overflow: the message expired before it could be sent",
    30003: "Unreachable destination handset",
    30007: "Message filtered: refused by the operator or the recipient is on the advertising blacklist",
    30008: "Unknown error",
}


def twilio_status(message: Message, status: str | None = None) -> tuple[str, int | None]:
    """(Twilio status, Twilio error code or None) of one of our messages, as it is or as it was
    when it had `status`."""
    status = status or message.status
    if status == "expired":
        # Expired after the operator took it: it never reached the phone; before: it never left.
        return ("undelivered", 30003) if message.submitted_at is not None else ("failed", 30001)
    return TWILIO_STATUS.get(status, ("queued", None))


def twilio_line(session: Session, *, principal: Principal, from_: str | None, service_sid: str | None) -> Line:
    """The line of `From` (a line number), or of `MessagingServiceSid` (MG + the line's id)."""
    if service_sid:
        line_id = sid_number(service_sid, "MG")
        for line in sending.lines_of(session, principal=principal):
            if line.id == line_id:
                return line
        raise SenderInvalid(
            "این MessagingServiceSid به خطی از این حساب نمی‌رسد.",
            f"{service_sid!r} is not a messaging service of this account.",
            field="MessagingServiceSid",
        )
    return sender_line(session, principal=principal, number=from_ or "")


@dataclass(frozen=True, slots=True)
class TwilioMessage:
    message: Message
    send: Send


def twilio_create(
    session: Session,
    *,
    settings: Settings,
    principal: Principal,
    api_key: str,
    to: str,
    line: Line,
    body: str,
    send_at: dt.datetime | None,
    status_callback: str | None,
) -> TwilioMessage:
    """One SMS to one recipient; an opted-out or blacklisted recipient is refused, not skipped."""
    e164 = parse_receptor(to, field="To")
    kind = kind_of(line)
    if optouts.is_opted_out(session, number=e164, line=line.number, account_id=principal.account_id, kind=kind):
        raise ValidationFailed(
            "گیرنده ارسال از این خط را لغو کرده است (پاسخ STOP یا ۱۱).",
            "The recipient has unsubscribed from this line (replied STOP or 11).",
            code="recipient_unsubscribed",
            field="To",
        )
    item = Item(receptor=to, e164=e164, text=body, sender=line.number)
    sent = send_items(session, settings=settings, principal=principal, items=[item], send_at=send_at)[0]
    if sent.send is None or sent.message is None:
        raise ValidationFailed(
            "گیرنده در لیست سیاه پیامک تبلیغاتی است.",
            "The recipient is on the advertising blacklist.",
            code="recipient_unsubscribed",
            field="To",
        )
    if status_callback:
        repo.add(
            session,
            StatusHook(
                send_id=sent.send.id, account_id=principal.account_id, url=status_callback,
                sealed_key=seal(settings.signing_key, api_key),
            ),
        )  # fmt: skip
        record_status_changes(session, message_ids=[sent.message.id])
    return TwilioMessage(sent.message, sent.send)


def twilio_get(session: Session, *, principal: Principal, message_sid: str) -> TwilioMessage:
    number = sid_number(message_sid, "SM")
    found = messages(session, principal=principal, ids=[number]).get(number) if number is not None else None
    if found is None:
        raise NotFound("این پیامک پیدا نشد.", f"No message {message_sid[:40]!r}.", code="message_not_found")
    return TwilioMessage(*found)


def twilio_cancel(session: Session, *, principal: Principal, message_sid: str) -> TwilioMessage:
    found = twilio_get(session, principal=principal, message_sid=message_sid)
    cancel_messages(session, principal=principal, ids=[found.message.id])
    return found


def twilio_page(
    session: Session,
    *,
    principal: Principal,
    page_size: int,
    before_id: int | None,
    to: str | None,
    from_: str | None,
    sent_from: dt.datetime | None,
    sent_until: dt.datetime | None,
    after_id: int | None = None,
    offset: int = 0,
) -> list[TwilioMessage]:
    """A page of the account's messages, newest first: before `before_id` or just after
    `after_id` (the ids of a page token), or else skipping `offset` of them."""
    to_e164 = None
    if to:
        info = numbers.parse(to)
        to_e164 = info.e164 or to.strip()
    line = numbers.digits_only(from_) if from_ else None
    rows = repo.message_page(
        session, account_id=principal.account_id, limit=page_size, before_id=before_id, after_id=after_id,
        offset=offset, to=to_e164, line=line, sent_from=sent_from, sent_until=sent_until,
    )  # fmt: skip
    return [TwilioMessage(m, s) for m, s in rows]


# --- status callbacks: the outbox -----------------------------------------------------------

# The statuses reported to a StatusCallback; waiting states are not news.
CALLBACK_STATUSES: Final = frozenset(
    {"sent", "delivered", "undelivered", "expired", "rejected", "failed", "blocked", "canceled"}
)


def record_status_changes(
    session: Session,
    *,
    message_ids: Sequence[int] = (),
    send_ids: Sequence[int] = (),
    sent_first: Collection[int] = (),
) -> int:
    """For the dispatcher (and any code that changes a message's status): queue a status callback
    for each given message whose send asked for one, in the caller's transaction.

    Call it after writing the new statuses, in the same transaction, with the ids of every message
    whose status may have changed (or the ids of whole sends): the message's status is read back
    here, so passing a message that did not change, or passing the same change twice, queues
    nothing new. `sent_first` names messages that were sent and got their final status in the
    same write (the receipt came before the submit's result): `sent` is queued before it, as
    Twilio always reports it. Messages of sends without a StatusCallback cost one indexed query
    per 500 ids. Returns how many callbacks were queued.
    """
    if send_ids:
        # Only hooked sends are read whole: an unhooked send may have a million messages.
        send_ids = sorted(hooked_sends(session, send_ids=send_ids))
    if not message_ids and not send_ids:
        return 0
    now = utcnow()
    first = set(sent_first)
    rows: list[dict[str, object]] = []
    for message_id, account_id, send_id, status in repo.hooked_messages(
        session, message_ids=message_ids, send_ids=send_ids
    ):
        if status not in CALLBACK_STATUSES:
            continue
        statuses = ("sent", status) if status != "sent" and message_id in first else (status,)
        rows.extend(
            {"account_id": account_id, "send_id": send_id, "message_id": message_id, "status": shown,
             "state": "pending", "attempts": 0, "due_at": now, "created_at": now}
            for shown in statuses
        )  # fmt: skip
    # One statement, in this order: a message's changes get ascending ids, the order they are sent in.
    return repo.insert_callbacks(session, rows)


def hooked_sends(session: Session, *, send_ids: Iterable[int]) -> set[int]:
    """Which of these sends asked for status callbacks (one primary-key query, all ids in one parameter)."""
    return repo.hooked_sends(session, send_ids=send_ids)


def record_batch_changes(
    session: Session, *, changes: Sequence[tuple[int, int]], sent_first: Collection[int] = ()
) -> int:
    """For the dispatcher, once a batch's statuses are written: `changes` holds (message id, send
    id) of every message the batch may have moved. Costs one query on the hooks table when none
    of those sends asked for callbacks (most batches), which is why the send ids come along."""
    if not changes:
        return 0
    hooked = hooked_sends(session, send_ids={send_id for _message_id, send_id in changes})
    if not hooked:
        return 0
    ids = [message_id for message_id, send_id in changes if send_id in hooked]
    return record_status_changes(session, message_ids=ids, sent_first=sent_first)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1, keyed with the auth token, of the URL followed by each
    POST parameter's name and value in name order."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def callback_params(message: Message, send: Send, status: str | None = None) -> dict[str, str]:
    """The form a StatusCallback receives, for the change of `message` to `status` (default: now)."""
    shown, error = twilio_status(message, status)
    params = {
        "AccountSid": account_sid(send.account_id),
        "ApiVersion": TWILIO_API_VERSION,
        "From": send.line_number,
        "MessageSid": sid("SM", message.id),
        "MessageStatus": shown,
        "SmsSid": sid("SM", message.id),
        "SmsStatus": shown,
        "To": message.recipient,
    }
    if error is not None:
        params["ErrorCode"] = str(error)
    return params


# --- keeping the signing key ----------------------------------------------------------------
# The callback must be signed with the caller's API key, which is stored only as a hash. It is kept
# with the hook encrypted under the site's secret key: an HMAC-SHA256 keystream (a PRF in counter
# mode) and an HMAC-SHA256 tag over nonce and ciphertext (encrypt-then-MAC), which needs nothing
# beyond the standard library.


def _subkeys(secret: bytes) -> tuple[bytes, bytes]:
    return (
        hmac.new(secret, b"payamak compat seal: encryption", hashlib.sha256).digest(),
        hmac.new(secret, b"payamak compat seal: authentication", hashlib.sha256).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(length // 32 + 1))
    return b"".join(blocks)[:length]


def seal(secret: bytes, value: str) -> str:
    enc, mac = _subkeys(secret)
    nonce = secrets.token_bytes(16)
    plain = value.encode()
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(enc, nonce, len(plain)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(secret: bytes, sealed: str) -> str | None:
    """The value, or None when it was sealed under another secret or altered."""
    enc, mac = _subkeys(secret)
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except ValueError:
        return None
    if len(raw) < 48:
        return None
    nonce, cipher, tag = raw[:16], raw[16:-32], raw[-32:]
    if not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()):
        return None
    return bytes(a ^ b for a, b in zip(cipher, _keystream(enc, nonce, len(cipher)), strict=True)).decode()


# --- inbound keywords (Twilio's Advanced Opt-Out) -------------------------------------------

Keyword = Literal["stop", "start", "help"]
_EXTRA_START: Final = frozenset({"yes"})
_HELP: Final = frozenset({"help", "info", "راهنما"})
REPLIES: Final[dict[Keyword, tuple[str, str]]] = {
    "stop": (
        "ارسال پیامک از این خط به شما لغو شد. برای دریافت دوباره ۱۲ یا START بفرستید.",
        "You have successfully been unsubscribed. You will not receive any more messages from this number. "
        "Reply START to resubscribe.",
    ),
    "start": (
        "دریافت پیامک از این خط دوباره برقرار شد. برای لغو ۱۱ یا STOP بفرستید.",
        "You have successfully been re-subscribed to messages from this number. Reply STOP to unsubscribe.",
    ),
    "help": (
        "برای لغو دریافت پیامک از این خط ۱۱ یا STOP و برای دریافت دوباره ۱۲ یا START بفرستید.",
        "Reply STOP to unsubscribe, START to resubscribe.",
    ),
}


def keyword(text: str) -> Keyword | None:
    """Twilio's opt-out keywords on top of Payamak's own (11 / 12 / لغو): STOP, STOPALL,
    UNSUBSCRIBE, CANCEL, END, QUIT stop; START, UNSTOP, YES start; HELP, INFO ask for help."""
    action = optouts.parse_reply(text)
    if action is not None:
        return action
    word = text.strip().strip(".!؟?").casefold()
    if word in _EXTRA_START:
        return "start"
    if word in _HELP:
        return "help"
    return None


@dataclass(frozen=True, slots=True)
class KeywordOutcome:
    keyword: Keyword
    changed: bool
    reply_fa: str
    reply_en: str


def handle_keyword(
    session: Session, *, line: str, from_number: str, text: str, account_id: int | None
) -> KeywordOutcome | None:
    """Act on an inbound SMS that is a keyword: opt the sender out of (or back into) the line and
    say what to answer. None for any other SMS. Idempotent, like `optouts.apply_reply`, which it
    uses for everything Payamak already knows (so calling both for one SMS changes nothing more)."""
    word = keyword(text)
    if word is None or numbers.mobile_key(from_number) is None:
        return None
    changed = False
    if word == "help":
        pass
    elif optouts.parse_reply(text) is not None:
        outcome = optouts.apply_reply(session, line=line, from_number=from_number, text=text, account_id=account_id)
        changed = bool(outcome and outcome.changed)
    else:  # YES: a start word Payamak's own replies do not know
        changed = optouts.remove_optout(session, scope="line", number=from_number, line=line)
        if account_id is not None:
            changed |= optouts.remove_optout(session, scope="account", number=from_number, account_id=account_id)
    fa, en = REPLIES[word]
    return KeywordOutcome(word, changed, fa, en)


def answer_keyword(
    session: Session,
    *,
    settings: Settings,
    line: str,
    account_id: int | None,
    to: str,
    text: str,
    outcome: KeywordOutcome,
    idempotency_key: str | None = None,
) -> Send | None:
    """Queue the answer to HELP (how to stop and start) as an SMS from the line that received it,
    to the sender, in the caller's transaction. STOP and START change what the sender gets and,
    like 11 and 12, are not answered.

    The answer is an ordinary send of the line's owner: charged, checked and shown like any other,
    in Persian unless the keyword was written in Latin letters, and from a service line headed by
    the owner's approved sender name as the informational rules want. Nothing is sent (None) for
    a shared line (no one to charge it to) or when the send is refused (no credit, the sender is
    blacklisted...). The same `idempotency_key` answers once.
    """
    if outcome.keyword != "help" or account_id is None:
        return None
    owner = Principal(account_id=account_id, role="user")
    found = next((item for item in sending.lines_of(session, principal=owner) if item.number == line), None)
    if found is None or found.account_id != account_id:
        return None
    kind = kind_of(found)
    body = outcome.reply_en if text.strip().isascii() else outcome.reply_fa
    if kind == "informational":
        names = accounts.approved_sender_names(session, account_id=account_id)
        if not names:
            log.warning("HELP to line %s not answered: its account has no approved sender name", line)
            return None
        body = f"{names[0]}: {body}"
    request = sending.SendRequest(kind=kind, text=body, line=line, recipients=(to,), personalise=False)
    try:
        with session.begin_nested():
            return sending.accept(
                session, settings=settings, principal=owner, request=request, idempotency_key=idempotency_key
            )
    except DomainError as exc:
        log.warning("HELP to line %s not answered: %s", line, exc.code)
        return None
