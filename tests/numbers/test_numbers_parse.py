"""Table-driven cases for payamak.numbers: every written form, every reason, the key helpers."""

from __future__ import annotations

import dataclasses
import math

import phonenumbers
import pytest
from phonenumbers import carrier

from payamak.numbers import (
    KEY_BASE,
    OPERATORS,
    REASON_MESSAGES,
    REASONS,
    NumberInfo,
    key_to_e164,
    mobile_key,
    operator_name,
    operator_of_key,
    parse,
    reason_message,
)
from payamak.numbers.iran import OPERATOR_PREFIX_DIGITS, operator_id

MCI = "+989123456789"

# Every form below writes 0912 345 6789.
SAME_NUMBER_FORMS: list[str | int | float] = [
    "09123456789",
    "9123456789",
    "+989123456789",
    "00989123456789",
    "989123456789",
    "+98(0)9123456789",
    "+98 (0) 912 345 6789",
    "0098 (0) 912 345 6789",
    "0989123456789",
    "098 912 345 6789",
    "98 0912 345 6789",
    " 0912 345 6789 ",
    "\t0912 345 6789\n",
    "0912-345-6789",
    "0912.345.6789",
    "0912/345/6789",
    "(0912) 345-6789",
    "[0912] 345 6789",
    "0912_345_6789",
    "0912–345—6789",  # en and em dashes
    "0912−345−6789",  # minus signs
    "(+98) 912-345-6789",
    "+98-912-345-6789",
    "۰۹۱۲۳۴۵۶۷۸۹",
    "٠٩١٢٣٤٥٦٧٨٩",
    "０９１２３４５６７８９",
    "۰۹۱۲ ۳۴۵ ۶۷۸۹",
    "۰۹۱۲-۳۴۵-۶۷۸۹",
    "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹",
    "＋９８ ９１２ ３４５ ６７８９",
    "۰۹12٣٤٥６７８９",  # mixed digit systems, as copy-paste produces
    "۹۸۹۱۲۳۴۵۶۷۸۹+",  # plus typed last in a right-to-left field
    "0912\u200c345\u200c6789",  # ZWNJ
    "0912\u200d3456789",  # ZWJ
    "0912\u200b3456789",  # zero-width space
    "\u200f09123456789\u200f",  # RLM
    "\u200e09123456789",  # LRM
    "\u202a+98 912 345 6789\u202c",  # LRE ... PDF
    "\u202b09123456789\u202c",  # RLE
    "\u202d09123456789\u202c",  # LRO
    "\u202e09123456789",  # RLO
    "\u2066+989123456789\u2069",  # LRI ... PDI
    "\u206709123456789\u2069",  # RLI
    "\u206809123456789\u2069",  # FSI
    "\ufeff09123456789",  # BOM
    "0912\u00ad345\u00ad6789",  # soft hyphen
    "0912\u00a0345\u00a06789",  # NBSP
    "0912\u202f345\u202f6789",  # narrow NBSP
    "0912\u2060345\u20606789",  # word joiner
    "\u061c09123456789",  # Arabic letter mark
    "09\u0640123456789",  # tatweel
    "9123456789.0",
    "9123456789.00",
    "989123456789.0",
    "۹۱۲۳۴۵۶۷۸۹٫۰",  # Persian digits with the Arabic decimal separator
    "9,123,456,789",  # a spreadsheet's thousands separators
    "'09123456789",  # spreadsheet text prefix
    '"09123456789"',
    9123456789,
    9123456789.0,
    989123456789,
    989123456789.0,
]


@pytest.mark.parametrize("value", SAME_NUMBER_FORMS, ids=repr)
def test_every_written_form_is_the_same_mci_mobile(value: str | int | float) -> None:
    info = parse(value)
    assert info == NumberInfo(str(value), True, MCI, "MCI", None)
    assert mobile_key(value) == 9123456789


@pytest.mark.parametrize(
    ("value", "operator"),
    [
        ("09123456789", "MCI"),
        ("09191234567", "MCI"),
        ("09901234567", "MCI"),
        ("09321234567", "MCI"),
        ("09351234567", "Irancell"),
        ("09011234567", "Irancell"),
        ("09301234567", "Irancell"),
        ("09391234567", "Irancell"),
        ("09211234567", "RighTel"),
        ("09201234567", "RighTel"),
        ("09981234567", "RighTel"),
    ],
)
def test_operator_by_prefix(value: str, operator: str) -> None:
    info = parse(value)
    assert info.valid
    assert info.operator == operator
    key = mobile_key(value)
    assert key is not None
    assert operator_of_key(key) == operator


