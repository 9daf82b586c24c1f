"""Recipient resolution: every source normalised, de-duplicated, counted, and split into who gets it.

Iranian mobiles (nearly every recipient) travel as 32-bit roaring-bitmap keys, so de-duplication
across sources and the blacklist check are set operations over compressed bitmaps rather than a
million Python objects; the rare foreign number is kept by its E.164 string.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyroaring import BitMap

from payamak import numbers
from payamak.errors import ValidationFailed
from payamak.numbers.iran import MOBILE_LENGTH, OPERATOR_BY_PREFIX, OPERATOR_PREFIX_DIGITS

PLACEHOLDER = re.compile(r"\{([^{}\s]{1,40})\}")
MAX_INVALID_LISTED = 1000


@dataclass(slots=True)
class Invalid:
    row: int
    value: str
    reason: str
    source: str


@dataclass
class Recipients:
    """What the sources gave, after normalisation and de-duplication."""

    keys: BitMap = field(default_factory=BitMap)  # Iranian mobiles: national number - KEY_BASE
    foreign: dict[str, str | None] = field(default_factory=dict)  # E.164 -> operator
    # Placeholder values per recipient (key or E.164), first source wins; only kept when the text has placeholders.
    values: dict[int | str, Mapping[str, str]] = field(default_factory=dict)
    seen: int = 0
    invalid: list[Invalid] = field(default_factory=list)
    invalid_count: int = 0

    @property
    def unique(self) -> int:
        return len(self.keys) + len(self.foreign)

    @property
    def duplicates(self) -> int:
        return self.seen - self.invalid_count - self.unique

    def add_invalid(self, row: int, value: str, reason: str, source: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_INVALID_LISTED:
            self.invalid.append(Invalid(row=row, value=value, reason=reason, source=source))

    def add_numbers(self, values: Iterable[str], *, source: str = "recipients") -> None:
        """Numbers typed or sent by an integrator, in any written form."""
        base = numbers.KEY_BASE
        for row, value in enumerate(values, start=1):
            self.seen += 1
            key = numbers.mobile_key(value)
            if key is not None:
                self.keys.add(key - base)
                continue
            info = numbers.parse(value)
            if info.valid and info.e164:
                self.foreign.setdefault(info.e164, info.operator)
            else:
                self.add_invalid(row, str(value), info.reason or "invalid", source)

    def add_key_batch(self, batch: list[int]) -> None:
        """Stored phonebook keys in ascending order: foreign numbers (negative) first, then mobiles."""
        self.seen += len(batch)
        first_mobile = bisect_right(batch, 0)
        for key in batch[:first_mobile]:
            e164 = f"+{-key}"
            self.foreign.setdefault(e164, None)
        base = numbers.KEY_BASE
        self.keys.update([k - base for k in batch[first_mobile:]])

    def add_member(self, key: int | None, e164: str, values: Mapping[str, str] | None) -> None:
        """A number already normalised by the phonebook (group members, customers)."""
        self.seen += 1
        if key is not None:
            k = key - numbers.KEY_BASE
            if values is not None and k not in self.keys:
                self.values[k] = values
            self.keys.add(k)
        else:
            if values is not None and e164 not in self.foreign:
                self.values[e164] = values
            self.foreign.setdefault(e164, numbers.parse(e164).operator)


def placeholders(text: str) -> list[str]:
    """The distinct {name}-style placeholders in a text, in order."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill(text: str, values: Mapping[str, str], names: list[str]) -> str:
    """The text with every placeholder replaced, or `placeholder_missing` naming the first without a value."""
    for name in names:
        value = values.get(name)
        if value is None or not str(value).strip():
            raise ValidationFailed(
                f"برای «{{{name}}}» مقداری نیست.",
                f"The placeholder {{{name}}} has no value for some recipients.",
                code="placeholder_missing",
                placeholder=name,
            )
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _operator_ranges() -> tuple[tuple[int, int, str | None], ...]:
    """The prefix table as key ranges [start, stop) with their operator, in table order; neighbouring
    prefixes of one operator merge into one range, so a walk takes a few dozen steps, not a thousand."""
    span = 10 ** (MOBILE_LENGTH - OPERATOR_PREFIX_DIGITS)
    ranges: list[tuple[int, int, str | None]] = []
    for prefix, operator in OPERATOR_BY_PREFIX.items():
        start = int(prefix) * span - numbers.KEY_BASE
        if ranges and ranges[-1][1] == start and ranges[-1][2] == operator:
            ranges[-1] = (ranges[-1][0], start + span, operator)
        else:
            ranges.append((start, start + span, operator))
    return tuple(ranges)


_OPERATOR_RANGES = _operator_ranges()


def by_operator(keys: BitMap) -> dict[str | None, BitMap]:
    """The keys grouped by operator, operators in the order of their first key in the prefix table.

    Pricing counts each group (`len`), accepting writes each: one walk serves both. Range counts
    find the operators present; each group is then one intersection with that operator's ranges.
    """
    masks: dict[str | None, BitMap] = {}
    for start, stop, operator in _OPERATOR_RANGES:
        if keys.range_cardinality(start, stop):
            mask = masks.get(operator)
            if mask is None:
                mask = masks[operator] = BitMap()
            mask.add_range(start, stop)
    return {operator: keys & mask for operator, mask in masks.items()}
