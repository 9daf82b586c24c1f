"""The status panel: balance, the last 30 days, the latest sends, and each send's recipients live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from payamak.accounts import service as accounts
from payamak.api.deps import get_context
from payamak.errors import DomainError
from payamak.sending import service as sending
from payamak.sending.models import FINAL_STATUSES, STATUSES, Send
from payamak.web import charts
from payamak.web.forms import Pager, page_number
from payamak.web.views import (
    check_csrf,
    error_text,
    lang_of,
    page_principal,
    redirect,
    render,
    render_fragment,
)

router = APIRouter(include_in_schema=False)

SENDS_PER_PAGE = 10
MESSAGES_PER_PAGE = 50
# The statuses a page names and filters by: `submitting` is shown to users as `queued`.
STATUS_ORDER = tuple(s for s in STATUSES if s != "submitting")
WAITING = frozenset({"scheduled", "queued"})
CANCELABLE = frozenset({"scheduled", "queued", "sending"})
LIVE_PARTS = ("state", "progress", "counts")


@dataclass(frozen=True)
class SendRow:
    """A send as the panel shows it: its state, its counts in a fixed order, and its progress."""

    send: Send
    state: str
    counts: list[tuple[str, int]]
    total: int
    percent: int
    shares: dict[str, float]
    done: bool

    @property
    def cancelable(self) -> bool:
        return self.state in CANCELABLE


def send_row(send: Send, by_status: dict[str, int]) -> SendRow:
    total = sum(by_status.values())
    waiting = sum(by_status.get(s, 0) for s in WAITING)
    delivered = by_status.get("delivered", 0)
    canceled = by_status.get("canceled", 0)
    # Canceled messages were stopped on purpose, not lost: shown apart from the failures.
    failed = sum(
        n for s, n in by_status.items() if s in FINAL_STATUSES and s not in ("delivered", "canceled")
    )
    sent = by_status.get("sent", 0)

    def share(n: int) -> float:
        return round(100 * n / total, 2) if total else 0.0

    return SendRow(
        send=send,
        state=sending.state_of(send, by_status) if by_status else send.state,
        counts=[(s, by_status[s]) for s in STATUS_ORDER if by_status.get(s)],
        total=total,
        percent=int(100 * (total - waiting) / total) if total else 0,
        shares={
            "delivered": share(delivered),
            "failed": share(failed),
            "canceled": share(canceled),
            "sent": share(sent),
        },
        # Finished when nothing waits in the queue or for a receipt any more.
        done=not waiting and not sent and not by_status.get("submitting", 0),
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request, page: Annotated[str, Query(max_length=12)] = "1") -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    number = page_number(page)
    with ctx.db.transaction(readonly=True) as session:
        account = accounts.me(session, principal=principal)
        sends, total = sending.list_sends(
            session, principal=principal, limit=SENDS_PER_PAGE, offset=(number - 1) * SENDS_PER_PAGE
        )
        counts = sending.counts(session, sends=sends)
        back = sending.given_back(session, principal=principal, sends=sends)
        days = sending.daily_totals(session, principal=principal, settings=ctx.settings)
    lang = lang_of(request)
    low = account.low_balance_threshold > 0 and account.balance < account.low_balance_threshold
    return render(
        request,
        "panel.html",
        account=account,
        low_balance=low,
        rows=[send_row(s, counts.get(s.id, {})) for s in sends],
        net_cost={s.id: s.cost - back.get(s.id, 0) for s in sends},
        pager=Pager.of(request, total=total, per_page=SENDS_PER_PAGE, page=number),
        chart=charts.daily(days, lang=lang),
    )


@router.get("/sends/live")
def live(request: Request, ids: Annotated[str, Query(max_length=400)] = "") -> Response:
    """State, progress and counts of some sends as HTML parts, polled while they run."""
    principal = page_principal(request)
    ctx = get_context(request)
    wanted = [int(i) for i in ids.split(",") if i.strip().isdigit()][:50]
    found: list[Send] = []
    with ctx.db.transaction(readonly=True) as session:
        for send_id in wanted:
            try:
                found.append(sending.get_send(session, principal=principal, send_id=send_id))
            except DomainError:
                continue  # another account's, or gone: nothing to show
        counts = sending.counts(session, sends=found)
    items = []
    for send in found:
        row = send_row(send, counts.get(send.id, {}))
        parts = {
            part: render_fragment(request, "_send_parts.html", row=row, part=part) for part in LIVE_PARTS
        }
        items.append({"id": send.id, "done": row.done, "state": row.state, "parts": parts})
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


@router.get("/sends/{send_id}", response_class=HTMLResponse)
def send_page(
    request: Request,
    send_id: int,
    status: Annotated[str, Query(max_length=16)] = "",
    number: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[str, Query(max_length=12)] = "1",
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    number_page = page_number(page)
    status = status if status in STATUS_ORDER else ""
    with ctx.db.transaction(readonly=True) as session:
        send = sending.get_send(session, principal=principal, send_id=send_id)
        by_status = sending.counts(session, sends=[send]).get(send.id, {})
        given_back = sending.given_back(session, principal=principal, sends=[send]).get(send.id, 0)
        messages, total = sending.list_messages(
            session,
            principal=principal,
            send_id=send_id,
            limit=MESSAGES_PER_PAGE,
            offset=(number_page - 1) * MESSAGES_PER_PAGE,
            status=status or None,
            number=number.strip() or None,
        )
    return render(
        request,
        "send_detail.html",
        row=send_row(send, by_status),
        given_back=given_back,
        messages=messages,
        filter_status=status,
        number=number,
        statuses=STATUS_ORDER,
        pager=Pager.of(request, total=total, per_page=MESSAGES_PER_PAGE, page=number_page),
        total=total,
    )


@router.post("/sends/{send_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, send_id: int, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    ctx = get_context(request)
    try:
        with ctx.db.transaction() as session:
            sending.cancel(session, principal=principal, send_id=send_id)
    except DomainError as exc:
        if exc.code == "send_not_found":
            raise
        return render(request, "message.html", status=409, message=error_text(request, exc))
    return redirect(f"/sends/{send_id}?ok=canceled")
