"""Kavenegar's REST API (https://api.kavenegar.com/v1/{API-KEY}/{scope}/{method}.json), served by
Payamak so that code written for Kavenegar, its official SDKs included, works unchanged.

The API key in the path is a Payamak API key (pmk_…). Parameters come as query string or form
body (GET or POST, as Kavenegar takes them). Every answer is Kavenegar's envelope
`{"return": {"status": S, "message": "…"}, "entries": …}`, and a failure also carries S as the
HTTP status, as Kavenegar does. Messages are Persian, as Kavenegar's are.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from payamak.accounts import service as accounts
from payamak.accounts.security import API_KEY_PREFIX
from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.compat import service
from payamak.compat.service import MAX_IDS, MAX_RECEPTORS, Item, Sent
from payamak.context import Context
from payamak.errors import DomainError, NotFound, RateLimited, Unauthenticated
from payamak.sending.models import Message, Send

router = APIRouter(include_in_schema=False)

Params = dict[str, list[str]]

OK_MESSAGE: Final = "تایید شد"
# Kavenegar's documented return statuses and their messages.
MESSAGES: Final[dict[int, str]] = {
    400: "پارامترها ناقص هستند",
    401: "حساب کاربری غیرفعال شده است",
    402: "عملیات ناموفق بود",
    403: "کد شناسائی API-Key معتبر نمی‌باشد",
    404: "متد نامشخص است",
    405: "متد Get/Post اشتباه است",
    406: "پارامترهای اجباری خالی ارسال شده اند",
    411: "دریافت کننده نامعتبر است",
    412: "ارسال کننده نامعتبر است",
    413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد",
    414: "حجم درخواست بیشتر از حد مجاز است",
    417: "تاریخ ارسال اشتباه است و فرمت آن صحیح نمی باشد",
    418: "اعتبار شما کافی نمی‌باشد",
    419: "طول آرایه متن و گیرنده و فرستنده هم اندازه نیست",
    420: "استفاده از لینک در متن پیام برای شما محدود شده است",
    422: "داده ها به دلیل وجود کاراکتر نامناسب قابل پردازش نیست",
    424: "الگوی مورد نظر پیدا نشد",
    428: "ارسال کد از طریق تماس تلفنی امکان پذیر نیست",
    429: "IP محدود شده است",
    431: "ساختار کد صحیح نمی‌باشد",
    432: "پارامتر کد در متن پیام پیدا نشد",
    451: "فراخوانی بیش از حد در بازه زمانی مشخص IP محدود شده",
}

# Message statuses (Kavenegar's numbers and texts) for ours.
STATUS_CODE: Final[dict[str, int]] = {
    "scheduled": 2,
    "queued": 1,
    "submitting": 1,
    "sent": 4,
    "delivered": 10,
    "undelivered": 11,
    "expired": 11,
    "rejected": 6,
    "failed": 6,
    "blocked": 14,
    "canceled": 13,
}
STATUS_TEXT: Final[dict[int, str]] = {
    1: "در صف ارسال",
    2: "زمان بندی شده",
    4: "ارسال به مخابرات",
    5: "ارسال به مخابرات",
    6: "خطا در ارسال پیام",
    10: "رسیده به گیرنده",
    11: "نرسیده به گیرنده",
    13: "لغو شده",
    14: "بلاک شده است، عدم تمایل گیرنده به دریافت پیامک از خطوط تبلیغاتی",
    100: "شناسه پیامک نامعتبر است",
}
UNKNOWN_ID: Final = 100

# Our error codes as Kavenegar's return statuses.
ERROR_STATUS: Final[dict[str, int]] = {
    "receptor_invalid": 411,
    "sender_invalid": 412,
    "line_not_found": 412,
    "no_line": 412,
    "line_wrong_kind": 412,
    "text_empty": 413,
    "text_too_long": 413,
    "text_invalid_characters": 422,
    "text_control_characters": 422,
    "insufficient_credit": 418,
    "send_at_past": 417,
    "send_at_too_far": 417,
    "template_not_found": 424,
    "lookup_token_invalid": 431,
    "placeholder_missing": 422,
}


class KavenegarError(Exception):
    """A failure to answer with Kavenegar's status `status` and a Persian message."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(status, ""))
        self.status = status
        self.message = message or MESSAGES.get(status, MESSAGES[402])


