"""Delivery receipts and inbound messages as the rest of Payamak sees them.

A receipt arrives as a deliver_sm whose esm_class says "SMSC delivery receipt". Its facts come from
the receipted_message_id and message_state TLVs when the SMSC sends them (they are unambiguous),
else from the text form of SMPP 3.4 appendix B:

    id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm[ss] done date:YYMMDDhhmm[ss] stat:DDDDDDD err:E text:…

Real SMSCs bend that form: dates with seconds, `err` in hex (`0x1f`), fields in another order or
case, missing fields. The parser takes what it can find and never raises: a receipt it cannot
read comes back as None and the session goes on (an SMSC that is refused a receipt sends it again,
forever).

Status mapping (SMPP stat / message_state -> `ReceiptStatus`):

    DELIVRD / 2 DELIVERED      -> delivered
    UNDELIV / 5 UNDELIVERABLE  -> undelivered
    EXPIRED / 3 EXPIRED        -> expired
    REJECTD / 8 REJECTED       -> rejected, or blocked when the error code is a blacklist code
    DELETED / 4 DELETED        -> canceled
    ACCEPTD / 6 ACCEPTED       -> accepted   (not final: the SMSC took it, no news from the phone)
    ENROUTE / 1 ENROUTE        -> enroute    (not final)
    UNKNOWN / 7 UNKNOWN, other -> unknown    (not final: change nothing)

"Blocked" is how an operator says the recipient is on the national advertising blacklist (*800#).
SMPP has no state for it; the simulated SMSC reports it as `stat:REJECTD err:014` (14 mirrors
Kavenegar's status 14, "blocked by blacklist"), and the codes taken to mean it are configurable
per route (`SmppRoute.blacklist_errors`) because every operator picks its own.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final, Literal

from payamak.providers.smpp import pdu

log = logging.getLogger("payamak.smpp")

ReceiptStatus = Literal[
    "delivered", "undelivered", "expired", "rejected", "blocked", "canceled", "accepted", "enroute", "unknown"
]
FINAL_STATUSES: Final = frozenset({"delivered", "undelivered", "expired", "rejected", "blocked", "canceled"})

# The simulated SMSC's blacklist code; see the module docstring.
BLACKLIST_ERROR: Final = 14
DEFAULT_BLACKLIST_ERRORS: Final = frozenset({BLACKLIST_ERROR})

STAT_TO_STATUS: Final[dict[str, ReceiptStatus]] = {
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "UNDELIV": "undelivered",
    "UNDELIVERABLE": "undelivered",
    "EXPIRED": "expired",
    "REJECTD": "rejected",
    "REJECTED": "rejected",
    "DELETED": "canceled",
    "ACCEPTD": "accepted",
    "ACCEPTED": "accepted",
    "ENROUTE": "enroute",
    "UNKNOWN": "unknown",
}
STATE_TO_STATUS: Final[dict[int, ReceiptStatus]] = {
    pdu.STATE_ENROUTE: "enroute",
    pdu.STATE_DELIVERED: "delivered",
    pdu.STATE_EXPIRED: "expired",
    pdu.STATE_DELETED: "canceled",
    pdu.STATE_UNDELIVERABLE: "undelivered",
    pdu.STATE_ACCEPTED: "accepted",
    pdu.STATE_UNKNOWN: "unknown",
    pdu.STATE_REJECTED: "rejected",
}
# The other way, for the simulated SMSC: what it writes for each outcome.
STATUS_TO_STAT: Final[dict[str, tuple[str, int]]] = {
    "delivered": ("DELIVRD", pdu.STATE_DELIVERED),
    "undelivered": ("UNDELIV", pdu.STATE_UNDELIVERABLE),
    "expired": ("EXPIRED", pdu.STATE_EXPIRED),
    "rejected": ("REJECTD", pdu.STATE_REJECTED),
    "blocked": ("REJECTD", pdu.STATE_REJECTED),
    "canceled": ("DELETED", pdu.STATE_DELETED),
    "accepted": ("ACCEPTD", pdu.STATE_ACCEPTED),
    "enroute": ("ENROUTE", pdu.STATE_ENROUTE),
    "unknown": ("UNKNOWN", pdu.STATE_UNKNOWN),
}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an SMSC reported about a message it accepted.

    `provider_id` is the message_id the SMSC gave in submit_sm_resp (for a long message, its first
    part's id: see `SmppProvider`). `error` is the SMSC's error code as a number, None if it gave
    none or gave something unreadable. `done_at` is timezone-aware, None when absent or unreadable.
    `raw` is the receipt's text as received (empty for a TLV-only receipt). `destination` is the
    phone number the message was for, as the SMSC wrote it.
    """

    provider_id: str
    status: ReceiptStatus
    error: int | None
    done_at: datetime | None
    raw: str
    destination: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message from a phone to one of our lines (a reply such as 11 or 12), reassembled."""

    from_: str
    to: str
    text: str
    received_at: datetime


# The appendix-B form as most SMSCs write it, read in one match; anything else goes field by field.
_STANDARD = re.compile(
    r"id:(?P<id>\S*)\s+sub:(?P<sub>\S*)\s+dlvrd:(?P<dlvrd>\S*)\s+submit[ _]date:(?P<submit_date>\d*)\s+"
    r"done[ _]date:(?P<done_date>\d*)\s+stat:(?P<stat>\S*)\s+err:(?P<err>\S*)(?:\s+text:(?P<text>.*))?\Z",
    re.IGNORECASE | re.DOTALL,
)
_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit date|submit_date|done date|done_date|stat|err|text)\s*:")
_DATE = re.compile(r"^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?")


def parse_receipt_text(text: str) -> dict[str, str]:
    """The appendix-B fields found in `text`, keyed by lower-case name with `_` for spaces.

    `text:` takes the rest of the line, since the message's own words may contain colons."""
    standard = _STANDARD.match(text)
    if standard is not None:
        return {key: value for key, value in standard.groupdict().items() if value is not None}
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for index, match in enumerate(matches):
        key = match.group(1).lower().replace(" ", "_")
        if key in fields:  # a second "id:" inside the message's own words
            continue
        if key == "text":
            fields[key] = text[match.end() :]
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields[key] = text[match.end() : end].strip()
    return fields


