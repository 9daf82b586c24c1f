"""Text folding for rule matching, with a way back to the offsets of the text as typed.

Rules match against a folded copy of the message: NFKC (fullwidth and mathematical letters become
ASCII), every decimal digit system becomes ASCII, Arabic letter forms become the Persian ones,
letters are lower-cased, and invisible marks, diacritics and tatweel disappear. Violations are then
reported against the original text, so an editor can highlight exactly what the user typed.

Almost every character folds to exactly one character, so the folded text is built with one
`str.translate` call, and the mapping back is piecewise linear: only the few characters that vanish
or expand need remembering, and they are looked up only when a span has to be mapped.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import Final

__all__ = ["Normalized", "fold", "normalize"]

# Characters that carry no visible content but break naive matching ("۰۹۱۲" + RLM + "۳۴۵"),
# stretch words (tatweel) or are plain noise (BOM, soft hyphen, bidi controls, variation selectors).
# fmt: off
_INVISIBLE: Final = frozenset((
    0x00AD, 0x034F, 0x061C, 0x0640, 0x180E, 0x200B, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062,
    0x2063, 0x2064, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A), *range(0xFE00, 0xFE10),
))
# fmt: on

# ZWNJ separates morphemes inside one Persian word; spaces do the same job in careless typing, so
# both are treated alike (the name matcher then ignores the difference altogether).
_ZWNJ: Final = 0x200C

_LETTER_FOLDS: Final = {
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # alef maksura
    "\u0626": "\u06cc",  # yeh with hamza (مسئول / مسیول are the same word to a reader)
    "\u06d0": "\u06cc",
    "\u0643": "\u06a9",  # Arabic kaf -> keheh
    "\u06aa": "\u06a9",
    "\u0629": "\u0647",  # teh marbuta
    "\u06c0": "\u0647",  # heh with yeh above (ۀ)
    "\u06d5": "\u0647",
    "\u06be": "\u0647",
    "\u06c1": "\u0647",
    "\u0622": "\u0627",  # alef with madda: آیدی and ایدی are both written
    "\u0623": "\u0627",
    "\u0625": "\u0627",
    "\u0671": "\u0627",
    "\u0624": "\u0648",
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    "\u060c": ",",
    "\u061b": ";",
    "\u061f": "?",
    "\u066a": "%",
    "\u066d": "*",
    "\u3002": ".",  # ideographic full stop, used to disguise dots
    "\u00b7": ".",
    "\u2219": ".",
    "\u22c5": ".",
    "\u2044": "/",
    "\u2215": "/",
    "\u2212": "-",
    "\ufe58": "-",
    "\ufe63": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    # Cyrillic and Greek look-alikes of Latin letters, a known way to slip a domain past filters.
    "\u0430": "a",
    "\u0435": "e",
    "\u043e": "o",
    "\u0440": "p",
    "\u0441": "c",
    "\u0443": "y",
    "\u0445": "x",
    "\u0456": "i",
    "\u0458": "j",
    "\u0455": "s",
    "\u0501": "d",
    "\u04bb": "h",
    "\u051b": "q",
    "\u051d": "w",
    "\u03bf": "o",
    "\u03b1": "a",
    "\u03b9": "i",
    "\u03bd": "v",
    "\u03c1": "p",
    "\u03ba": "k",
}

# Astral blocks whose letters and digits people use as "fancy" Latin: mathematical alphanumerics and
# the enclosed/squared letters. Negative circled and negative squared letters have no NFKC mapping.
_ASTRAL_RANGES: Final = ((0x1D400, 0x1D800), (0x1F100, 0x1F1A0))
_NEGATIVE_LETTERS: Final = {
    **{0x1F150 + i: chr(97 + i) for i in range(26)},
    **{0x1F170 + i: chr(97 + i) for i in range(26)},
}


def _fold_char(ch: str) -> str:
    """The folded form of one code point; the empty string when it should vanish."""
    cp = ord(ch)
    if cp in _INVISIBLE:
        return ""
    if cp == _ZWNJ:
        return " "
    if cp in _NEGATIVE_LETTERS:
        return _NEGATIVE_LETTERS[cp]
    if ch in _LETTER_FOLDS:
        return _LETTER_FOLDS[ch]
    out = []
    for part in unicodedata.normalize("NFKC", ch):
        category = unicodedata.category(part)
        if category in ("Mn", "Me"):
            # Diacritics (harakat, accents) and enclosing marks (keycap "1️⃣") carry no identity.
            continue
        if category == "Nd":
            out.append(str(unicodedata.decimal(part)))
            continue
        if part in _LETTER_FOLDS:
            out.append(_LETTER_FOLDS[part])
            continue
        if ord(part) in _INVISIBLE:
            continue
        lower = part.lower()
        if len(lower) != 1:
            lower = "".join(c for c in unicodedata.normalize("NFD", lower) if unicodedata.category(c) != "Mn")
        out.append(lower)
    return "".join(out)


def _build_tables() -> tuple[list[int | str | None], dict[int, str | None], str]:
    low: list[int | str | None] = list(range(_LOW_LIMIT))
    high: dict[int, str | None] = {}
    resizing: list[int] = []
    code_points = [*range(0x0000, 0xD800), *range(0xE000, 0x10000)]
    for start, stop in _ASTRAL_RANGES:
        code_points.extend(range(start, stop))
    special = {*_INVISIBLE, _ZWNJ, *_NEGATIVE_LETTERS, *map(ord, _LETTER_FOLDS)}
    for cp in code_points:
        ch = chr(cp)
        # Most code points fold to themselves; these cheap tests settle them without the full fold.
        if (
            cp not in special
            and unicodedata.is_normalized("NFKC", ch)
            and ch.lower() == ch
            and unicodedata.category(ch) not in ("Mn", "Me", "Nd")
        ):
            continue
        folded = _fold_char(ch)
        if len(folded) != 1:
            resizing.append(cp)
        if folded == ch:
            continue
        if cp < _LOW_LIMIT:
            low[cp] = ord(folded) if len(folded) == 1 else (folded or None)
        else:
            high[cp] = folded or None
    return low, high, _char_class(resizing)


def _char_class(code_points: list[int]) -> str:
    """A compact regex character class of sorted code points, written as ranges."""
    parts: list[str] = []
    start = prev = code_points[0]
    for cp in [*code_points[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(
            re.escape(chr(start)) if start == prev else f"{re.escape(chr(start))}-{re.escape(chr(prev))}"
        )
        start = prev = cp
    return "[" + "".join(parts) + "]"


# `str.translate` is about twice as fast with a list as with a dict (a dict lookup that misses
# raises internally), so a list covers the code points SMS text is written in (everything below
# U+3100: Latin, Arabic script, punctuation); rarer ones (fullwidth and presentation forms,
# mathematical letters) go through a second, dict-based pass that runs only when one is present.
_LOW_LIMIT: Final = 0x3100
_LOW, _HIGH, _RESIZING_CLASS = _build_tables()
_HAS_HIGH: Final = re.compile("[\u3100-\U0010ffff]")
# Code points whose folded form is not exactly one character: the only places where the offsets of
# the folded text and of the original drift apart.
_RESIZING: Final = re.compile(_RESIZING_CLASS)


class Normalized:
    """A folded text plus the original it came from; `span` maps folded offsets back."""

    __slots__ = ("_marks", "_starts", "original", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        self.text = _fold(original)
        self._starts: list[int] | None = None
        self._marks: list[tuple[int, int]] = []

    def _breakpoints(self) -> list[int]:
        if self._starts is None:
            starts: list[int] = []
            marks: list[tuple[int, int]] = []
            drift = 0
            for m in _RESIZING.finditer(self.original):
                at = m.start()
                width = len(_fold(m.group()))
                starts.append(at + drift)
                marks.append((at, width))
                drift += width - 1
            self._starts = starts
            self._marks = marks
        return self._starts

    def source(self, index: int) -> int:
        """Offset in the original of the character that produced folded character `index`."""
        starts = self._breakpoints()
        if not starts:
            return index
        k = bisect_right(starts, index) - 1
        if k < 0:
            return index
        at, width = self._marks[k]
        folded_at = starts[k]
        if index < folded_at + width:
            return at
        return at + 1 + (index - folded_at - width)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded half-open span to the original text (whole characters, never a half)."""
        if end <= start:
            point = self.source(start) if start < len(self.text) else len(self.original)
            return point, point
        stop = self.source(end - 1) + 1
        original = self.original
        # Keep the marks that decorate the last character (a keycap, a diacritic) inside the span.
        while stop < len(original) and unicodedata.category(original[stop]) in ("Mn", "Me"):
            stop += 1
        return self.source(start), stop


def normalize(text: str) -> Normalized:
    return Normalized(text)


def _fold(text: str) -> str:
    folded = text.translate(_LOW)
    if _HAS_HIGH.search(folded) is not None:
        folded = folded.translate(_HIGH)
    return folded


def fold(text: str) -> str:
    """The folded form alone, for keywords and names compared against folded text."""
    return _fold(text)
