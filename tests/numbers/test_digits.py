"""The one fold of typed digits: Persian and Arabic-Indic keyboards read as ASCII."""

from __future__ import annotations

import pytest

from payamak.numbers import digits_only, to_ascii_digits


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Persian
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic
        ("0123456789", "0123456789"),
        ("کد: ۱۲٣4", "کد: 1234"),  # mixed keyboards in one value; other characters untouched
        ("۱٬۰۰۰", "1٬000"),  # separators are the reader's business
        ("", ""),
    ],
)
def test_to_ascii_digits(typed: str, expected: str) -> None:
    assert to_ascii_digits(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+98 ۲۱-1234", "98211234"),
        ("۵۰۰۰ ١٢", "500012"),
        ("line", ""),
    ],
)
def test_digits_only(typed: str, expected: str) -> None:
    assert digits_only(typed) == expected
