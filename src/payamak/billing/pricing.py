"""Tariff resolution and the per-recipient price table. Pure: no I/O.

A rule prices one part (segment) before VAT. For a given message kind, encoding and sending line,
each operator key gets the price of the most specific matching rule, decided once per send;
pricing a recipient is then one dict lookup and a multiplication, so a million-recipient send
prices in well under a second.

Most specific: the rule with more non-'*' fields wins; among rules with as many, an exact
operator beats a line prefix, a longer line prefix beats a shorter one, then encoding, then kind.
Every pair of distinct matching rules is ordered this way, so the choice never depends on row order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from payamak.billing.models import OPERATOR_KEYS, WILDCARD
from payamak.numbers import digits_only

MCI: Final = "MCI"
OTHER: Final = "other"
FOREIGN: Final = "foreign"
"""Operator key for numbers outside Iran: pass it to `PriceTable.per_message` for those."""

DEFAULT_VAT_PERCENT: Final = 10

# Built-in defaults (rials per part, before VAT), installed by the migration and used whenever the
# tariffs table is empty. Persian (UCS-2) on MCI is the base; a Latin (GSM-7) part costs 2.4x as
# much, and Irancell, RighTel and the rest 1.1x of MCI. Kind and line are '*': admins add rows for
# particular kinds and line prefixes, and those, being more specific, win.
DEFAULT_TARIFFS: Final[tuple[tuple[str, str, str, str, int], ...]] = (
    ("*", "UCS-2", "MCI", "*", 1_500),
    ("*", "UCS-2", "Irancell", "*", 1_650),
    ("*", "UCS-2", "RighTel", "*", 1_650),
    ("*", "UCS-2", "other", "*", 1_650),
    ("*", "GSM-7", "MCI", "*", 3_600),
    ("*", "GSM-7", "Irancell", "*", 3_960),
    ("*", "GSM-7", "RighTel", "*", 3_960),
    ("*", "GSM-7", "other", "*", 3_960),
    ("*", "*", "foreign", "*", 40_000),
)
"""(kind, encoding, operator, line_prefix, price before VAT)."""


class Rule(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def encoding(self) -> str: ...
    @property
    def operator(self) -> str: ...
    @property
    def line_prefix(self) -> str: ...
    @property
    def price(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DefaultRule:
    kind: str
    encoding: str
    operator: str
    line_prefix: str
    price: int


def default_rules() -> list[DefaultRule]:
    return [DefaultRule(*row) for row in DEFAULT_TARIFFS]


def line_digits(line: str | None) -> str:
    """The digits of a line number as typed ("+98 21-1234", "۵۰۰۰۱۲"), for prefix matching."""
    if not line:
        return ""
    return digits_only(line)


def with_vat(price: int, vat_percent: int) -> int:
    """Price including VAT, rounded half up to a whole rial."""
    return (price * (100 + vat_percent) + 50) // 100


def _specificity(rule: Rule) -> tuple[int, int, int, int, int]:
    specific = [rule.kind != WILDCARD, rule.encoding != WILDCARD, rule.operator != WILDCARD]
    line = rule.line_prefix != WILDCARD
    return (
        sum(specific) + line,
        int(specific[2]),
        len(rule.line_prefix) if line else 0,
        int(specific[1]),
        int(specific[0]),
    )


def resolve(
    rules: Iterable[Rule], *, kind: str, encoding: str, line: str | None
) -> tuple[dict[str, int], list[str]]:
    """Price per part before VAT for every operator key, and the keys no rule prices."""
    digits = line_digits(line)
    best: dict[str, tuple[tuple[int, int, int, int, int], int]] = {}
    for rule in rules:
        if rule.kind not in (kind, WILDCARD) or rule.encoding not in (encoding, WILDCARD):
            continue
        if rule.line_prefix != WILDCARD and not (digits and digits.startswith(rule.line_prefix)):
            continue
        rank = _specificity(rule)
        targets = OPERATOR_KEYS if rule.operator == WILDCARD else (rule.operator,)
        for op in targets:
            if op not in best or rank > best[op][0]:
                best[op] = (rank, rule.price)
    prices = {op: best[op][1] for op in OPERATOR_KEYS if op in best}
    return prices, [op for op in OPERATOR_KEYS if op not in best]


@dataclass(frozen=True, slots=True)
class PriceTable:
    """What one part costs, VAT included, for each operator, for one kind, encoding and line.

    Build it once per send with `billing.service.price_table`; then `per_message` is O(1) per
    recipient. The preview, the hold and the statement all use these figures, so the price
    shown is the price charged.
    """

    kind: str
    encoding: str
    line: str | None
    vat_percent: int
    net: Mapping[str, int]
    """Price per part before VAT, by operator key."""
    prices: Mapping[str, int] = field(init=False)
    """Price per part with VAT, by operator key."""
    _other: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        gross = {op: with_vat(price, self.vat_percent) for op, price in self.net.items()}
        object.__setattr__(self, "prices", gross)
        object.__setattr__(self, "_other", gross[OTHER])

    def part_price(self, operator: str | None) -> int:
        """Price of one part with VAT. Operators without a key of their own (ApTel, an unknown
        prefix, None) pay the "other" price; pass `FOREIGN` for numbers outside Iran."""
        price = self.prices.get(operator) if operator is not None else None
        return self._other if price is None else price

    def per_message(self, operator: str | None, parts: int) -> int:
        """Rials charged for a message of `parts` parts to a number of `operator`, VAT included."""
        price = self.prices.get(operator) if operator is not None else None
        return (self._other if price is None else price) * parts

    def cost(self, recipients_by_operator: Mapping[str | None, int], parts: int) -> int:
        """Total for `parts`-part messages to counted recipients, e.g. {"MCI": 800, None: 3}."""
        return sum(self.part_price(op) * count for op, count in recipients_by_operator.items()) * parts
