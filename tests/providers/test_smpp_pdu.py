"""The PDU codec: framing, bodies, TLVs, and that malformed bytes only ever raise PduError."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payamak.providers.smpp import pdu


def test_frame_header_round_trip() -> None:
    frame = pdu.encode_frame(pdu.SUBMIT_SM_RESP, pdu.ESME_RTHROTTLED, 0x7FFFFFFF, b"abc\0")
    assert struct.unpack(">IIII", frame[:16]) == (20, pdu.SUBMIT_SM_RESP, 0x58, 0x7FFFFFFF)
    assert pdu.FrameDecoder().feed(frame) == [(pdu.SUBMIT_SM_RESP, 0x58, 0x7FFFFFFF, b"abc\0")]


def test_decoder_keeps_partial_frames_across_feeds() -> None:
    frames = [pdu.encode_frame(pdu.ENQUIRE_LINK, 0, n, b"x" * n) for n in range(1, 6)]
    stream = b"".join(frames)
    decoder = pdu.FrameDecoder()
    got = []
    for index in range(len(stream)):  # one byte at a time: the worst a socket can do
        got += decoder.feed(stream[index : index + 1])
    assert [frame[2] for frame in got] == [1, 2, 3, 4, 5]
    assert [frame[3] for frame in got] == [b"x" * n for n in range(1, 6)]
    assert decoder.buffered == 0


@pytest.mark.parametrize("length", [0, 15, pdu.MAX_COMMAND_LENGTH + 1, 0xFFFFFFFF])
def test_decoder_rejects_absurd_command_length(length: int) -> None:
    decoder = pdu.FrameDecoder()
    with pytest.raises(pdu.PduError):
        decoder.feed(struct.pack(">IIII", length, pdu.SUBMIT_SM, 0, 1))


def test_decoder_rejects_garbage_text() -> None:
    with pytest.raises(pdu.PduError):
        pdu.FrameDecoder().feed(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")


def test_status_names() -> None:
    assert pdu.status_name(pdu.ESME_RTHROTTLED) == "ESME_RTHROTTLED"
    assert pdu.status_name(0x14) == "ESME_RMSGQFUL"
    assert pdu.status_name(pdu.ESME_RINVPASWD) == "ESME_RINVPASWD"
    assert pdu.status_name(0x401) == "vendor:0x0401"
    assert pdu.status_name(0x3FF) == "status:0x000003ff"


def test_bind_round_trip() -> None:
    bind = pdu.Bind("payamak", "secret", "SMPP", addr_ton=1, addr_npi=1, address_range="98.*")
    body = bind.encode()
    assert body == b"payamak\0secret\0SMPP\0\x34\x01\x0198.*\0"
    assert pdu.Bind.decode(body) == bind


def test_short_message_round_trip_with_tlvs() -> None:
    message = pdu.ShortMessage(
        destination_addr="989121234567",
        short_message="سلام".encode("utf-16-be"),
        source_addr="3000123",
        source_addr_ton=0,
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        esm_class=0x40,
        registered_delivery=1,
        data_coding=8,
        tlvs={pdu.TLV_SAR_MSG_REF_NUM: b"\x00\x07", pdu.TLV_MESSAGE_STATE: b"\x02"},
    )
    assert pdu.ShortMessage.decode(message.encode()) == message


def test_submit_body_matches_the_general_encoder() -> None:
    text = b"Hello"
    general = pdu.ShortMessage(
        destination_addr="989121234567",
        short_message=text,
        source_addr="3000123",
        source_addr_npi=1,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
        tlvs={pdu.TLV_MESSAGE_PAYLOAD: b"xyz"},
    ).encode()
    prefix = pdu.submit_prefix("3000123", source_npi=1)
    fast = pdu.submit_body(prefix, b"989121234567\0", 0, 1, 0, text, pdu.tlv(pdu.TLV_MESSAGE_PAYLOAD, b"xyz"))
    assert fast == general


def test_short_message_limits() -> None:
    with pytest.raises(pdu.PduError):
        pdu.ShortMessage(destination_addr="1", short_message=b"x" * 255).encode()
    with pytest.raises(pdu.PduError):
        pdu.ShortMessage(destination_addr="9" * 21).encode()
    with pytest.raises(pdu.PduError):
        pdu.cstring("پیامک", "source_addr")
    with pytest.raises(pdu.PduError):
        pdu.cstring("a\0b")


def test_message_id_from_short_or_sloppy_bodies() -> None:
    assert pdu.decode_message_id(b"") == ""  # error responses may carry no body
    assert pdu.decode_message_id(b"abc\0") == "abc"
    assert pdu.decode_message_id(b"abc") == "abc"  # no NUL
    assert pdu.message_id_body("6b07") == b"6b07\0"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\0",
        b"\0\x01\x01",  # stops inside source_addr
        b"\0\x01\x01123\0\x01\x01456\0\x00\x00\x00\0\0\x01\x00\x08\x00\x10abc",  # sm_length runs past
        b"\0\x01\x01123\0\x01\x01456\0\x00\x00\x00\0\0\x01\x00\x08\x00\x00\x04\x24\x00",  # cut TLV
    ],
)
def test_truncated_short_message_bodies(body: bytes) -> None:
    with pytest.raises(pdu.PduError):
        pdu.ShortMessage.decode(body)


def test_tlv_helpers() -> None:
    assert pdu.decode_tlvs(pdu.tlv(0x001E, b"abc\0") + pdu.tlv(0x0427, b"\x05"), 0) == {
        0x001E: b"abc\0",
        0x0427: b"\x05",
    }
    assert pdu.tlv_cstring(b"abc\0") == "abc"
    assert pdu.tlv_cstring(b"abc") == "abc"
    assert pdu.tlv_int(b"\x01\x02") == 258
    assert pdu.tlv_int(b"") == 0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_body_decodes_or_raises_pdu_error(body: bytes) -> None:
    for decoder in (pdu.ShortMessage.decode, pdu.Bind.decode):
        with contextlib.suppress(pdu.PduError):
            decoder(body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_any_stream_frames_or_raises_pdu_error(chunks: list[bytes]) -> None:
    decoder = pdu.FrameDecoder(max_length=1000)
    try:
        for chunk in chunks:
            for command_id, status, sequence, body in decoder.feed(chunk):
                assert len(body) <= 1000 - 16
                assert 0 <= command_id <= 0xFFFFFFFF and 0 <= status <= 0xFFFFFFFF and sequence >= 0
    except pdu.PduError:
        pass
