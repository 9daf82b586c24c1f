"""Property tests: the Iranian fast path against libphonenumber itself.

Mobile numbers are generated from the installed libphonenumber's own IR mobile pattern, then written
the way people write them. The fast path must give the same E.164, validity and operator that
`phonenumbers` gives for the same number written in a form it can read (its parser does not know
underscores, invisible marks, the 098 prefix or spreadsheet ".0" endings, so those are cleaned out
of its copy). Numbers the fast path rejects must not be valid Iranian mobiles for `phonenumbers`.
"""

from __future__ import annotations

import re

import phonenumbers
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import carrier

from payamak.numbers import REASONS, key_to_e164, mobile_key, operator_of_key, parse
from payamak.numbers.iran import is_mobile_nsn, number_kind, operator_id

METADATA = phonenumbers.PhoneMetadata.metadata_for_region("IR")
assert METADATA is not None and METADATA.mobile is not None
assert METADATA.mobile.national_number_pattern is not None
MOBILE_PATTERN = re.compile(METADATA.mobile.national_number_pattern, re.ASCII)

SMS_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}

DIGIT_SYSTEMS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９")
INVISIBLE = (
    "\u200c",  # ZWNJ
    "\u200d",  # ZWJ
    "\u200b",  # ZWSP
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\ufeff",  # BOM
    "\u00ad",  # soft hyphen
    "\u2060",  # word joiner
    "\u061c",  # Arabic letter mark
)
# Separators, each with what phonenumbers' copy gets in its place.
SEPARATORS = {
    " ": " ",
    "-": "-",
    ".": ".",
    "(": "(",
    ")": ")",
    "/": "/",
    "\u00a0": "\u00a0",
    "\u2013": "\u2013",
    "\u2212": "\u2212",
    "_": " ",
    "\u202f": " ",
    "\t": " ",
}
# Prefix forms, each with the form phonenumbers' copy uses.
PREFIXES = {
    "0": "0",
    "+98": "+98",
    "0098": "0098",
    "98": "98",
    "+98(0)": "+98(0)",
    "+980": "+980",
    "00980": "00980",
    "098": "0",
    "": "",
}

mobile_nsns = st.from_regex(MOBILE_PATTERN, fullmatch=True)


@st.composite
def written_forms(draw: st.DrawFn, nsn: str) -> tuple[str, str]:
    """`nsn` as a person might write it, and the same number as phonenumbers can read it."""
    prefix = draw(st.sampled_from(sorted(PREFIXES)))
    mixed = draw(st.booleans())
    system = draw(st.sampled_from(DIGIT_SYSTEMS))
    chars = list(prefix + nsn)
    pn_chars = list(PREFIXES[prefix] + nsn)
    written: list[str] = []
    readable: list[str] = []
    # Gaps before, between and after the characters; the prefix translation changes the length of
    # phonenumbers' copy, so its separators are only placed around the national number.
    offset = len(chars) - len(nsn)
    pn_offset = len(pn_chars) - len(nsn)
    readable.extend(pn_chars[:pn_offset])
    for i, ch in enumerate([*chars, ""]):
        separator = draw(st.sampled_from(["", "", "", *SEPARATORS]))
        marks = draw(st.lists(st.sampled_from(INVISIBLE), max_size=2))
        written.append("".join(marks) + separator)
        if i >= offset:
            readable.append(SEPARATORS.get(separator, ""))
        if ch.isdigit():
            digits = draw(st.sampled_from(DIGIT_SYSTEMS)) if mixed else system
            written.append(digits[int(ch)])
        else:
            written.append(ch)
        if i >= offset and ch:
            readable.append(ch)
    text = "".join(written)
    # A number written with no leading 0 or + and one dot followed only by zeros reads as a
    # spreadsheet float ("9123456700" as "91234567.00"), which is ambiguous by nature.
    bare = re.sub(
        r"[^0-9.]", "", text.translate({ord(d): str(i) for s in DIGIT_SYSTEMS for i, d in enumerate(s)})
    )
    assume(not (prefix in ("", "98") and re.fullmatch(r"[1-9][0-9]*\.0*", bare)))
    return text, "".join(readable)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), nsn=mobile_nsns)
