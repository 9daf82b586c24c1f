"""Sending advertising and informational SMS: one page in five parts, a summary, then one send.

The page posts twice: to `…/preview`, which shows what the send would do (recipients, skipped,
parts, cost, balance after) and a confirm button, then to the send itself. The confirmation
carries the fingerprint of what was previewed: if anything changed since, the new summary is
shown instead of sending. Every render carries one Idempotency-Key, so a form submitted twice
(a double click, a resubmitted page) makes one send.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jdatetime
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.api.deps import get_context
from payamak.config import Settings
from payamak.errors import DomainError
from payamak.phonebook import service as phonebook
from payamak.sending import service as sending
from payamak.sending.service import ComplianceViolation
from payamak.sending.window import parse_hours
from payamak.web import forms
from payamak.web.i18n import JALALI_MONTHS, fa_digits, translate
from payamak.web.views import check_csrf, page_principal, redirect, render

router = APIRouter(include_in_schema=False)

Kind = Literal["advertising", "informational"]
KINDS: tuple[Kind, ...] = ("advertising", "informational")
MAX_TEXT = 5000
MAX_NUMBERS = 100_000
INVALID_SHOWN = 20
# Commas (Latin and Persian), semicolons, tabs and line breaks separate numbers; spaces do not,
# since people write numbers in groups («0912 345 6789»).
_SEPARATORS = re.compile(r"[\n\r,،;؛\t]+")
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


@dataclass
class Schedule:
    """The Jalali date-time selects, as chosen or as first offered."""

    later: bool
    year: int
    month: int
    day: int
    hour: int
    minute: int


def _kind(value: str) -> Kind:
    for kind in KINDS:
        if value == kind:
            return kind
    raise StarletteHTTPException(404)


def _default_schedule(settings: Settings) -> Schedule:
    """An hour from now, on a five-minute mark, in the local time zone."""
    local = (dt.datetime.now(settings.tz) + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    local += dt.timedelta(minutes=-local.minute % 5)
    j = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
    return Schedule(False, j.year, j.month, j.day, j.hour, j.minute)


def window_notice(settings: Settings, lang: str) -> str | None:
    """The advertising window in words, from the settings (None when there is no window)."""
    hours = parse_hours(settings.advertising_hours)
    if hours is None:
        return None

    def clock(value: dt.time) -> str:
        text = str(value.hour) if value.minute == 0 else f"{value.hour}:{value.minute:02d}"
        return fa_digits(text) if lang == "fa" else text

    start, end = hours
    return translate("window_notice", lang).replace("{start}", clock(start)).replace("{end}", clock(end))


def split_numbers(text: str) -> list[str]:
    return [piece.strip() for piece in _SEPARATORS.split(text) if piece.strip()]


def _page(
    request: Request,
    *,
    kind: Kind,
    principal: Principal,
    form: forms.Form,
    schedule: Schedule,
    idem: str,
    status: int = 200,
    preview: dict[str, Any] | None = None,
    violations: list[dict[str, Any]] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    ctx = get_context(request)
    lang = form.lang
    with ctx.db.transaction(readonly=True) as session:
        groups = phonebook.list_groups(session, account_id=principal.account_id)
        wanted = sending.LINE_KIND_FOR[kind]
        lines = [ln for ln in sending.lines_of(session, principal=principal) if ln.kind == wanted]
        names = (
            accounts.approved_sender_names(session, account_id=principal.account_id)
            if kind == "informational"
            else []
        )
        balance = accounts.me(session, principal=principal).balance
    this_year = jdatetime.date.today().year
    return render(
        request,
        "send.html",
        status=status,
        kind=kind,
        form=form,
        groups=groups,
        chosen_groups={int(g) for g in form.values.get("group", [])},
        lines=lines,
        sender_names=names,
        balance=balance,
        schedule=schedule,
        years=[this_year, this_year + 1],
        months=list(enumerate(JALALI_MONTHS[lang == "en"], start=1)),
        idem=idem,
        preview=preview,
        violations=violations or [],
        pieces=highlighted(str(form.values.get("text", "")), violations or []),
        notice=notice,
        window=window_notice(ctx.settings, lang) if kind == "advertising" else None,
        max_text=MAX_TEXT,
    )


@router.get("/send/{kind}", response_class=HTMLResponse)
def send_page(request: Request, kind: str) -> Response:
    chosen = _kind(kind)
    principal = page_principal(request)
    ctx = get_context(request)
    form = forms.Form.of(
        request, group=[], numbers="", text="", line="", when="now", recipients="", send_at=""
    )
    group = request.query_params.get("group", "")
    if group.isdigit():  # "send to this group" links from the phonebook
        form.values["group"] = [group]
    return _page(
        request,
        kind=chosen,
        principal=principal,
        form=form,
        schedule=_default_schedule(ctx.settings),
        idem=secrets.token_urlsafe(24),
    )


@dataclass
class _Posted:
    form: forms.Form
    schedule: Schedule
    idem: str
    request: sending.SendRequest | None


FormText = Annotated[str, Form()]


@dataclass
class _SendForm:
    """What the send page posts, to its summary and to the send alike."""

    # A tuple default: FastAPI hands each request a copy of the default, and a list is mutable.
    group: Annotated[Sequence[str], Form()] = ()
    numbers: FormText = ""
    text: FormText = ""
    line: FormText = ""
    when: FormText = "now"
    jy: FormText = ""
    jm: FormText = ""
    jd: FormText = ""
    hh: FormText = ""
    mi: FormText = ""
    idem: FormText = ""


def _read(request: Request, kind: Kind, fields: _SendForm) -> _Posted:
    ctx = get_context(request)
    group = list(fields.group)
    form = forms.Form.of(
        request,
        group=group,
        numbers=fields.numbers,
        text=fields.text,
        line=fields.line,
        when=fields.when,
        recipients="",
        send_at="",
    )
    # Browsers send a textarea's line breaks as CRLF; the text the person typed has LF.
    body = fields.text.replace("\r\n", "\n")
    form.values["text"] = body
    if not body.strip():
        form.fail("text", translate("err_text_required", form.lang))
    elif len(body) > MAX_TEXT:
        form.fail("text", translate("err_too_long", form.lang).replace("{max}", fa_digits(MAX_TEXT)))
    group_ids = [int(g) for g in group if g.isdigit()]
    listed = split_numbers(fields.numbers)
    if len(listed) > MAX_NUMBERS:
        form.fail(
            "numbers", translate("err_too_many_numbers", form.lang).replace("{max}", fa_digits(MAX_NUMBERS))
        )
    if not group_ids and not listed:
        form.fail("recipients", translate("err_no_recipients", form.lang))
    later = fields.when == "later"
    schedule = _default_schedule(ctx.settings)
    send_at: dt.datetime | None = None
    try:
        schedule = Schedule(
            later, int(fields.jy), int(fields.jm), int(fields.jd), int(fields.hh), int(fields.mi)
        )
    except ValueError:
        if later:
            form.fail("send_at", translate("err_date", form.lang))
    if later and "send_at" not in form.errors:
        try:
            moment = jdatetime.datetime(
                schedule.year, schedule.month, schedule.day, schedule.hour, schedule.minute
            )
            send_at = moment.togregorian().replace(tzinfo=ctx.settings.tz)
        except ValueError:
            form.fail("send_at", translate("err_date", form.lang))
    schedule.later = later
    key = fields.idem if _KEY.match(fields.idem) else secrets.token_urlsafe(24)
    wanted = sending.SendRequest(
        kind=kind,
        text=body,
        line=fields.line.strip() or None,
        recipients=tuple(listed),
        group_ids=tuple(group_ids),
        send_at=send_at,
    )
    return _Posted(form, schedule, key, wanted if form.ok else None)


def _show_error(posted: _Posted, exc: DomainError) -> list[dict[str, Any]]:
    """Put a service's refusal next to the part of the page it is about; returns violations."""
    form = posted.form
    if isinstance(exc, ComplianceViolation):
        found: list[dict[str, Any]] = exc.extra.get("violations", [])
        # The numbered list under the text names every broken rule; the field's error only
        # points to it, so the first rule is not said twice.
        form.fail("text", translate("err_text_rules", form.lang) if found else exc.message(form.lang))
        return found
    if exc.code in ("no_recipients", "no_valid_recipients", "placeholder_missing", "group_not_found"):
        form.fail("recipients", exc.message(form.lang))
    elif exc.code.startswith("text_"):
        form.fail("text", exc.message(form.lang))
    else:
        form.domain(exc, fields={"send_at": "send_at", "line": "line", "text": "text"})
    return []


