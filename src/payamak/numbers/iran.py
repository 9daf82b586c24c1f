"""Iranian numbering facts, derived from the installed `phonenumbers` when this module is imported.

Nothing here is a hand-copied range: mobile validity comes from libphonenumber's number-type
patterns for IR and operators from its carrier prefixes, so upgrading `phonenumbers` moves the fast
path along with it. Import fails loudly if the metadata stops looking like what the fast path
assumes (ten-digit mobiles starting with 9), rather than silently rejecting real numbers.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import phonenumbers
from phonenumbers.carrierdata import CARRIER_DATA

COUNTRY_CODE: Final = "98"
REGION: Final = "IR"
MOBILE_LENGTH: Final = 10

NumberKind = Literal["mobile", "fixed_line", "other", "unknown"]

# libphonenumber spells operators inconsistently across releases (and adds MVNOs over time); these
# ids are what the rest of Payamak stores and prices by, so they must not follow those spellings.
_OPERATOR_IDS: Final[dict[str, str]] = {
    "irmci": "MCI",
    "mci": "MCI",
    "hamrahaval": "MCI",
    "hamrahavval": "MCI",
    "irancell": "Irancell",
    "mtnirancell": "Irancell",
    "rightel": "RighTel",
    "taliya": "Taliya",
    "telekish": "TeleKish",
    "mtce": "MTCE",
    "aptel": "ApTel",
    "shatel": "Shatel",
    "shatelmobile": "Shatel",
    "anarestan": "Anarestan",
    "lotustel": "LotusTel",
    "samantel": "Samantel",
}


def operator_id(carrier_name: str) -> str | None:
    """The stable id for a libphonenumber carrier name ("IR-MCI" -> "MCI"), or None for a blank name.

    Names not in the alias table become their words joined in CamelCase, which stays stable for as
    long as libphonenumber keeps the spelling.
    """
    words = [w for w in re.split(r"[^0-9A-Za-z]+", carrier_name) if w]
    if not words:
        return None
    known = _OPERATOR_IDS.get("".join(words).lower())
    if known is not None:
        return known
    return "".join(w[:1].upper() + w[1:] for w in words)


def _region_metadata() -> phonenumbers.PhoneMetadata:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(REGION)
    if metadata is None:
        raise RuntimeError("phonenumbers has no metadata for IR")
    return metadata


_METADATA: Final = _region_metadata()


_Desc = tuple[str, frozenset[int]]
"""A number type as libphonenumber matches it: a pattern and the lengths allowed (empty: any)."""


def _desc(desc: phonenumbers.PhoneNumberDesc | None) -> _Desc | None:
    """None when no number can be of this type: no pattern, or only the "not used" length -1."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(n for n in desc.possible_length if n > 0)
    if desc.possible_length and not lengths:
        return None
    return f"(?:{desc.national_number_pattern})", lengths


def _typed(desc: _Desc) -> str:
    """The pattern with the length check libphonenumber runs before it folded in as a lookahead."""
    pattern, lengths = desc
    if not lengths:
        return pattern
    allowed = "|".join(rf"\d{{{n}}}" for n in sorted(lengths))
    return rf"(?=(?:{allowed})\Z){pattern}"


def _admits(desc: _Desc, length: int) -> bool:
    return not desc[1] or length in desc[1]


def _required(desc: _Desc | None, what: str) -> _Desc:
    if desc is None:
        raise RuntimeError(f"phonenumbers has no {what} pattern for IR")
    return desc


_GENERAL: Final = _required(_desc(_METADATA.general_desc), "general")
_FIXED_LINE: Final = _desc(_METADATA.fixed_line)
_MOBILE: Final = _required(_desc(_METADATA.mobile), "mobile")
# libphonenumber settles a number's type by trying these before fixed line and mobile, so a number
# matching one of them is never a mobile even when the mobile pattern matches it too.
_SHADOWING: Final = [
    d
    for d in map(
        _desc,
        (
            _METADATA.premium_rate,
            _METADATA.toll_free,
            _METADATA.shared_cost,
            _METADATA.voip,
            _METADATA.personal_number,
            _METADATA.pager,
            _METADATA.uan,
            _METADATA.voicemail,
        ),
    )
    if d is not None
]
_SAME_MOBILE_AND_FIXED: Final = bool(_METADATA.same_mobile_and_fixed_line_pattern)

if _MOBILE[1] != {MOBILE_LENGTH} or not _admits(_GENERAL, MOBILE_LENGTH):
    raise RuntimeError(f"IR mobile numbers are no longer {MOBILE_LENGTH} digits long in phonenumbers")


def _kind_regex() -> re.Pattern[str]:
    # Alternation tries branches left to right, which reproduces libphonenumber's order of tests;
    # the branch that matched names the kind.
    mobile = _typed(_MOBILE)
    branches = []
    if _SHADOWING:
        branches.append(f"(?P<other>{'|'.join(map(_typed, _SHADOWING))})")
    if _FIXED_LINE is not None:
        fixed = _typed(_FIXED_LINE)
        both = fixed if _SAME_MOBILE_AND_FIXED else rf"(?=(?:{mobile})\Z){fixed}"
        branches.append(f"(?P<fixed_mobile>{both})")
        branches.append(f"(?P<fixed_line>{fixed})")
    if not _SAME_MOBILE_AND_FIXED:
        branches.append(f"(?P<mobile>{mobile})")
    return re.compile(rf"(?=(?:{_typed(_GENERAL)})\Z)(?:{'|'.join(branches)})", re.ASCII)


