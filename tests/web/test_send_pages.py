"""The send pages: five parts, a summary, one confirmed send; rules and dates checked on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jdatetime
import sqlalchemy as sa

from payamak.context import Context
from payamak.phonebook import service as phonebook
from payamak.phonebook.service import NewNumber
from payamak.sending.models import Send

from .conftest import SENDER_NAME, Browser, Shop, field_error


def _form(shop: Shop, **values: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"group": [str(shop.group_id)], "numbers": "", "text": "سلام", "when": "now"}
    form.update(values)
    return form


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def _sends(ctx: Context) -> list[Send]:
    with ctx.db.transaction(readonly=True) as session:
        return list(session.scalars(sa.select(Send).order_by(Send.id)))


def test_the_summary_then_one_send_even_when_confirmed_twice(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    form = _form(shop, numbers="09121234567\n۰۹۱۲۱۲۳۴۵۶۷\n12345")
    r = page.post("/send/advertising/preview", form)
    assert r.status_code == 200, r.text
    summary = r.text.split("data-summary>")[1]
    assert "تأیید و ارسال" in summary
    # 3 group numbers + one number typed twice (one duplicate) + one invalid value
    assert re.search(r"<dt>گیرندگان</dt><dd><strong>۴</strong>", summary)
    assert "شماره کوتاه است" in summary  # the invalid value and why
    key, previewed = _hidden(r.text, "idem"), _hidden(r.text, "previewed")

    confirm = {**form, "idem": key, "previewed": previewed}
    first = page.post("/send/advertising", confirm)
    again = page.post("/send/advertising", confirm)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert re.fullmatch(r"/sends/\d+\?ok=sent", first.headers["location"])
    assert len(_sends(ctx)) == 1


def test_a_confirmation_for_something_else_than_the_summary_shows_a_new_summary(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    r = page.post("/send/advertising/preview", _form(shop))
    key, previewed = _hidden(r.text, "idem"), _hidden(r.text, "previewed")
    r = page.post("/send/advertising", _form(shop, text="متن دیگر", idem=key, previewed=previewed))
    assert r.status_code == 200 and "پس از پیش‌نمایش چیزی در فرم تغییر کرد" in r.text
    assert _sends(ctx) == []


def test_empty_and_oversized_fields_are_explained_next_to_them(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.post("/send/advertising/preview", {"group": [], "numbers": "", "text": " ", "when": "now"})
    assert r.status_code == 400
    assert field_error(r.text, "text") == "متن پیامک را بنویسید."
    assert "دست‌کم یک گروه انتخاب کنید یا شماره‌ای بنویسید." in r.text
    r = page.post("/send/advertising/preview", _form(shop, text="ب" * 5001))
    assert field_error(r.text, "text") == "این بخش نباید بیش از ۵۰۰۰ نویسه باشد."
    r = page.post("/send/advertising/preview", _form(shop, text="ب" * 700))
    assert "حداکثر ۱۰ بخش" in field_error(r.text, "text")


def test_an_informational_text_is_checked_and_its_violations_marked_in_place(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.get("/send/informational")
    assert f'data-insert="{SENDER_NAME}"' in r.text, "the approved names are offered for insertion"
    text = "سفارش شما آماده است: www.niloofar.ir"
    r = page.post("/send/informational/preview", _form(shop, text=text))
    assert r.status_code == 400
    assert '<mark data-n="' in r.text and ">www.niloofar.ir</mark>" in r.text
    violations = re.findall(r'<li data-n="(\d)">([^<]+)</li>', r.text)
    assert any("پیوند" in message for _, message in violations)
    assert any("نام فرستنده" in message for _, message in violations)
    # Each broken rule is said once, in the list; the field's own error points to it.
    assert field_error(r.text, "text") not in [message for _, message in violations]
    fixed = f"سفارش شما آماده است. {SENDER_NAME}"
    r = page.post("/send/informational/preview", _form(shop, text=fixed))
    assert r.status_code == 200 and "<mark" not in r.text
    assert "لغو۱۱" in r.text.split("data-summary>")[1]


def test_line_breaks_from_the_form_count_as_one_character(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.post("/send/advertising/preview", _form(shop, text="a\r\n" * 60))
    # 120 GSM-7 characters (the browser's CRLF is one line break), one part.
    assert "۱۲۰ نویسه | ۱ بخش | GSM-7" in r.text


def _jalali_tomorrow(ctx: Context) -> jdatetime.datetime:
    import datetime as dt

    now = dt.datetime.now(ctx.settings.tz) + dt.timedelta(days=1)
    return jdatetime.datetime.fromgregorian(datetime=now.replace(tzinfo=None))


def test_a_jalali_date_and_time_schedules_the_send(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    day = _jalali_tomorrow(ctx)
    when = {
        "when": "later",
        "jy": str(day.year),
        "jm": str(day.month),
        "jd": str(day.day),
        "hh": "9",
        "mi": "30",
    }
    r = page.post("/send/advertising/preview", _form(shop, **when))
    assert r.status_code == 200, r.text
    key, previewed = _hidden(r.text, "idem"), _hidden(r.text, "previewed")
    r = page.post("/send/advertising", _form(shop, **when, idem=key, previewed=previewed))
    assert r.status_code == 303
    (send,) = _sends(ctx)
    local = send.send_at.astimezone(ctx.settings.tz)
    assert (local.hour, local.minute) == (9, 30)
    assert jdatetime.date.fromgregorian(date=local.date()) == day.date()
    detail = page.client.get(r.headers["location"])
    assert "زمان‌بندی‌شده" in detail.text and "لغو ارسال" in detail.text


def test_impossible_and_past_dates_are_refused_next_to_the_picker(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.post(
        "/send/advertising/preview", _form(shop, when="later", jy="1404", jm="12", jd="31", hh="9", mi="0")
    )
    assert r.status_code == 400 and "این تاریخ یا ساعت در تقویم نیست" in r.text
    r = page.post(
        "/send/advertising/preview", _form(shop, when="later", jy="1400", jm="1", jd="1", hh="9", mi="0")
    )
    assert r.status_code == 400 and "زمان ارسال گذشته است" in r.text


def test_the_advertising_window_is_stated_from_the_settings(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    ctx.settings.advertising_hours = "08:00-21:30"
    r = page.client.get("/send/advertising")
    assert "ارسال تبلیغاتی فقط بین ساعت ۸ تا ۲۱:۳۰ انجام می‌شود" in r.text
    assert "فقط بین ساعت" not in page.client.get("/send/informational").text


def test_not_enough_credit_is_said_before_sending(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    from payamak.billing import service as billing

    with ctx.db.transaction() as session:
        balance = billing.balance(session, account_id=shop.user.id)
        billing.grant(session, account_id=shop.user.id, amount=-balance, reason="صفر کردن", actor_id=None)
    page = login(shop.user)
    r = page.post("/send/advertising/preview", _form(shop))
    assert "موجودی برای این ارسال کافی نیست." in r.text and "تأیید و ارسال" not in r.text


def test_a_kind_that_does_not_exist_is_not_a_page(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.user)
    assert page.client.get("/send/other").status_code == 404


def test_the_summary_shows_the_text_as_its_first_recipient_gets_it(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    with ctx.db.transaction() as session:
        group = phonebook.create_group(session, account_id=shop.user.id, name="با نام")
        phonebook.add_numbers(
            session, account_id=shop.user.id, group_id=group.group.id,
            items=[NewNumber(number="09121000009", name="مریم"), NewNumber(number="09121000010", name="علی")],
        )  # fmt: skip
    page = login(shop.user)
    r = page.post("/send/advertising/preview", _form(shop, group=[str(group.group.id)], text="{name} عزیز، حراج!"))
    assert r.status_code == 200, r.text
    summary = r.text.split("data-summary>")[1]
    assert '<p class="sms" dir="auto">مریم عزیز، حراج!</p>' in summary
    assert "هر گیرنده متن خود را با مقدارهای خودش می‌گیرد" in summary