def highlighted(text: str, violations: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    """The text cut into pieces, each with the number of the violation it shows (or None)."""
    spans = sorted(
        (int(v["start"]), int(v["end"]), number)
        for number, v in enumerate(violations, start=1)
        if int(v.get("end", 0)) > int(v.get("start", 0))
    )
    pieces: list[tuple[str, int | None]] = []
    at = 0
    for start, end, number in spans:
        if start < at:  # overlapping spans: the first one shown wins
            continue
        if start > at:
            pieces.append((text[at:start], None))
        pieces.append((text[start:end], number))
        at = end
    if at < len(text):
        pieces.append((text[at:], None))
    return pieces


def _preview_of(plan: sending.Plan, balance: int, fingerprint: str) -> dict[str, Any]:
    return {
        "recipients": plan.count,
        "blocked": plan.blocked,
        "invalid": plan.recipients.invalid_count,
        "invalid_rows": plan.recipients.invalid[:INVALID_SHOWN],
        "duplicates": plan.recipients.duplicates,
        "segments": plan.info.segments,
        "encoding": plan.info.encoding,
        "characters": plan.info.characters,
        "text": plan.text,
        "sample": plan.sample(),
        "line": plan.line.number,
        "cost": plan.cost,
        "balance": balance,
        "balance_after": balance - plan.cost,
        "send_at": plan.send_at,
        "delayed_by": plan.delayed_by,
        "per_operator": sorted(plan.per_operator.items(), key=lambda item: -item[1]),
        "fingerprint": fingerprint,
    }


def _preview(
    request: Request, principal: Principal, posted: _Posted
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    if posted.request is None:
        return None, []
    ctx = get_context(request)
    try:
        with ctx.db.transaction(readonly=True) as session:
            plan = sending.plan(session, settings=ctx.settings, principal=principal, request=posted.request)
            balance = accounts.me(session, principal=principal).balance
    except DomainError as exc:
        return None, _show_error(posted, exc)
    return _preview_of(plan, balance, posted.request.fingerprint()), []


def _summary_page(
    request: Request, kind: Kind, principal: Principal, posted: _Posted, *, changed: bool = False
) -> HTMLResponse:
    """The page with the summary of what was posted, or what keeps it from being sent. `changed`:
    a summary was confirmed, but the form no longer matches it."""
    summary, violations = _preview(request, principal, posted)
    return _page(
        request,
        kind=kind,
        principal=principal,
        form=posted.form,
        schedule=posted.schedule,
        idem=posted.idem,
        status=200 if summary is not None else 400,
        preview=summary,
        violations=violations,
        notice=translate("changed_since_preview", posted.form.lang)
        if summary is not None and changed
        else None,
    )


@router.post("/send/{kind}/preview", response_class=HTMLResponse)
def preview(
    request: Request, kind: str, fields: Annotated[_SendForm, Depends()], csrf: FormText = ""
) -> Response:
    chosen = _kind(kind)
    check_csrf(request, csrf)
    principal = page_principal(request)
    return _summary_page(request, chosen, principal, _read(request, chosen, fields))


@router.post("/send/{kind}", response_class=HTMLResponse)
def confirm(
    request: Request,
    kind: str,
    fields: Annotated[_SendForm, Depends()],
    previewed: FormText = "",
    csrf: FormText = "",
) -> Response:
    chosen = _kind(kind)
    check_csrf(request, csrf)
    principal = page_principal(request)
    ctx = get_context(request)
    posted = _read(request, chosen, fields)
    wanted = posted.request
    if wanted is not None and wanted.fingerprint() == previewed:
        try:
            with ctx.db.transaction() as session:
                send = sending.accept(
                    session,
                    settings=ctx.settings,
                    principal=principal,
                    request=wanted,
                    idempotency_key=posted.idem,
                )
        except DomainError as exc:
            if exc.code == "idempotency_key_reused":
                posted.idem = secrets.token_urlsafe(24)
            violations = _show_error(posted, exc)
            return _page(
                request, kind=chosen, principal=principal, form=posted.form, schedule=posted.schedule,
                idem=posted.idem, status=400, violations=violations,
            )  # fmt: skip
        return redirect(f"/sends/{send.id}?ok=sent")
    # Not what the summary showed (or no summary yet): show the summary of what was posted.
    return _summary_page(request, chosen, principal, posted, changed=bool(previewed))
