"""Putting concatenated messages back together, on either side of a bind.

A long message travels as parts that each carry (reference, total, sequence), in a user data
header (esm_class UDHI) or in the sar_* TLVs, or whole in a message_payload TLV. Parts of one
message share the sender, the recipient and the reference; they may arrive in any order and a
part may never arrive, so incomplete messages are dropped after `max_age` seconds.

Decoding happens after joining: other senders do cut a UTF-16 surrogate pair or a GSM escape pair
across two parts.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from payamak import sms
from payamak.providers.smpp import pdu

log = logging.getLogger("payamak.smpp")

Mode = str  # "single", "udh", "sar" or "payload"


@dataclass(frozen=True, slots=True)
class Assembled:
    source: str
    destination: str
    data_coding: int
    payload: bytes
    mode: Mode
    parts: int
    # The `tag` given with each part, in part order (the SMSC keeps message ids here).
    tags: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return decode_text(self.data_coding, self.payload)


def decode_text(data_coding: int, payload: bytes) -> str:
    """Text of joined octets. Unknown codings are read as Latin-1 rather than losing a message."""
    try:
        return sms.decode(data_coding, payload)
    except ValueError:
        return payload.decode("latin-1")


@dataclass(slots=True)
class _Pending:
    started: float
    data_coding: int
    mode: Mode
    parts: dict[int, bytes] = field(default_factory=dict)
    tags: dict[int, str] = field(default_factory=dict)


class Reassembler:
    """Feed it every short message; it returns an `Assembled` when one is complete, else None.

    Raises PduError only for a user data header that cannot be read."""

    def __init__(self, *, max_age: float = 600.0, max_pending: int = 100_000) -> None:
        self._pending: OrderedDict[tuple[str, str, int, int], _Pending] = OrderedDict()
        self._max_age = max_age
        self._max_pending = max_pending

    def __len__(self) -> int:
        return len(self._pending)

    def feed(self, message: pdu.ShortMessage, *, tag: str = "") -> Assembled | None:
        source, destination, data_coding = message.source_addr, message.destination_addr, message.data_coding
        tlvs = message.tlvs
        payload = tlvs.get(pdu.TLV_MESSAGE_PAYLOAD)
        if payload is not None and not message.short_message:
            if message.esm_class & pdu.ESM_CLASS_UDHI and payload:
                # A whole message in message_payload may still carry a (useless) header.
                payload = _strip_udh(payload)[1]
            return Assembled(source, destination, data_coding, payload, "payload", 1, (tag,))
        body = message.short_message
        if message.esm_class & pdu.ESM_CLASS_UDHI and body:
            concatenation, body = _strip_udh(body)
            if concatenation is not None and concatenation.total > 1:
                key = (source, destination, concatenation.reference, concatenation.total)
                return self._part(message, key, concatenation.sequence, body, "udh", tag)
        elif pdu.TLV_SAR_MSG_REF_NUM in tlvs and pdu.TLV_SAR_TOTAL_SEGMENTS in tlvs:
            total = pdu.tlv_int(tlvs[pdu.TLV_SAR_TOTAL_SEGMENTS])
            if total > 1:
                key = (source, destination, pdu.tlv_int(tlvs[pdu.TLV_SAR_MSG_REF_NUM]), total)
                sequence = pdu.tlv_int(tlvs.get(pdu.TLV_SAR_SEGMENT_SEQNUM, b""))
                return self._part(message, key, sequence, body, "sar", tag)
        return Assembled(source, destination, data_coding, body, "single", 1, (tag,))

    def _part(
        self,
        message: pdu.ShortMessage,
        key: tuple[str, str, int, int],
        sequence: int,
        body: bytes,
        mode: Mode,
        tag: str,
    ) -> Assembled | None:
        now = time.monotonic()
        self._expire(now)
        total = key[3]
        if not 1 <= sequence <= total:
            log.warning("dropping part %d of %d from %s: out of range", sequence, total, message.source_addr)
            return None
        pending = self._pending.get(key)
        if pending is None:
            pending = _Pending(now, message.data_coding, mode)
            self._pending[key] = pending
        pending.parts[sequence] = body
        pending.tags[sequence] = tag
        if len(pending.parts) < total:
            return None
        del self._pending[key]
        order = range(1, total + 1)
        joined = b"".join(pending.parts[index] for index in order)
        tags = tuple(pending.tags[index] for index in order)
        return Assembled(key[0], key[1], pending.data_coding, joined, mode, total, tags)

    def _expire(self, now: float) -> None:
        pending = self._pending
        while pending:
            key, oldest = next(iter(pending.items()))
            if now - oldest.started < self._max_age and len(pending) < self._max_pending:
                break
            del pending[key]
            log.warning(
                "dropping incomplete message from %s: %d of %d parts", key[0], len(oldest.parts), key[3]
            )


def _strip_udh(payload: bytes) -> tuple[sms.Concatenation | None, bytes]:
    try:
        return sms.split_udh(payload)
    except ValueError as exc:
        raise pdu.PduError(str(exc), pdu.ESME_RINVESMCLASS) from exc
