"""The status panel: balance and warning, the latest sends, the 30-day chart, a send's recipients."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from payamak.accounts.service import Principal
from payamak.context import Context
from payamak.db import utcnow
from payamak.sending import service as sending
from payamak.sending.models import Message, Send

from .conftest import Browser, Shop


def _send(ctx: Context, shop: Shop, *, text: str = "سلام", numbers: tuple[str, ...] = ()) -> Send:
    request = sending.SendRequest(
        kind="advertising", text=text, group_ids=(shop.group_id,), recipients=numbers
    )
    with ctx.db.transaction() as session:
        return sending.accept(
            session, settings=ctx.settings, principal=Principal(shop.user.id, "user"), request=request
        )


def _finish(ctx: Context, send_id: int, statuses: list[str]) -> None:
    """Move the send's messages as the dispatcher would (it is not running in these tests)."""
    now = utcnow()
    with ctx.db.transaction() as session:
        ids = session.scalars(
            sa.select(Message.id).where(Message.send_id == send_id).order_by(Message.id)
        ).all()
        for message_id, status in zip(ids, statuses, strict=False):
            submitted = now if status in ("sent", "delivered", "undelivered") else None
            session.execute(
                sa.update(Message)
                .where(Message.id == message_id)
                .values(status=status, submitted_at=submitted, done_at=now)
            )


