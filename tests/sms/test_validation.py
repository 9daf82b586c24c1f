from __future__ import annotations

import pytest

from payamak.errors import ValidationFailed
from payamak.sms import InvalidText, TextInfo, validate_text


@pytest.mark.parametrize(
    "text",
    [
        "سلام، سفارش شما ارسال شد.\nلغو۱۱",
        "Your code: 1234\r\n",
        "نیم\u200cفاصله",  # zero-width non-joiner
        "\u200fسلام Payamak",  # right-to-left mark
        "\u061cعربی",  # Arabic letter mark
        "👨\u200d👩\u200d👧",  # emoji joined with ZWJ
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # tagged flag
        "❤️ {price} €",
    ],
)
def test_sendable_texts_pass(text: str) -> None:
    assert isinstance(validate_text(text), TextInfo)


def test_returns_the_analysis() -> None:
    assert validate_text("a" * 161) == TextInfo("GSM-7", 161, 2, 153, 145)


@pytest.mark.parametrize("text", ["", " ", "\n\r\n", "\t ", "\u3000", "\u200c", " \u200f\ufeff "])
def test_empty(text: str) -> None:
    with pytest.raises(InvalidText) as caught:
        validate_text(text)
    assert caught.value.code == "text_empty"
    assert caught.value.message() == "متن پیامک خالی است."
    assert caught.value.message("en") == "The message text is empty."


@pytest.mark.parametrize(
    ("text", "position", "character"),
    [
        ("\ud800abc", 0, "U+D800"),
        ("سلام \udfff", 5, "U+DFFF"),
        ("a\ud83d\ude00", 1, "U+D83D"),  # a pair split into two code points is still not valid text
        ("\x01b\ud800", 2, "U+D800"),  # the surrogate is reported even after a control character
    ],
)
def test_invalid_characters(text: str, position: int, character: str) -> None:
    with pytest.raises(InvalidText) as caught:
        validate_text(text)
    assert caught.value.code == "text_invalid_characters"
    assert caught.value.extra == {"position": position, "character": character}
    assert f"{position + 1}" in caught.value.message("en")
    assert character in caught.value.message()


@pytest.mark.parametrize(
    ("text", "position", "character"),
    [
        ("سلام\x00", 4, "U+0000"),
        ("a\tb", 1, "U+0009"),
        ("page\fbreak", 4, "U+000C"),  # GSM-7 has it, but it shows as nothing useful on a phone
        ("del\x7f", 3, "U+007F"),
        ("next\x85line", 4, "U+0085"),
        ("see \u202eknil.example\u202c", 4, "U+202E"),  # a bidi override can disguise a link
        ("\ufeffHello", 0, "U+FEFF"),
        ("zero\u200bwidth", 4, "U+200B"),
        ("soft\u00adhyphen", 4, "U+00AD"),
        ("a\x1b", 1, "U+001B"),
        ("x\U000e0001y", 1, "U+E0001"),  # the language tag, unlike the flag tags, is deprecated noise
        ("ok \x02 then \x01", 3, "U+0002"),  # the first one in the text, not the first one found
    ],
)
def test_control_characters(text: str, position: int, character: str) -> None:
    with pytest.raises(InvalidText) as caught:
        validate_text(text)
    assert caught.value.code == "text_control_characters"
    assert caught.value.extra == {"position": position, "character": character}
    assert text[position] == chr(int(character[2:], 16))


def test_persian_message_counts_in_persian_digits() -> None:
    with pytest.raises(InvalidText) as caught:
        validate_text("سلام" * 3 + "\x00")
    assert "کاراکتر شمارهٔ ۱۳ متن" in caught.value.message()
    assert "Character 13 of the text" in caught.value.message("en")


def test_too_long() -> None:
    assert validate_text("س" * 670).segments == 10
    with pytest.raises(InvalidText) as caught:
        validate_text("س" * 671)
    error = caught.value
    assert error.code == "text_too_long"
    assert error.extra == {"parts": 11, "max_parts": 10, "encoding": "UCS-2", "characters": 671}
    assert "۱۱ بخش" in error.message()
    assert "۱۰ بخش" in error.message()
    assert "11 parts" in error.message("en")


@pytest.mark.parametrize(
    ("text", "max_parts", "ok"), [("a" * 160, 1, True), ("a" * 161, 1, False), ("€" * 80, 1, True)]
)
def test_max_parts(text: str, max_parts: int, ok: bool) -> None:
    if ok:
        validate_text(text, max_parts=max_parts)
    else:
        with pytest.raises(InvalidText, match="2 parts"):
            validate_text(text, max_parts=max_parts)


@pytest.mark.parametrize("max_parts", [0, 256])
def test_max_parts_must_be_numberable(max_parts: int) -> None:
    with pytest.raises(ValueError, match="max_parts"):
        validate_text("hi", max_parts=max_parts)


def test_errors_are_validation_failures() -> None:
    with pytest.raises(ValidationFailed):
        validate_text("")
    assert issubclass(InvalidText, ValidationFailed)


def test_control_characters_beyond_the_common_blocks_are_found() -> None:
    text = "🎉" * 5 + "\U0001d173"  # a musical format character, far from Persian and Latin
    with pytest.raises(InvalidText) as caught:
        validate_text(text)
    assert caught.value.code == "text_control_characters"
    assert caught.value.extra["position"] == 5
