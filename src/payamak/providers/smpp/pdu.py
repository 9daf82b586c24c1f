"""SMPP 3.4 PDUs: framing, headers, the bodies Payamak sends and receives, status codes, TLVs.

Written here rather than taken from a library because none of the Python SMPP libraries measured
holds up under bulk traffic: aiosmpplib rescans every stored message id on each send and reply (a
quadratic correlator), has no cap on unanswered requests and drops its session on a receipt date
with seconds or a hex error code; smpplib is a blocking socket library with no window; smpp34
crashes at exit and does not enforce its window. The protocol itself is small: a 16-octet header,
NUL-terminated ASCII fields and tag-length-value parameters, which `struct` and `bytes.index`
decode in a few microseconds.

Everything here is pure (no I/O): `FrameDecoder` turns received bytes into frames, the `encode_*`
functions and the `Bind`/`ShortMessage` codecs build and read bodies. Malformed input raises
`PduError`, never anything else, so a session can answer it and close cleanly.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

# --- command ids -------------------------------------------------------------------------------

GENERIC_NACK: Final = 0x80000000
BIND_RECEIVER: Final = 0x00000001
BIND_RECEIVER_RESP: Final = 0x80000001
BIND_TRANSMITTER: Final = 0x00000002
BIND_TRANSMITTER_RESP: Final = 0x80000002
QUERY_SM: Final = 0x00000003
SUBMIT_SM: Final = 0x00000004
SUBMIT_SM_RESP: Final = 0x80000004
DELIVER_SM: Final = 0x00000005
DELIVER_SM_RESP: Final = 0x80000005
UNBIND: Final = 0x00000006
UNBIND_RESP: Final = 0x80000006
BIND_TRANSCEIVER: Final = 0x00000009
BIND_TRANSCEIVER_RESP: Final = 0x80000009
OUTBIND: Final = 0x0000000B
ENQUIRE_LINK: Final = 0x00000015
ENQUIRE_LINK_RESP: Final = 0x80000015
DATA_SM: Final = 0x00000103

RESPONSE_BIT: Final = 0x80000000
BIND_COMMANDS: Final = frozenset({BIND_RECEIVER, BIND_TRANSMITTER, BIND_TRANSCEIVER})

COMMAND_NAMES: Final[Mapping[int, str]] = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_RECEIVER_RESP: "bind_receiver_resp",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSMITTER_RESP: "bind_transmitter_resp",
    QUERY_SM: "query_sm",
    SUBMIT_SM: "submit_sm",
    SUBMIT_SM_RESP: "submit_sm_resp",
    DELIVER_SM: "deliver_sm",
    DELIVER_SM_RESP: "deliver_sm_resp",
    UNBIND: "unbind",
    UNBIND_RESP: "unbind_resp",
    BIND_TRANSCEIVER: "bind_transceiver",
    BIND_TRANSCEIVER_RESP: "bind_transceiver_resp",
    OUTBIND: "outbind",
    ENQUIRE_LINK: "enquire_link",
    ENQUIRE_LINK_RESP: "enquire_link_resp",
    DATA_SM: "data_sm",
}

# --- command_status values (SMPP 3.4, section 5.1.3) ----------------------------------------------

ESME_ROK: Final = 0x00
ESME_RINVMSGLEN: Final = 0x01
ESME_RINVCMDLEN: Final = 0x02
ESME_RINVCMDID: Final = 0x03
ESME_RINVBNDSTS: Final = 0x04
ESME_RALYBND: Final = 0x05
ESME_RINVPRTFLG: Final = 0x06
ESME_RINVREGDLVFLG: Final = 0x07
ESME_RSYSERR: Final = 0x08
ESME_RINVSRCADR: Final = 0x0A
ESME_RINVDSTADR: Final = 0x0B
ESME_RINVMSGID: Final = 0x0C
ESME_RBINDFAIL: Final = 0x0D
ESME_RINVPASWD: Final = 0x0E
ESME_RINVSYSID: Final = 0x0F
ESME_RCANCELFAIL: Final = 0x11
ESME_RREPLACEFAIL: Final = 0x13
ESME_RMSGQFUL: Final = 0x14
ESME_RINVSERTYP: Final = 0x15
ESME_RINVNUMDESTS: Final = 0x33
ESME_RINVDLNAME: Final = 0x34
ESME_RINVDESTFLAG: Final = 0x40
ESME_RINVSUBREP: Final = 0x42
ESME_RINVESMCLASS: Final = 0x43
ESME_RCNTSUBDL: Final = 0x44
ESME_RSUBMITFAIL: Final = 0x45
ESME_RINVSRCTON: Final = 0x48
ESME_RINVSRCNPI: Final = 0x49
ESME_RINVDSTTON: Final = 0x50
ESME_RINVDSTNPI: Final = 0x51
ESME_RINVSYSTYP: Final = 0x53
ESME_RINVREPFLAG: Final = 0x54
ESME_RINVNUMMSGS: Final = 0x55
ESME_RTHROTTLED: Final = 0x58
ESME_RINVSCHED: Final = 0x61
ESME_RINVEXPIRY: Final = 0x62
ESME_RINVDFTMSGID: Final = 0x63
ESME_RX_T_APPN: Final = 0x64
ESME_RX_P_APPN: Final = 0x65
ESME_RX_R_APPN: Final = 0x66
ESME_RQUERYFAIL: Final = 0x67
ESME_RINVOPTPARSTREAM: Final = 0xC0
ESME_ROPTPARNOTALLWD: Final = 0xC1
ESME_RINVPARLEN: Final = 0xC2
ESME_RMISSINGOPTPARAM: Final = 0xC3
ESME_RINVOPTPARAMVAL: Final = 0xC4
ESME_RDELIVERYFAILURE: Final = 0xFE
ESME_RUNKNOWNERR: Final = 0xFF

STATUS_NAMES: Final[Mapping[int, str]] = {
    value: name for name, value in globals().items() if name.startswith("ESME_R") and isinstance(value, int)
}


def status_name(status: int) -> str:
    """ESME_R… name of a command_status; SMSC-specific codes (0x400–0x4FF) and unknown ones as hex."""
    name = STATUS_NAMES.get(status)
    if name is not None:
        return name
    if 0x400 <= status <= 0x4FF:
        return f"vendor:{status:#06x}"
    return f"status:{status:#010x}"


# --- optional parameters (TLVs) -------------------------------------------------------------------

TLV_RECEIPTED_MESSAGE_ID: Final = 0x001E
TLV_SAR_MSG_REF_NUM: Final = 0x020C
TLV_SAR_TOTAL_SEGMENTS: Final = 0x020E
TLV_SAR_SEGMENT_SEQNUM: Final = 0x020F
TLV_SC_INTERFACE_VERSION: Final = 0x0210
TLV_NETWORK_ERROR_CODE: Final = 0x0423
TLV_MESSAGE_PAYLOAD: Final = 0x0424
TLV_MESSAGE_STATE: Final = 0x0427

# message_state values (section 5.2.28).
STATE_ENROUTE: Final = 1
STATE_DELIVERED: Final = 2
STATE_EXPIRED: Final = 3
STATE_DELETED: Final = 4
STATE_UNDELIVERABLE: Final = 5
STATE_ACCEPTED: Final = 6
STATE_UNKNOWN: Final = 7
STATE_REJECTED: Final = 8

# esm_class message-type bits on deliver_sm: an SMSC delivery receipt, or an intermediate
# notification (both carry a receipt of a message we sent rather than a message from a phone).
ESM_CLASS_RECEIPT: Final = 0x04
ESM_CLASS_INTERMEDIATE: Final = 0x20
ESM_CLASS_UDHI: Final = 0x40

INTERFACE_VERSION: Final = 0x34

# --- framing -------------------------------------------------------------------------------------

HEADER = struct.Struct(">IIII")
HEADER_LENGTH: Final = 16
# A message_payload TLV holds at most 65,535 octets; everything else in a PDU is a few hundred more.
# Anything longer is not SMPP, and waiting for that many bytes would hang a session on garbage.
MAX_COMMAND_LENGTH: Final = 70_000

# command_id, command_status, sequence_number, body
Frame = tuple[int, int, int, bytes]

_TLV_HEAD = struct.Struct(">HH")
_U32 = struct.Struct(">I")


class PduError(ValueError):
    """Bytes that are not a well-formed SMPP 3.4 PDU (or a body that does not fit its command)."""

    def __init__(self, message: str, status: int = ESME_RINVCMDLEN) -> None:
        super().__init__(message)
        # The command_status to answer with, where an answer is possible.
        self.status = status


class FrameDecoder:
    """Cuts a byte stream into frames. Feed it whatever the socket returned; it keeps the tail.

    A command_length below 16 or above `max_length` raises PduError: the stream cannot be
    resynchronised after that, so the caller answers generic_nack and closes the session.
    """

    __slots__ = ("_buffer", "_max_length")

    def __init__(self, max_length: int = MAX_COMMAND_LENGTH) -> None:
        self._buffer = bytearray()
        self._max_length = max_length

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        buffer = self._buffer
        buffer += data
        size = len(buffer)
        frames: list[Frame] = []
        position = 0
        unpack = HEADER.unpack_from
        unpack_length = _U32.unpack_from
        max_length = self._max_length
        # The length is checked as soon as its four octets are in, so a peer that sent a few bytes
        # of garbage is told at once instead of being waited for.
        while size - position >= 4:
            (length,) = unpack_length(buffer, position)
            if length < HEADER_LENGTH or length > max_length:
                self._buffer = bytearray()
                raise PduError(f"command_length {length} outside {HEADER_LENGTH}..{max_length}")
            end = position + length
            if end > size:
                break
            _, command_id, status, sequence = unpack(buffer, position)
            frames.append((command_id, status, sequence, bytes(buffer[position + HEADER_LENGTH : end])))
            position = end
        if position:
            del buffer[:position]
        return frames


def encode_frame(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER_LENGTH + len(body), command_id, status, sequence) + body


# --- field helpers -------------------------------------------------------------------------------


def cstring(value: str, name: str = "field", limit: int = 0) -> bytes:
    """A C-Octet String: the value's octets and a NUL. `limit` counts the NUL, as the spec does.

    Latin-1 keeps one octet per character for the ASCII the spec asks for, and fails loudly on
    anything wider (a Persian sender name cannot travel in source_addr)."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise PduError(f"{name} {value!r} is not ASCII", ESME_RSYSERR) from exc
    if b"\0" in raw:
        raise PduError(f"{name} contains NUL", ESME_RSYSERR)
    if limit and len(raw) >= limit:
        raise PduError(f"{name} {value!r} is longer than {limit - 1} characters", ESME_RSYSERR)
    return raw + b"\0"