def test_operator_ids_are_stable_short_names() -> None:
    assert {"MCI", "Irancell", "RighTel"} <= OPERATORS
    for op in OPERATORS:
        assert op.isascii()
        assert op.isalnum()
    assert operator_id("IR-MCI") == "MCI"
    assert operator_id("Rightel") == "RighTel"
    assert operator_id("Aptel") == "ApTel"
    assert operator_id("Shatel Mobile") == "Shatel"
    assert operator_id("Taliya") == "Taliya"
    assert operator_id("Some new mobile") == "SomeNewMobile"
    assert operator_id("  ") is None


def test_operator_names() -> None:
    assert operator_name("MCI") == "همراه اول"
    assert operator_name("Irancell", "fa") == "ایرانسل"
    assert operator_name("RighTel", "en") == "RighTel"
    assert operator_name("Unheard") == "Unheard"


def test_operator_table_follows_libphonenumber_for_every_prefix() -> None:
    """Exhaustive over every prefix length the carrier data distinguishes, at both ends of each block."""
    span = 10 ** (10 - OPERATOR_PREFIX_DIGITS)
    first = 9 * 10 ** (OPERATOR_PREFIX_DIGITS - 1)
    for prefix in range(first, first * 10 // 9):
        for key in (prefix * span, prefix * span + span - 1):
            number = phonenumbers.PhoneNumber(country_code=98, national_number=key)
            expected = operator_id(carrier.name_for_valid_number(number, "en"))
            assert operator_of_key(key) == expected, key


def test_a_valid_mobile_may_have_no_known_operator() -> None:
    # libphonenumber knows the 0995 10 range as mobile but names no carrier for it.
    number = phonenumbers.parse("09951012345", "IR")
    assert phonenumbers.is_valid_number(number)
    assert carrier.name_for_number(number, "en") == ""
    assert parse("09951012345") == NumberInfo("09951012345", True, "+989951012345", None, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        # landlines, in the forms people write them
        ("021 8877 6655", "landline"),
        ("02188776655", "landline"),
        ("+98 21 8877 6655", "landline"),
        ("982188776655", "landline"),
        ("۰۲۱-۸۸۷۷۶۶۵۵", "landline"),
        ("03132345678", "landline"),
        (2188776655, "landline"),
        # libphonenumber files the 0941 2… TD-LTE block as fixed line: no SMS
        ("09412345678", "landline"),
        # short and service numbers
        ("9601", "not_mobile"),
        ("12345", "too_short"),
        ("110", "too_short"),
        ("0912345678", "too_short"),
        ("912345678", "too_short"),
        ("+98912345678", "too_short"),
        ("0912 345 678", "too_short"),
        ("0", "too_short"),
        ("+98", "too_short"),
        (0, "too_short"),
        ("912345678.0", "too_short"),
        # too long
        ("091234567890", "too_long"),
        ("+9891234567890", "too_long"),
        ("09123456789 09351234567", "too_long"),
        ("00989123456789012", "too_long"),
        (10**30, "too_long"),
        # well formed, but no operator was given the prefix
        ("09501234567", "invalid_prefix"),
        ("09241234567", "invalid_prefix"),
        ("09401234567", "invalid_prefix"),
        ("09971234567", "invalid_prefix"),
        ("1912345678", "invalid_prefix"),
        # letters and symbols
        ("abc", "not_a_number"),
        ("0912abc4567", "not_a_number"),
        ("09123456789 ext 12", "not_a_number"),
        ("*800#", "not_a_number"),
        ("نامعلوم", "not_a_number"),
        ("+", "not_a_number"),
        ("++989123456789", "not_a_number"),
        ("98+9123456789", "not_a_number"),
        ("0912:345:6789", "not_a_number"),
        ("९१२३४५६७८९x", "not_a_number"),
        (9123456789.5, "not_a_number"),
        (-9123456789, "not_a_number"),
        (-9123456789.0, "not_a_number"),
        (math.inf, "not_a_number"),
        (True, "not_a_number"),
        # nothing there
        ("", "empty"),
        ("   ", "empty"),
        ("\u200c\u200f", "empty"),
        ("\ufeff", "empty"),
        ("-", "empty"),
        ("()", "empty"),
        (None, "empty"),
        (math.nan, "empty"),
        # a spreadsheet that showed the number in scientific notation lost its last digits
        ("9.12346E+09", "scientific_notation"),
        ("9.123456789e9", "scientific_notation"),
        ("۹٫۱۲E+۰۹", "scientific_notation"),
        # foreign
        ("+999 1234", "invalid_country_code"),
        ("+0912 345 6789", "invalid_country_code"),
        ("+1 650", "too_short"),
        ("+44 7911 12345678901", "too_long"),
        ("+44 20 7946 0958", "landline"),
        ("+1 800 555 0199", "not_mobile"),
    ],
    ids=repr,
)
def test_invalid_recipients_have_a_reason(value: str | int | float | None, reason: str) -> None:
    info = parse(value)
    assert not info.valid
    assert info.reason == reason
    assert info.e164 is None
    assert info.operator is None
    assert mobile_key(value) is None


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+1 650 253 0000", "+16502530000"),
        ("+44 7911 123456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
        ("+44 (0) 7911 123456", "+447911123456"),
        ("+971 50 123 4567", "+971501234567"),
        ("+۹۷۱ ۵۰ ۱۲۳ ۴۵۶۷", "+971501234567"),
        ("+90 532 123 4567", "+905321234567"),
        ("\u200f+49 1512 3456789", "+4915123456789"),
    ],
)
def test_foreign_mobiles_go_through_phonenumbers(value: str, e164: str) -> None:
    info = parse(value)
    assert info.valid
    assert info.e164 == e164
    assert info.reason is None
    expected = carrier.name_for_number(phonenumbers.parse(e164), "en") or None
    assert info.operator == expected
    # The bulk path only ever yields Iranian mobiles.
    assert mobile_key(value) is None


