"""Twilio's Messages resource (API version 2010-04-01), served by Payamak so that code written for
Twilio, its official SDKs included, works unchanged once pointed at Payamak.

Credentials: HTTP Basic with the AccountSid as user name and a Payamak API key (pmk_…) as the
password (Twilio's auth token). The AccountSid is "AC" and the account id in 32 hex digits; `GET
/api/v1/compat/twilio` shows it with the MessagingServiceSid of each line. Errors have Twilio's
shape `{"code", "message", "more_info", "status"}` and, where one fits, Twilio's error code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from payamak.accounts import service as accounts
from payamak.accounts.security import API_KEY_PREFIX
from payamak.accounts.service import Principal
from payamak.billing import service as billing
from payamak.compat import service
from payamak.compat.service import TWILIO_API_VERSION, TwilioMessage, account_sid, sid
from payamak.context import Context
from payamak.errors import Conflict, DomainError, NotFound, RateLimited, Unauthenticated

router = APIRouter(include_in_schema=False)

BASE: Final = f"/{TWILIO_API_VERSION}/Accounts"
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
MAX_BODY: Final = 1600

CREATE_PARAMS: Final = frozenset({"To", "From", "MessagingServiceSid", "Body", "StatusCallback", "SendAt", "ScheduleType"})
# Accepted and without effect here: they change nothing about how an SMS goes out through Payamak.
IGNORED_PARAMS: Final = frozenset({"SmartEncoded", "ProvideFeedback"})
LIST_PARAMS: Final = frozenset({"To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken"})

# Our error codes as (HTTP status, Twilio error code).
ERRORS: Final[dict[str, tuple[int, int]]] = {
    "receptor_invalid": (400, 21211),
    "sender_invalid": (400, 21606),
    "line_not_found": (400, 21606),
    "no_line": (400, 21606),
    "line_wrong_kind": (400, 21606),
    "text_empty": (400, 21602),
    "text_too_long": (400, 21617),
    "text_invalid_characters": (400, 30007),
    "text_control_characters": (400, 30007),
    "compliance_violation": (400, 30007),
    "placeholder_missing": (400, 30007),
    "recipient_unsubscribed": (400, 21610),
    "insufficient_credit": (402, 20005),
    "send_at_past": (400, 35114),
    "send_at_too_far": (400, 35114),
    "message_not_found": (404, 20404),
    "send_finished": (400, 30409),
}


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
    headers = {"WWW-Authenticate": 'Basic realm="Payamak"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def domain_error(error: DomainError, lang: str) -> TwilioError:
    status, code = ERRORS.get(error.code, (0, 0))
    if not status:
        if isinstance(error, RateLimited):
            status, code = 429, 20429
        elif isinstance(error, NotFound):
            status, code = 404, 20404
        elif isinstance(error, Conflict):
            status, code = 409, 20409
        else:
            status, code = 400, 21000
    message = error.message(lang)
    if error.code == "receptor_invalid":
        message = f"The 'To' number {error.extra.get('value', '')} is not a valid phone number. ({error.message(lang)})"
    return TwilioError(status, code, message)


def rfc2822(value: dt.datetime | None) -> str | None:
    return email.utils.format_datetime(value.astimezone(dt.UTC)).replace("-0000", "+0000") if value else None


def message_json(found: TwilioMessage) -> dict[str, Any]:
    message, send = found.message, found.send
    status, error = service.twilio_status(message)
    if send.state == "canceled" and message.status in ("scheduled", "queued"):
        status, error = "canceled", None
    account = account_sid(send.account_id)
    uri = f"{BASE}/{account}/Messages/{sid('SM', message.id)}.json"
    updated = message.done_at or message.submitted_at or send.canceled_at or send.created_at
    return {
        "account_sid": account,
        "api_version": TWILIO_API_VERSION,
        "body": message.text if message.text is not None else send.text,
        "date_created": rfc2822(send.created_at),
        "date_sent": rfc2822(message.submitted_at),
        "date_updated": rfc2822(updated),
        "direction": "outbound-api",
        "error_code": error,
        "error_message": service.TWILIO_ERRORS.get(error) if error else None,
        "from": send.line_number,
        "messaging_service_sid": sid("MG", send.line_id) if send.line_id is not None else None,
        "num_media": "0",
        "num_segments": str(message.parts),
        "price": f"-{message.price}" if message.status not in ("canceled", "blocked", "failed") else None,
        "price_unit": "IRR",
        "sid": sid("SM", message.id),
        "status": status,
        "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
        "to": message.recipient,
        "uri": uri,
    }


# --- authentication -------------------------------------------------------------------------


def authenticate(ctx: Context, request: Request, path_sid: str) -> tuple[Principal, str]:
    """The caller (and the API key that proved it) from Basic auth; the AccountSid in the path must
    be the caller's own."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = key = ""
    if scheme.lower() != "basic" or not key.startswith(API_KEY_PREFIX):
        raise TwilioError(401, 20003, "Authenticate: give the AccountSid and an API key (pmk_…) as HTTP Basic credentials")
    try:
        with ctx.db.transaction(readonly=True) as session:
            principal = accounts.authenticate(session, token=key)
    except Unauthenticated:
        raise TwilioError(401, 20003, "Authenticate: the API key is not valid or was revoked") from None
    if user != account_sid(principal.account_id):
        raise TwilioError(401, 20003, "Authenticate: the user name must be the AccountSid of the API key's account")
    if path_sid != user:
        raise TwilioError(404, 20404, f"The requested resource {request.url.path} was not found")
    if principal.touch_due:
        with ctx.db.transaction() as session:
            accounts.touch(session, principal=principal)
    return principal, key


