"""Folding, and the map from folded offsets back to the text as typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payamak.compliance.normalize import fold, normalize


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("０９１２", "0912"),
        ("𝟎𝟗𝟏𝟐", "0912"),
        ("1️⃣2️⃣", "12"),
        ("علي كاشي", "علی کاشی"),
        ("آیدی", "ایدی"),
        ("ۀ ة", "ه ه"),
        ("می\u200cروم", "می روم"),
        ("۰۹\u200b۱۲\u200d\u200e\u200f\u202a\u202c\u2066\u2069\ufeff\u00ad۳", "09123"),
        ("لطفاً بَرَنده", "لطفا برنده"),
        ("نـــور", "نور"),
        ("ＳＨＯＰ．ＩＲ", "shop.ir"),
        ("𝐡𝐭𝐭𝐩𝐬", "https"),
        ("🅰🅱", "ab"),
        ("ѕhор", "shop"),  # Cyrillic look-alikes
        ("٬٫،", ",.,"),
        ("shop。ir", "shop.ir"),
        ("ﻻ", "لا"),
        ("İ", "i"),
    ],
)
def test_fold(typed: str, folded: str) -> None:
    assert fold(typed) == folded
    assert normalize(typed).text == folded


def test_plain_text_maps_to_itself() -> None:
    n = normalize("salam 0912")
    assert n.span(6, 10) == (6, 10)


def test_spans_map_through_removed_and_expanded_characters() -> None:
    typed = "\u200fﻻ ۰۹\u200b۱۲ …x"
    n = normalize(typed)
    assert n.text == "لا 0912 ...x"
    digits = n.text.index("0912")
    start, end = n.span(digits, digits + 4)
    assert typed[start:end] == "۰۹\u200b۱۲"
    start, end = n.span(0, 1)  # half of the lam-alef ligature is the whole ligature
    assert typed[start:end] == "ﻻ"
    dots = n.text.index("...")
    start, end = n.span(dots + 1, dots + 2)
    assert typed[start:end] == "…"
    start, end = n.span(len(n.text) - 1, len(n.text))
    assert typed[start:end] == "x"


def test_empty_span_maps_to_a_point() -> None:
    n = normalize("\u200bab")
    assert n.span(1, 1) == (2, 2)
    assert n.span(2, 2) == (3, 3)


alphabet = st.sampled_from(
    [*list("ab 09۰۹٠٩ـًٌ"), "\u200c", "\u200b", "\u200f", "ﻻ", "…", "️", "⃣", "Ａ", "İ", "ﷺ"]
)


@given(st.text(alphabet=alphabet, max_size=40))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=alphabet, max_size=40))
def test_source_offsets_are_monotonic_and_whole(text: str) -> None:
    n = normalize(text)
    previous = -1
    for index in range(len(n.text)):
        source = n.source(index)
        assert previous <= source < len(text)
        previous = source
        start, end = n.span(index, index + 1)
        assert fold(text[start:end]).find(n.text[index]) >= 0
    if n.text:
        start, end = n.span(0, len(n.text))
        assert fold(text[start:end]) == n.text
