"""Digits as people type them: Persian (۰–۹) and Arabic-Indic (٠–٩) keyboards, read as ASCII.

Codes, amounts, dates, line numbers and searches are typed on either keyboard, so every place that
reads digits folds them through this one table.
"""

from __future__ import annotations

from typing import Final

_ASCII_DIGITS: Final = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def to_ascii_digits(text: str) -> str:
    """`text` with its Persian and Arabic-Indic digits written as ASCII ones; nothing else changes.

    >>> to_ascii_digits("کد ۱۲۳۴ و ٥٦")
    'کد 1234 و 56'
    """
    return text.translate(_ASCII_DIGITS)


def digits_only(text: str) -> str:
    """The digits of `text`, Persian and Arabic-Indic ones as ASCII, everything else dropped.

    >>> digits_only("+98 ۲۱-1234")
    '98211234'
    """
    return "".join(ch for ch in to_ascii_digits(text) if ch.isdigit())