def status_of(error: DomainError) -> int:
    if error.code == "compliance_violation":
        rules = [v.get("rule") for v in error.extra.get("violations", [])]
        return 420 if rules[:1] == ["link"] else 422
    if error.code in ERROR_STATUS:
        return ERROR_STATUS[error.code]
    if isinstance(error, RateLimited):
        # Kavenegar's 429 is an IP that is barred outright; too many calls in a while is its 451.
        return 451
    if isinstance(error, Unauthenticated):
        return 403
    if isinstance(error, NotFound):
        return 400
    return 400 if error.code.endswith(("_invalid", "_required")) or error.code == "validation_error" else 402


def envelope(status: int, message: str, entries: Any = None) -> JSONResponse:
    http = status if 400 <= status <= 599 else 200
    return JSONResponse({"return": {"status": status, "message": message}, "entries": entries}, status_code=http)


# --- parameters -----------------------------------------------------------------------------


def _name(key: str) -> str:
    return key[:-2] if key.endswith("[]") else key


def missing(params: Params, name: str) -> KavenegarError:
    """A required parameter without a value: Kavenegar's 400 when it was not sent at all, its 406
    when it was sent empty."""
    if name in params:
        return KavenegarError(406, f"{MESSAGES[406]}: {name}")
    return KavenegarError(400, f"پارامتر {name} لازم است و فرستاده نشده است.")


def one(params: Params, name: str, *, required: bool = False) -> str | None:
    values = [v for v in params.get(name, []) if v.strip()]
    if not values:
        if required:
            raise missing(params, name)
        return None
    # Repeated keys (receptor=a&receptor=b) are what some clients send for a list.
    return ",".join(values)


def csv(params: Params, name: str, *, required: bool = False) -> list[str]:
    value = one(params, name, required=required)
    if value is None:
        return []
    stripped = value.strip()
    if stripped.startswith("["):
        return array(params, name, required=required)
    parts = [part.strip() for part in stripped.split(",") if part.strip()]
    if required and not parts:
        raise missing(params, name)
    return parts


def array(params: Params, name: str, *, required: bool = False) -> list[str]:
    """A JSON array given as one value (as Kavenegar documents), or the values of a repeated key."""
    values = params.get(name, [])
    if len(values) == 1 and values[0].strip().startswith("["):
        try:
            parsed = json.loads(values[0])
        except ValueError:
            raise KavenegarError(400, f"پارامتر {name} آرایهٔ JSON درستی نیست.") from None
        if not isinstance(parsed, list) or not all(isinstance(v, str | int | float) for v in parsed):
            raise KavenegarError(400, f"پارامتر {name} باید آرایه‌ای از متن یا عدد باشد.")
        values = [str(v) if not isinstance(v, float) else str(int(v)) for v in parsed]
    if required and not [v for v in values if str(v).strip()]:
        raise missing(params, name)
    return [str(v) for v in values]


def ids(params: Params, name: str = "messageid") -> list[int]:
    values = csv(params, name, required=True)
    if len(values) > MAX_IDS:
        raise KavenegarError(414, f"حجم درخواست بیشتر از حد مجاز است: هر فراخوانی حداکثر {MAX_IDS} شناسه.")
    out = []
    for value in values:
        if not value.isdigit() or len(value) > 18:
            raise KavenegarError(400, f"شناسهٔ «{value[:20]}» عدد نیست.")
        out.append(int(value))
    return out


