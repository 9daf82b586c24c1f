"""The GSM 03.38 (3GPP TS 23.038) default alphabet, its extension table, and septet packing.

Septets are handled unpacked, one per byte, because that is what SMPP carries for data_coding 0:
the SMSC does the packing into the 140-octet air-interface payload. `pack_septets` exists for the
rare HTTP gateway that wants the packed form.
"""

from __future__ import annotations

ESCAPE = 0x1B

# The default alphabet in septet order. Position 0x1B is the escape to the extension table and not a
# character, so it is left out of every mapping built from this string.
BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Characters reached through the escape; each costs two septets.
EXTENSION_TABLE: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

BASIC_CHARACTERS = frozenset(BASIC_TABLE) - {chr(ESCAPE)}
EXTENSION_CHARACTERS = frozenset(EXTENSION_TABLE)
CHARACTERS = BASIC_CHARACTERS | EXTENSION_CHARACTERS

# str.translate maps a GSM text to one code point per septet in a single C-level pass; encoding the
# result as Latin-1 then yields the septet bytes.
_ENCODE_TABLE: dict[int, str] = {ord(ch): chr(septet) for septet, ch in enumerate(BASIC_TABLE)}
del _ENCODE_TABLE[ESCAPE]
_ENCODE_TABLE.update({ord(ch): chr(ESCAPE) + chr(code) for ch, code in EXTENSION_TABLE.items()})

_DECODE_EXTENSION: dict[int, str] = {code: ch for ch, code in EXTENSION_TABLE.items()}


def encode_septets(text: str) -> bytes:
    """Unpacked septets of a text made only of GSM characters (check with `is_gsm7` first)."""
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def decode_septets(septets: bytes) -> str:
    """Text of unpacked septets, tolerant of what real handsets and SMSCs send.

    An octet above 0x7F cannot be a septet and becomes U+FFFD. An escape before a code the
    extension table does not define shows the basic character for that code, and a double escape
    shows a space, as TS 23.038 asks of receivers; a trailing lone escape is dropped.
    """
    out: list[str] = []
    escaped = False
    for octet in septets:
        if octet > 0x7F:
            out.append("\ufffd")
            escaped = False
        elif escaped:
            escaped = False
            if octet == ESCAPE:
                out.append(" ")
            else:
                out.append(_DECODE_EXTENSION.get(octet, BASIC_TABLE[octet]))
        elif octet == ESCAPE:
            escaped = True
        else:
            out.append(BASIC_TABLE[octet])
    return "".join(out)


def pack_septets(septets: bytes) -> bytes:
    """Pack septets eight into seven octets, least significant bits first (TS 23.038 §6.1.2.1).

    The octet count does not say whether the last seven bits are a septet, so whoever unpacks
    must be told the septet count.
    """
    value = 0
    for index, septet in enumerate(septets):
        if septet > 0x7F:
            raise ValueError(f"octet {septet:#04x} at {index} is not a septet")
        value |= septet << (7 * index)
    return value.to_bytes((7 * len(septets) + 7) // 8, "little")


def unpack_septets(packed: bytes, count: int) -> bytes:
    """Inverse of `pack_septets` for a known number of septets."""
    if not 0 <= count <= len(packed) * 8 // 7:
        raise ValueError(f"{len(packed)} octets cannot hold {count} septets")
    value = int.from_bytes(packed, "little")
    return bytes((value >> (7 * index)) & 0x7F for index in range(count))