def parse_error_code(value: str) -> int | None:
    """`000`, `14`, `0x1f`, `1F`: decimal unless it says or looks hex."""
    value = value.strip()
    if not value:
        return None
    try:
        if value[:2].lower() == "0x":
            return int(value[2:], 16)
        if value.isdigit():
            return int(value, 10)
        return int(value, 16)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1024)
def parse_date(value: str, zone: tzinfo) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss in the SMSC's zone; None if it is not a real date.

    Cached: receipts arriving together share their dates."""
    match = _DATE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    try:
        return datetime(
            2000 + int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=zone
        )
    except ValueError:
        return None


def _classify(status: ReceiptStatus, error: int | None, blacklist_errors: frozenset[int]) -> ReceiptStatus:
    if status == "rejected" and error is not None and error in blacklist_errors:
        return "blocked"
    return status


def parse_receipt(
    message: pdu.ShortMessage,
    *,
    zone: tzinfo,
    blacklist_errors: frozenset[int] = DEFAULT_BLACKLIST_ERRORS,
) -> Receipt | None:
    """A receipt from a deliver_sm that carries one, or None (and a log line) if it says too little.

    TLVs win over the text where both exist; the text fills in what the TLVs leave out (the error
    code and the done date, which have no TLV of their own in SMPP 3.4 besides network_error_code).
    """
    tlvs = message.tlvs
    raw = message.short_message.decode("latin-1") if message.short_message else ""
    if not raw and pdu.TLV_MESSAGE_PAYLOAD in tlvs:
        raw = tlvs[pdu.TLV_MESSAGE_PAYLOAD].decode("latin-1")
    fields = parse_receipt_text(raw) if raw else {}

    provider_id = ""
    if pdu.TLV_RECEIPTED_MESSAGE_ID in tlvs:
        provider_id = pdu.tlv_cstring(tlvs[pdu.TLV_RECEIPTED_MESSAGE_ID]).strip()
    if not provider_id:
        provider_id = fields.get("id", "").strip()

    status: ReceiptStatus | None = None
    state = tlvs.get(pdu.TLV_MESSAGE_STATE)
    if state:
        status = STATE_TO_STATUS.get(pdu.tlv_int(state), "unknown")
    if status is None and "stat" in fields:
        status = STAT_TO_STATUS.get(fields["stat"].upper(), "unknown")

    error: int | None = parse_error_code(fields["err"]) if "err" in fields else None
    network_error = tlvs.get(pdu.TLV_NETWORK_ERROR_CODE)
    if error is None and network_error is not None and len(network_error) == 3:
        error = int.from_bytes(network_error[1:], "big")

    if not provider_id or status is None:
        log.warning("unreadable delivery receipt from %s: %r tlvs=%r", message.source_addr, raw, sorted(tlvs))
        return None
    done = fields.get("done_date")
    return Receipt(
        provider_id=provider_id,
        status=_classify(status, error, blacklist_errors),
        error=error,
        done_at=parse_date(done, zone) if done else None,
        raw=raw,
        destination=message.source_addr,
    )


def is_receipt(esm_class: int) -> bool:
    return bool(esm_class & (pdu.ESM_CLASS_RECEIPT | pdu.ESM_CLASS_INTERMEDIATE))