def date(params: Params) -> dt.datetime | None:
    value = one(params, "date")
    if value is None or value.strip() == "0":
        return None
    try:
        return dt.datetime.fromtimestamp(int(value.strip()), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise KavenegarError(417, "تاریخ ارسال باید زمان یونیکس (ثانیه) باشد.") from None


def check_flag(params: Params, name: str, allowed: Sequence[str]) -> None:
    value = one(params, name)
    if value is not None and value.strip().lower() not in allowed:
        raise KavenegarError(400, f"مقدار {name} باید یکی از {', '.join(allowed)} باشد.")


def receptors(values: Sequence[str]) -> list[str]:
    if len(values) > MAX_RECEPTORS:
        raise KavenegarError(414, f"حجم درخواست بیشتر از حد مجاز است: هر فراخوانی حداکثر {MAX_RECEPTORS} گیرنده.")
    return [service.parse_receptor(v) for v in values]


# --- entries --------------------------------------------------------------------------------


def status_code(message: Message, send: Send | None) -> int:
    if send is not None and send.state == "canceled" and message.status in ("scheduled", "queued"):
        return 13
    return STATUS_CODE.get(message.status, 1)


def message_entry(message: Message, send: Send) -> dict[str, Any]:
    code = status_code(message, send)
    return {
        "messageid": message.id,
        "message": message.text if message.text is not None else send.text,
        "status": code,
        "statustext": STATUS_TEXT[code],
        "sender": send.line_number,
        "receptor": service.local_form(message.recipient),
        "date": int(send.send_at.timestamp()),
        "cost": message.price,
    }


def sent_entry(sent: Sent) -> dict[str, Any]:
    if sent.message is not None and sent.send is not None:
        return message_entry(sent.message, sent.send)
    # Skipped before charging (opted out, or blacklisted for advertising): Kavenegar's «blocked».
    return {
        "messageid": 0,
        "message": sent.item.text,
        "status": 14,
        "statustext": STATUS_TEXT[14],
        "sender": sent.line.number,
        "receptor": service.local_form(sent.item.e164),
        "date": int((sent.send.send_at if sent.send else dt.datetime.now(dt.UTC)).timestamp()),
        "cost": 0,
    }


def unknown_entry(message_id: int) -> dict[str, Any]:
    return {"messageid": message_id, "status": UNKNOWN_ID, "statustext": STATUS_TEXT[UNKNOWN_ID]}


def status_entries(wanted: Sequence[int], found: dict[int, tuple[Message, Send]]) -> list[dict[str, Any]]:
    """One short status entry per asked id, in the order asked: what status and cancel answer."""
    out = []
    for message_id in wanted:
        if message_id not in found:
            out.append(unknown_entry(message_id))
            continue
        code = status_code(*found[message_id])
        out.append({"messageid": message_id, "status": code, "statustext": STATUS_TEXT[code]})
    return out


# --- methods --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    ctx: Context
    principal: Principal
    params: Params


Handler = Callable[[Call], Any]


def _send(call: Call) -> Any:
    values = csv(call.params, "receptor", required=True)
    text = one(call.params, "message", required=True) or ""
    localids = csv(call.params, "localid")
    if localids and len(localids) != len(values):
        raise KavenegarError(419, "تعداد localid با تعداد گیرندگان برابر نیست.")
    service.check_localids(localids, field="localid")
    check_flag(call.params, "type", ("0", "1", "2", "3"))
    check_flag(call.params, "hide", ("0", "1", "true", "false"))
    send_at = date(call.params)
    sender = one(call.params, "sender")
    e164s = receptors(values)
    items = [
        Item(receptor=value, e164=e164, text=text, sender=sender, localid=localids[i] if localids else None)
        for i, (value, e164) in enumerate(zip(values, e164s, strict=True))
    ]
    with call.ctx.db.transaction() as session:
        sent = service.send_items(session, settings=call.ctx.settings, principal=call.principal, items=items, send_at=send_at)
        return [sent_entry(s) for s in sent]


def _sendarray(call: Call) -> Any:
    values = array(call.params, "receptor", required=True)
    senders = array(call.params, "sender", required=True)
    texts = array(call.params, "message", required=True)
    localids = array(call.params, "localmessageids")
    types = array(call.params, "type")
    if not len(values) == len(senders) == len(texts) or (localids and len(localids) != len(values)) or (
        types and len(types) != len(values)
    ):
        raise KavenegarError(419)
    service.check_localids(localids, field="localmessageids")
    if any(t not in ("0", "1", "2", "3") for t in types):
        raise KavenegarError(400, "مقدار type باید یکی از 0، 1، 2 یا 3 باشد.")
    check_flag(call.params, "hide", ("0", "1", "true", "false"))
    send_at = date(call.params)
    e164s = receptors(values)
    items = [
        Item(receptor=values[i], e164=e164s[i], text=texts[i], sender=senders[i], localid=localids[i] if localids else None)
        for i in range(len(values))
    ]
    if any(not item.text.strip() for item in items):
        raise KavenegarError(413)
    with call.ctx.db.transaction() as session:
        sent = service.send_items(session, settings=call.ctx.settings, principal=call.principal, items=items, send_at=send_at)
        return [sent_entry(s) for s in sent]


def _status(call: Call) -> Any:
    wanted = ids(call.params)
    with call.ctx.db.transaction(readonly=True) as session:
        found = service.messages(session, principal=call.principal, ids=wanted)
        return status_entries(wanted, found)


def _statuslocalmessageid(call: Call) -> Any:
    localids = csv(call.params, "localid", required=True)
    if len(localids) > MAX_IDS:
        raise KavenegarError(414)
    with call.ctx.db.transaction(readonly=True) as session:
        found = service.by_localids(session, principal=call.principal, localids=localids)
    out = []
    for localid in localids:
        match = found.get(localid)
        if match is None:
            out.append({"messageid": 0, "localid": localid, "status": UNKNOWN_ID, "statustext": STATUS_TEXT[UNKNOWN_ID]})
            continue
        code = status_code(*match)
        out.append({"messageid": match[0].id, "localid": localid, "status": code, "statustext": STATUS_TEXT[code]})
    return out


def _select(call: Call) -> Any:
    wanted = ids(call.params)
    with call.ctx.db.transaction(readonly=True) as session:
        found = service.messages(session, principal=call.principal, ids=wanted)
        return [message_entry(*found[i]) if i in found else unknown_entry(i) for i in wanted]


def _cancel(call: Call) -> Any:
    wanted = ids(call.params)
    with call.ctx.db.transaction() as session:
        found = service.cancel_messages(session, principal=call.principal, ids=wanted)
        return status_entries(wanted, found)


def _receive(call: Call) -> Any:
    line = one(call.params, "linenumber", required=True) or ""
    isread = one(call.params, "isread", required=True) or ""
    if isread.strip().lower() not in ("0", "1", "true", "false"):
        raise KavenegarError(400, "مقدار isread باید 0 یا 1 باشد.")
    unread = isread.strip().lower() in ("0", "false")
    with call.ctx.db.transaction() as session:
        rows = service.receive(session, principal=call.principal, line_number=line, unread=unread)
        return [
            {
                "messageid": r.id,
                "message": r.text,
                "sender": service.local_form(r.sender) if r.sender.startswith("+") else r.sender,
                "receptor": r.line_number,
                "date": int(r.received_at.timestamp()),
            }
            for r in rows
        ]


def _account_info(call: Call) -> Any:
    with call.ctx.db.transaction(readonly=True) as session:
        balance = billing.balance(session, account_id=call.principal.account_id)
    # Payamak accounts do not expire; Kavenegar's expiredate is informational only.
    return {"remaincredit": balance, "expiredate": 0, "type": "master"}


def _lookup(call: Call) -> Any:
    receptor = one(call.params, "receptor", required=True) or ""
    template = one(call.params, "template", required=True) or ""
    if "," in receptor:
        raise KavenegarError(400, "verify/lookup فقط یک گیرنده می‌پذیرد.")
    kind = (one(call.params, "type") or "sms").strip().lower()
    if kind == "call":
        raise KavenegarError(428)
    if kind != "sms":
        raise KavenegarError(400, "مقدار type باید sms یا call باشد.")
    tokens = {name: value for name in service.TOKEN_NAMES if (value := one(call.params, name)) is not None}
    if "token" not in tokens:
        raise missing(call.params, "token")
    with call.ctx.db.transaction() as session:
        sent = service.lookup(
            session, settings=call.ctx.settings, principal=call.principal, template=template,
            receptor=receptor, tokens=tokens,
        )  # fmt: skip
        return [sent_entry(sent)]


@dataclass(frozen=True, slots=True)
class Method:
    handler: Handler
    params: frozenset[str]
    methods: frozenset[str] = frozenset({"GET", "POST"})


_SEND_PARAMS = frozenset({"receptor", "message", "sender", "date", "type", "localid", "hide", "tag"})
METHODS: Final[dict[tuple[str, str], Method]] = {
    ("sms", "send"): Method(_send, _SEND_PARAMS),
    ("sms", "sendarray"): Method(
        _sendarray,
        frozenset({"receptor", "sender", "message", "date", "type", "localmessageids", "hide", "tag"}),
        frozenset({"POST"}),
    ),
    ("sms", "status"): Method(_status, frozenset({"messageid"})),
    ("sms", "statuslocalmessageid"): Method(_statuslocalmessageid, frozenset({"localid"})),
    ("sms", "select"): Method(_select, frozenset({"messageid"})),
    ("sms", "cancel"): Method(_cancel, frozenset({"messageid"})),
    ("sms", "receive"): Method(_receive, frozenset({"linenumber", "isread"})),
    ("account", "info"): Method(_account_info, frozenset()),
    ("verify", "lookup"): Method(
        _lookup, frozenset({"receptor", "template", "type", "tag", *service.TOKEN_NAMES})
    ),
}


def _principal(ctx: Context, apikey: str) -> Principal:
    if not apikey.startswith(API_KEY_PREFIX):
        raise KavenegarError(403)
    try:
        with ctx.db.transaction(readonly=True) as session:
            principal = accounts.authenticate(session, token=apikey)
    except accounts.AccountDisabled:
        # Only a live key of the account gets here: a wrong or revoked key is still 403.
        raise KavenegarError(401) from None
    except Unauthenticated:
        raise KavenegarError(403) from None
    if principal.touch_due:
        with ctx.db.transaction() as session:
            accounts.touch(session, principal=principal)
    return principal


def handle(ctx: Context, apikey: str, scope: str, action: str, http_method: str, params: Params) -> JSONResponse:
    try:
        name, dot, fmt = action.rpartition(".")
        method = METHODS.get((scope.lower(), name.lower())) if dot else None
        if method is None or fmt.lower() != "json":
            raise KavenegarError(404, f"متد نامشخص است: {scope}/{action} (فقط json پشتیبانی می‌شود)")
        principal = _principal(ctx, apikey)
        if http_method not in method.methods:
            raise KavenegarError(405, f"متد {scope}/{name} را باید با POST فراخواند.")
        unknown = sorted({_name(k) for k in params} - method.params)
        if unknown:
            raise KavenegarError(400, f"پارامتر «{unknown[0]}» برای {scope}/{name} پشتیبانی نمی‌شود.")
        entries = method.handler(Call(ctx, principal, params))
    except KavenegarError as exc:
        return envelope(exc.status, exc.message)
    except DomainError as exc:
        return envelope(status_of(exc), exc.message("fa"))
    return envelope(200, OK_MESSAGE, entries)


async def parameters(request: Request) -> Params:
    params: Params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(_name(key), []).append(value)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        for key, item in form.multi_items():
            if isinstance(item, str):
                params.setdefault(_name(key), []).append(item)
    return params


@router.api_route("/v1/{apikey}/{scope}/{action}", methods=["GET", "POST"])
async def kavenegar(apikey: str, scope: str, action: str, request: Request) -> JSONResponse:
    """Every Kavenegar method: see the module docstring and docs/api.md."""
    ctx: Context = request.app.state.ctx
    try:
        params = await parameters(request)
    except (ValueError, KeyError):
        return envelope(400, "بدنهٔ درخواست خوانا نیست.")
    return await run_in_threadpool(handle, ctx, apikey, scope, action, request.method, params)
