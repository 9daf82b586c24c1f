"""The Persian UI in a real Chromium, from sign-up to delivered messages and a paid package.

The tests run in order and build on each other, as a person would: a shop signs up, the operator
sets up lines and a package, the shop imports its customers, sends, watches the messages reach
their final state, and buys credit. The main pages are saved as screenshots for the README.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from payamak.accounts import service as accounts

from .conftest import DESKTOP, PHONE
from .server import LiveServer

pytestmark = pytest.mark.slow

USER_MOBILE = "09351112233"
USER_PASSWORD = "niloofar-pass-1"
ADMIN_MOBILE = "09120000001"
ADMIN_PASSWORD = "operator-pass-1"
USER_NAME = "نیلوفر رضایی"
SENDER_NAME = "گل‌فروشی نیلوفر"
FINAL_TIMEOUT = 60_000  # ms for a send to reach its final state

# What one test leaves for the next: ids of what it made.
state: dict[str, Any] = {}


@pytest.fixture(scope="module")
def admin_account(live: LiveServer) -> None:
    """The operator's account is made on the server, as `payamak admin create-user` does."""
    with live.ctx.db.transaction() as session:
        accounts.create_user(
            session,
            passwords=live.ctx.passwords,
            mobile=ADMIN_MOBILE,
            password=ADMIN_PASSWORD,
            admin=True,
            name="مدیر سامانه",
        )


