"""Shared vocabulary and helpers for the rules: everything here is folded the way message text is."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from payamak.compliance.normalize import fold

Span = tuple[int, int]

# Letters of the Arabic script as they survive folding (no diacritics, no presentation forms).
ARABIC_LETTER: Final = "\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff"
# A character that continues a word: Latin or Persian letters and digits. Folding has already turned
# ZWNJ into a space, so a ZWNJ-joined suffix is a separate word here.
WORD_CHAR: Final = f"a-z0-9{ARABIC_LETTER}"


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of folded literals, longest first so the longest spelling wins.

    Spaces inside a phrase match any run of spaces (ZWNJ folds to a space, so «واتس‌اپ», «واتس اپ»
    and «واتس  اپ» are one keyword)."""
    folded = {re.sub(r"\s+", " ", fold(w).strip()) for w in words}
    ordered = sorted((w for w in folded if w), key=lambda w: (-len(w), w))
    return "|".join(re.escape(w).replace(r"\ ", r"[ \t]*") for w in ordered)


def phrases(text: str) -> list[str]:
    """The "|"-separated phrases of `text`, trimmed (a compact way to write keyword lists whose
    entries may contain spaces)."""
    return [p.strip() for p in text.split("|") if p.strip()]


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text` (a compact way to write long ASCII word lists)."""
    return frozenset(text.split())


def folded_set(words: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


def merge(spans: list[Span]) -> list[Span]:
    """Sorted spans with overlapping or touching ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def inside(span: Span, others: list[Span]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in others)


def overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)