def read_cstring(body: bytes, position: int, name: str) -> tuple[str, int]:
    try:
        end = body.index(0, position)
    except ValueError:
        raise PduError(f"{name} is not NUL-terminated", ESME_RINVCMDLEN) from None
    return body[position:end].decode("latin-1"), end + 1


def encode_tlvs(tlvs: Mapping[int, bytes]) -> bytes:
    out = []
    for tag, value in tlvs.items():
        if len(value) > 0xFFFF:
            raise PduError(f"TLV {tag:#06x} is longer than 65535 octets", ESME_RINVPARLEN)
        out.append(_TLV_HEAD.pack(tag, len(value)))
        out.append(value)
    return b"".join(out)


def tlv(tag: int, value: bytes) -> bytes:
    return _TLV_HEAD.pack(tag, len(value)) + value


def decode_tlvs(body: bytes, position: int) -> dict[int, bytes]:
    tlvs: dict[int, bytes] = {}
    size = len(body)
    unpack = _TLV_HEAD.unpack_from
    while position < size:
        if size - position < 4:
            raise PduError("truncated TLV header", ESME_RINVOPTPARSTREAM)
        tag, length = unpack(body, position)
        position += 4
        end = position + length
        if end > size:
            raise PduError(f"TLV {tag:#06x} runs past the PDU", ESME_RINVOPTPARSTREAM)
        tlvs[tag] = body[position:end]
        position = end
    return tlvs


