"""HTTP API of sends, the status panel, lines and the inbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.api.deps import Admin, Caller, Ctx, Tx
from payamak.api.errors import responses
from payamak.sending import schemas
from payamak.sending import service as sending
from payamak.sending.export import export_messages
from payamak.sending.models import Line, Message, Send

router = APIRouter(tags=["sending"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=100, description="The same key returns the same send and never sends twice."),
]


def request_of(body: schemas.SendIn) -> sending.SendRequest:
    return sending.SendRequest(
        kind=body.kind, text=body.text, line=body.line, recipients=tuple(body.recipients),
        group_ids=tuple(body.group_ids), customer_ids=tuple(body.customer_ids), send_at=body.send_at,
    )  # fmt: skip


def send_out(send: Send, counts: dict[str, int] | None = None, given_back: int = 0) -> schemas.SendOut:
    counts = counts or {}
    total = sum(counts.values())
    waiting = counts.get("scheduled", 0) + counts.get("queued", 0)
    return schemas.SendOut(
        id=send.id, status=sending.state_of(send, counts) if counts else send.state, kind=send.kind,
        line=send.line_number, text=send.text, encoding=send.encoding, segments=send.segments,
        recipients=send.recipients, blocked=send.blocked, invalid=send.invalid, duplicates=send.duplicates,
        cost=send.cost, given_back=given_back, charged=send.cost - given_back, send_at=send.send_at, delayed_by=send.delayed_by, expires_at=send.expires_at,
        created_at=send.created_at, counts=counts, progress=round((total - waiting) / total, 4) if total else 0.0,
    )  # fmt: skip


def sends_out(session: Session, caller: Principal, sends: Sequence[Send]) -> list[schemas.SendOut]:
    """Sends as the API shows them, with their counts and the credit given back, in two queries."""
    counts = sending.counts(session, sends=sends)
    given_back = sending.given_back(session, principal=caller, sends=sends)
    return [send_out(s, counts.get(s.id), given_back.get(s.id, 0)) for s in sends]


@router.post("/sends/preview", response_model=schemas.PreviewOut, responses=responses(401, 404, 422))
def preview(body: schemas.SendIn, caller: Caller, ctx: Ctx, session: Tx) -> schemas.PreviewOut:
    """What a send would do, without doing it: recipients, skipped, parts, cost and the balance after."""
    plan = sending.plan(session, settings=ctx.settings, principal=caller, request=request_of(body))
    balance = accounts.me(session, principal=caller).balance
    return schemas.PreviewOut(
        kind=plan.kind, line=plan.line.number, text=plan.text, sample=plan.sample(), encoding=plan.info.encoding,
        segments=plan.info.segments, recipients=plan.count, blocked=plan.blocked,
        invalid=plan.recipients.invalid_count, duplicates=plan.recipients.duplicates, cost=plan.cost,
        balance=balance, balance_after=balance - plan.cost, send_at=plan.send_at, delayed_by=plan.delayed_by,
        per_operator=plan.per_operator,
        invalid_rows=[schemas.InvalidOut(row=i.row, value=i.value, reason=i.reason, source=i.source) for i in plan.recipients.invalid],
    )  # fmt: skip


@router.post("/sends", status_code=201, response_model=schemas.SendOut, responses=responses(401, 402, 404, 409, 422))
def create_send(
    body: schemas.SendIn, caller: Caller, ctx: Ctx, session: Tx, idempotency_key: IdempotencyKey = None
) -> schemas.SendOut:
    """Send now, at `send_at`, or at the next opening of the advertising window.

    Credit for every recipient is held at once and given back for whatever is not delivered to
    the operator. An informational text that breaks a rule gets 422 `compliance_violation` with
    the violations; too little credit gets 402 `insufficient_credit` with `needed` and `balance`.
    """
    send = sending.accept(
        session, settings=ctx.settings, principal=caller, request=request_of(body), idempotency_key=idempotency_key
    )
    return send_out(send)


@router.get("/sends", response_model=schemas.SendPage, responses=responses(401))
def list_sends(
    caller: Caller, session: Tx, limit: int = Query(20, ge=1, le=200), offset: int = Query(0, ge=0),
    kind: Literal["advertising", "informational"] | None = None, since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    status: Literal["scheduled", "queued", "done", "canceled"] | None = Query(
        None, description="scheduled: waiting for its time; queued: going out (or sending); done; canceled."
    ),
) -> schemas.SendPage:  # fmt: skip
    """Sends, newest first, with their counts per recipient status; filter by kind, status and date."""
    rows, total = sending.list_sends(
        session, principal=caller, limit=limit, offset=offset, kind=kind, state=status, since=since, until=until
    )
    return schemas.SendPage(items=sends_out(session, caller, rows), total=total)


@router.get("/sends/{send_id}", response_model=schemas.SendOut, responses=responses(401, 404))
def get_send(send_id: int, caller: Caller, session: Tx) -> schemas.SendOut:
    send = sending.get_send(session, principal=caller, send_id=send_id)
    return sends_out(session, caller, [send])[0]


def message_out(m: Message) -> schemas.MessageOut:
    status = "queued" if m.status == "submitting" else m.status
    return schemas.MessageOut(
        id=m.id, recipient=m.recipient, operator=m.operator, parts=m.parts, price=m.price, status=status,
        error=m.error, attempts=m.attempts, submitted_at=m.submitted_at, done_at=m.done_at, text=m.text,
    )  # fmt: skip


@router.get("/sends/{send_id}/messages", response_model=schemas.MessagePage, responses=responses(401, 404))
def list_messages(
    send_id: int, caller: Caller, session: Tx, limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0),
    status: str | None = Query(None, max_length=16), number: str | None = Query(None, max_length=40),
) -> schemas.MessagePage:  # fmt: skip
    """Each recipient's status, filtered by status or number."""
    rows, total = sending.list_messages(
        session, principal=caller, send_id=send_id, limit=limit, offset=offset, status=status, number=number
    )
    return schemas.MessagePage(items=[message_out(m) for m in rows], total=total)


