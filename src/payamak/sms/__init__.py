"""SMS text as the network sees it: GSM-7 or UCS-2, character and part counts, the parts
themselves with their concatenation headers, and whether a text can be sent at all.

Pure and fast: `analyse` runs on every keystroke and every recipient.
"""

from payamak.sms.segments import (
    DATA_CODING_GSM7,
    DATA_CODING_UCS2,
    ESM_CLASS_UDHI,
    GSM7_PART,
    GSM7_SINGLE,
    UCS2_PART,
    UCS2_SINGLE,
    Concatenation,
    Encoding,
    TextInfo,
    analyse,
    decode,
    encode,
    encode_parts,
    is_gsm7,
    split,
    split_udh,
)
from payamak.sms.validation import InvalidText, validate_text

__all__ = [
    "DATA_CODING_GSM7",
    "DATA_CODING_UCS2",
    "ESM_CLASS_UDHI",
    "GSM7_PART",
    "GSM7_SINGLE",
    "UCS2_PART",
    "UCS2_SINGLE",
    "Concatenation",
    "Encoding",
    "InvalidText",
    "TextInfo",
    "analyse",
    "decode",
    "encode",
    "encode_parts",
    "is_gsm7",
    "split",
    "split_udh",
    "validate_text",
]