def tlv_cstring(value: bytes) -> str:
    """A C-string TLV value; tolerant of a missing NUL, which some SMSCs leave out."""
    end = value.find(0)
    return (value if end < 0 else value[:end]).decode("latin-1")


def tlv_int(value: bytes) -> int:
    return int.from_bytes(value, "big") if value else 0


# --- bodies ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Bind:
    """Body of bind_transmitter, bind_receiver and bind_transceiver (they share it)."""

    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def encode(self) -> bytes:
        return b"".join(
            (
                cstring(self.system_id, "system_id"),
                cstring(self.password, "password"),
                cstring(self.system_type, "system_type"),
                bytes((self.interface_version, self.addr_ton, self.addr_npi)),
                cstring(self.address_range, "address_range"),
            )
        )

    @classmethod
    def decode(cls, body: bytes) -> Bind:
        system_id, position = read_cstring(body, 0, "system_id")
        password, position = read_cstring(body, position, "password")
        system_type, position = read_cstring(body, position, "system_type")
        if len(body) < position + 3:
            raise PduError("bind body is truncated", ESME_RINVCMDLEN)
        version, ton, npi = body[position], body[position + 1], body[position + 2]
        address_range, _ = read_cstring(body, position + 3, "address_range")
        return cls(system_id, password, system_type, version, ton, npi, address_range)


