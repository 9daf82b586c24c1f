"""Encoding choice, network character counts, and the parts a message is sent in.

A "unit" below is what the network counts: a GSM-7 septet, or a UTF-16 code unit for UCS-2.
Concatenated parts give up six octets to the user data header, which is why a part holds 153
septets or 67 UTF-16 units instead of 160 or 70. A character that takes two units (a GSM escape
pair, a UTF-16 surrogate pair) is never cut in two, so such a part may hold one unit fewer.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Literal

from payamak.sms import gsm

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

# SMPP 3.4 data_coding values.
DATA_CODING_GSM7 = 0
DATA_CODING_IA5 = 1
DATA_CODING_LATIN1 = 3
DATA_CODING_UCS2 = 8

# SMPP esm_class bit telling the SMSC that short_message starts with a user data header.
ESM_CLASS_UDHI = 0x40

_IEI_CONCAT_8BIT = 0x00
_IEI_CONCAT_16BIT = 0x08

# A regex scan runs in C, which is what keeps `analyse` within a few microseconds: the search for a
# non-GSM character stops at the first Persian letter, and the scans for two-unit characters find
# nothing in the common case.
_NON_GSM = re.compile("[^" + "".join(re.escape(ch) for ch in sorted(gsm.CHARACTERS)) + "]")
_GSM_WIDE = re.compile("[" + "".join(re.escape(ch) for ch in sorted(gsm.EXTENSION_CHARACTERS)) + "]")
_UCS2_WIDE = re.compile("[\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class TextInfo:
    """How the network sees a text. `remaining` counts units left in the last part; one two-unit
    character may not fit even when it is 1, and a single non-GSM character changes everything."""

    encoding: Encoding
    characters: int
    segments: int
    per_segment: int
    remaining: int


@dataclass(frozen=True, slots=True)
class Concatenation:
    """The concatenation element of a user data header; `sequence` counts from 1."""

    reference: int
    total: int
    sequence: int


def is_gsm7(text: str) -> bool:
    """Whether every character is in the GSM 03.38 basic or extension table."""
    return _NON_GSM.search(text) is None


def _scan(text: str) -> tuple[Encoding, int, int, list[int]]:
    """Encoding, single-part capacity, per-part capacity, and the unit offsets at which two-unit
    characters start (sorted)."""
    if _NON_GSM.search(text) is None:
        encoding: Encoding = "GSM-7"
        single, per_part, wide_pattern = GSM7_SINGLE, GSM7_PART, _GSM_WIDE
    else:
        encoding = "UCS-2"
        single, per_part, wide_pattern = UCS2_SINGLE, UCS2_PART, _UCS2_WIDE
    if wide_pattern.search(text) is None:
        return encoding, single, per_part, []
    # Each earlier two-unit character pushes a later one a further unit along.
    wide = [match.start() + earlier for earlier, match in enumerate(wide_pattern.finditer(text))]
    return encoding, single, per_part, wide


def _part_starts(units: int, single: int, per_part: int, wide: list[int]) -> list[int]:
    """Unit offset at which each part starts, filling every part as far as it goes."""
    if units <= single:
        return [0]
    starts = [0]
    start = 0
    while units - start > per_part:
        end = start + per_part
        index = bisect_left(wide, end - 1)
        # A two-unit character whose first unit would be the part's last moves whole to the next.
        if index < len(wide) and wide[index] == end - 1:
            end -= 1
        starts.append(end)
        start = end
    return starts


def analyse(text: str) -> TextInfo:
    """Encoding, network character count and parts of `text`, in a few microseconds."""
    encoding, single, per_part, wide = _scan(text)
    units = len(text) + len(wide)
    if units <= single:
        return TextInfo(encoding, units, 1 if units else 0, single, single - units)
    if wide:
        starts = _part_starts(units, single, per_part, wide)
        segments, last_start = len(starts), starts[-1]
    else:
        segments = -(-units // per_part)
        last_start = (segments - 1) * per_part
    return TextInfo(encoding, units, segments, per_part, per_part - (units - last_start))


def _unit_starts(text: str) -> tuple[Encoding, list[int], list[int]]:
    """Encoding, unit offset of each part, and the matching index into `text` of each part."""
    encoding, single, per_part, wide = _scan(text)
    units = len(text) + len(wide)
    if units == 0:
        return encoding, [], []
    starts = _part_starts(units, single, per_part, wide)
    # A part boundary never falls inside a two-unit character, so the wide characters before it
    # are exactly those starting before it.
    return encoding, starts, [unit - bisect_left(wide, unit) for unit in starts]


def split(text: str) -> list[str]:
    """Texts of the parts, in order. Encode them with the whole message's encoding: a part of a
    UCS-2 message may on its own look like GSM-7."""
    _, _, indexes = _unit_starts(text)
    ends = [*indexes[1:], len(text)] if indexes else []
    return [text[start:end] for start, end in zip(indexes, ends, strict=True)]


def _encode(encoding: Encoding, text: str) -> tuple[int, bytes]:
    if encoding == "GSM-7":
        return DATA_CODING_GSM7, gsm.encode_septets(text)
    # Strict on purpose: a lone surrogate has no place in an SMS and validate_text rejects it.
    return DATA_CODING_UCS2, text.encode("utf-16-be")


def encode(text: str) -> tuple[int, bytes]:
    """data_coding and the whole message's bytes with no header, as message_payload carries it.

    GSM-7 comes out unpacked, one septet per byte. Raises UnicodeEncodeError (a ValueError) for a
    lone surrogate."""
    return _encode("GSM-7" if is_gsm7(text) else "UCS-2", text)


def encode_parts(text: str, *, reference: int) -> tuple[int, list[bytes]]:
    """data_coding and one short_message per part.

    With more than one part each starts with an 8-bit-reference concatenation header
    (05 00 03 reference total sequence) and must be submitted with esm_class ESM_CLASS_UDHI. One
    part has no header; empty text has no parts.
    """
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"reference {reference} does not fit in one octet")
    encoding, starts, _ = _unit_starts(text)
    data_coding, payload = _encode(encoding, text)
    total = len(starts)
    if total <= 1:
        return data_coding, [payload] if payload else []
    if total > 0xFF:
        raise ValueError(f"{total} parts do not fit an 8-bit concatenation header")
    # GSM-7 unpacked has one octet per unit, UCS-2 two, so unit offsets slice the encoded message.
    width = 1 if encoding == "GSM-7" else 2
    bounds = [unit * width for unit in starts] + [len(payload)]
    parts = []
    for sequence in range(1, total + 1):
        header = bytes((5, _IEI_CONCAT_8BIT, 3, reference, total, sequence))
        parts.append(header + payload[bounds[sequence - 1] : bounds[sequence]])
    return data_coding, parts


def decode(data_coding: int, payload: bytes) -> str:
    """Text of a payload without its user data header (see `split_udh`).

    Reassemble a concatenated message's payloads before decoding: other senders do cut surrogate
    pairs and escape pairs across parts. Undecodable octets become U+FFFD rather than losing an
    inbound message. data_coding 0 is taken as unpacked GSM-7.
    """
    if data_coding == DATA_CODING_GSM7:
        return gsm.decode_septets(payload)
    if data_coding == DATA_CODING_UCS2:
        return payload.decode("utf-16-be", "replace")
    if data_coding == DATA_CODING_IA5:
        return payload.decode("ascii", "replace")
    if data_coding == DATA_CODING_LATIN1:
        return payload.decode("latin-1")
    raise ValueError(f"unsupported data_coding {data_coding:#04x}")


def split_udh(payload: bytes) -> tuple[Concatenation | None, bytes]:
    """Split a short_message sent with ESM_CLASS_UDHI into its concatenation element, if any, and
    the rest. Both 8-bit and 16-bit references are understood; other elements are skipped."""
    if not payload:
        raise ValueError("empty payload has no user data header")
    header_end = 1 + payload[0]
    if header_end > len(payload):
        raise ValueError("user data header is longer than the payload")
    concatenation: Concatenation | None = None
    position = 1
    while position < header_end:
        if position + 2 > header_end:
            raise ValueError("truncated information element in user data header")
        identifier, length = payload[position], payload[position + 1]
        data = payload[position + 2 : position + 2 + length]
        if position + 2 + length > header_end:
            raise ValueError("information element runs past the user data header")
        if identifier == _IEI_CONCAT_8BIT and length == 3:
            concatenation = Concatenation(data[0], data[1], data[2])
        elif identifier == _IEI_CONCAT_16BIT and length == 4:
            concatenation = Concatenation(int.from_bytes(data[:2], "big"), data[2], data[3])
        position += 2 + length
    return concatenation, payload[header_end:]
