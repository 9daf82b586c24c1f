"""Phone-number normalisation: any written form of a number to E.164, SMS capability and operator.

Pure: no I/O and no other Payamak package. `parse` explains every value; `mobile_key` is the
bulk path for imports and blacklists, mapping an Iranian mobile to the int of its national number
(keys minus `KEY_BASE` fit in 32 bits, for roaring bitmaps). `to_ascii_digits` is the one fold of
Persian and Arabic-Indic digits for every other place that reads typed digits.
"""

from payamak.numbers.digits import digits_only, to_ascii_digits
from payamak.numbers.iran import KEY_BASE, OPERATORS, operator_name, operator_of_key
from payamak.numbers.parsing import NumberInfo, key_to_e164, mobile_key, parse
from payamak.numbers.reasons import REASON_MESSAGES, REASONS, reason_message

__all__ = [
    "KEY_BASE",
    "OPERATORS",
    "REASONS",
    "REASON_MESSAGES",
    "NumberInfo",
    "digits_only",
    "key_to_e164",
    "mobile_key",
    "operator_name",
    "operator_of_key",
    "parse",
    "reason_message",
    "to_ascii_digits",
]