def test_the_panel_shows_balance_sends_and_their_progress(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    send = _send(ctx, shop)
    _finish(ctx, send.id, ["delivered", "failed"])
    page = login(shop.user)
    r = page.get("/")
    assert r.status_code == 200
    from payamak.web.i18n import money

    assert f"<strong>{money(10_000_000 - send.cost)} <small>ریال</small></strong>" in r.text
    row = r.text.split('<table class="sends">')[1]
    assert f'href="/sends/{send.id}"' in row
    assert (
        "رسیده: <strong>۱</strong>" in row
        and "ناموفق: <strong>۱</strong>" in row
        and "در صف: <strong>۱</strong>" in row
    )
    assert f'data-live-send="{send.id}"' in row, "a send still running is followed live"
    assert 'role="progressbar"' in row and 'aria-valuenow="66"' in row


def test_a_balance_under_the_threshold_is_warned_about(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.user)
    assert "موجودی از حد هشدار" not in page.get("/").text
    r = page.post("/profile", {"name": "نیلوفر", "language": "fa", "low_balance_threshold": "۲۰٬۰۰۰٬۰۰۰"})
    assert r.status_code == 303
    assert "موجودی از حد هشدار شما کمتر است." in page.get("/").text


def test_the_chart_of_30_days_is_drawn_with_its_figures_in_words(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    send = _send(ctx, shop)
    _finish(ctx, send.id, ["delivered", "delivered", "undelivered"])
    page = login(shop.user)
    r = page.get("/")
    chart = r.text.split('<figure class="chart">')[1].split("</figure>")[0]
    assert chart.count("<svg") == 2 and 'role="img"' in chart
    assert 'aria-labelledby="chart-title chart-desc"' in chart
    assert "۳ پیامک به اپراتور رفت، ۲ رسید و ۱ نرسید" in chart
    assert chart.count("<tr>") == 31  # a header and one row a day, for the table of figures


def test_daily_totals_count_each_local_day_by_status(shop: Shop, ctx: Context) -> None:
    send = _send(ctx, shop)
    _finish(ctx, send.id, ["delivered", "undelivered", "failed"])
    principal = Principal(shop.user.id, "user")
    with ctx.db.transaction() as session:
        # An older send, made 3 local days ago.
        old = _send(ctx, shop, text="قدیمی")
        session.execute(
            sa.update(Send).where(Send.id == old.id).values(created_at=utcnow() - dt.timedelta(days=3))
        )
    with ctx.db.transaction(readonly=True) as session:
        days = sending.daily_totals(session, principal=principal, settings=ctx.settings)
    assert len(days) == 30
    assert days[-1].day == dt.datetime.now(ctx.settings.tz).date()
    today = days[-1]
    assert (today.sent, today.delivered, today.failed) == (2, 1, 2)
    with ctx.db.transaction(readonly=True) as session:
        prices = session.scalars(
            sa.select(Message.price).where(Message.send_id == send.id).order_by(Message.id)
        ).all()
    assert today.cost == prices[0] + prices[1]  # delivered and undelivered stay charged; failed does not
    assert days[-4].sent == 0 and days[-4].delivered == 0  # queued: not sent yet
    assert sum(d.sent for d in days[:-4]) == 0


def test_a_send_page_lists_recipients_with_filters_and_paging(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    send = _send(ctx, shop, numbers=tuple(f"0912{2000000 + i:07d}" for i in range(60)))
    _finish(ctx, send.id, ["delivered"] * 10 + ["failed"] * 5)
    page = login(shop.user)
    r = page.get(f"/sends/{send.id}")
    assert r.status_code == 200
    assert "یافته‌ها: ۶۳" in r.text and 'rel="next"' in r.text
    assert f'href="/api/v1/sends/{send.id}/export?format=xlsx"' in r.text
    r = page.get(f"/sends/{send.id}?status=failed")
    assert "یافته‌ها: ۵" in r.text and 'rel="next"' not in r.text
    r = page.get(f"/sends/{send.id}?number=۰۹۱۲۱۰۰۰۰۰۱")
    assert "یافته‌ها: ۱" in r.text
    r = page.get(f"/sends/{send.id}?page=2")
    assert 'rel="prev"' in r.text
    # A recipient's error code is said in words; the code stays at hand for support.
    with ctx.db.transaction() as session:
        session.execute(
            sa.update(Message)
            .where(Message.send_id == send.id, Message.status == "failed")
            .values(error="receipt:blocked:14")
        )
    r = page.get(f"/sends/{send.id}?status=failed")
    assert '<span class="note" title="receipt:blocked:14">شماره در فهرست سیاه مخابرات است</span>' in r.text
    # The export link works with the login cookie alone.
    export = page.get(f"/api/v1/sends/{send.id}/export?format=csv")
    assert export.status_code == 200 and "+989121000001" in export.text


def test_live_parts_follow_a_running_send_and_say_when_it_is_done(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context, make_user: Callable[..., Any]
) -> None:
    send = _send(ctx, shop)
    page = login(shop.user)
    live = page.get(f"/sends/live?ids={send.id},999,abc")
    assert live.status_code == 200 and live.headers["cache-control"] == "no-store"
    (item,) = live.json()["items"]
    assert item["done"] is False and "در صف" in item["parts"]["counts"]
    _finish(ctx, send.id, ["delivered"] * 3)
    (item,) = page.get(f"/sends/live?ids={send.id}").json()["items"]
    assert (
        item["done"] is True and "state-done" in item["parts"]["state"] and "رسیده" in item["parts"]["counts"]
    )
    # Another account's send is not shown.
    other = make_user()
    page.client.cookies.set("payamak_session", other.token)
    assert page.get(f"/sends/live?ids={send.id}").json()["items"] == []
    assert page.get(f"/sends/{send.id}").status_code == 404


def test_a_waiting_send_can_be_canceled_and_its_credit_comes_back(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    send = _send(ctx, shop)
    page = login(shop.user)
    r = page.get(f"/sends/{send.id}")
    assert "لغو ارسال" in r.text
    token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    r = page.post(f"/sends/{send.id}/cancel", token=token)
    assert r.status_code == 303 and r.headers["location"] == f"/sends/{send.id}?ok=canceled"
    r = page.get(r.headers["location"])
    assert "لغوشده" in r.text and "اعتبار پیامک‌های نرفته بازگشت" in r.text
    # What came back, and what the send cost in the end: nothing.
    assert "بازگشته به اعتبار" in r.text and "هزینهٔ خالص" in r.text
    assert f'action="/sends/{send.id}/cancel"' not in r.text, "a canceled send offers no cancel button"
    # On the panel too: nothing spent, and a grey bar, not a red one.
    row = page.get("/").text.split(f'href="/sends/{send.id}"')[1].split("</tr>")[0]
    assert row.rstrip().endswith("<td>۰</td>")
    assert 'class="p-bad" style="width: 0.0%"' in row and 'class="p-void" style="width: 100.0%"' in row
