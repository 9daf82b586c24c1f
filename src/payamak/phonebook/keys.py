"""Numbers as stored keys: an Iranian mobile is its national number, anything else valid is -E.164."""

from __future__ import annotations

import re
from typing import Final

from payamak import numbers

_IRAN_PREFIX: Final = "+98"
_NON_DIGITS: Final = re.compile(r"\D+")


def key_of(value: str | int | float) -> tuple[int | None, str | None]:
    """The key of a number in any written form, or None and the reason code it is not valid."""
    key = numbers.mobile_key(value)
    if key is not None:
        return key, None
    return slow_key_of(value)


def slow_key_of(value: str | int | float) -> tuple[int | None, str | None]:
    """`key_of` for values the Iranian-mobile fast path refused: foreign numbers and invalid ones."""
    info = numbers.parse(value)
    if not info.valid or info.e164 is None:
        return None, info.reason or "invalid"
    if info.e164.startswith(_IRAN_PREFIX):
        return int(info.e164[len(_IRAN_PREFIX) :]), None
    return -int(info.e164[1:]), None


def to_e164(key: int) -> str:
    return numbers.key_to_e164(key) if key > 0 else f"+{-key}"


def to_local(key: int) -> str:
    """How people in Iran write it: 09123456789, and E.164 for foreign numbers."""
    return f"0{key}" if key > 0 else f"+{-key}"


def operator_of(key: int) -> str | None:
    return numbers.operator_of_key(key) if key > 0 else None


def search_digits(query: str) -> str | None:
    """The digits to look for in keys when someone searches by part of a number, in any form.

    The prefixes people put before a national number (0, +98, 0098) are not in the key, so they
    are dropped; 98 alone is kept because it can just as well be the start of the digits wanted.
    """
    text = numbers.to_ascii_digits(query)
    digits = _NON_DIGITS.sub("", text)
    if not digits:
        return None
    if digits.startswith("0098"):
        digits = digits[4:]
    elif text.lstrip().startswith("+98"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits or None
