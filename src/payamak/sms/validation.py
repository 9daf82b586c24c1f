"""Whether a text can be sent at all, with errors a sender can act on.

Positions are indexes into the text as given (Python string indexes), like the spans compliance
reports; the human messages count from one.
"""

from __future__ import annotations

import re
import unicodedata

from payamak.errors import ValidationFailed
from payamak.sms.segments import TextInfo, analyse

# Line breaks, and the invisible formatting Persian and emoji need: the zero-width non-joiner of
# نیم‌فاصله, the joiner inside emoji sequences, the direction marks for mixed Persian/Latin lines,
# and the tag characters of subdivision flags. Every other control or format character is refused:
# bidi overrides can disguise a link, and BOMs or zero-width spaces pasted from editors silently
# turn a Latin text into UCS-2, changing its part count and its price.
_EMOJI_TAGS = frozenset(map(chr, range(0xE0020, 0xE0080)))
_ALLOWED_INVISIBLE = frozenset("\n\r\u200c\u200d\u200e\u200f\u061c") | _EMOJI_TAGS


def _refused(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category == "Cs" or (category in ("Cc", "Cf") and ch not in _ALLOWED_INVISIBLE)


def _character_class(characters: list[str]) -> str:
    ranges: list[tuple[int, int]] = []
    for code in sorted(map(ord, characters)):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        re.escape(chr(first)) + ("-" + re.escape(chr(last)) if last != first else "")
        for first, last in ranges
    )


# The blocks nearly every Persian or Latin message is drawn from are judged once at import, so a
# typical text is cleared by one regex scan in C: Latin, Arabic script, general punctuation, Arabic
# presentation forms.
_COMMON_BLOCKS = ((0x0000, 0x0250), (0x0600, 0x0700), (0x2000, 0x2070), (0xFB50, 0xFE00), (0xFE70, 0xFF00))
_UNUSUAL = re.compile(
    "[^"
    + _character_class(
        [ch for start, end in _COMMON_BLOCKS for ch in map(chr, range(start, end)) if not _refused(ch)]
    )
    + "]"
)

# Whitespace plus invisible characters: a text of nothing else shows the recipient nothing.
_BLANK = re.compile(r"[\s\u00ad\u061c\u200b-\u200f\u2060\ufeff]*")

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


class InvalidText(ValidationFailed):
    """A message text that cannot be sent as given; `code` says why."""

    code = "text_invalid"


def _fa(number: int) -> str:
    return str(number).translate(_PERSIAN_DIGITS)


def _codepoint(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _first_problem(text: str) -> tuple[str, int] | None:
    """The first offending character's kind ("surrogate" or "control") and index.

    A surrogate wins over a control character wherever they are, because nothing else about the
    text can be judged until it is valid Unicode."""
    unusual = _UNUSUAL.search(text)
    if unusual is None:
        return None
    surrogates: list[str] = []
    controls: list[str] = []
    for ch in set(text[unusual.start() :]):
        if unicodedata.category(ch) == "Cs":
            surrogates.append(ch)
        elif _refused(ch):
            controls.append(ch)
    if surrogates:
        return "surrogate", min(text.index(ch) for ch in surrogates)
    if controls:
        return "control", min(text.index(ch) for ch in controls)
    return None


def validate_text(text: str, *, max_parts: int = 10) -> TextInfo:
    """The text's TextInfo if it can be sent in at most `max_parts` parts, else InvalidText with
    code text_empty, text_invalid_characters, text_control_characters or text_too_long."""
    if not 1 <= max_parts <= 0xFF:
        raise ValueError(f"max_parts must be between 1 and 255, not {max_parts}")
    if _BLANK.fullmatch(text):
        raise InvalidText("متن پیامک خالی است.", "The message text is empty.", code="text_empty")
    problem = _first_problem(text)
    if problem is not None:
        kind, position = problem
        character = _codepoint(text[position])
        where_fa, where_en = f"کاراکتر شمارهٔ {_fa(position + 1)} متن", f"Character {position + 1} of the text"
        if kind == "surrogate":
            raise InvalidText(
                f"{where_fa} نامعتبر است ({character})؛ آن را پاک کنید و دوباره بنویسید.",
                f"{where_en} is invalid ({character}, a lone UTF-16 surrogate); delete it and type it again.",
                code="text_invalid_characters",
                position=position,
                character=character,
            )
        raise InvalidText(
            f"{where_fa} یک کاراکتر کنترلی نامرئی است ({character})؛ آن را پاک کنید.",
            f"{where_en} is an invisible control character ({character}); remove it.",
            code="text_control_characters",
            position=position,
            character=character,
        )
    info = analyse(text)
    if info.segments > max_parts:
        raise InvalidText(
            f"این متن در {_fa(info.segments)} بخش فرستاده می‌شود، ولی حداکثر {_fa(max_parts)} بخش مجاز است؛"
            " متن را کوتاه‌تر کنید.",
            f"This text needs {info.segments} parts but at most {max_parts} are allowed; shorten it.",
            code="text_too_long",
            parts=info.segments,
            max_parts=max_parts,
            encoding=info.encoding,
            characters=info.characters,
        )
    return info
