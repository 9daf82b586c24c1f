"""Profile, credit statement and the administrator's pages: their forms, errors and effects."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from payamak.accounts import service as accounts
from payamak.accounts.models import SenderName
from payamak.billing import service as billing
from payamak.context import Context
from payamak.sending import blacklist

from .conftest import Browser, Shop, csrf_of, field_error


def test_the_profile_saves_name_language_and_warning_with_errors_next_to_them(
    login: Callable[[Any], Browser], shop: Shop
) -> None:
    page = login(shop.user)
    r = page.post("/profile", {"name": "", "language": "fa", "low_balance_threshold": "abc"})
    assert r.status_code == 400
    assert field_error(r.text, "name") == "این بخش را پر کنید."
    assert field_error(r.text, "low_balance_threshold") == "یک عدد درست بنویسید (فقط رقم)."
    r = page.post("/profile", {"name": "نیلوفر", "language": "en", "low_balance_threshold": "۵۰۰٬۰۰۰"})
    assert r.status_code == 303 and "lang=en" in r.headers["set-cookie"]
    assert "Profile" in page.get("/profile").text


def test_sender_names_show_their_state_and_the_reason_of_a_rejection(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.user)
    r = page.post("/profile/sender-names", {"name": "ن" * 65})
    assert field_error(r.text, "sn-name") == "این بخش نباید بیش از ۶۴ نویسه باشد."
    r = page.post("/profile/sender-names", {"name": "گل فروشی نیلوفر"})  # the same name, spaced otherwise
    assert "پیش‌تر ثبت شده" in field_error(r.text, "sn-name")
    assert page.post("/profile/sender-names", {"name": "کافه سپید"}).status_code == 303

    admin = login(shop.admin)
    r = admin.get("/admin/sender-names")
    assert "کافه سپید" in r.text
    with ctx.db.transaction(readonly=True) as session:
        name_id = session.scalars(sa.select(SenderName.id).where(SenderName.name == "کافه سپید")).one()
    r = admin.post(f"/admin/sender-names/{name_id}/reject", {"reason": ""})
    assert r.status_code == 400 and field_error(r.text, f"n{name_id}-reason") == "این بخش را پر کنید."
    r = admin.post(f"/admin/sender-names/{name_id}/reject", {"reason": "مدرک ثبت کسب‌وکار لازم است."})
    assert r.headers["location"] == "/admin/sender-names?ok=rejected"

    page = login(shop.user)
    profile = page.get("/profile").text
    assert "ردشده" in profile and "مدرک ثبت کسب‌وکار لازم است." in profile


def test_api_keys_are_shown_once_then_listed_and_revoked(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.user)
    r = page.post("/profile/api-keys", {"name": ""})
    assert field_error(r.text, "key-name") == "این بخش را پر کنید."
    r = page.post("/profile/api-keys", {"name": "فروشگاه اینترنتی"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    key = re.search(r"<code dir=\"ltr\" class=\"key\" data-copy-source>([^<]+)</code>", r.text).group(1)  # type: ignore[union-attr]
    assert page.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = page.get("/profile").text
    assert key not in listed and key[:12] in listed
    key_id = re.search(r'action="/profile/api-keys/(\d+)/revoke"', listed).group(1)  # type: ignore[union-attr]
    assert page.post(f"/profile/api-keys/{key_id}/revoke").status_code == 303
    page.client.cookies.clear()
    assert page.client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_logins_are_listed_and_ended(login: Callable[[Any], Browser], shop: Shop, ctx: Context) -> None:
    with ctx.db.transaction() as session:
        account = accounts.account_by_mobile(session, mobile=shop.user.mobile)
        other = accounts.start_session(
            session, settings=ctx.settings, account=account, address="10.0.0.9", client="Firefox"
        )
    page = login(shop.user)
    r = page.get("/profile")
    assert "10.0.0.9" in r.text and "همین نشست" in r.text
    assert (
        page.post(f"/profile/sessions/{other.session.id}/revoke").headers["location"]
        == "/profile?ok=revoked#sessions"
    )
    assert "10.0.0.9" not in page.get("/profile").text
    assert (
        page.client.get("/api/v1/me", headers={"Authorization": f"Bearer {other.token}"}).status_code == 401
    )


def test_the_password_is_changed_with_the_current_one(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.user)
    form = {
        "current_password": "wrong-password",
        "new_password": "new-password-1",
        "confirm_password": "new-password-2",
    }
    r = page.post("/profile/password", form)
    assert field_error(r.text, "confirm_password") == "دو رمز تازه یکی نیستند."
    assert "new-password-1" not in r.text, "passwords are never sent back"
    r = page.post("/profile/password", {**form, "confirm_password": "new-password-1"})
    assert field_error(r.text, "current_password") == "رمز عبور فعلی درست نیست."
    r = page.post(
        "/profile/password",
        {**form, "current_password": shop.user.password, "confirm_password": "new-password-1"},
    )
    assert r.headers["location"] == "/profile?ok=password_changed"
    login_page = page.client.get("/login")
    r = page.client.post(
        "/login",
        data={"mobile": shop.user.mobile, "password": "new-password-1", "csrf": csrf_of(login_page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_the_statement_pages_and_filters_by_jalali_dates(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    with ctx.db.transaction() as session:
        for i in range(55):
            billing.grant(
                session, account_id=shop.user.id, amount=1000 + i, reason=f"هدیهٔ {i}", actor_id=None
            )
    page = login(shop.user)
    assert 'href="/credit/statement"' in page.get("/credit").text
    r = page.get("/credit/statement")
    assert r.status_code == 200 and "یافته‌ها: ۵۶" in r.text and 'rel="next"' in r.text
    assert "/api/v1/statement/export?format=xlsx" in r.text
    r = page.get("/credit/statement?page=2")
    assert "هدیهٔ ۰" in r.text or "هدیهٔ 0" in r.text
    r = page.get("/credit/statement?from=1300/01/01&to=1300/12/29")
    assert "یافته‌ها: ۰" in r.text and "from=1300%2F01%2F01" in r.text
    r = page.get("/credit/statement?from=۱۴۰۴/۱۳/۴۰")
    assert r.status_code == 400 and field_error(r.text, "from") == (
        "«از تاریخ» درست نیست؛ مانند ۱۴۰۴/۰۳/۰۱ یا ۲۰۲۵-۰۵-۲۲ بنویسید."
    )
    # The running balance is headed as such, and stored descriptions show Persian digits.
    r = page.get("/credit/statement")
    assert '<th scope="col">مانده</th>' in r.text and "موجودی پس از ارسال" not in r.text
    assert "هدیهٔ ۵۴" in r.text and "هدیهٔ 54" not in r.text
    assert "هدیهٔ ۵۴" in page.get("/credit").text


def test_the_operator_grants_and_deducts_credit_with_a_reason(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.admin)
    r = page.get("/admin/accounts?q=" + shop.user.mobile.replace("+98", "0"))
    assert r.status_code == 200 and f'action="/admin/accounts/{shop.user.id}/credit"' in r.text
    assert f'action="/admin/accounts/{shop.admin.id}/credit"' not in r.text, "the search narrows the list"
    prefix = f"a{shop.user.id}-"
    r = page.post(f"/admin/accounts/{shop.user.id}/credit", {"amount": "", "reason": ""})
    assert field_error(r.text, prefix + "amount") == "این بخش را پر کنید."
    assert field_error(r.text, prefix + "reason") == "این بخش را پر کنید."
    r = page.post(f"/admin/accounts/{shop.user.id}/credit", {"amount": "-999999999", "reason": "بازگشت"})
    assert r.status_code == 400 and "موجودی کافی نیست" in field_error(r.text, prefix + "amount")
    r = page.post(
        f"/admin/accounts/{shop.user.id}/credit",
        {"amount": "-۱۰۰۰", "reason": "کسر آزمایشی"},
        headers={"referer": "http://testserver/admin/accounts?q=0912"},
    )
    assert r.headers["location"] == "/admin/accounts?q=0912&ok=granted"
    with ctx.db.transaction(readonly=True) as session:
        assert billing.balance(session, account_id=shop.user.id) == 10_000_000 - 1000


def test_the_accounts_list_pages_through_every_account(
    login: Callable[[Any], Browser], shop: Shop, make_user: Callable[..., Any]
) -> None:
    for n in range(60):  # with the shop's two accounts, 62: three pages of 30
        make_user(f"0935{n:07d}")
    page = login(shop.admin)
    r = page.get("/admin/accounts")
    assert r.status_code == 200 and r.text.count('action="/admin/accounts/') == 30
    assert "صفحهٔ ۱ از ۳" in " ".join(r.text.split()) and 'rel="next"' in r.text
    r = page.get("/admin/accounts?page=3")
    assert r.text.count('action="/admin/accounts/') == 2 and 'rel="next"' not in r.text
    assert f'action="/admin/accounts/{shop.user.id}/credit"' in r.text, "the oldest come last"
    r = page.get("/admin/accounts?q=۰۹۳۵۰۰۰۰۰۱۷")
    assert r.text.count('action="/admin/accounts/') == 1 and 'class="pager"' not in r.text


def test_packages_and_tariffs_are_managed(login: Callable[[Any], Browser], shop: Shop, ctx: Context) -> None:
    page = login(shop.admin)
    r = page.post(
        "/admin/packages", {"name": "", "description": "", "price": "0", "credit": "x", "active": "1"}
    )
    assert field_error(r.text, "name") == "این بخش را پر کنید."
    assert field_error(r.text, "price") == "عدد نباید کمتر از ۱ باشد."
    assert field_error(r.text, "credit") == "یک عدد درست بنویسید (فقط رقم)."
    r = page.post(
        "/admin/packages",
        {"name": "طلایی", "description": "", "price": "1,000,000", "credit": "1200000", "active": "1"},
    )
    assert r.headers["location"] == "/admin/packages?ok=created"
    with ctx.db.transaction(readonly=True) as session:
        (package,) = [p for p in billing.packages(session, active_only=False) if p.name == "طلایی"]
    r = page.post(
        f"/admin/packages/{package.id}",
        {"name": "طلایی", "description": "", "price": "1000000", "credit": "1300000"},
    )
    assert r.headers["location"] == "/admin/packages?ok=saved"
    with ctx.db.transaction(readonly=True) as session:
        assert package.id not in [p.id for p in billing.packages(session)], "unticked: off sale"
    assert "طلایی" not in page.get("/credit").text

    r = page.post(
        "/admin/tariffs",
        {"kind": "*", "encoding": "UCS-2", "operator": "MCI", "line_prefix": "", "price": "-1"},
    )
    assert field_error(r.text, "price") == "عدد نباید کمتر از ۰ باشد."
    r = page.post(
        "/admin/tariffs",
        {"kind": "*", "encoding": "UCS-2", "operator": "MCI", "line_prefix": "3000", "price": "1200"},
    )
    assert r.headers["location"] == "/admin/tariffs?ok=saved"
    assert "3000" in page.get("/admin/tariffs").text
    r = page.post("/admin/vat", {"vat_percent": "101"})
    assert field_error(r.text, "vat_percent") == "عدد نباید بیشتر از ۱۰۰ باشد."
    assert page.post("/admin/vat", {"vat_percent": "9"}).status_code == 303


def test_lines_and_routes_are_managed(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.admin)
    r = page.get("/admin/lines")
    assert "۳۰۰۰۱۲۳۴" in r.text and "مرکز پیامک شبیه‌سازی‌شده" in r.text
    r = page.post("/admin/lines", {"number": "30001234", "kind": "advertising", "owner": "", "route_id": ""})
    assert "پیش‌تر ثبت شده" in field_error(r.text, "number")
    r = page.post("/admin/lines", {"number": "5000123", "kind": "service", "owner": "0912", "route_id": ""})
    assert "درست نیست" in field_error(r.text, "owner")
    r = page.post(
        "/admin/lines", {"number": "5000123", "kind": "service", "owner": shop.user.mobile, "route_id": ""}
    )
    assert r.headers["location"] == "/admin/lines?ok=added"

    r = page.post(
        "/admin/routes",
        {
            "name": "مگفا",
            "kind": "smpp",
            "host": "",
            "port": "99999",
            "system_id": "",
            "password": "",
            "tps": "",
            "priority": "10",
        },
    )
    assert field_error(r.text, "route-host") == "این بخش را پر کنید."
    assert field_error(r.text, "route-port") == "عدد نباید بیشتر از ۶۵۵۳۵ باشد."
    r = page.post(
        "/admin/routes",
        {
            "name": "مگفا",
            "kind": "smpp",
            "host": "127.0.0.1",
            "port": "2775",
            "system_id": "shop",
            "password": "pw",
            "tps": "50",
            "priority": "10",
        },
    )
    assert r.headers["location"] == "/admin/lines?ok=added#routes"
    r = page.get("/admin/lines")
    assert (
        "مگفا" in r.text
        and "127.0.0.1:2775" in r.text
        and "pw" not in r.text.split("مگفا", 1)[1].split("</tr>")[0]
    )
    route_id = re.search(r'action="/admin/routes/(\d+)/delete"', r.text).group(1)  # type: ignore[union-attr]
    assert page.post(f"/admin/routes/{route_id}/delete").status_code == 303


def test_the_blacklist_is_checked_added_to_removed_from_and_loaded(
    login: Callable[[Any], Browser], shop: Shop, ctx: Context
) -> None:
    page = login(shop.admin)
    r = page.post("/admin/blacklist/add", {"numbers": "", "reason": ""})
    assert field_error(r.text, "add-numbers") == "این بخش را پر کنید."
    r = page.post(
        "/admin/blacklist/add", {"numbers": "09121000001\n۰۹۱۲۱۰۰۰۰۰۲, 123", "reason": "درخواست مشترک"}
    )
    # Shown on a page of its own address: a reload does not add the numbers again.
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/blacklist?done=add")
    r = page.get(r.headers["location"])
    assert r.status_code == 200 and "افزوده شد: ۲" in r.text and "123" in r.text
    r = page.get("/admin/blacklist?check=09121000001")
    assert "مسدود برای پیامک تبلیغاتی" in r.text
    r = page.get("/admin/blacklist?check=abc")
    assert r.status_code == 400 and "درستی نیست" in field_error(r.text, "check")
    r = page.post("/admin/blacklist/remove", {"numbers": "09121000002"})
    assert r.status_code == 303
    assert "برداشته شد: ۱" in page.get(r.headers["location"]).text

    token = page.token("/admin/blacklist")
    r = page.post("/admin/blacklist/national", {}, token=token, files={"file": ("", io.BytesIO(b""))})
    assert r.status_code == 400 and field_error(r.text, "bl-file") == "فایلی انتخاب کنید."
    lines = "\n".join(f"0912{5000000 + i:07d}" for i in range(200)).encode()
    r = page.post(
        "/admin/blacklist/national", {}, token=token, files={"file": ("list.txt", io.BytesIO(lines))}
    )
    assert r.status_code == 303 and re.fullmatch(r"/admin/blacklist\?load=\d+", r.headers["location"])
    r = page.get(r.headers["location"])
    assert "data-poll-load=" in r.text
    with ctx.db.transaction(readonly=True) as session:
        assert blacklist.summary(session).counts["national"] == 200


def test_forbidden_words_are_added_and_refuse_texts(login: Callable[[Any], Browser], shop: Shop) -> None:
    page = login(shop.admin)
    r = page.post("/admin/words", {"word": ""})
    assert field_error(r.text, "word") == "این بخش را پر کنید."
    assert page.post("/admin/words", {"word": "قرعه‌کشی"}).headers["location"] == "/admin/words?ok=added"
    r = page.post("/admin/words", {"word": "قرعه‌کشی"})
    assert "پیش‌تر افزوده شده" in field_error(r.text, "word")
    user = login(shop.user)
    r = user.post(
        "/send/advertising/preview",
        {"group": [str(shop.group_id)], "numbers": "", "text": "شرکت در قرعه‌کشی بزرگ", "when": "now"},
    )
    assert r.status_code == 400 and "<mark" in r.text
