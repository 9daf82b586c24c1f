"""Persian first: digits, Jalali dates, and the few UI words that need two languages."""

from __future__ import annotations

import datetime as dt
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


# UI words, Persian first. Templates call t("key"); a missing English entry falls back to Persian.
WORDS: dict[str, tuple[str, str]] = {
    "app": ("پیامک", "Payamak"),
    "login": ("ورود", "Log in"),
    "logout": ("خروج", "Log out"),
    "signup": ("ثبت‌نام", "Sign up"),
    "mobile": ("شمارهٔ موبایل", "Mobile number"),
    "password": ("رمز عبور", "Password"),
    "new_password": ("رمز عبور تازه", "New password"),
    "name": ("نام و نام خانوادگی یا نام کسب‌وکار", "Name or business name"),
    "remember": ("مرا یک ماه به خاطر بسپار", "Keep me logged in for a month"),
    "forgot": ("رمز را فراموش کرده‌ام", "Forgot password"),
    "code": ("کد تایید", "Verification code"),
    "verify": ("تایید", "Verify"),
    "verify_title": ("تایید شمارهٔ موبایل", "Verify your mobile"),
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
}


def translate(key: str, lang: str = "fa") -> str:
    fa, en = WORDS.get(key, (key, key))
    return en if lang == "en" else fa