_KIND_REGEX: Final = _kind_regex()
_KINDS: Final[dict[str | None, NumberKind]] = {
    "other": "other",
    "fixed_mobile": "mobile",
    "fixed_line": "fixed_line",
    "mobile": "mobile",
}


def number_kind(nsn: str) -> NumberKind:
    """What libphonenumber would call this Iranian national significant number (ASCII digits)."""
    match = _KIND_REGEX.fullmatch(nsn)
    return "unknown" if match is None else _KINDS[match.lastgroup]


def _mobile_regex() -> re.Pattern[str]:
    """For ten-character strings, a regex matching exactly those `number_kind` calls "mobile".

    Knowing the length lets it drop every length check and every type that cannot have ten
    digits, which makes it about three times cheaper than `number_kind` on the bulk path.
    """
    parts = [rf"(?={_GENERAL[0]}\Z)"]
    parts.extend(rf"(?!{d[0]}\Z)" for d in _SHADOWING if _admits(d, MOBILE_LENGTH))
    mobile = _MOBILE[0]
    if _SAME_MOBILE_AND_FIXED and _FIXED_LINE is not None and _admits(_FIXED_LINE, MOBILE_LENGTH):
        mobile = f"{mobile}|{_FIXED_LINE[0]}"
    parts.append(f"(?:{mobile})")
    return re.compile("".join(parts), re.ASCII)


is_mobile_nsn: Final = _mobile_regex().fullmatch
"""`is_mobile_nsn(s)` is truthy when a ten-character string is a valid Iranian mobile number.

The empty string never matches; other lengths give meaningless answers, so callers check first.
"""


def _carrier_prefixes() -> tuple[dict[str, str | None], dict[str, str]]:
    """Mobile prefixes (of the national number) to operator ids, and each id's Persian name."""
    prefixes: dict[str, str | None] = {}
    persian: dict[str, str] = {}
    for prefix, names in CARRIER_DATA.items():
        if not prefix.startswith(COUNTRY_CODE):
            continue
        national = prefix[len(COUNTRY_CODE) :]
        if not national.startswith("9"):
            if national:
                continue
            national = "9"
        # libphonenumber skips a prefix that has no English name and tries a shorter one; an empty
        # name, though, ends the search with "no carrier", which None reproduces below.
        if "en" not in names:
            continue
        op = operator_id(names["en"])
        prefixes[national] = op
        if op is not None and "fa" in names:
            persian.setdefault(op, names["fa"])
    return prefixes, persian


_PREFIXES, _PERSIAN_NAMES = _carrier_prefixes()
# A flat table over the first `_OP_DIGITS` digits of the national number turns the longest-prefix
# search into one index; filling shorter prefixes first lets longer ones overwrite their slice.
_OP_DIGITS: Final = max((len(p) for p in _PREFIXES), default=1)
_OP_FIRST: Final[int] = 9 * 10 ** (_OP_DIGITS - 1)
_OP_DIVISOR: Final[int] = 10 ** (MOBILE_LENGTH - _OP_DIGITS)


def _operator_table() -> list[str | None]:
    table: list[str | None] = [None] * (10 ** (_OP_DIGITS - 1))
    for prefix in sorted(_PREFIXES, key=len):
        span = 10 ** (_OP_DIGITS - len(prefix))
        start = int(prefix) * span - _OP_FIRST
        table[start : start + span] = [_PREFIXES[prefix]] * span
    return table


_OPERATOR_TABLE: Final = _operator_table()

OPERATORS: Final[frozenset[str]] = frozenset(op for op in _PREFIXES.values() if op is not None)
"""Every Iranian operator id the installed libphonenumber knows a mobile prefix for."""


OPERATOR_BY_PREFIX: Final[dict[str, str | None]] = {
    str(_OP_FIRST + i): op for i, op in enumerate(_OPERATOR_TABLE)
}
"""Operator id by the first digits of a national number (as many as the longest carrier prefix).

A str-keyed dict spares the hot path the int conversion the list table needs.
"""
OPERATOR_PREFIX_DIGITS: Final = _OP_DIGITS


KEY_BASE: Final[int] = 9 * 10 ** (MOBILE_LENGTH - 1)
KEY_END: Final[int] = 10**MOBILE_LENGTH


def operator_of_key(key: int) -> str | None:
    """Operator id for a mobile key (the national number as an int), None outside 9000000000-9999999999."""
    if KEY_BASE <= key < KEY_END:
        return _OPERATOR_TABLE[key // _OP_DIVISOR - _OP_FIRST]
    return None


def operator_name(operator: str, lang: str = "fa") -> str:
    """A display name: the Persian one from libphonenumber when asked and known, else the id."""
    if lang != "en":
        return _PERSIAN_NAMES.get(operator, operator)
    return operator