async def form_of(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {}
    form = await request.form()
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def _lang(request: Request) -> str:
    return "fa" if request.headers.get("accept-language", "").lower().startswith("fa") else "en"


def _unsupported(params: Mapping[str, str], allowed: frozenset[str]) -> None:
    unknown = sorted(set(params) - allowed - IGNORED_PARAMS)
    if unknown:
        raise TwilioError(400, 21000, f"The parameter {unknown[0]!r} is not supported by Payamak")


# --- create ---------------------------------------------------------------------------------


def _callback_url(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 1000 or parts.username:
        raise TwilioError(400, 21609, f"The StatusCallback URL {url[:100]} is not a valid http(s) URL")
    return url


def _send_at(params: Mapping[str, str]) -> dt.datetime | None:
    value = params.get("SendAt")
    kind = params.get("ScheduleType")
    if value is None and kind is None:
        return None
    if kind != "fixed":
        raise TwilioError(400, 35111, "ScheduleType must be 'fixed' when SendAt is given")
    if not value:
        raise TwilioError(400, 35114, "SendAt is required when ScheduleType is 'fixed'")
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TwilioError(400, 35114, f"SendAt {value[:40]!r} is not an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def create(ctx: Context, request: Request, path_sid: str, params: dict[str, str]) -> JSONResponse:
    principal, key = authenticate(ctx, request, path_sid)
    _unsupported(params, CREATE_PARAMS)
    to = params.get("To", "").strip()
    if not to:
        raise TwilioError(400, 21604, "A 'To' phone number is required")
    body = params.get("Body", "")
    if not body.strip():
        raise TwilioError(400, 21602, "Message body is required")
    if len(body) > MAX_BODY:
        raise TwilioError(400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit")
    from_, service_sid = params.get("From", "").strip(), params.get("MessagingServiceSid", "").strip()
    if not from_ and not service_sid:
        raise TwilioError(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
    callback = _callback_url(params.get("StatusCallback"))
    send_at = _send_at(params)
    with ctx.db.transaction() as session:
        try:
            line = service.twilio_line(session, principal=principal, from_=from_, service_sid=service_sid)
        except service.SenderInvalid:
            shown = from_ or service_sid
            raise TwilioError(
                400, 21606, f"The From phone number {shown} is not a valid, SMS-capable phone number for your account"
            ) from None
        found = service.twilio_create(
            session, settings=ctx.settings, principal=principal, api_key=key, to=to, line=line,
            body=body, send_at=send_at, status_callback=callback,
        )  # fmt: skip
        return JSONResponse(message_json(found), status_code=201)


# --- read, list, cancel ---------------------------------------------------------------------


def fetch(ctx: Context, request: Request, path_sid: str, message_sid: str) -> JSONResponse:
    principal, _ = authenticate(ctx, request, path_sid)
    with ctx.db.transaction(readonly=True) as session:
        return JSONResponse(message_json(service.twilio_get(session, principal=principal, message_sid=message_sid)))


def update(ctx: Context, request: Request, path_sid: str, message_sid: str, params: dict[str, str]) -> JSONResponse:
    """Only what Payamak can do to a message after the fact: cancel it while it waits."""
    principal, _ = authenticate(ctx, request, path_sid)
    _unsupported(params, frozenset({"Status"}))
    if params.get("Status") != "canceled":
        raise TwilioError(400, 21000, "Only Status=canceled is supported when updating a message")
    with ctx.db.transaction() as session:
        found = service.twilio_cancel(session, principal=principal, message_sid=message_sid)
        return JSONResponse(message_json(found))


def _day(value: str, name: str) -> tuple[dt.datetime, bool]:
    """A DateSent value: (the time, whether only a date was given)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TwilioError(400, 21000, f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)), False


def listing(ctx: Context, request: Request, path_sid: str) -> JSONResponse:
    principal, _ = authenticate(ctx, request, path_sid)
    params = dict(request.query_params)
    _unsupported(params, LIST_PARAMS)
    try:
        size = int(params.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(params.get("Page", 0))
    except ValueError:
        raise TwilioError(400, 21000, "PageSize and Page must be whole numbers") from None
    if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
        raise TwilioError(400, 21000, f"PageSize must be 1 to {MAX_PAGE_SIZE}, and Page not negative")
    # A page token names the last message of the page before (PA…) or the first of the page
    # after (PB…); without one, Page counts pages of PageSize from the newest message.
    before = after = None
    if token := params.get("PageToken"):
        if token[:2] not in ("PA", "PB") or not token[2:].isdigit() or len(token) > 22:
            raise TwilioError(400, 21000, "PageToken is not valid")
        before, after = (int(token[2:]), None) if token.startswith("PA") else (None, int(token[2:]))
    sent_from = sent_until = None
    if "DateSent" in params:
        start, date_only = _day(params["DateSent"], "DateSent")
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        sent_from, sent_until = (start, start + dt.timedelta(days=1)) if date_only else (day, day + dt.timedelta(days=1))
    if "DateSent>" in params:
        sent_from, _ = _day(params["DateSent>"], "DateSent>")
    if "DateSent<" in params:
        until, date_only = _day(params["DateSent<"], "DateSent<")
        sent_until = until + dt.timedelta(days=1) if date_only else until
    with ctx.db.transaction(readonly=True) as session:
        rows = service.twilio_page(
            session, principal=principal, page_size=size, before_id=before, after_id=after,
            offset=0 if token else page * size, to=params.get("To"), from_=params.get("From"),
            sent_from=sent_from, sent_until=sent_until,
        )  # fmt: skip
        items = [message_json(r) for r in rows]
    path = f"{BASE}/{path_sid}/Messages.json"
    filters = {k: v for k, v in params.items() if k not in ("PageSize", "Page", "PageToken")}

    def uri(**extra: str | int) -> str:
        return f"{path}?{urlencode({**filters, 'PageSize': size, **extra})}"

    next_uri = uri(Page=page + 1, PageToken=f"PA{rows[-1].message.id}") if len(rows) == size else None
    previous_uri = None
    if page > 0:
        previous_uri = uri(Page=page - 1, PageToken=f"PB{rows[0].message.id}") if rows else uri(Page=page - 1)
    return JSONResponse(
        {
            "messages": items,
            "end": page * size + max(0, len(items) - 1),
            "first_page_uri": uri(Page=0),
            "next_page_uri": next_uri,
            "page": page,
            "page_size": size,
            "previous_page_uri": previous_uri,
            "start": page * size,
            "uri": uri(Page=page, **({"PageToken": params["PageToken"]} if "PageToken" in params else {})),
        }
    )


def account_resource(ctx: Context, request: Request, path_sid: str) -> JSONResponse:
    principal, _ = authenticate(ctx, request, path_sid)
    with ctx.db.transaction(readonly=True) as session:
        record = accounts.me(session, principal=principal)
    uri = f"{BASE}/{path_sid}.json"
    return JSONResponse(
        {
            "sid": path_sid,
            "owner_account_sid": path_sid,
            "friendly_name": record.name,
            "status": "active",
            "type": "Full",
            "date_created": rfc2822(record.created_at),
            "date_updated": rfc2822(record.created_at),
            "uri": uri,
            "subresource_uris": {
                "messages": f"{BASE}/{path_sid}/Messages.json",
                "balance": f"{BASE}/{path_sid}/Balance.json",
            },
        }
    )


def balance(ctx: Context, request: Request, path_sid: str) -> JSONResponse:
    principal, _ = authenticate(ctx, request, path_sid)
    with ctx.db.transaction(readonly=True) as session:
        rials = billing.balance(session, account_id=principal.account_id)
    return JSONResponse({"account_sid": path_sid, "balance": str(rials), "currency": "IRR"})


# --- routes ---------------------------------------------------------------------------------


async def _run(request: Request, fn: Any, *args: Any) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    try:
        response: JSONResponse = await run_in_threadpool(fn, ctx, request, *args)
    except TwilioError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except DomainError as exc:
        err = domain_error(exc, _lang(request))
        return error_response(err.status, err.code, err.message)
    return response


@router.post(BASE + "/{account}/Messages.json")
async def create_message(account: str, request: Request) -> JSONResponse:
    try:
        params = await form_of(request)
    except (ValueError, KeyError):
        return error_response(400, 21000, "The request body could not be read")
    return await _run(request, create, account, params)


@router.get(BASE + "/{account}/Messages.json")
async def list_messages(account: str, request: Request) -> JSONResponse:
    return await _run(request, listing, account)


@router.get(BASE + "/{account}/Messages/{message}.json")
async def fetch_message(account: str, message: str, request: Request) -> JSONResponse:
    return await _run(request, fetch, account, message)


@router.post(BASE + "/{account}/Messages/{message}.json")
async def update_message(account: str, message: str, request: Request) -> JSONResponse:
    try:
        params = await form_of(request)
    except (ValueError, KeyError):
        return error_response(400, 21000, "The request body could not be read")
    return await _run(request, update, account, message, params)


@router.get(BASE + "/{account}.json")
async def fetch_account(account: str, request: Request) -> JSONResponse:
    return await _run(request, account_resource, account)


@router.get(BASE + "/{account}/Balance.json")
async def fetch_balance(account: str, request: Request) -> JSONResponse:
    return await _run(request, balance, account)


# Every method, so that what no route above serves ends here and not in the web UI's HTML 404.
_ANY_METHOD: Final = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route(f"/{TWILIO_API_VERSION}/{{rest:path}}", methods=_ANY_METHOD)
async def unserved(rest: str, request: Request) -> JSONResponse:
    """Twilio's error shape for a resource Payamak does not serve (Calls, Media, …) and for a
    method a served resource does not take. Deleting a message is one of those: its row is the
    dispatcher's queue entry and what the send's credit is settled against, so it stays."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is not unserved:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                return error_response(405, 20004, "Method not allowed")
    return error_response(404, 20404, f"The requested resource {request.url.path} was not found")