def test_written_mobiles_agree_with_phonenumbers(data: st.DataObject, nsn: str) -> None:
    text, readable = data.draw(written_forms(nsn))

    reference = phonenumbers.parse(readable, "IR")
    assert phonenumbers.is_valid_number(reference)
    assert phonenumbers.number_type(reference) in SMS_TYPES
    e164 = phonenumbers.format_number(reference, phonenumbers.PhoneNumberFormat.E164)
    assert e164 == "+98" + nsn

    info = parse(text)
    assert info.valid, (text, info)
    assert info.e164 == e164
    assert info.reason is None
    assert info.operator == operator_id(carrier.name_for_number(reference, "en"))
    assert mobile_key(text) == int(nsn)


@settings(max_examples=300, deadline=None)
@given(nsn=mobile_nsns)
def test_spreadsheet_values_are_mobiles(nsn: str) -> None:
    e164 = "+98" + nsn
    for value in (int(nsn), float(nsn), f"{nsn}.0", int("98" + nsn), float("98" + nsn)):
        assert parse(value).e164 == e164, value
        assert mobile_key(value) == int(nsn), value


def _phonenumbers_says_mobile(national: str) -> bool:
    for written in ("0" + national, "+98" + national):
        number = phonenumbers.parse(written, "IR")
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in SMS_TYPES:
            return True
    return False


# Ten-digit national numbers across the whole 9 block and the rest of the space, plus one-digit
# mutations of real mobiles, where an off-by-one range would show.
ten_digit_nsns = st.one_of(
    st.from_regex(r"9[0-9]{9}", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{9}", fullmatch=True),
    st.tuples(mobile_nsns, st.integers(1, 9), st.sampled_from("0123456789")).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    ),
)


@settings(max_examples=3000, deadline=None)
@given(nsn=ten_digit_nsns)
def test_fast_path_accepts_exactly_phonenumbers_mobiles(nsn: str) -> None:
    expected = _phonenumbers_says_mobile(nsn)
    assert (mobile_key("0" + nsn) is not None) == expected, nsn
    assert (mobile_key("+98" + nsn) is not None) == expected, nsn
    assert parse("0" + nsn).valid == expected, nsn
    assert bool(is_mobile_nsn(nsn)) == expected, nsn


@settings(max_examples=1000, deadline=None)
@given(nsn=st.from_regex(r"[1-8][0-9]{0,11}|9[0-9]{0,8}|9[0-9]{10,11}", fullmatch=True))
def test_number_kind_matches_phonenumbers(nsn: str) -> None:
    number = phonenumbers.PhoneNumber(country_code=98, national_number=int(nsn))
    kind = phonenumbers.number_type(number)
    if kind in SMS_TYPES:
        expected = "mobile"
    elif kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        expected = "fixed_line"
    elif kind == phonenumbers.PhoneNumberType.UNKNOWN:
        expected = "unknown"
    else:
        expected = "other"
    assert number_kind(nsn) == expected
    if nsn.startswith("98"):
        return  # "0" + "98…" is the 098 prefix form, read as +98 followed by the rest
    info = parse("0" + nsn)
    assert info.valid == (expected == "mobile")
    if expected == "fixed_line":
        assert info.reason == "landline"


@settings(max_examples=1500, deadline=None)
@given(
    value=st.one_of(
        st.text(),
        st.text(alphabet="0123456789۰۱۲۳۴۵۶۷۸۹+-() .\u200c", max_size=20),
        st.integers(),
        st.floats(),
        st.none(),
    )
)
def test_parse_never_raises_and_mobile_key_agrees(value: str | int | float | None) -> None:
    info = parse(value)
    key = mobile_key(value)
    if info.valid:
        assert info.reason is None
        assert info.e164 is not None
        assert info.e164.startswith("+")
        assert info.e164[1:].isdigit() and info.e164.isascii()
    else:
        assert info.reason in REASONS
        assert info.e164 is None
        assert info.operator is None
    if key is not None:
        assert info.valid
        assert info.e164 == key_to_e164(key)
        assert info.operator == operator_of_key(key)
    else:
        assert not (info.valid and info.e164 is not None and info.e164.startswith("+98"))
