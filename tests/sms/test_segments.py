"""Counting, splitting and encoding at the edges, with expectations worked out by hand."""

from __future__ import annotations

import pytest

from payamak.sms import (
    Concatenation,
    TextInfo,
    analyse,
    decode,
    encode,
    encode_parts,
    is_gsm7,
    split,
    split_udh,
)

SIN = "س"
EMOJI = "😀"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", TextInfo("GSM-7", 0, 0, 160, 160), id="empty"),
        pytest.param("a", TextInfo("GSM-7", 1, 1, 160, 159), id="one"),
        pytest.param("a" * 160, TextInfo("GSM-7", 160, 1, 160, 0), id="gsm-160"),
        pytest.param("a" * 161, TextInfo("GSM-7", 161, 2, 153, 145), id="gsm-161"),
        pytest.param("a" * 306, TextInfo("GSM-7", 306, 2, 153, 0), id="gsm-306"),
        pytest.param("a" * 307, TextInfo("GSM-7", 307, 3, 153, 152), id="gsm-307"),
        pytest.param("€", TextInfo("GSM-7", 2, 1, 160, 158), id="euro"),
        pytest.param("€" * 80, TextInfo("GSM-7", 160, 1, 160, 0), id="euro-fills-one-part"),
        # 76 euros fill 152 septets; the 77th would straddle the boundary.
        pytest.param("€" * 81, TextInfo("GSM-7", 162, 2, 153, 143), id="euro-81"),
        pytest.param("a" * 159 + "€", TextInfo("GSM-7", 161, 2, 153, 145), id="euro-pushes-over-160"),
        pytest.param("a" * 151 + "€" + "a" * 10, TextInfo("GSM-7", 163, 2, 153, 143), id="escape-ends-part"),
        pytest.param("a" * 152 + "€" + "a" * 10, TextInfo("GSM-7", 164, 2, 153, 141), id="escape-moves-on"),
        pytest.param(
            "a" * 153 + "{" + "a" * 10, TextInfo("GSM-7", 165, 2, 153, 141), id="escape-starts-part"
        ),
        pytest.param("a" * 152 + "€", TextInfo("GSM-7", 154, 1, 160, 6), id="no-split-needed"),
        pytest.param("^{}[]~\\|€\f", TextInfo("GSM-7", 20, 1, 160, 140), id="whole-extension-table"),
        pytest.param("Hello\nWorld", TextInfo("GSM-7", 11, 1, 160, 149), id="newline"),
        pytest.param("a\r\nb", TextInfo("GSM-7", 4, 1, 160, 156), id="crlf"),
        pytest.param(SIN * 70, TextInfo("UCS-2", 70, 1, 70, 0), id="ucs2-70"),
        pytest.param(SIN * 71, TextInfo("UCS-2", 71, 2, 67, 63), id="ucs2-71"),
        pytest.param(SIN * 134, TextInfo("UCS-2", 134, 2, 67, 0), id="ucs2-134"),
        pytest.param(SIN * 135, TextInfo("UCS-2", 135, 3, 67, 66), id="ucs2-135"),
        pytest.param(EMOJI, TextInfo("UCS-2", 2, 1, 70, 68), id="emoji"),
        pytest.param(EMOJI * 35, TextInfo("UCS-2", 70, 1, 70, 0), id="emoji-fills-one-part"),
        pytest.param(EMOJI * 36, TextInfo("UCS-2", 72, 2, 67, 61), id="emoji-36"),
        pytest.param(SIN * 65 + EMOJI + SIN * 5, TextInfo("UCS-2", 72, 2, 67, 62), id="emoji-ends-part"),
        pytest.param(SIN * 66 + EMOJI + SIN * 5, TextInfo("UCS-2", 73, 2, 67, 60), id="emoji-moves-on"),
        pytest.param("a" * 159 + SIN, TextInfo("UCS-2", 160, 3, 67, 41), id="one-persian-letter-makes-ucs2"),
        pytest.param("€ " + SIN, TextInfo("UCS-2", 3, 1, 70, 67), id="euro-in-ucs2-is-one-unit"),
        pytest.param("لغو۱۱", TextInfo("UCS-2", 5, 1, 70, 65), id="opt-out-suffix"),
        pytest.param("نیم\u200cفاصله", TextInfo("UCS-2", 9, 1, 70, 61), id="zwnj"),
        pytest.param("\ud800", TextInfo("UCS-2", 1, 1, 70, 69), id="lone-surrogate"),
    ],
)
def test_analyse(text: str, expected: TextInfo) -> None:
    assert analyse(text) == expected
    assert is_gsm7(text) == (expected.encoding == "GSM-7")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("a" * 160, ["a" * 160], id="gsm-160"),
        pytest.param("a" * 161, ["a" * 153, "a" * 8], id="gsm-161"),
        pytest.param("a" * 151 + "€b", ["a" * 151 + "€b"], id="fits-one"),
        pytest.param("a" * 152 + "€" + "a" * 10, ["a" * 152, "€" + "a" * 10], id="escape-moves-on"),
        pytest.param("a" * 151 + "€" + "a" * 10, ["a" * 151 + "€", "a" * 10], id="escape-ends-part"),
        pytest.param("€" * 81, ["€" * 76, "€" * 5], id="euro-81"),
        pytest.param(SIN * 71, [SIN * 67, SIN * 4], id="ucs2-71"),
        pytest.param(SIN * 66 + EMOJI + SIN * 5, [SIN * 66, EMOJI + SIN * 5], id="emoji-moves-on"),
        pytest.param(SIN * 65 + EMOJI + SIN * 5, [SIN * 65 + EMOJI, SIN * 5], id="emoji-ends-part"),
        pytest.param(EMOJI * 36, [EMOJI * 33, EMOJI * 3], id="emoji-36"),
        pytest.param("a" * 159 + SIN, ["a" * 67, "a" * 67, "a" * 25 + SIN], id="mixed"),
    ],
)
def test_split(text: str, parts: list[str]) -> None:
    assert split(text) == parts


