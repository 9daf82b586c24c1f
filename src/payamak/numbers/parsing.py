"""Turning whatever people type, paste or keep in spreadsheets into E.164, and saying if it takes SMS.

Iranian numbers never touch `phonenumbers.parse`: one `str.translate` folds every digit system and
drops separators and invisible marks, a few slices strip the prefix forms, and one regex derived
from libphonenumber's metadata (see `iran`) decides validity. Only numbers written with another
country code go through `phonenumbers`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Final

import phonenumbers
from phonenumbers import carrier

from payamak.numbers import reasons
from payamak.numbers.iran import (
    COUNTRY_CODE,
    KEY_BASE,
    KEY_END,
    MOBILE_LENGTH,
    OPERATOR_BY_PREFIX,
    OPERATOR_PREFIX_DIGITS,
    is_mobile_nsn,
    number_kind,
)


@dataclass(frozen=True, slots=True)
class NumberInfo:
    """One value, parsed. `valid` means it can receive SMS (a mobile number).

    `e164` is set exactly when `valid`; `operator` may be set only then (None when libphonenumber
    knows no carrier for the prefix); `reason` is a code from `reasons` exactly when not `valid`.
    """

    input: str
    valid: bool
    e164: str | None
    operator: str | None
    reason: str | None


def _fast_constructor() -> Callable[[str, bool, str | None, str | None, str | None], NumberInfo]:
    """A NumberInfo factory for the hot path, twice as fast as the frozen dataclass's __init__.

    A frozen dataclass assigns each field through `object.__setattr__`; writing the slots through
    their descriptors gives the same object for half the cost, which matters at a million rows.
    """
    new = object.__new__
    fields = vars(NumberInfo)
    set_input: Callable[[NumberInfo, str], None] = fields["input"].__set__
    set_valid: Callable[[NumberInfo, bool], None] = fields["valid"].__set__
    set_e164: Callable[[NumberInfo, str | None], None] = fields["e164"].__set__
    set_operator: Callable[[NumberInfo, str | None], None] = fields["operator"].__set__
    set_reason: Callable[[NumberInfo, str | None], None] = fields["reason"].__set__

    def make(
        text: str, valid: bool, e164: str | None, operator: str | None, reason: str | None
    ) -> NumberInfo:
        info: NumberInfo = new(NumberInfo)
        set_input(info, text)
        set_valid(info, valid)
        set_e164(info, e164)
        set_operator(info, operator)
        set_reason(info, reason)
        return info

    return make


_info: Final = _fast_constructor()


_DELETED_CATEGORIES: Final = frozenset(
    {
        "Zs",  # spaces, NBSP, narrow NBSP, ideographic space...
        "Zl",
        "Zp",
        "Cc",  # tabs, newlines and other controls
        "Cf",  # ZWNJ, ZWJ, ZWSP, LRM/RLM, embeddings and isolates, BOM, soft hyphen, word joiner...
        "Pd",  # hyphens and dashes of every script
        "Pc",  # underscores
        "Ps",  # opening and closing brackets
        "Pe",
        "Pi",  # quotes: CSV exports and Excel's leading apostrophe
        "Pf",
    }
)
# Quotes, thousands separators, slashes, minus sign, tatweel.
_DELETED_EXTRA: Final = "'\",\u066c\uff0c/\uff0f\u2212\u0640"
_DOTS: Final = ".\u066b\u06d4\uff0e\ufe52\u00b7\u2024"  # kept as "." so an Excel ".0" can be recognised
_PLUSES: Final = "+\uff0b\ufe62"


def _clean_table() -> dict[int, int | None]:
    table: dict[int, int | None] = {}
    # Beyond the BMP only the mathematical digits (which styled pastes produce) and the invisible tag
    # characters are worth the import time of scanning for.
    for cp in chain(range(0x10000), range(0x1D7CE, 0x1D800), range(0xE0000, 0xE0080)):
        ch = chr(cp)
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            table[cp] = 0x30 + digit
        elif ch in _DOTS:
            table[cp] = 0x2E
        elif ch in _PLUSES:
            table[cp] = 0x2B
        elif ch in _DELETED_EXTRA or unicodedata.category(ch) in _DELETED_CATEGORIES:
            table[cp] = None
        elif cp < 0x80:
            # Without an explicit entry, translate raises and catches LookupError per character,
            # which makes clean ASCII input several times slower.
            table[cp] = cp
    return table


_CLEAN: Final = _clean_table()

_EXCEL_FLOAT: Final = re.compile(r"([1-9][0-9]*)\.0*", re.ASCII)
_SCIENTIFIC: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+", re.ASCII)

# What the splitter found: the second item of its result is an Iranian national number, the digits
# after an international prefix, or a reason code.
_IRAN: Final = 0
_FOREIGN: Final = 1
_BAD: Final = 2

_E164_PREFIX: Final = "+" + COUNTRY_CODE


def _route(digits: str, plus: bool) -> tuple[int, str]:
    if plus:
        intl = digits
    elif digits[:2] == "00":
        intl = digits[2:]
    else:
        # 0 912…, 098 912…, 98 912…, 980 912… and the zero-less 912… all end up as 912….
        if digits[:1] == "0":
            digits = digits[1:]
        if len(digits) > MOBILE_LENGTH and digits[:2] == COUNTRY_CODE:
            digits = digits[2:]
            if digits[:1] == "0":
                digits = digits[1:]
        return _IRAN, digits
    if intl[:2] == COUNTRY_CODE:
        nsn = intl[2:]
        # +98(0)912…: the trunk zero some people keep after the country code.
        if nsn[:1] == "0":
            nsn = nsn[1:]
        return _IRAN, nsn
    return _FOREIGN, intl


def _split(s: str) -> tuple[int, str]:
    """Route a translated string. Handles the common shapes inline and leaves the rest to `_split_odd`."""
    if s.isdigit() and s.isascii():
        return _route(s, False)
    if s[:1] == "+" and s.isascii() and s[1:].isdigit():
        return _route(s[1:], True)
    return _split_odd(s)


def _split_odd(s: str) -> tuple[int, str]:
    if ("e" in s or "E" in s) and _SCIENTIFIC.fullmatch(s):
        return _BAD, reasons.SCIENTIFIC_NOTATION
    if "." in s:
        # A spreadsheet number that became text ("9123456789.0") has no leading zero or plus; any
        # other dot is a separator like a space.
        excel = _EXCEL_FLOAT.fullmatch(s)
        s = excel.group(1) if excel is not None else s.replace(".", "")
    if not s:
        return _BAD, reasons.EMPTY
    plus = s[0] == "+"
    body = s[1:] if plus else s
    if not plus and s[-1] == "+":
        # Typed in a right-to-left field, the plus sign often lands after the digits.
        plus = True
        body = s[:-1]
    if body.isdigit() and body.isascii():
        return _route(body, plus)
    return _BAD, reasons.NOT_A_NUMBER


def _split_other(value: object) -> tuple[str, int, str]:
    """Input text, kind and payload for anything that is not a str."""
    if value is None:
        return "", _BAD, reasons.EMPTY
    if isinstance(value, bool):
        return str(value), _BAD, reasons.NOT_A_NUMBER
    if isinstance(value, int):
        if value.bit_length() > 64:
            # Far beyond any phone number, and past a few thousand digits str() itself refuses.
            return f"<int of {value.bit_length()} bits>", _BAD, reasons.TOO_LONG
        if value < 0:
            return str(value), _BAD, reasons.NOT_A_NUMBER
        return str(value), *_route(str(value), False)
    if isinstance(value, float):
        # Spreadsheet readers hand over empty cells as NaN.
        if math.isnan(value):
            return str(value), _BAD, reasons.EMPTY
        if value < 0 or not value.is_integer():
            return str(value), _BAD, reasons.NOT_A_NUMBER
        return str(value), *_route(str(int(value)), False)
    text = str(value)
    return text, *_split(text.translate(_CLEAN))


def _iran_reason(nsn: str) -> str:
    kind = number_kind(nsn)
    if kind == "fixed_line":
        return reasons.LANDLINE
    if kind == "other":
        return reasons.NOT_MOBILE
    if kind == "unknown":
        if len(nsn) < MOBILE_LENGTH:
            return reasons.TOO_SHORT
        if len(nsn) > MOBILE_LENGTH:
            return reasons.TOO_LONG
    return reasons.INVALID_PREFIX


_PARSE_ERRORS: Final = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: reasons.INVALID_COUNTRY_CODE,
    phonenumbers.NumberParseException.NOT_A_NUMBER: reasons.NOT_A_NUMBER,
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: reasons.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_SHORT_NSN: reasons.TOO_SHORT,
    phonenumbers.NumberParseException.TOO_LONG: reasons.TOO_LONG,
}
_LENGTH_ERRORS: Final = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: reasons.INVALID_COUNTRY_CODE,
    phonenumbers.ValidationResult.TOO_SHORT: reasons.TOO_SHORT,
    phonenumbers.ValidationResult.TOO_LONG: reasons.TOO_LONG,
}
_SMS_TYPES: Final = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


def _foreign(text: str, digits: str) -> NumberInfo:
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException as exc:
        return _info(text, False, None, None, _PARSE_ERRORS.get(exc.error_type, reasons.INVALID))
    # number_type is what is_valid_number and the carrier lookup would each compute again; asking
    # once halves the cost of a foreign number.
    kind = phonenumbers.number_type(number)
    if kind in _SMS_TYPES:
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return _info(text, True, e164, carrier.name_for_valid_number(number, "en") or None, None)
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return _info(text, False, None, None, reasons.LANDLINE)
    if kind != phonenumbers.PhoneNumberType.UNKNOWN:
        return _info(text, False, None, None, reasons.NOT_MOBILE)
    reason = _LENGTH_ERRORS.get(phonenumbers.is_possible_number_with_reason(number), reasons.INVALID)
    return _info(text, False, None, None, reason)


def _fast_nsn(s: str) -> str:
    """The national number of the commonest clean shapes, or "" to send `s` down the general path.

    Only used as a candidate for `is_mobile_nsn`, whose ASCII-digit pattern also rejects any
    non-digit that slipped through; every shape here reads the same way in `_route`, so a miss
    costs time but never changes the answer.
    """
    n = len(s)
    if n == 11:
        return s[1:] if s[:2] == "09" else ""
    if n == 10:
        return s
    if n == 13:
        return s[3:] if s[:4] == "+989" else ""
    if n == 12:
        if s[:3] == "989":
            return s[2:]
        # A spreadsheet number stored as text: "9123456789.0".
        return s[:10] if s[10:] == ".0" else ""
    if n == 14:
        return s[4:] if s[:5] in ("+9809", "00989") else ""
    return ""


def parse(value: str | int | float | None) -> NumberInfo:
    """Normalise one value and say whether it can receive SMS.

    Accepts Persian, Arabic-Indic, fullwidth and other Unicode digits; spaces, dashes, dots, brackets,
    underscores, quotes and invisible marks anywhere; the prefixes 0, +98, 0098, 98, +98(0), 098 or
    none; spreadsheet numbers that lost the leading zero (9123456789, "9123456789.0", ints,
    floats, NaN for an empty cell). Without + or 00 a number is read as Iranian; with them and
    another country code it is checked by `phonenumbers` (valid when mobile or fixed-line-or-mobile,
    operator being libphonenumber's English carrier name). Never raises.
    """
    if type(value) is str:
        s = value if value.isdigit() and value.isascii() else value.translate(_CLEAN)
        nsn = s[1:] if len(s) == 11 and s[:2] == "09" else _fast_nsn(s)
        if is_mobile_nsn(nsn):
            return _info(
                value, True, _E164_PREFIX + nsn, OPERATOR_BY_PREFIX[nsn[:OPERATOR_PREFIX_DIGITS]], None
            )
        text = value
        kind, payload = _split(s)
    elif type(value) is int and KEY_BASE <= value < KEY_END:
        text = payload = str(value)
        kind = _IRAN
    else:
        text, kind, payload = _split_other(value)
    if kind == _IRAN:
        if len(payload) == MOBILE_LENGTH and payload[0] == "9" and is_mobile_nsn(payload):
            return _info(
                text, True, _E164_PREFIX + payload, OPERATOR_BY_PREFIX[payload[:OPERATOR_PREFIX_DIGITS]], None
            )
        return _info(text, False, None, None, _iran_reason(payload))
    if kind == _FOREIGN:
        return _foreign(text, payload)
    return _info(text, False, None, None, payload)


def mobile_key(value: str | int | float | None) -> int | None:
    """The bulk fast path: an Iranian mobile as the int of its national number (9123456789), else None.

    Accepts every form `parse` does and returns a key exactly when `parse` would return a valid
    "+98…" number. Keys run from 9_000_000_000 to 9_999_999_999, so `key - KEY_BASE` fits in 32
    bits (it is below 10**9): that is what roaring bitmaps of blacklists and groups store.
    """
    if type(value) is str:
        s = value if value.isdigit() and value.isascii() else value.translate(_CLEAN)
        nsn = s[1:] if len(s) == 11 and s[:2] == "09" else _fast_nsn(s)
        if is_mobile_nsn(nsn):
            return int(nsn)
        kind, nsn = _split(s)
    elif type(value) is int:
        if KEY_BASE <= value < KEY_END:
            return value if is_mobile_nsn(str(value)) else None
        _, kind, nsn = _split_other(value)
    else:
        _, kind, nsn = _split_other(value)
    if kind == _IRAN and len(nsn) == MOBILE_LENGTH and nsn[0] == "9" and is_mobile_nsn(nsn):
        return int(nsn)
    return None


def key_to_e164(key: int) -> str:
    """The E.164 form ("+98…") of a mobile key. ValueError for an int that cannot be one."""
    if not KEY_BASE <= key < KEY_END:
        raise ValueError(f"not an Iranian mobile key: {key!r}")
    return _E164_PREFIX + str(key)
