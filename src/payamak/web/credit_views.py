"""The whole statement, a page at a time, for a period typed as Jalali (or Gregorian) dates.

Buying credit, the gateway and the payment pages are billing's own (`payamak.billing.views`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from payamak.api.deps import get_context
from payamak.billing import service as billing
from payamak.billing import views as billing_views
from payamak.errors import DomainError
from payamak.web import forms
from payamak.web.views import page_principal

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


@router.get("/credit/statement", response_class=HTMLResponse)
def statement_page(
    request: Request,
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    page: Annotated[str, Query(max_length=12)] = "1",
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    form = forms.Form.of(request, **{"from": start, "to": end})
    number = forms.page_number(page)
    since = until = None
    try:
        since, until = billing.statement_period(start=start or None, end=end or None, tz=ctx.settings.tz)
    except DomainError as exc:
        form.domain(exc, default="from")
    with ctx.db.transaction(readonly=True) as session:
        found = billing.statement(
            session,
            account_id=principal.account_id,
            since=since,
            until=until,
            page=number,
            per_page=PER_PAGE,
        )
    period = {k: v for k, v in (("from", start), ("to", end)) if v and form.ok}
    return billing_views.page(
        request,
        "statement.html",
        status=200 if form.ok else 400,
        form=form,
        found=found,
        pager=forms.Pager.of(request, total=found.total, per_page=PER_PAGE, page=number),
        export_query=urlencode(period),
    )
