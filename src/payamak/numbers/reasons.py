"""Why a value is not a number that can receive SMS: stable codes and the sentences UIs show for them.

Codes are part of the API (stored with import errors, returned over HTTP, printed by the CLI); the
sentences may be reworded at any time.
"""

from __future__ import annotations

from typing import Final

EMPTY: Final = "empty"
NOT_A_NUMBER: Final = "not_a_number"
SCIENTIFIC_NOTATION: Final = "scientific_notation"
TOO_SHORT: Final = "too_short"
TOO_LONG: Final = "too_long"
LANDLINE: Final = "landline"
NOT_MOBILE: Final = "not_mobile"
INVALID_PREFIX: Final = "invalid_prefix"
INVALID_COUNTRY_CODE: Final = "invalid_country_code"
INVALID: Final = "invalid"

REASON_MESSAGES: Final[dict[str, dict[str, str]]] = {
    EMPTY: {
        "fa": "شماره‌ای وارد نشده است.",
        "en": "No number was given.",
    },
    NOT_A_NUMBER: {
        "fa": "این مقدار شماره تلفن نیست؛ حرف یا نشانه‌ای غیر از رقم دارد.",
        "en": "Not a phone number: it contains letters or symbols.",
    },
    SCIENTIFIC_NOTATION: {
        "fa": "شماره به شکل نماد علمی (مانند 9.12E+09) ذخیره شده و رقم‌هایش از دست رفته است؛ "
        "قالب ستون را در اکسل «متن» یا «عدد بدون اعشار» کنید.",
        "en": "The number was saved in scientific notation (like 9.12E+09) and lost digits; "
        "format the spreadsheet column as text or as a whole number.",
    },
    TOO_SHORT: {
        "fa": "شماره کوتاه است و رقم کم دارد.",
        "en": "The number is too short: digits are missing.",
    },
    TOO_LONG: {
        "fa": "شماره بلند است و رقم اضافه دارد.",
        "en": "The number is too long: it has extra digits.",
    },
    LANDLINE: {
        "fa": "این شماره تلفن ثابت است و پیامک دریافت نمی‌کند.",
        "en": "This is a landline number; it cannot receive SMS.",
    },
    NOT_MOBILE: {
        "fa": "این شماره موبایل نیست (مثلاً شماره خدماتی یا رایگان است) و پیامک دریافت نمی‌کند.",
        "en": "This is not a mobile number (for example a service or toll-free number); it cannot receive SMS.",
    },
    INVALID_PREFIX: {
        "fa": "پیش‌شماره این شماره به هیچ اپراتور تلفن همراهی داده نشده است.",
        "en": "No mobile operator has been given this prefix.",
    },
    INVALID_COUNTRY_CODE: {
        "fa": "کد کشور نامعتبر است.",
        "en": "The country code does not exist.",
    },
    INVALID: {
        "fa": "شماره معتبر نیست.",
        "en": "Not a valid phone number.",
    },
}
"""Messages by code, then by language ("fa", "en")."""

REASONS: Final[tuple[str, ...]] = tuple(REASON_MESSAGES)


def reason_message(code: str, lang: str = "fa") -> str:
    """The sentence explaining `code`: English for lang "en", Persian otherwise. KeyError if unknown."""
    return REASON_MESSAGES[code]["en" if lang == "en" else "fa"]
