"""Persian first: digits, Jalali dates, and the few UI words that need two languages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import jdatetime

_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa_digits(value: object) -> str:
    return str(value).translate(_FA_DIGITS)


def money(value: int, lang: str = "fa") -> str:
    text = f"{value:,}"
    return fa_digits(text.replace(",", "٬")) if lang == "fa" else text


def jalali(value: dt.datetime | None, tz: ZoneInfo, *, with_time: bool = True, lang: str = "fa") -> str:
    if value is None:
        return "—"
    local = value.astimezone(tz)
    if lang == "en":
        return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
    j = jdatetime.datetime.fromgregorian(datetime=local.replace(tzinfo=None))
    text = j.strftime("%Y/%m/%d %H:%M" if with_time else "%Y/%m/%d")
    return fa_digits(text)


def jalali_year(now: dt.datetime) -> tuple[str, str]:
    """The first and the last day of the Jalali year `now` falls in (1404/01/01, 1404/12/29; the
    last is the 30th in a leap year), for examples of a date to type."""
    year = jdatetime.datetime.fromgregorian(datetime=now.replace(tzinfo=None)).year
    last = jdatetime.date(year + 1, 1, 1) - dt.timedelta(days=1)
    return f"{year:04d}/01/01", last.strftime("%Y/%m/%d")


# Error codes of recipients' messages (see dispatch and the providers): the stable part before
# the first colon, or `receipt:<status>` for what a delivery receipt said.
_PROBLEMS: dict[str, str] = {
    "receipt:blocked": "why_blocked",
    "receipt:undelivered": "why_undelivered",
    "receipt:expired": "why_expired",
    "receipt:rejected": "why_rejected",
    "receipt:canceled": "why_dropped",
    "receipt:unknown": "why_unknown",
    "validity_expired": "why_validity",
    "route_unavailable": "why_route",
    "provider_error": "why_route",
    "smpp_unavailable": "why_route",
    "smpp_closed": "why_route",
    "smpp_timeout": "why_route",
    "smpp_connection_lost": "why_route",
    "smpp_throttled": "why_route",
    "smpp_bind_failed": "why_route_login",
    "smpp_status": "why_rejected",
    "kavenegar_status": "why_rejected",
    "invalid_address": "why_bad_number",
    "invalid_sender": "why_bad_sender",
    "invalid_text": "why_bad_text",
}
# SMSC refusals that name the part of the message at fault.
_ESME_PROBLEMS: dict[str, str] = {
    "ESME_RINVDSTADR": "why_bad_number",
    "ESME_RINVSRCADR": "why_bad_sender",
    "ESME_RINVMSGLEN": "why_bad_text",
}


def problem_text(error: str | None, lang: str = "fa") -> str:
    """A recipient's error code (`receipt:blocked:14`, `route_unavailable:…`,
    `smpp_status:ESME_RINVDSTADR`) as a short reason for the shop owner; "" for no error and for
    `canceled`, which the status already says."""
    if not error or error == "canceled":
        return ""
    parts = error.split(":")
    esme = next((part for part in parts if part.startswith("ESME_")), None)
    if esme in _ESME_PROBLEMS:
        key = _ESME_PROBLEMS[esme]
    elif parts[0] == "receipt":
        key = _PROBLEMS.get(":".join(parts[:2]), "why_other")
    elif esme is not None and parts[0] == esme:
        key = "why_rejected"
    else:
        key = _PROBLEMS.get(parts[0], "why_other")
    return translate(key, lang)


# UI words, Persian first. Templates call t("key"); a missing English entry falls back to Persian.
# Numbers inside a sentence are written {name} and filled by the caller.
WORDS: dict[str, tuple[str, str]] = {
    "app": ("پیامک", "Payamak"),
    "login": ("ورود", "Log in"),
    "logout": ("خروج", "Log out"),
    "signup": ("ثبت‌نام", "Sign up"),
    "mobile": ("شمارهٔ موبایل", "Mobile number"),
    "password": ("رمز عبور", "Password"),
    "password_hint": ("دست‌کم {min} نویسه", "At least {min} characters"),
    "new_password": ("رمز عبور تازه", "New password"),
    "current_password": ("رمز عبور فعلی", "Current password"),
    "confirm_password": ("تکرار رمز عبور تازه", "New password again"),
    "name": ("نام و نام خانوادگی یا نام کسب‌وکار", "Name or business name"),
    "name_short": ("نام", "Name"),
    "remember": ("مرا یک ماه به خاطر بسپار", "Keep me logged in for a month"),
    "forgot": ("رمز را فراموش کرده‌ام", "Forgot password"),
    "code": ("کد تأیید", "Verification code"),
    "verify": ("تأیید", "Verify"),
    "verify_title": ("تأیید شمارهٔ موبایل", "Verify your mobile"),
    "code_sent_to": ("کد شش‌رقمی به این شماره پیامک شد:", "A 6-digit code was sent by SMS to:"),
    "resend": ("فرستادن دوبارهٔ کد", "Send the code again"),
    "reset_title": ("بازیابی رمز عبور", "Reset the password"),
    "send_code": ("فرستادن کد", "Send code"),
    "save": ("ذخیره", "Save"),
    "panel": ("پنل وضعیت", "Status panel"),
    "logged_in": ("وارد شده‌اید", "Logged in"),
    "logged_out": ("وارد نشده‌اید", "Not logged in"),
    "balance": ("موجودی", "Balance"),
    "rial": ("ریال", "rials"),
    "profile": ("حساب کاربری", "Profile"),
    "sessions": ("نشست‌ها", "Sessions"),
    "api_keys": ("کلیدهای API", "API keys"),
    "simulator": ("پیامک‌های شبیه‌ساز", "Simulated SMS"),
    "simulator_note": (
        "این سامانه به شبکهٔ واقعی وصل نیست؛ پیامک‌هایی که فرستاده می‌شد این‌جاست.",
        "This installation is not connected to a real network; the SMS it would have sent are here.",
    ),
    "no_account": ("حساب ندارید؟", "No account yet?"),
    "have_account": ("حساب دارید؟", "Already registered?"),
    "to": ("گیرنده", "To"),
    "text": ("متن", "Text"),
    "time": ("زمان", "Time"),
    "welcome": ("خوش آمدید", "Welcome"),
    "language": ("English", "فارسی"),
    "csrf": (
        "فرم منقضی شده است؛ صفحه را دوباره باز کنید و دوباره بفرستید.",
        "The form has expired; reload the page and submit again.",
    ),
    # --- layout and navigation
    "skip_to_content": ("پرش به محتوای صفحه", "Skip to content"),
    "main_menu": ("منوی اصلی", "Main menu"),
    "nav_advertising": ("ارسال تبلیغاتی", "Advertising SMS"),
    "nav_informational": ("ارسال اطلاع‌رسانی", "Informational SMS"),
    "nav_groups": ("گروه‌ها و شماره‌ها", "Groups and numbers"),
    "nav_customers": ("مشتریان", "Customers"),
    "nav_credit": ("اعتبار", "Credit"),
    "nav_admin": ("مدیریت", "Administration"),
    "admin_only": ("این صفحه فقط برای مدیر سامانه است.", "Only administrators can open this page."),
    "bad_request": (
        "درخواست درست نیست؛ نشانی صفحه را بررسی کنید.",
        "The request is not valid; check the address.",
    ),
    "page_not_found": ("چنین صفحه‌ای نیست.", "There is no such page."),
    "not_found_title": ("صفحه پیدا نشد", "Page not found"),
    "error_title": ("خطا", "Error"),
    "on_this_page": ("در این صفحه", "On this page"),
    "pages": ("صفحه‌ها", "Pages"),
    "page": ("صفحهٔ", "Page"),
    "of": ("از", "of"),
    "prev_page": ("→ صفحهٔ قبل", "← Previous"),
    "next_page": ("صفحهٔ بعد ←", "Next →"),
    "actions": ("کارها", "Actions"),
    "yes_delete": ("بله، حذف شود", "Yes, delete"),
    "form_has_errors": (
        "فرم ایراد دارد؛ پیام‌های کنار بخش‌ها را ببینید.",
        "The form has errors; see the messages next to the fields.",
    ),
    # --- confirmations after a redirect
    "ok_saved": ("ذخیره شد.", "Saved."),
    "ok_created": ("ساخته شد.", "Created."),
    "ok_deleted": ("حذف شد.", "Deleted."),
    "ok_renamed": ("نام تغییر کرد.", "Renamed."),
    "ok_added": ("افزوده شد.", "Added."),
    "ok_canceled": (
        "ارسال لغو شد و اعتبار پیامک‌های نرفته بازگشت.",
        "The send was canceled; the credit of the unsent messages is back.",
    ),
    "ok_password_changed": (
        "رمز عبور تغییر کرد و نشست‌های دیگر بسته شد.",
        "Password changed; the other logins were ended.",
    ),
    "ok_revoked": ("باطل شد.", "Revoked."),
    "ok_granted": ("اعتبار حساب تغییر کرد.", "The account's credit was changed."),
    "ok_approved": ("تأیید شد.", "Approved."),
    "ok_rejected": ("رد شد.", "Rejected."),
    "ok_sent": ("درخواست ارسال ثبت شد.", "The send was accepted."),
    # --- form errors
    "err_required": ("این بخش را پر کنید.", "This field is required."),
    "err_too_long": (
        "این بخش نباید بیش از {max} نویسه باشد.",
        "This field must be at most {max} characters.",
    ),
    "err_number": ("یک عدد درست بنویسید (فقط رقم).", "Write a whole number (digits only)."),
    "err_min": ("عدد نباید کمتر از {min} باشد.", "The number must be at least {min}."),
    "err_max": ("عدد نباید بیشتر از {max} باشد.", "The number must be at most {max}."),
    "err_choice": ("یکی از گزینه‌ها را انتخاب کنید.", "Choose one of the options."),
    "err_field_line": (
        "سطر {line} فیلدها جداکننده ندارد؛ هر سطر را به شکل «نام فیلد: مقدار» بنویسید.",
        "Line {line} of the fields has no separator; write each line as “field: value”.",
    ),
    "err_text_required": ("متن پیامک را بنویسید.", "Write the message text."),
    "err_text_rules": (
        "متن با قواعد ارسال نمی‌خواند؛ موارد شماره‌دار زیر را اصلاح کنید.",
        "The text breaks the sending rules; fix the numbered points below.",
    ),
    "err_no_recipients": (
        "دست‌کم یک گروه انتخاب کنید یا شماره‌ای بنویسید.",
        "Choose at least one group or write a number.",
    ),
    "err_too_many_numbers": (
        "در هر ارسال حداکثر {max} شماره می‌توان نوشت؛ برای بیشتر، گروه بسازید.",
        "At most {max} numbers can be written per send; use a group for more.",
    ),
    "err_date": (
        "این تاریخ یا ساعت در تقویم نیست؛ روز و ماه را بررسی کنید.",
        "That date or time does not exist; check the day and month.",
    ),
    "err_import_input": (
        "فایلی انتخاب کنید یا شماره‌ها را در کادر بچسبانید.",
        "Choose a file or paste the numbers into the box.",
    ),
    "err_paste_too_long": (
        "متن چسبانده‌شده بسیار بلند است؛ آن را به شکل فایل وارد کنید.",
        "The pasted text is too long; import it as a file.",
    ),
    "err_upload_gone": (
        "فایل بارگذاری‌شده دیگر در دسترس نیست؛ دوباره انتخابش کنید.",
        "The uploaded file is no longer available; choose it again.",
    ),
    "err_file_too_large": ("حجم فایل از حد مجاز بیشتر است.", "The file is larger than allowed."),
    "err_choose_file": ("فایلی انتخاب کنید.", "Choose a file."),
    "err_choose_customers": (
        "دست‌کم یک مشتری را علامت بزنید یا «همهٔ مشتریان» را انتخاب کنید.",
        "Tick at least one customer or choose “all customers”.",
    ),
    "err_passwords_differ": ("دو رمز تازه یکی نیستند.", "The two new passwords differ."),
    # --- the status panel
    "account_summary": ("خلاصهٔ حساب", "Account summary"),
    "login_state": ("وضعیت ورود", "Login"),
    "low_balance": ("موجودی از حد هشدار شما کمتر است.", "The balance is below your warning level."),
    "buy_credit": ("خرید اعتبار", "Buy credit"),
    "new_send": ("ارسال تازه", "New send"),
    "latest_sends": ("آخرین درخواست‌های ارسال", "Latest sends"),
    "no_sends": ("هنوز پیامکی نفرستاده‌اید.", "You have not sent anything yet."),
    "send_no": ("ارسال", "Send"),
    "kind": ("نوع", "Kind"),
    "line": ("خط", "Line"),
    "lines": ("خط‌ها", "Lines"),
    "recipients": ("گیرندگان", "Recipients"),
    "progress": ("پیشرفت", "Progress"),
    "percent": ("٪", "%"),
    "statuses": ("وضعیت‌ها", "Statuses"),
    "status": ("وضعیت", "Status"),
    "state": ("وضعیت", "State"),
    "cost": ("هزینه", "Cost"),
    "given_back": ("بازگشته به اعتبار", "Given back"),
    "net_cost": ("هزینهٔ خالص", "Net cost"),
    "send_at": ("زمان ارسال", "Send time"),
    "created": ("ثبت", "Created"),
    "blocked": ("مسدود (لیست سیاه یا لغو۱۱)", "Blocked (blacklist or opt-out)"),
    "invalid": ("نامعتبر", "Invalid"),
    "duplicates": ("تکراری", "Duplicates"),
    "parts": ("بخش‌ها", "Parts"),
    "parts_word": ("بخش", "parts"),
    "characters": ("نویسه", "characters"),
    "delayed_window": (
        "به نخستین ساعت مجاز ارسال تبلیغاتی منتقل شد.",
        "Moved to the next opening of the advertising window.",
    ),
    "cancel_send": ("لغو ارسال", "Cancel the send"),
    "cancel_send_question": (
        "پیامک‌هایی که هنوز نرفته‌اند لغو می‌شوند و اعتبارشان بازمی‌گردد. لغو شود؟",
        "Messages not yet sent are canceled and their credit comes back. Cancel?",
    ),
    "recipient_statuses": ("وضعیت هر گیرنده", "Each recipient's status"),
    "download": ("دریافت فایل", "Download"),
    "all": ("همه", "All"),
    "number": ("شماره", "Number"),
    "numbers": ("شماره‌ها", "Numbers"),
    "numbers_word": ("شماره", "numbers"),
    "filter": ("نمایش", "Show"),
    "found": ("یافته‌ها", "Found"),
    "nothing_found": ("چیزی پیدا نشد.", "Nothing found."),
    "operator": ("اپراتور", "Operator"),
    "price": ("بها", "Price"),
    "sent_at": ("زمان تحویل به اپراتور", "Sent to operator"),
    "done_at": ("زمان نتیجه", "Result time"),
    "date": ("تاریخ", "Date"),
    "chart_title": ("۳۰ روز گذشته", "The last 30 days"),
    "chart_summary": (
        "در {days} روز گذشته {sent} پیامک به اپراتور رفت، {delivered} رسید و {failed} نرسید؛ هزینه {cost} ریال.",
        "In the last {days} days {sent} messages went to the operators, {delivered} were delivered and {failed} failed; cost {cost} rials.",
    ),
    "chart_messages": ("پیامک‌ها در هر روز", "Messages per day"),
    "chart_sent": ("ارسال‌شده", "Sent"),
    "chart_delivered": ("رسیده", "Delivered"),
    "chart_failed": ("نرسیده", "Failed"),
    "chart_cost": ("هزینه در هر روز (ریال)", "Cost per day (rials)"),
    "chart_cost_rials": ("هزینه (ریال)", "Cost (rials)"),
    "chart_table": ("جدول داده‌های نمودار", "The chart's figures as a table"),
    # statuses of recipients and sends
    "status_scheduled": ("زمان‌بندی‌شده", "Scheduled"),
    "status_queued": ("در صف", "Queued"),
    "status_submitting": ("در صف", "Queued"),
    "status_sent": ("ارسال‌شده", "Sent"),
    "status_delivered": ("رسیده", "Delivered"),
    "status_undelivered": ("نرسیده", "Undelivered"),
    "status_expired": ("منقضی", "Expired"),
    "status_rejected": ("ردشده", "Rejected"),
    "status_failed": ("ناموفق", "Failed"),
    "status_blocked": ("مسدود", "Blocked"),
    "status_canceled": ("لغوشده", "Canceled"),
    # why a recipient's message did not arrive, by the family of its error code
    "why_blocked": ("شماره در فهرست سیاه مخابرات است", "The number is on the operators' blacklist"),
    "why_undelivered": (
        "به گوشی نرسید (خاموش یا خارج از دسترس)",
        "Did not reach the phone (switched off or out of reach)",
    ),
    "why_expired": ("مهلت تحویل گذشت", "The delivery time ran out"),
    "why_rejected": ("اپراتور نپذیرفت", "The operator refused it"),
    "why_dropped": ("اپراتور پیامک را حذف کرد", "The operator dropped the message"),
    "why_unknown": ("اپراتور نتیجه را نامعلوم گزارش کرد", "The operator reported no clear result"),
    "why_validity": ("مهلت ارسال گذشت", "The time allowed for sending ran out"),
    "why_route": ("خطای موقت مسیر ارسال", "A temporary sending-route error"),
    "why_route_login": (
        "مسیر ارسال به اپراتور وصل نشد",
        "The sending route could not log in to the operator",
    ),
    "why_bad_number": ("شمارهٔ گیرنده را اپراتور نپذیرفت", "The operator refused the recipient number"),
    "why_bad_sender": ("خط فرستنده را اپراتور نپذیرفت", "The operator refused the sender line"),
    "why_bad_text": ("متن پیامک را اپراتور نپذیرفت", "The operator refused the text"),
    "why_other": ("خطای ارسال", "Sending error"),
    "state_scheduled": ("زمان‌بندی‌شده", "Scheduled"),
    "state_queued": ("در صف", "Queued"),
    "state_sending": ("در حال ارسال", "Sending"),
    "state_done": ("پایان‌یافته", "Done"),
    "state_canceled": ("لغوشده", "Canceled"),
    "kind_advertising": ("تبلیغاتی", "Advertising"),
    "kind_informational": ("اطلاع‌رسانی", "Informational"),
    "op_MCI": ("همراه اول", "MCI"),
    "op_Irancell": ("ایرانسل", "Irancell"),
    "op_RighTel": ("رایتل", "RighTel"),
    "op_TeleKish": ("تله‌کیش", "TeleKish"),
    "op_ApTel": ("آپتل", "ApTel"),
    "op_MTCE": ("اسپادان", "MTCE"),
    "op_other": ("سایر", "Other"),
    "op_foreign": ("خارجی", "Foreign"),
    # --- sending
    "send_intro_advertising": (
        "پیامک تبلیغاتی به شماره‌هایی که در لیست سیاه نیستند فرستاده می‌شود؛ شماره‌های مسدود پیش از محاسبهٔ هزینه کنار می‌روند.",
        "Advertising SMS reach numbers that are not on the blacklist; blocked numbers are left out before the cost is worked out.",
    ),
    "send_intro_informational": (
        "پیامک اطلاع‌رسانی به همه می‌رسد، اما نباید پیوند، شماره تلفن، نشانی شبکهٔ اجتماعی یا ایمیل داشته باشد و باید نام صادرکنندهٔ تأییدشده را داشته باشد.",
        "Informational SMS reach everyone, but must not hold links, phone numbers, social-media addresses or e-mail addresses, and must name an approved sender.",
    ),
    "step_recipients": ("گیرندگان", "Recipients"),
    "step_text": ("متن پیامک", "Message"),
    "step_line": ("خط ارسال", "Sender line"),
    "step_when": ("زمان ارسال", "When"),
    "step_summary": ("خلاصه و تأیید", "Summary and confirmation"),
    "groups": ("گروه‌ها", "Groups"),
    "no_groups_yet": ("هنوز گروهی نساخته‌اید.", "You have no groups yet."),
    "numbers_to_send": ("شماره‌ها", "Numbers"),
    "numbers_hint": (
        "هر شماره در یک سطر یا جداشده با ویرگول؛ با ارقام فارسی یا لاتین، به هر شکلی.",
        "One number a line or separated by commas; Persian or Latin digits, any form.",
    ),
    "insert_sender_name": ("افزودن نام صادرکننده در جای نشانگر:", "Insert a sender name at the cursor:"),
    "no_sender_name": ("نام صادرکنندهٔ تأییدشده‌ای ندارید.", "You have no approved sender name."),
    "register_sender_name": ("ثبت نام صادرکننده", "Register a sender name"),
    "informational_rules": (
        "«لغو۱۱» اگر در متن نباشد خودکار به پایان آن افزوده می‌شود.",
        "«لغو۱۱» (reply 11 to stop) is added at the end if the text lacks it.",
    ),
    "shared_line": ("خط مشترک", "shared line"),
    "own_line": ("خط اختصاصی", "own line"),
    "no_line_advertising": (
        "خط تبلیغاتی‌ای برای حساب شما تعریف نشده است؛ با پشتیبانی تماس بگیرید.",
        "No advertising line is set up for your account; contact support.",
    ),
    "no_line_informational": (
        "خط خدماتی‌ای برای حساب شما تعریف نشده است؛ با پشتیبانی تماس بگیرید.",
        "No service line is set up for your account; contact support.",
    ),
    "window_notice": (
        "ارسال تبلیغاتی فقط بین ساعت {start} تا {end} انجام می‌شود؛ درخواست بیرون از این بازه در نخستین ساعت مجاز فرستاده می‌شود.",
        "Advertising SMS go out only between {start}:00 and {end}:00; a send outside these hours waits for the next opening.",
    ),
    "send_now": ("همین حالا", "Now"),
    "send_later": ("در زمان مشخص", "At a set time"),
    "jalali_datetime": (
        "تاریخ و ساعت (تقویم شمسی، به وقت تهران)",
        "Date and time (Jalali calendar, Tehran time)",
    ),
    "day": ("روز", "Day"),
    "month": ("ماه", "Month"),
    "year": ("سال", "Year"),
    "hour": ("ساعت", "Hour"),
    "minute": ("دقیقه", "Minute"),
    "summary_first": (
        "پیش از ارسال، خلاصه را ببینید: شمار گیرندگان، مسدودها، نامعتبرها، بخش‌ها و هزینه.",
        "See the summary before sending: recipients, blocked, invalid, parts and cost.",
    ),
    "summary_stale": (
        "فرم پس از این خلاصه تغییر کرده است؛ برای خلاصهٔ تازه «محاسبهٔ دوباره» را بزنید.",
        "The form changed after this summary; press “Work it out again” for a new one.",
    ),
    "preview": ("پیش‌نمایش و محاسبهٔ هزینه", "Preview and cost"),
    "preview_again": ("محاسبهٔ دوباره", "Work it out again"),
    "confirm_send": ("تأیید و ارسال", "Confirm and send"),
    "balance_after": ("موجودی پس از ارسال", "Balance after"),
    "text_as_sent": ("متن همان‌گونه که فرستاده می‌شود", "The text as it will be sent"),
    "sample_first_recipient": (
        "این متن نخستین گیرنده است؛ هر گیرنده متن خود را با مقدارهای خودش می‌گیرد.",
        "This is the first recipient's text; each recipient gets it with their own values.",
    ),
    "invalid_numbers": ("شماره‌های نامعتبر", "Invalid numbers"),
    "row": ("ردیف", "Row"),
    "value": ("مقدار", "Value"),
    "reason": ("دلیل", "Reason"),
    "not_enough_credit": ("موجودی برای این ارسال کافی نیست.", "The balance does not cover this send."),
    "changed_since_preview": (
        "پس از پیش‌نمایش چیزی در فرم تغییر کرد؛ خلاصهٔ تازه را ببینید و دوباره تأیید کنید.",
        "Something changed after the preview; check the new summary and confirm again.",
    ),
    # --- groups, numbers, imports
    "your_groups": ("گروه‌های شما", "Your groups"),
    "group": ("گروه", "Group"),
    "numbers_count": ("شمار شماره‌ها", "Numbers"),
    "new_group": ("گروه تازه", "New group"),
    "group_name": ("نام گروه", "Group name"),
    "create": ("ساختن", "Create"),
    "delete": ("حذف", "Delete"),
    "edit": ("ویرایش", "Edit"),
    "add": ("افزودن", "Add"),
    "remove": ("برداشتن", "Remove"),
    "search": ("جست‌وجو", "Search"),
    "search_number_or_name": ("جست‌وجوی شماره یا نام", "Search a number or name"),
    "send_to_group": ("ارسال به این گروه", "Send to this group"),
    "delete_group": ("حذف گروه", "Delete the group"),
    "delete_group_question": (
        "گروه با همهٔ شماره‌هایش حذف می‌شود (مشتریان می‌مانند). حذف شود؟",
        "The group and all its numbers are deleted (customers stay). Delete?",
    ),
    "delete_number_question": ("این شماره از گروه حذف شود؟", "Delete this number from the group?"),
    "rename_group": ("تغییر نام گروه", "Rename the group"),
    "add_number": ("افزودن یک شماره", "Add a number"),
    "fields": ("فیلدها", "Fields"),
    "fields_hint": (
        "هر سطر یک فیلد: «شهر: تهران». در متن پیامک با {شهر} به کار می‌رود.",
        "One field a line: “city: Tehran”. Use it in a message as {city}.",
    ),
    "number_already_in_group": ("این شماره از پیش در گروه هست.", "This number is already in the group."),
    "edit_number": ("ویرایش شماره", "Edit number"),
    "import_numbers": ("وارد کردن شماره‌ها", "Import numbers"),
    "export": ("خروجی", "Export"),
    "fill_from_customers": ("افزودن همهٔ مشتریان به این گروه", "Add all customers to this group"),
    "added_count": ("افزوده شد", "Added"),
    "recent_imports": ("ورودهای اخیر", "Recent imports"),
    "pasted_text": ("متن چسبانده‌شده", "pasted text"),
    "import_running": ("در حال وارد کردن…", "Importing…"),
    "import_done": ("ورود پایان یافت.", "The import is done."),
    "import_failed": ("ورود انجام نشد و چیزی به گروه افزوده نشد", "The import failed and nothing was added"),
    "import_file": ("فایل (xlsx، xls، ods، csv یا txt)", "File (xlsx, xls, ods, csv or txt)"),
    "import_file_hint": (
        "ستون شماره‌ها خودکار پیدا می‌شود؛ پیش از ورود آن را می‌بینید و می‌توانید عوضش کنید.",
        "The phone column is found by itself; you see it before importing and can change it.",
    ),
    "or": ("یا", "or"),
    "paste_numbers": ("شماره‌ها را این‌جا بچسبانید", "Paste numbers here"),
    "paste_hint": (
        "هر سطر یک شماره، با نام اگر خواستید (۰۹۱۲۱۲۳۴۵۶۷ رضا).",
        "One number a line, with a name if you like (09121234567 Reza).",
    ),
    "import_preview": ("پیش‌نمایش ورود", "Import preview"),
    "import_preview_button": ("پیش‌نمایش فایل", "Preview"),
    "file": ("فایل", "File"),
    "format": ("قالب", "Format"),
    "rows_about": ("سطرها (تقریبی)", "Rows (about)"),
    "phone_column": ("ستون شماره", "Phone column"),
    "name_column": ("ستون نام", "Name column"),
    "no_name_column": ("بدون نام", "No name"),
    "detected_columns": ("ستون‌های پیداشده و چند سطر نخست:", "The columns found and the first rows:"),
    "phone": ("شماره", "phone"),
    "preview_columns": ("پیش‌نمایش با این ستون‌ها", "Preview with these columns"),
    "start_import": ("شروع ورود", "Start the import"),
    "import_report": ("گزارش ورود", "Import report"),
    "source": ("منبع", "Source"),
    "rows_read": ("سطر خوانده شد", "rows read"),
    "invalid_rows": ("سطرهای نامعتبر", "Invalid rows"),
    "import_state_running": ("در جریان", "running"),
    "import_state_done": ("پایان‌یافته", "done"),
    "import_state_failed": ("ناموفق", "failed"),
    # --- customers
    "customer_list": ("فهرست مشتریان", "Customers"),
    "select_all": ("انتخاب همه", "Select all"),
    "select": ("انتخاب", "Select"),
    "delete_customer_question": ("این مشتری حذف شود؟", "Delete this customer?"),
    "add_selected_to_group": ("افزودن مشتریان انتخاب‌شده به گروه", "Add the selected customers to a group"),
    "all_customers": ("همهٔ مشتریان (نه فقط انتخاب‌شده‌ها)", "All customers (not only the selected)"),
    "add_to_group": ("افزودن به گروه", "Add to group"),
    "new_customer": ("مشتری تازه", "New customer"),
    "edit_customer": ("ویرایش مشتری", "Edit customer"),
    # --- credit
    "statement": ("گردش حساب", "Statement"),
    "full_statement": ("همهٔ گردش حساب", "The whole statement"),
    "period_from": ("از تاریخ", "From"),
    "period_to": ("تا تاریخ", "To"),
    "date_hint": ("تاریخ شمسی مانند {example}", "A Jalali date such as {example} (or 2025-03-21)"),
    "amount": ("مبلغ", "Amount"),
    "running_balance": ("مانده", "Balance"),
    "description": ("شرح", "Description"),
    # --- profile
    "account_details": ("مشخصات", "Details"),
    "ui_language": ("زبان", "Language"),
    "low_balance_threshold": ("هشدار موجودی کم (ریال)", "Low-balance warning (rials)"),
    "low_balance_hint": (
        "اگر موجودی کمتر از این شود، پنل هشدار می‌دهد؛ ۰ یعنی بدون هشدار.",
        "The panel warns when the balance is below this; 0 means no warning.",
    ),
    "sender_names": ("نام‌های صادرکننده", "Sender names"),
    "sender_name": ("نام صادرکننده", "Sender name"),
    "sender_names_note": (
        "پیامک اطلاع‌رسانی باید یکی از نام‌های تأییدشدهٔ شما را داشته باشد.",
        "An informational SMS must contain one of your approved names.",
    ),
    "name_pending": ("در انتظار بررسی", "Waiting for review"),
    "name_approved": ("تأییدشده", "Approved"),
    "name_rejected": ("ردشده", "Rejected"),
    "delete_name_question": ("این نام حذف شود؟", "Delete this name?"),
    "new_sender_name": ("نام صادرکنندهٔ تازه", "New sender name"),
    "register": ("ثبت", "Register"),
    "line_advertising": ("تبلیغاتی", "Advertising"),
    "line_service": ("خدماتی", "Service"),
    "owner": ("صاحب", "Owner"),
    "no_lines": ("خطی تعریف نشده است.", "No lines are set up."),
    "new_key_once": (
        "این کلید فقط همین یک بار نمایش داده می‌شود؛ آن را جای امنی نگه دارید.",
        "This key is shown only this once; keep it somewhere safe.",
    ),
    "copy": ("رونوشت", "Copy"),
    "key_name": ("نام کلید", "Key name"),
    "key_prefix": ("آغاز کلید", "Key starts with"),
    "last_used": ("آخرین استفاده", "Last used"),
    "revoked": ("باطل‌شده", "Revoked"),
    "revoke": ("ابطال", "Revoke"),
    "revoke_key_question": (
        "برنامه‌هایی که با این کلید کار می‌کنند دیگر دسترسی ندارند. باطل شود؟",
        "Programs using this key lose access. Revoke?",
    ),
    "create_key": ("ساختن کلید", "Create key"),
    "device": ("دستگاه", "Device"),
    "browser_on_system": ("{browser} روی {system}", "{browser} on {system}"),
    "address": ("نشانی", "Address"),
    "last_seen": ("آخرین فعالیت", "Last seen"),
    "expires": ("پایان", "Expires"),
    "this_session": ("همین نشست", "this session"),
    "end_session": ("پایان نشست", "End"),
    "end_session_question": ("این نشست بسته شود؟", "End this login?"),
    "change_password": ("تغییر رمز عبور", "Change password"),
    # --- administration
    "admin_accounts": ("حساب‌ها", "Accounts"),
    "admin_names": ("نام‌های صادرکننده", "Sender names"),
    "admin_packages": ("بسته‌ها", "Packages"),
    "admin_tariffs": ("تعرفه‌ها", "Tariffs"),
    "admin_lines": ("خط‌ها و مسیرها", "Lines and routes"),
    "admin_blacklist": ("لیست سیاه", "Blacklist"),
    "admin_words": ("واژه‌های ممنوع", "Forbidden words"),
    "pending_names": ("نام‌های در انتظار بررسی", "Names waiting for review"),
    "blacklist_numbers": ("شماره‌های لیست سیاه", "Numbers on the blacklist"),
    "grant_credit": ("افزایش یا کسر اعتبار", "Grant or deduct credit"),
    "grant_or_deduct": ("اعتبار", "Credit"),
    "search_mobile_or_name": ("جست‌وجوی موبایل یا نام", "Search a mobile or name"),
    "role": ("نقش", "Role"),
    "role_user": ("کاربر", "User"),
    "role_admin": ("مدیر", "Administrator"),
    "account_pending": ("تأییدنشده", "Not verified"),
    "account_active": ("فعال", "Active"),
    "account_disabled": ("غیرفعال", "Disabled"),
    "amount_signed": ("مبلغ (ریال)", "Amount (rials)"),
    "amount_signed_hint": (
        "برای کسر، عدد منفی بنویسید (مانند ‎-50000).",
        "Write a negative number to deduct (like -50000).",
    ),
    "apply": ("انجام", "Apply"),
    "account": ("حساب", "Account"),
    "decision": ("تصمیم", "Decision"),
    "approve": ("تأیید", "Approve"),
    "reject": ("رد", "Reject"),
    "reject_reason": ("دلیل رد (به کاربر نشان داده می‌شود)", "Reason (shown to the user)"),
    "package_name": ("نام بسته", "Package name"),
    "price_rials": ("بها (ریال)", "Price (rials)"),
    "credit_rials": ("اعتبار (ریال)", "Credit (rials)"),
    "on_sale": ("در فروش", "On sale"),
    "off_sale": ("خارج از فروش", "Off sale"),
    "new_package": ("بستهٔ تازه", "New package"),
    "builtin_tariffs": (
        "تعرفهٔ ذخیره‌شده‌ای نیست؛ تعرفه‌های پیش‌فرض به کار می‌روند. با ثبت نخستین تعرفه، پیش‌فرض‌ها ذخیره می‌شوند.",
        "No tariff is stored; the built-in defaults apply. Setting the first one stores the defaults.",
    ),
    "encoding": ("کدگذاری", "Encoding"),
    "line_prefix": ("پیش‌شمارهٔ خط", "Line prefix"),
    "line_prefix_hint": ("رقم‌های آغاز خط، یا * برای همه", "The line's first digits, or * for any"),
    "part_price": ("بهای هر بخش بدون مالیات (ریال)", "Price per part before VAT (rials)"),
    "with_vat": ("با مالیات", "With VAT"),
    "any": ("همه", "any"),
    "delete_tariff_question": ("این تعرفه حذف شود؟", "Delete this tariff?"),
    "set_tariff": ("ثبت یا تغییر تعرفه", "Set a tariff"),
    "vat": ("مالیات بر ارزش افزوده", "VAT"),
    "vat_percent": ("درصد مالیات", "VAT percent"),
    "route": ("مسیر", "Route"),
    "routes": ("مسیرها", "Routes"),
    "by_operator": ("بر پایهٔ اپراتور", "By operator"),
    "inactive": ("غیرفعال", "inactive"),
    "delete_line_question": ("این خط حذف شود؟", "Delete this line?"),
    "new_line": ("خط تازه", "New line"),
    "line_number": ("شمارهٔ خط", "Line number"),
    "owner_mobile": ("موبایل صاحب خط", "Owner's mobile"),
    "owner_hint": ("خالی: خط مشترک برای همهٔ حساب‌ها", "Empty: a line shared by every account"),
    "route_state_saved": (
        "توزیع‌کننده در این فرایند اجرا نمی‌شود؛ آخرین وضعیتی که ثبت کرده نمایش داده می‌شود.",
        "No dispatcher runs in this process; the last state one recorded is shown.",
    ),
    "priority": ("اولویت", "Priority"),
    "bind_state": ("وضعیت اتصال", "Bind state"),
    "bind_up": ("وصل", "up"),
    "bind_starting": ("در حال اتصال", "starting"),
    "bind_down": ("قطع", "down"),
    "bind_failing": ("ردِ ورود", "refused"),
    "bind_disabled": ("غیرفعال", "disabled"),
    "bind_unknown": ("نامعلوم", "unknown"),
    "bind_unsupported": ("پشتیبانی‌نشده", "unsupported"),
    "bind_pending": ("در انتظار توزیع‌کننده", "waiting for a dispatcher"),
    # why a route is down, as the dispatcher words it (other reasons are codes, shown as they are)
    "route_error_closed": ("اتصال بسته شد", "connection closed"),
    "route_error_not_connected": ("وصل نشده", "not connected"),
    "route_kind_smpp": ("SMPP", "SMPP"),
    "route_kind_http": ("HTTP", "HTTP"),
    "route_kind_simulator": ("شبیه‌ساز", "simulator"),
    "system_id": ("شناسهٔ سامانه (system_id)", "System ID (system_id)"),
    "builtin_simulator": ("مرکز پیامک شبیه‌سازی‌شده", "Built-in simulated SMSC"),
    "delete_route_question": (
        "این مسیر حذف شود؟ خط‌های وابسته بر پایهٔ اپراتور مسیریابی می‌شوند.",
        "Delete this route? Lines pinned to it go back to routing by operator.",
    ),
    "new_route": ("مسیر تازه", "New route"),
    "route_name": ("نام مسیر", "Route name"),
    "host": ("میزبان", "Host"),
    "port": ("درگاه", "Port"),
    "tps": ("پیامک در ثانیه (اختیاری)", "Messages per second (optional)"),
    "bl_national": ("فهرست ملی (\u200e*800#\u200e)", "National list (*800#)"),
    "bl_operator": ("گزارش اپراتور", "Reported by operators"),
    "bl_manual": ("افزوده‌شده به دست مدیر", "Added by an administrator"),
    "already_listed": ("از پیش در فهرست", "Already listed"),
    "removed_count": ("برداشته شد", "Removed"),
    "not_listed": ("در فهرست نبود", "Not listed"),
    "still_national": ("همچنان در فهرست ملی", "Still on the national list"),
    "national_list": ("فهرست سیاه ملی", "National blacklist"),
    "in_force": ("فهرست برقرار", "In force"),
    "no_national_list": ("فهرست ملی‌ای بارگذاری نشده است.", "No national list is loaded."),
    "load_running": ("در حال بارگذاری…", "Loading…"),
    "load_done": ("پایان‌یافته", "done"),
    "load_failed": ("ناموفق", "failed"),
    "last_load": ("آخرین بارگذاری", "Last load"),
    "national_file": ("فایل فهرست ملی", "National list file"),
    "national_file_hint": (
        "هر سطر یک شماره، به هر شکلی؛ متن ساده یا gzip. فهرست پیشین تا پایان بارگذاری برقرار می‌ماند.",
        "One number a line, any form; plain or gzip. The current list stays until the load completes.",
    ),
    "upload": ("بارگذاری", "Upload"),
    "check_number": ("بررسی یک شماره", "Check a number"),
    "check": ("بررسی", "Check"),
    "is_blocked": ("مسدود برای پیامک تبلیغاتی", "blocked for advertising SMS"),
    "not_blocked": ("مسدود نیست", "not blocked"),
    "add_to_blacklist": ("افزودن به لیست سیاه", "Add to the blacklist"),
    "remove_from_blacklist": ("برداشتن از لیست سیاه", "Remove from the blacklist"),
    "forbidden_note": (
        "متنی که یکی از این واژه‌ها را داشته باشد پیش از هر هزینه‌ای رد می‌شود.",
        "A text holding one of these words is refused before any charge.",
    ),
    "delete_word_question": ("این واژه حذف شود؟", "Delete this word?"),
    "new_word": ("واژهٔ تازه", "New word"),
    "word": ("واژه", "Word"),
}

JALALI_MONTHS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"),
    (
        "Farvardin",
        "Ordibehesht",
        "Khordad",
        "Tir",
        "Mordad",
        "Shahrivar",
        "Mehr",
        "Aban",
        "Azar",
        "Dey",
        "Bahman",
        "Esfand",
    ),
)


def translate(key: str, lang: str = "fa", words: Mapping[str, tuple[str, str]] = WORDS) -> str:
    """The key's words in `lang` (from `words`, for a domain with its own table); the key itself
    for a word no table has, so a missing entry shows rather than breaks the page."""
    fa, en = words.get(key, (key, key))
    return en if lang == "en" else fa
