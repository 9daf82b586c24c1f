"""GSM-7 decoding of what real senders send, and septet packing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payamak.sms import decode, encode
from payamak.sms.gsm import pack_septets, unpack_septets


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"\x1b\x41", "A"),  # an escape the extension table does not define shows the basic character
        (b"a\x1b\x1bb", "a b"),  # a double escape shows a space
        (b"ab\x1b", "ab"),  # a trailing escape is dropped
        (b"a\x80b", "a\ufffdb"),  # not a septet
        (b"", ""),
    ],
)
def test_decoding_tolerates_what_senders_send(payload: bytes, text: str) -> None:
    assert decode(0, payload) == text


def test_packing_matches_the_textbook_example() -> None:
    septets = encode("hellohello")[1]
    assert pack_septets(septets) == bytes.fromhex("e8329bfd4697d9ec37")
    assert unpack_septets(bytes.fromhex("e8329bfd4697d9ec37"), 10) == septets


@given(st.binary(max_size=200).map(lambda data: bytes(octet & 0x7F for octet in data)))
def test_packing_round_trips(septets: bytes) -> None:
    packed = pack_septets(septets)
    assert len(packed) == (7 * len(septets) + 7) // 8
    assert unpack_septets(packed, len(septets)) == septets


def test_packing_refuses_octets_that_are_not_septets() -> None:
    with pytest.raises(ValueError, match="not a septet"):
        pack_septets(b"a\x80")


def test_unpacking_refuses_more_septets_than_fit() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        unpack_septets(b"\x00" * 7, 9)