@pytest.mark.parametrize(
    ("text", "data_coding", "payload"),
    [
        ("", 0, b""),
        ("@", 0, b"\x00"),
        ("Hi!\n", 0, b"Hi!\n"),
        ("€", 0, b"\x1b\x65"),
        ("{x}", 0, b"\x1b\x28x\x1b\x29"),
        ("£5 Ç", 0, b"\x015 \x09"),
        ("سلام", 8, "سلام".encode("utf-16-be")),
        (EMOJI, 8, b"\xd8\x3d\xde\x00"),
        ("€ " + SIN, 8, b"\x20\xac\x00\x20\x06\x33"),
    ],
)
def test_encode(text: str, data_coding: int, payload: bytes) -> None:
    assert encode(text) == (data_coding, payload)
    assert decode(data_coding, payload) == text


def test_encode_refuses_a_lone_surrogate() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode("a\ud800")


def test_one_part_has_no_header() -> None:
    assert encode_parts("سلام", reference=9) == (8, ["سلام".encode("utf-16-be")])
    assert encode_parts("a" * 160, reference=9) == (0, [b"a" * 160])


def test_empty_text_has_no_parts() -> None:
    assert encode_parts("", reference=0) == (0, [])


def test_gsm_parts_carry_a_header_and_unpacked_septets() -> None:
    data_coding, parts = encode_parts("a" * 152 + "€" + "b" * 10, reference=0xAB)
    assert data_coding == 0
    assert parts == [
        bytes.fromhex("050003ab0201") + b"a" * 152,
        bytes.fromhex("050003ab0202") + b"\x1b\x65" + b"b" * 10,
    ]


def test_ucs2_parts_carry_a_header_and_utf16() -> None:
    data_coding, parts = encode_parts(SIN * 66 + EMOJI + "abcd", reference=0)
    assert data_coding == 8
    assert parts == [
        bytes.fromhex("050003000201") + (SIN * 66).encode("utf-16-be"),
        bytes.fromhex("050003000202") + (EMOJI + "abcd").encode("utf-16-be"),
    ]


def test_a_part_of_a_ucs2_message_stays_ucs2_even_if_it_is_plain_latin() -> None:
    _, parts = encode_parts("a" * 100 + SIN, reference=1)
    assert parts[0] == bytes.fromhex("050003010201") + ("a" * 67).encode("utf-16-be")


@pytest.mark.parametrize("reference", [-1, 256])
def test_reference_must_fit_one_octet(reference: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        encode_parts("a" * 200, reference=reference)


def test_more_than_255_parts_cannot_be_numbered() -> None:
    assert len(encode_parts("a" * 153 * 255, reference=0)[1]) == 255
    with pytest.raises(ValueError, match="256 parts"):
        encode_parts("a" * (153 * 255 + 1), reference=0)


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (8, b"\x06\x33\x06", "س\ufffd"),  # a truncated unit
        (8, b"\xd8\x3d", "\ufffd"),  # half of a surrogate pair
        (1, b"abc\xff", "abc\ufffd"),
        (3, b"caf\xe9", "café"),
    ],
)
def test_decode_other_codings_and_damage(data_coding: int, payload: bytes, text: str) -> None:
    assert decode(data_coding, payload) == text


def test_decode_refuses_unknown_codings() -> None:
    with pytest.raises(ValueError, match="data_coding"):
        decode(4, b"\x00")


@pytest.mark.parametrize(
    ("payload", "concatenation", "body"),
    [
        (bytes.fromhex("050003ab0201") + b"hi", Concatenation(0xAB, 2, 1), b"hi"),
        (bytes.fromhex("06080412340302") + b"hi", Concatenation(0x1234, 3, 2), b"hi"),
        # an application port element ahead of the concatenation element
        (bytes.fromhex("0b0504158a0000" + "0003070302") + b"x", Concatenation(7, 3, 2), b"x"),
        (bytes.fromhex("0404021234") + b"x", None, b"x"),
        (bytes.fromhex("00") + b"x", None, b"x"),
    ],
)
def test_split_udh(payload: bytes, concatenation: Concatenation | None, body: bytes) -> None:
    assert split_udh(payload) == (concatenation, body)


@pytest.mark.parametrize(
    "payload",
    [b"", bytes.fromhex("0600030102"), bytes.fromhex("01ff"), bytes.fromhex("0300050102")],
)
def test_split_udh_refuses_damaged_headers(payload: bytes) -> None:
    with pytest.raises(ValueError, match=r"header|element"):
        split_udh(payload)
