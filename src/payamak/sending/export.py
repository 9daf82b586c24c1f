"""A send's report: every recipient with status, streamed from the database as xlsx or CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from fastapi.responses import StreamingResponse

from payamak.accounts.service import Principal
from payamak.context import Context
from payamak.sending import repository as repo
from payamak.tabular import download
from payamak.web.i18n import jalali

HEADER = ("شماره", "اپراتور", "بخش‌ها", "هزینه (ریال)", "وضعیت", "خطا", "زمان ارسال", "زمان پایان")


def export_messages(ctx: Context, *, principal: Principal, send_id: int, fmt: Literal["xlsx", "csv"]) -> StreamingResponse:
    tz = ctx.settings.tz

    def rows() -> Iterator[tuple[Any, ...]]:
        with ctx.db.transaction(readonly=True) as session:
            for m in repo.iter_messages(session, account_id=principal.account_id, send_id=send_id):
                status = "queued" if m.status == "submitting" else m.status
                yield (m.recipient, m.operator or "", m.parts, m.price, status, m.error or "",
                       jalali(m.submitted_at, tz) if m.submitted_at else "", jalali(m.done_at, tz) if m.done_at else "")  # fmt: skip

    return download(f"send-{send_id}", fmt, HEADER, rows(), sheet=f"send {send_id}")
