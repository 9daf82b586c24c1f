"""Grouping recipients by operator: the range walk agrees with asking each key's operator."""

from __future__ import annotations

import random

import pytest
from pyroaring import BitMap

from payamak.numbers import KEY_BASE, operator_of_key
from payamak.numbers.iran import MOBILE_LENGTH, OPERATOR_BY_PREFIX, OPERATOR_PREFIX_DIGITS
from payamak.sending.resolve import by_operator

SPAN = 10 ** (MOBILE_LENGTH - OPERATOR_PREFIX_DIGITS)
PREFIXES = list(OPERATOR_BY_PREFIX)


def one_by_one(keys: BitMap) -> dict[str | None, BitMap]:
    """The slow, obvious grouping, operators in the order of their first prefix with a key."""
    first: dict[str | None, int] = {}
    groups: dict[str | None, BitMap] = {}
    order = {prefix: i for i, prefix in enumerate(PREFIXES)}
    for k in keys:
        key = k + KEY_BASE
        operator = operator_of_key(key)
        position = order[str(key // SPAN)]
        first[operator] = min(first.get(operator, position), position)
        groups.setdefault(operator, BitMap()).add(k)
    return {operator: groups[operator] for operator in sorted(first, key=first.__getitem__)}


def keys_under(prefixes: list[str], count: int, rng: random.Random) -> BitMap:
    return BitMap(int(rng.choice(prefixes)) * SPAN + rng.randrange(SPAN) - KEY_BASE for _ in range(count))


@pytest.mark.parametrize("seed", range(6))
def test_groups_match_each_keys_operator_in_the_same_order(seed: int) -> None:
    rng = random.Random(seed)
    prefixes = PREFIXES if seed == 0 else rng.sample(PREFIXES, rng.randint(1, 30))
    keys = keys_under(prefixes, 3000, rng)
    found = by_operator(keys)
    expected = one_by_one(keys)
    assert list(found) == list(expected)
    assert found == expected
    assert sum(len(part) for part in found.values()) == len(keys)


def test_edges_of_a_prefix_and_no_keys() -> None:
    assert by_operator(BitMap()) == {}
    low = int(PREFIXES[0]) * SPAN - KEY_BASE
    high = (int(PREFIXES[-1]) + 1) * SPAN - KEY_BASE - 1
    keys = BitMap([low, high])
    assert by_operator(keys) == one_by_one(keys)