def _context(browser: Any, live: LiveServer, **options: Any) -> Any:
    context = browser.new_context(
        base_url=live.url, viewport=DESKTOP, locale="fa-IR", timezone_id="Asia/Tehran", **options
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture(scope="module")
def user(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = _context(browser, live)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"scripts failed on the user's pages: {errors}"


@pytest.fixture(scope="module")
def admin(browser: Any, live: LiveServer, admin_account: None) -> Iterator[Any]:
    context = _context(browser, live)
    page = context.new_page()
    _log_in(page, ADMIN_MOBILE, ADMIN_PASSWORD)
    yield page
    context.close()


def _log_in(page: Any, mobile: str, password: str) -> None:
    page.goto("/login")
    page.fill("#mobile", mobile)
    page.fill("#password", password)
    with page.expect_navigation():
        page.get_by_role("button", name="ورود").click()


def _shot(page: Any, folder: Path, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full)


def _url_path(page: Any) -> str:
    return re.sub(r"^https?://[^/]+", "", str(page.url))


# --- sign-up and login ----------------------------------------------------------------------


def test_sign_up_with_the_code_from_the_simulator_then_log_in(user: Any, live: LiveServer) -> None:
    user.goto("/signup")
    assert user.locator("html").get_attribute("dir") == "rtl"
    user.fill("#name", USER_NAME)
    user.fill("#mobile", "۰۹۳۵۱۱۱۲۲۳۳")  # typed with Persian digits, as people do
    user.fill("#password", USER_PASSWORD)
    user.get_by_role("button", name="ثبت‌نام").click()
    user.wait_for_url(re.compile(r"/verify\?mobile="))

    # No phone network: the code is on the simulator page.
    simulator = user.context.new_page()
    simulator.goto("/simulator")
    row = simulator.locator("tr", has=simulator.locator("bdi", has_text="+989351112233")).first
    code = re.search(r"\d{6}", row.locator("td.sms").inner_text())
    assert code, "the simulator shows no code for the new mobile"
    simulator.close()

    user.fill("#code", code.group(0))
    user.get_by_role("button", name="تأیید").click()
    user.wait_for_url(f"{live.url}/")
    assert user.get_by_role("status").first.inner_text().strip().endswith("وارد شده‌اید")

    user.get_by_role("button", name="خروج").click()
    user.wait_for_url(re.compile(r"/login"))
    assert "وارد نشده‌اید" in user.locator("header").inner_text()
    _log_in(user, USER_MOBILE, USER_PASSWORD)
    assert _url_path(user) == "/"


def test_an_expired_login_goes_to_the_login_page_and_back(user: Any) -> None:
    cookies = user.context.cookies()
    user.context.clear_cookies()
    user.context.add_cookies([c for c in cookies if c["name"] != "payamak_session"])
    user.goto("/groups")
    assert re.search(r"/login\?next=/groups$", user.url)
    user.fill("#mobile", USER_MOBILE)
    user.fill("#password", USER_PASSWORD)
    user.get_by_role("button", name="ورود").click()
    user.wait_for_url(re.compile(r"/groups$"))


# --- the operator sets things up --------------------------------------------------------------


def test_sender_names_are_registered_and_decided(user: Any, admin: Any) -> None:
    user.goto("/profile")
    for name in (SENDER_NAME, "نام آزمایشی"):
        user.fill("#f-sn-name", name)
        with user.expect_navigation():
            user.get_by_role("button", name="ثبت", exact=True).click()
    names = user.locator("#sender-names")
    assert names.locator(".badge.name-pending").count() == 2

    admin.goto("/admin/sender-names")
    row = admin.locator("tr", has_text=SENDER_NAME)
    row.get_by_role("button", name="تأیید").click()
    admin.wait_for_url(re.compile(r"ok=approved"))
    row = admin.locator("tr", has_text="نام آزمایشی")
    row.locator("summary", has_text="رد").click()
    row.get_by_role("button", name="رد").click()  # without a reason: refused next to the field
    assert admin.locator(".field-error").first.inner_text().endswith("این بخش را پر کنید.")
    row = admin.locator("tr", has_text="نام آزمایشی")
    row.get_by_label("دلیل رد").fill("نام کسب‌وکار شما نیست.")
    row.get_by_role("button", name="رد").click()
    admin.wait_for_url(re.compile(r"ok=rejected"))

    user.goto("/profile")
    assert names.locator(".badge.name-approved").count() == 1
    assert names.locator(".badge.name-rejected").count() == 1
    assert "نام کسب‌وکار شما نیست." in names.inner_text()


def test_the_operator_adds_lines_a_package_and_credit(
    admin: Any, live: LiveServer, screenshots: Path
) -> None:
    admin.goto("/admin/lines")
    for number, kind in (("30001234", "تبلیغاتی"), ("20001234", "خدماتی")):
        admin.fill("#f-number", number)
        admin.select_option("#f-kind", label=kind)
        with admin.expect_navigation():
            admin.get_by_role("button", name="افزودن").first.click()
        assert "ok=added" in admin.url
    assert admin.locator("table").first.get_by_text("۳۰۰۰۱۲۳۴").count() == 1
    # The built-in simulated SMSC is the route while none is configured, and it is bound.
    assert admin.locator("#routes .badge", has_text="وصل").count() == 1
    _shot(admin, screenshots, "admin-lines", full=True)

    admin.goto("/admin/packages")
    admin.fill("#f-name", "بستهٔ پایه")
    admin.fill("#f-price", "۱٬۰۰۰٬۰۰۰")
    admin.fill("#f-credit", "1200000")
    admin.get_by_role("button", name="ساختن").click()
    admin.wait_for_url(re.compile(r"ok=created"))

    admin.goto("/admin/accounts?q=" + USER_MOBILE)
    row = admin.locator("tr", has_text=USER_NAME)
    row.locator("summary").click()
    row.get_by_label("مبلغ (ریال)").fill("abc")
    row.get_by_label("دلیل").fill("اعتبار آغازین")
    row.get_by_role("button", name="انجام").click()
    assert "یک عدد درست بنویسید" in admin.locator(".field-error").first.inner_text()
    row = admin.locator("tr", has_text=USER_NAME)
    row.get_by_label("مبلغ (ریال)").fill("500000")
    row.get_by_label("دلیل").fill("اعتبار آغازین")
    row.get_by_role("button", name="انجام").click()
    admin.wait_for_url(re.compile(r"ok=granted"))
    assert "۵۰۰٬۰۰۰" in admin.locator("tr", has_text=USER_NAME).inner_text()
    _shot(admin, screenshots, "admin-accounts")


# --- the phonebook ----------------------------------------------------------------------------


def _customers_xlsx(path: Path) -> Path:
    rows: list[list[object]] = [["نام", "موبایل", "شهر"]]
    names = ["مریم", "علی", "سارا", "رضا", "نرگس", "حمید", "لیلا", "کاوه"]
    for i, name in enumerate(names):
        rows.append([name, f"0912{1000000 + i:07d}", "تهران" if i % 2 else "شیراز"])
    rows.append(["مریم (دوباره)", "09121000000", "تهران"])  # a duplicate
    rows.append(["علی", "+989121000001", "تهران"])  # the same number written another way
    rows.append(["دفتر", "02188776655", "تهران"])  # a landline
    rows.append(["ناقص", "0912123", "تهران"])  # too short
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("مشتریان")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, str(value))
    book.close()
    return path


def test_a_group_is_made_and_an_xlsx_imported_with_a_report(
    user: Any, screenshots: Path, tmp_path: Path
) -> None:
    user.goto("/groups")
    user.get_by_role("button", name="ساختن").click()  # empty name
    assert user.locator("#e-name").inner_text().endswith("این بخش را پر کنید.")
    user.fill("#f-name", "مشتریان ویژه")
    user.get_by_role("button", name="ساختن").click()
    user.wait_for_url(re.compile(r"/groups/\d+\?ok=created"))
    state["group"] = int(re.search(r"/groups/(\d+)", user.url).group(1))  # type: ignore[union-attr]

    user.get_by_role("link", name="وارد کردن شماره‌ها").click()
    user.set_input_files("#f-file", str(_customers_xlsx(tmp_path / "customers.xlsx")))
    user.get_by_role("button", name="پیش‌نمایش فایل").click()
    user.wait_for_url(re.compile(r"/imports/preview$"))
    # The reader found the phone and name columns; the first rows are shown.
    assert user.locator("#f-phone option:checked").inner_text() == "موبایل"
    assert user.locator("#f-name option:checked").inner_text() == "نام"
    assert user.locator("table.preview tbody tr").count() >= 8
    user.get_by_role("button", name="شروع ورود").click()
    user.wait_for_url(re.compile(r"/imports/\d+$"))
    user.get_by_text("ورود پایان یافت.").wait_for()
    facts = user.locator("dl.facts").inner_text()
    assert "۸" in facts
    invalid = user.locator("table tbody tr")
    assert invalid.count() == 2
    assert "تلفن ثابت" in invalid.nth(0).inner_text() or "تلفن ثابت" in invalid.nth(1).inner_text()
    _shot(user, screenshots, "import-report", full=True)

    user.goto(f"/groups/{state['group']}")
    assert user.locator("table tbody tr").count() == 8
    user.fill("#f-number", "۰۹۱۲۱۰۰۰۰۰۰")
    user.get_by_role("button", name="افزودن", exact=True).click()
    assert user.locator("#e-number").inner_text().endswith("این شماره از پیش در گروه هست.")
    user.fill("#f-q", "مریم")
    with user.expect_navigation():
        user.get_by_role("button", name="جست‌وجو").click()
    assert user.locator("table tbody tr").count() == 1
    user.goto(f"/groups/{state['group']}")
    _shot(user, screenshots, "group", full=True)


# --- sending ----------------------------------------------------------------------------------


def _wait_for_final(page: Any) -> None:
    page.locator(".badge.state-done").first.wait_for(timeout=FINAL_TIMEOUT)


def test_an_advertising_send_is_previewed_sent_once_and_delivered(user: Any, screenshots: Path) -> None:
    user.goto("/send/advertising")
    assert "ارسال تبلیغاتی فقط بین ساعت" not in user.content()  # the window is lifted on this server
    user.get_by_label("مشتریان ویژه").check()
    user.fill("#f-numbers", "09121234567\n0912 123 4567\n12345")
    user.fill("#f-text", "حراج پاییزه گل‌فروشی نیلوفر: ۲۰٪ تخفیف تا جمعه")
    assert "بخش" in user.locator("#text-counter").inner_text()
    user.get_by_role("button", name="پیش‌نمایش و محاسبهٔ هزینه").click()
    user.wait_for_url(re.compile(r"/send/advertising/preview$"))
    summary = user.locator("[data-summary]")
    facts = summary.locator("dl.facts").inner_text()
    assert "۹" in facts  # 8 from the group and one typed twice
    assert "تکراری" in facts and "نامعتبر" in facts

    # A double click sends once: the form is sent once, and its Idempotency-Key covers a resend.
    user.get_by_role("button", name="تأیید و ارسال").dblclick()
    user.wait_for_url(re.compile(r"/sends/\d+\?ok=sent"))
    state["ad_send"] = int(re.search(r"/sends/(\d+)", user.url).group(1))  # type: ignore[union-attr]
    _wait_for_final(user)
    counts = user.locator("[data-part=counts]").inner_text()
    assert "رسیده: ۹" in counts, counts
    # The recipients table followed without a reload.
    assert user.locator("#recipients .st-delivered").count() == 9
    user.select_option("#f-status", "delivered")
    user.fill("#f-number", "09121234567")
    with user.expect_navigation():
        user.get_by_role("button", name="نمایش").click()
    assert user.locator("#recipients tbody tr").count() == 1
    user.goto(f"/sends/{state['ad_send']}")
    _shot(user, screenshots, "send-details", full=True)

    user.goto("/")
    assert user.locator("table.sends tbody tr").count() == 1


def test_an_informational_send_shows_a_violation_in_place_until_it_is_fixed(
    user: Any, screenshots: Path
) -> None:
    user.goto("/send/informational")
    user.fill("#f-numbers", "09121234567, 09351234567")
    text = user.locator("#f-text")
    text.click()
    text.press_sequentially("سفارش شما آماده است. پیگیری در www.niloofar-shop.ir", delay=5)
    mark = user.locator(".highlights mark")
    mark.first.wait_for()
    assert mark.first.inner_text() == "www.niloofar-shop.ir"
    violations = user.locator("#text-violations li")
    assert violations.count() >= 1
    explained = violations.all_inner_texts()
    assert any("پیوند" in v and "www.niloofar-shop.ir" in v for v in explained), explained
    assert any("نام فرستنده" in v for v in explained), explained
    # The mark and its explanation share a number.
    number = mark.first.get_attribute("data-n")
    assert "پیوند" in user.locator(f"#text-violations li[data-n='{number}']").inner_text()
    # The sender name is missing too; the approved name is offered as a button.
    assert user.get_by_role("button", name=SENDER_NAME).count() == 1
    user.locator("fieldset").nth(1).evaluate("element => element.scrollIntoView()")
    _shot(user, screenshots, "send-violation")

    text.fill("سفارش شما آماده است.")
    text.press("End")
    user.get_by_role("button", name=SENDER_NAME).click()
    assert SENDER_NAME in text.input_value()
    user.wait_for_function("document.querySelectorAll('#text-violations li').length === 0")
    assert mark.count() == 0
    user.get_by_role("button", name="پیش‌نمایش و محاسبهٔ هزینه").click()
    user.wait_for_url(re.compile(r"/preview$"))
    assert "لغو۱۱" in user.locator("[data-summary] p.sms").inner_text()
    user.get_by_role("button", name="تأیید و ارسال").click()
    user.wait_for_url(re.compile(r"/sends/\d+\?ok=sent"))
    _wait_for_final(user)
    assert "رسیده: ۲" in user.locator("[data-part=counts]").inner_text()


def test_the_page_counts_characters_and_parts_as_the_server_does(user: Any) -> None:
    from payamak import sms

    user.goto("/send/advertising")
    texts = [
        "",
        "Hello",
        "a" * 160,
        "a" * 161,
        "[]{}" * 40,  # GSM-7 extension characters take two septets each
        "a" * 152 + "€" + "b" * 10,  # a two-septet character is not split between parts
        "سلام" * 17 + "س",
        "ب" * 71,
        "ب" * 66 + "😀" + "ب" * 10,  # an emoji is two UTF-16 units, never split
        "ok 😀",
        "line\nbreak é ñ",
    ]
    for text in texts:
        ours = user.evaluate("text => analyse(text)", text)
        theirs = sms.analyse(text)
        expected = {
            "encoding": theirs.encoding,
            "characters": theirs.characters,
            "segments": theirs.segments,
            "remaining": theirs.remaining,
        }
        assert ours == expected, (text, ours, expected)


def test_a_scheduled_send_picks_a_jalali_time_and_is_canceled(user: Any) -> None:
    user.goto("/send/advertising")
    user.get_by_label("مشتریان ویژه").check()
    user.fill("#f-text", "یادآوری: فردا جشنواره داریم")
    user.get_by_label("در زمان مشخص").check()
    year = int(user.locator("#f-jy option").nth(1).get_attribute("value") or "0")
    user.select_option("#f-jy", str(year - 1))  # this year, and the next month (or Farvardin)
    month = int(user.locator("#f-jm").input_value())
    user.select_option("#f-jm", str(month % 12 + 1))
    if month == 12:
        user.select_option("#f-jy", str(year))
    user.select_option("#f-jd", "31")
    user.select_option("#f-hh", "10")
    user.select_option("#f-mi", "30")
    user.get_by_role("button", name="پیش‌نمایش و محاسبهٔ هزینه").click()
    if month % 12 + 1 >= 7:
        # Mehr to Esfand have 30 days at most: the picker's date is refused next to it.
        assert "این تاریخ یا ساعت در تقویم نیست" in user.locator(".datetime .field-error").inner_text()
        user.select_option("#f-jd", "15")
        user.get_by_role("button", name="پیش‌نمایش و محاسبهٔ هزینه").click()
    send_at = user.locator("[data-summary] dl.facts").inner_text()
    assert "۱۰:۳۰" in send_at
    user.get_by_role("button", name="تأیید و ارسال").click()
    user.wait_for_url(re.compile(r"/sends/\d+\?ok=sent"))
    assert user.locator(".badge.state-scheduled").count() == 1
    user.locator("summary", has_text="لغو ارسال").click()
    user.get_by_role("button", name="لغو ارسال").click()
    user.wait_for_url(re.compile(r"ok=canceled"))
    user.locator(".badge.state-canceled").first.wait_for()


# --- credit -----------------------------------------------------------------------------------


def test_a_package_is_bought_through_the_sandbox_gateway(user: Any, screenshots: Path) -> None:
    user.goto("/credit")
    before = user.locator(".tile strong").first.inner_text()
    user.get_by_role("button", name="خرید").first.click()
    user.wait_for_url(re.compile(r"/pay/sandbox/"))
    user.get_by_role("button", name="پرداخت").click()
    user.wait_for_url(re.compile(r"/credit/payments/\d+"))
    assert "پرداخت انجام شد" in user.content()
    user.goto("/credit")
    after = user.locator(".tile strong").first.inner_text()
    assert after != before
    assert user.get_by_text("پرداخت شد").count() >= 1
    _shot(user, screenshots, "credit", full=True)
    user.get_by_role("link", name="همهٔ گردش حساب").click()
    user.fill("#f-from", "1400/13/40")
    with user.expect_navigation():
        user.get_by_role("button", name="نمایش").click()
    assert "درست نیست" in user.locator("#e-from").inner_text()


# --- the panel --------------------------------------------------------------------------------


def test_the_panel_shows_the_sends_and_the_last_30_days(
    user: Any, browser: Any, live: LiveServer, screenshots: Path
) -> None:
    user.goto("/")
    rows = user.locator("table.sends tbody tr")
    assert rows.count() == 3
    assert user.locator(".badge.state-done").count() == 2
    chart = user.locator("figure.chart")
    assert "۱۱" in chart.locator("#chart-desc").inner_text()  # 9 + 2 messages reached the operator
    _shot(user, screenshots, "panel", full=True)

    phone = browser.new_context(
        base_url=live.url,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        storage_state=user.context.storage_state(),
        locale="fa-IR",
    )
    page = phone.new_page()
    page.goto("/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, "the panel scrolls sideways on a phone"
    _shot(page, screenshots, "panel-phone", full=False)
    phone.close()


def test_english_is_available(user: Any) -> None:
    user.goto("/?lang=en")
    assert user.locator("html").get_attribute("dir") == "ltr"
    assert user.get_by_role("heading", name="Status panel").count() == 1
    user.goto("/groups")  # the choice is remembered
    assert user.get_by_role("heading", name="Groups and numbers").count() == 1
    user.goto("/?lang=fa")
