"""Receipt parsing (TLVs and every text form seen in the wild) and reassembly of long messages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payamak import sms
from payamak.providers.smpp import pdu
from payamak.providers.smpp.concat import Reassembler
from payamak.providers.smpp.receipts import parse_error_code, parse_receipt, parse_receipt_text

TEHRAN = ZoneInfo("Asia/Tehran")


def receipt_pdu(text: str = "", tlvs: dict[int, bytes] | None = None) -> pdu.ShortMessage:
    return pdu.ShortMessage(
        destination_addr="3000123",
        source_addr="989121234567",
        esm_class=pdu.ESM_CLASS_RECEIPT,
        short_message=text.encode("latin-1"),
        tlvs=tlvs or {},
    )


def test_standard_text_form() -> None:
    text = "id:0123abc sub:001 dlvrd:001 submit date:2503011200 done date:2503011201 stat:DELIVRD err:000 text:Salam"
    receipt = parse_receipt(receipt_pdu(text), zone=UTC)
    assert receipt is not None
    assert receipt.provider_id == "0123abc"
    assert receipt.status == "delivered"
    assert receipt.final
    assert receipt.error == 0
    assert receipt.done_at == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)
    assert receipt.raw == text
    assert receipt.destination == "989121234567"


def test_dates_with_seconds_and_hex_error_in_the_smsc_zone() -> None:
    text = (
        "id:77 sub:001 dlvrd:000 submit date:250301120005 done date:250301120159 stat:UNDELIV err:0x1f text:"
    )
    receipt = parse_receipt(receipt_pdu(text), zone=TEHRAN)
    assert receipt is not None
    assert receipt.status == "undelivered"
    assert receipt.error == 0x1F
    assert receipt.done_at == datetime(2025, 3, 1, 12, 1, 59, tzinfo=TEHRAN)


def test_fields_out_of_order_lower_case_and_text_with_colons() -> None:
    text = "stat:expired err:2 id:abc-9 done date:2503011201 text:id:fake stat:DELIVRD"
    receipt = parse_receipt(receipt_pdu(text), zone=UTC)
    assert receipt is not None
    assert (receipt.provider_id, receipt.status, receipt.error) == ("abc-9", "expired", 2)
    assert parse_receipt_text(text)["text"] == "id:fake stat:DELIVRD"


def test_tlvs_win_over_text() -> None:
    text = "id:from-text sub:001 dlvrd:001 submit date:2503011200 done date:2503011201 stat:DELIVRD err:000 text:"
    tlvs = {pdu.TLV_RECEIPTED_MESSAGE_ID: b"from-tlv\0", pdu.TLV_MESSAGE_STATE: bytes((pdu.STATE_EXPIRED,))}
    receipt = parse_receipt(receipt_pdu(text, tlvs), zone=UTC)
    assert receipt is not None
    assert (receipt.provider_id, receipt.status) == ("from-tlv", "expired")
    assert receipt.done_at == datetime(2025, 3, 1, 12, 1, tzinfo=UTC)  # the text fills in the rest


def test_tlv_only_receipt_with_network_error_code() -> None:
    tlvs = {
        pdu.TLV_RECEIPTED_MESSAGE_ID: b"xyz",  # no NUL: some SMSCs leave it out
        pdu.TLV_MESSAGE_STATE: bytes((pdu.STATE_REJECTED,)),
        pdu.TLV_NETWORK_ERROR_CODE: b"\x03\x00\x0e",
    }
    receipt = parse_receipt(receipt_pdu("", tlvs), zone=UTC)
    assert receipt is not None
    assert (receipt.provider_id, receipt.status, receipt.error, receipt.done_at) == (
        "xyz",
        "blocked",
        14,
        None,
    )


@pytest.mark.parametrize(
    ("stat", "error", "status"),
    [
        ("DELIVRD", "000", "delivered"),
        ("UNDELIV", "001", "undelivered"),
        ("EXPIRED", "002", "expired"),
        ("REJECTD", "003", "rejected"),
        ("REJECTD", "014", "blocked"),
        ("REJECTD", "0x0e", "blocked"),
        ("UNDELIV", "014", "undelivered"),  # only a rejection is read as the blacklist
        ("DELETED", "000", "canceled"),
        ("ACCEPTD", "000", "accepted"),
        ("ENROUTE", "000", "enroute"),
        ("UNKNOWN", "000", "unknown"),
        ("WHATEVER", "000", "unknown"),
    ],
)
def test_status_mapping(stat: str, error: str, status: str) -> None:
    receipt = parse_receipt(receipt_pdu(f"id:1 stat:{stat} err:{error}"), zone=UTC)
    assert receipt is not None
    assert receipt.status == status
    assert receipt.final == (
        status in {"delivered", "undelivered", "expired", "rejected", "blocked", "canceled"}
    )


def test_blacklist_codes_are_configurable() -> None:
    message = receipt_pdu("id:1 stat:REJECTD err:099")
    assert parse_receipt(message, zone=UTC).status == "rejected"  # type: ignore[union-attr]
    receipt = parse_receipt(message, zone=UTC, blacklist_errors=frozenset({99}))
    assert receipt is not None and receipt.status == "blocked"


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "id: stat:DELIVRD", "stat:DELIVRD err:000", "id:42 sub:001", "\x00\xff\xfe"],
)
def test_unreadable_receipts_give_none(text: str) -> None:
    assert parse_receipt(receipt_pdu(text), zone=UTC) is None


def test_bad_dates_and_errors_are_tolerated() -> None:
    receipt = parse_receipt(receipt_pdu("id:5 done date:2513991299 stat:DELIVRD err:zz"), zone=UTC)
    assert receipt is not None
    assert (receipt.status, receipt.done_at, receipt.error) == ("delivered", None, None)
    assert parse_error_code("1F") == 31
    assert parse_error_code("") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.binary(max_size=8))
def test_parse_receipt_never_raises(text: str, state: bytes) -> None:
    raw = text.encode("utf-8")[:254]
    message = pdu.ShortMessage(
        destination_addr="1", esm_class=4, short_message=raw, tlvs={pdu.TLV_MESSAGE_STATE: state}
    )
    parse_receipt(message, zone=UTC)


# --- reassembly ------------------------------------------------------------------------------------


def parts_of(text: str, reference: int = 9) -> tuple[int, list[pdu.ShortMessage]]:
    data_coding, parts = sms.encode_parts(text, reference=reference)
    return data_coding, [
        pdu.ShortMessage(
            destination_addr="3000123",
            source_addr="989121234567",
            esm_class=sms.ESM_CLASS_UDHI,
            data_coding=data_coding,
            short_message=part,
        )
        for part in parts
    ]


def test_udh_parts_in_any_order() -> None:
    text = "این یک پیام بلند فارسی است که باید در چند بخش فرستاده شود. " * 4
    _, parts = parts_of(text)
    assert len(parts) > 2
    reassembler = Reassembler()
    results = [reassembler.feed(part, tag=str(index)) for index, part in reversed(list(enumerate(parts)))]
    assert results[:-1] == [None] * (len(parts) - 1)
    assembled = results[-1]
    assert assembled is not None
    assert (assembled.text, assembled.mode, assembled.parts) == (text, "udh", len(parts))
    assert assembled.tags == tuple(str(index) for index in range(len(parts)))
    assert len(reassembler) == 0


def test_sar_and_payload_and_single() -> None:
    reassembler = Reassembler()
    halves = [b"Hello, ", b"world"]
    assembled = None
    for sequence, half in enumerate(halves, start=1):
        assembled = reassembler.feed(
            pdu.ShortMessage(
                destination_addr="3000123",
                source_addr="989121234567",
                short_message=half,
                tlvs={
                    pdu.TLV_SAR_MSG_REF_NUM: b"\x01\x02",
                    pdu.TLV_SAR_TOTAL_SEGMENTS: b"\x02",
                    pdu.TLV_SAR_SEGMENT_SEQNUM: bytes((sequence,)),
                },
            )
        )
    assert assembled is not None and (assembled.text, assembled.mode) == ("Hello, world", "sar")

    text = "پیام کامل در message_payload " * 10
    payload = pdu.ShortMessage(
        destination_addr="1", data_coding=8, tlvs={pdu.TLV_MESSAGE_PAYLOAD: text.encode("utf-16-be")}
    )
    assembled = reassembler.feed(payload)
    assert assembled is not None and (assembled.text, assembled.mode) == (text, "payload")

    single = reassembler.feed(pdu.ShortMessage(destination_addr="1", short_message=b"11"))
    assert single is not None and (single.text, single.mode) == ("11", "single")


def test_incomplete_messages_expire() -> None:
    _, parts = parts_of("x" * 400)
    reassembler = Reassembler(max_age=0.0)
    assert reassembler.feed(parts[0]) is None
    assert reassembler.feed(parts[1]) is None  # the first part's entry expired on the way in
    assert len(reassembler) == 1


def test_broken_udh_raises_pdu_error() -> None:
    with pytest.raises(pdu.PduError):
        Reassembler().feed(
            pdu.ShortMessage(
                destination_addr="1", esm_class=sms.ESM_CLASS_UDHI, short_message=b"\x09\x00\x03"
            )
        )