@dataclass(slots=True)
class ShortMessage:
    """Body of submit_sm and deliver_sm (the two share one layout)."""

    destination_addr: str
    short_message: bytes = b""
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    service_type: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def encode(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message is longer than 254 octets", ESME_RINVMSGLEN)
        return b"".join(
            (
                cstring(self.service_type, "service_type", 6),
                bytes((self.source_addr_ton, self.source_addr_npi)),
                cstring(self.source_addr, "source_addr", 21),
                bytes((self.dest_addr_ton, self.dest_addr_npi)),
                cstring(self.destination_addr, "destination_addr", 21),
                bytes((self.esm_class, self.protocol_id, self.priority_flag)),
                cstring(self.schedule_delivery_time, "schedule_delivery_time", 17),
                cstring(self.validity_period, "validity_period", 17),
                bytes(
                    (
                        self.registered_delivery,
                        self.replace_if_present_flag,
                        self.data_coding,
                        self.sm_default_msg_id,
                        len(self.short_message),
                    )
                ),
                self.short_message,
                encode_tlvs(self.tlvs),
            )
        )

    @classmethod
    def decode(cls, body: bytes) -> ShortMessage:
        service_type, position = read_cstring(body, 0, "service_type")
        if len(body) < position + 2:
            raise PduError("body is truncated", ESME_RINVCMDLEN)
        source_ton, source_npi = body[position], body[position + 1]
        source_addr, position = read_cstring(body, position + 2, "source_addr")
        if len(body) < position + 2:
            raise PduError("body is truncated", ESME_RINVCMDLEN)
        dest_ton, dest_npi = body[position], body[position + 1]
        destination_addr, position = read_cstring(body, position + 2, "destination_addr")
        if len(body) < position + 3:
            raise PduError("body is truncated", ESME_RINVCMDLEN)
        esm_class, protocol_id, priority_flag = body[position], body[position + 1], body[position + 2]
        schedule, position = read_cstring(body, position + 3, "schedule_delivery_time")
        validity, position = read_cstring(body, position, "validity_period")
        if len(body) < position + 5:
            raise PduError("body is truncated", ESME_RINVCMDLEN)
        registered, replace, data_coding, default_id, sm_length = body[position : position + 5]
        position += 5
        end = position + sm_length
        if end > len(body):
            raise PduError("short_message runs past the PDU", ESME_RINVMSGLEN)
        return cls(
            destination_addr=destination_addr,
            short_message=body[position:end],
            source_addr=source_addr,
            source_addr_ton=source_ton,
            source_addr_npi=source_npi,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            service_type=service_type,
            esm_class=esm_class,
            protocol_id=protocol_id,
            priority_flag=priority_flag,
            schedule_delivery_time=schedule,
            validity_period=validity,
            registered_delivery=registered,
            replace_if_present_flag=replace,
            data_coding=data_coding,
            sm_default_msg_id=default_id,
            tlvs=decode_tlvs(body, end) if end < len(body) else {},
        )

    @property
    def payload(self) -> bytes:
        """The message's octets: message_payload when present (then short_message is empty)."""
        payload = self.tlvs.get(TLV_MESSAGE_PAYLOAD)
        return payload if payload is not None else self.short_message


def submit_prefix(
    source_addr: str,
    *,
    service_type: str = "",
    source_ton: int = 0,
    source_npi: int = 0,
    dest_ton: int = 1,
    dest_npi: int = 1,
) -> bytes:
    """The leading fields of a submit_sm body, which repeat for every message from one sender;
    `submit_body` appends the rest. Built once per sender so the hot path only joins bytes."""
    return b"".join(
        (
            cstring(service_type, "service_type", 6),
            bytes((source_ton, source_npi)),
            cstring(source_addr, "source_addr", 21),
            bytes((dest_ton, dest_npi)),
        )
    )


def submit_body(
    prefix: bytes,
    destination: bytes,
    esm_class: int,
    registered_delivery: int,
    data_coding: int,
    short_message: bytes,
    tlvs: bytes = b"",
) -> bytes:
    """A submit_sm body after `submit_prefix`; `destination` is the C-string already encoded."""
    if len(short_message) > 254:
        raise PduError("short_message is longer than 254 octets", ESME_RINVMSGLEN)
    return b"".join(
        (
            prefix,
            destination,
            bytes((esm_class, 0, 0, 0, 0, registered_delivery, 0, data_coding, 0, len(short_message))),
            short_message,
            tlvs,
        )
    )


def message_id_body(message_id: str) -> bytes:
    """Body of submit_sm_resp and deliver_sm_resp (message_id), and of bind_*_resp (system_id)."""
    return cstring(message_id, "message_id", 65)


def decode_message_id(body: bytes) -> str:
    """message_id of a submit_sm_resp, or system_id of a bind_resp.

    An error response may carry no body at all (the spec allows it and node-smpp does it), and
    some SMSCs leave out the NUL; neither is worth failing a session over."""
    if not body:
        return ""
    end = body.find(0)
    return (body if end < 0 else body[:end]).decode("latin-1")