def test_an_int_too_big_to_print_is_too_long() -> None:
    info = parse(10**10000)
    assert info.reason == "too_long"
    assert info.input.startswith("<int of")
    assert mobile_key(10**10000) is None


def test_input_is_kept_as_given() -> None:
    assert parse(" ۰۹۱۲ ۳۴۵ ۶۷۸۹ ").input == " ۰۹۱۲ ۳۴۵ ۶۷۸۹ "
    assert parse(9123456789).input == "9123456789"
    assert parse(9123456789.0).input == "9123456789.0"
    assert parse(None).input == ""


def test_number_info_is_a_frozen_slotted_dataclass() -> None:
    info = parse("09123456789")
    assert dataclasses.is_dataclass(info)
    assert not hasattr(info, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.valid = False  # type: ignore[misc]
    assert info == NumberInfo("09123456789", True, MCI, "MCI", None)
    assert hash(info) == hash(NumberInfo("09123456789", True, MCI, "MCI", None))
    assert repr(info) == repr(NumberInfo("09123456789", True, MCI, "MCI", None))


def test_keys() -> None:
    assert KEY_BASE == 9_000_000_000
    assert key_to_e164(9123456789) == MCI
    assert operator_of_key(9123456789) == "MCI"
    assert operator_of_key(123) is None
    assert operator_of_key(10**10) is None
    # The offset from KEY_BASE is what 32-bit roaring bitmaps store.
    assert 9_999_999_999 - KEY_BASE < 2**32
    for bad in (0, 123, KEY_BASE - 1, 10**10, -9123456789):
        with pytest.raises(ValueError, match="not an Iranian mobile key"):
            key_to_e164(bad)


@pytest.mark.parametrize(
    "value", [*SAME_NUMBER_FORMS, "09351234567", "021 8877 6655", "+44 7911 123456", "x"]
)
def test_mobile_key_agrees_with_parse(value: str | int | float) -> None:
    info = parse(value)
    key = mobile_key(value)
    if key is None:
        assert not (info.valid and info.e164 is not None and info.e164.startswith("+98"))
    else:
        assert info.valid
        assert info.e164 == key_to_e164(key)
        assert info.operator == operator_of_key(key)


def test_reason_messages() -> None:
    assert set(REASONS) == set(REASON_MESSAGES)
    assert {
        "empty",
        "not_a_number",
        "scientific_notation",
        "too_short",
        "too_long",
        "landline",
        "not_mobile",
        "invalid_prefix",
        "invalid_country_code",
        "invalid",
    } == set(REASONS)
    for code in REASONS:
        fa = reason_message(code)
        en = reason_message(code, "en")
        assert fa == reason_message(code, "fa") == REASON_MESSAGES[code]["fa"]
        assert any("\u0600" <= ch <= "\u06ff" for ch in fa), code
        assert en.isascii() and en, code
        assert reason_message(code, "de") == fa
    with pytest.raises(KeyError):
        reason_message("no_such_reason")