@router.get("/sends/{send_id}/export", responses=responses(401, 404))
def export(send_id: int, caller: Caller, ctx: Ctx, format: Literal["xlsx", "csv"] = "xlsx") -> StreamingResponse:
    """Every recipient with status, as xlsx or CSV."""
    with ctx.db.transaction(readonly=True) as session:
        sending.get_send(session, principal=caller, send_id=send_id)
    return export_messages(ctx, principal=caller, send_id=send_id, fmt=format)


@router.post("/sends/{send_id}/cancel", response_model=schemas.SendOut, responses=responses(401, 404, 409))
def cancel_send(send_id: int, caller: Caller, session: Tx) -> schemas.SendOut:
    """Cancel what has not left yet; the credit for it comes back at once."""
    send = sending.cancel(session, principal=caller, send_id=send_id)
    return sends_out(session, caller, [send])[0]


def line_out(line: Line) -> schemas.LineOut:
    return schemas.LineOut(
        id=line.id, number=line.number, kind=line.kind, shared=line.account_id is None, account_id=line.account_id,
        route_id=line.route_id, active=line.active,
    )  # fmt: skip


@router.get("/lines", response_model=list[schemas.LineOut], responses=responses(401))
def my_lines(caller: Caller, session: Tx) -> list[schemas.LineOut]:
    """The lines this account may send from: its own, then the shared ones."""
    return [line_out(line).model_copy(update={"account_id": None, "route_id": None}) for line in sending.lines_of(session, principal=caller)]


@router.get("/inbox", response_model=schemas.InboundPage, responses=responses(401))
def inbox(
    caller: Caller, session: Tx, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
    line: str | None = Query(None, max_length=20),
) -> schemas.InboundPage:  # fmt: skip
    """SMS recipients sent to the account's lines (replies, and 11 / 12 to stop or start)."""
    rows, total = sending.inbox(session, principal=caller, limit=limit, offset=offset, line=line)
    return schemas.InboundPage(
        items=[
            schemas.InboundOut(id=r.id, line=r.line_number, sender=r.sender, text=r.text, action=r.action, received_at=r.received_at)
            for r in rows
        ],
        total=total,
    )


@router.get("/admin/lines", response_model=list[schemas.LineOut], responses=responses(401, 403))
def admin_lines(caller: Admin, session: Tx) -> list[schemas.LineOut]:
    return [line_out(line) for line in sending.all_lines(session, principal=caller)]


@router.post("/admin/lines", status_code=201, response_model=schemas.LineOut, responses=responses(401, 403, 404, 409, 422))
def admin_add_line(body: schemas.LineIn, caller: Admin, session: Tx) -> schemas.LineOut:
    """Add a sender line; without an owner it is shared by every account."""
    line = sending.add_line(
        session, principal=caller, number=body.number, kind=body.kind, owner_mobile=body.account_mobile, route_id=body.route_id
    )
    return line_out(line)


@router.delete("/admin/lines/{line_id}", status_code=204, responses=responses(401, 403, 404))
def admin_remove_line(line_id: int, caller: Admin, session: Tx) -> None:
    sending.remove_line(session, principal=caller, line_id=line_id)


@router.get("/admin/forbidden-words", response_model=list[schemas.WordOut], responses=responses(401, 403))
def admin_words(caller: Admin, session: Tx) -> list[schemas.WordOut]:
    return [schemas.WordOut(id=w.id, word=w.word) for w in sending.list_forbidden_words(session, principal=caller)]


@router.post("/admin/forbidden-words", status_code=201, response_model=schemas.WordOut, responses=responses(401, 403, 409, 422))
def admin_add_word(body: schemas.WordIn, caller: Admin, session: Tx) -> schemas.WordOut:
    """A word operators filter; texts holding it are refused before any charge."""
    record = sending.add_forbidden_word(session, principal=caller, word=body.word)
    return schemas.WordOut(id=record.id, word=record.word)


@router.delete("/admin/forbidden-words/{word_id}", status_code=204, responses=responses(401, 403, 404))
def admin_remove_word(word_id: int, caller: Admin, session: Tx) -> None:
    sending.remove_forbidden_word(session, principal=caller, word_id=word_id)


@router.post("/messages/check", response_model=schemas.CheckOut, responses=responses(401, 422))
def check_message(body: schemas.CheckIn, caller: Caller, ctx: Ctx, session: Tx) -> schemas.CheckOut:
    """Encoding, parts and the informational-SMS rules for a text, with its price per recipient."""
    result = sending.check_text(session, settings=ctx.settings, principal=caller, kind=body.kind, text=body.text, line=body.line)
    return schemas.CheckOut(
        text=result.text, encoding=result.info.encoding, segments=result.info.segments,
        characters=result.info.characters, remaining=result.info.remaining,
        violations=[
            schemas.ViolationOut(rule=v.rule, start=v.start, end=v.end, message=v.message, message_en=v.message_en)
            for v in result.violations
        ],
        cost_per_recipient=result.cost_per_recipient, sender_names=result.sender_names,
    )  # fmt: skip
