"""Whole-word matching of names and words that ignores how the letters were typed.

Arabic and Persian letter forms, case, diacritics and tatweel are already folded away; on top of
that the matcher lets spaces, ZWNJ, dashes and underscores appear or vanish between any two
letters, because «دیجی‌کالا», «دیجی کالا» and «دیجیکالا» are one name to a reader, as are "Ali
Shop" and "ALI  SHOP". The ends must be word boundaries: «نور» is not in «نوروز».
"""

from __future__ import annotations

import re
from functools import lru_cache

from payamak.compliance._lexicon import WORD_CHAR
from payamak.compliance.normalize import fold

__all__ = ["matcher"]

# Between any two letters: spaces (ZWNJ is one once folded), dashes, underscores, dots and
# apostrophes may come and go ("Dr. Ali" / "DR ALI", "Ali's Shop" / "Alis Shop").
_JOINERS = "[ \\t_\\-.'’]*"
_DROPPED = re.compile(r"[\s_\-.'’]+")


def _pattern(name: str) -> str | None:
    letters = _DROPPED.sub("", fold(name))
    if not letters:
        return None
    first = re.escape(letters[0])
    # The word-boundary test comes after the first letter, so that the alternation of names starts
    # with plain letters and the regex engine can skip ahead to them.
    head = f"{first}(?<![{WORD_CHAR}]{first})"
    return _JOINERS.join([head, *(re.escape(ch) for ch in letters[1:])])


@lru_cache(maxsize=2048)
def matcher(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One compiled pattern finding any of `names` as a whole word in folded text; None when no
    name has any letter."""
    patterns = sorted({p for p in map(_pattern, names) if p}, key=len, reverse=True)
    if not patterns:
        return None
    return re.compile(rf"(?:{'|'.join(patterns)})(?![{WORD_CHAR}])")
