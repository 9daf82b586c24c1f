"""Phone-number normalisation rate: payamak.numbers against phonenumbers on the same inputs.

Inputs imitate a customer list pasted or imported into a panel: mostly Iranian mobiles in every
written form (Persian and Arabic-Indic digits, separators, invisible marks, prefixes, spreadsheet
numbers that lost their zero), some landlines, some junk, a few foreign numbers.

The baseline is what an import would do without the fast path: `phonenumbers.parse(text, "IR")`
then `is_valid_number`, which, like `mobile_key`, yields a normalised number and its validity.
`mobile_key` is the headline "rate"/"ratio" of the JSON summary printed last; `parse`, which also
builds a NumberInfo with operator and reason, is reported beside it as "parse_rate"/"parse_ratio".
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence

import phonenumbers

from payamak.numbers import mobile_key, parse

MOBILE_PREFIXES = (
    # Weighted roughly by subscriber share: MCI and Irancell dominate, then RighTel and the rest.
    # 0941 (TD-LTE) is filed as fixed line by libphonenumber, so those rows are rejected, as in
    # real lists.
    ["912", "913", "914", "915", "916", "917", "918", "919", "910", "911", "990", "991", "992", "993"] * 4
    + ["935", "936", "937", "938", "939", "930", "933", "901", "902", "903", "905", "941"] * 4
    + ["920", "921", "922", "998", "932", "934", "931", "994", "996", "999"]
)
AREA_CODES = ("21", "26", "31", "41", "51", "71", "61", "81", "13", "34")
FOREIGN = (
    "+1 650 253 0000",
    "+44 7911 123456",
    "+971 50 123 4567",
    "+90 532 123 4567",
    "+49 1512 3456789",
    "+7 912 345 6789",
)
JUNK = ("", " ", "abc", "12345", "0912345", "091234567890", "09501234567", "-", "نامعلوم", "9.12346E+09")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def mobile_form(rng: random.Random) -> str | int | float:
    nsn = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    form = rng.random()
    if form < 0.35:
        return "0" + nsn
    if form < 0.45:
        return int(nsn)
    if form < 0.50:
        return float(nsn)
    if form < 0.55:
        return nsn + ".0"
    if form < 0.62:
        return f"+98 {nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if form < 0.67:
        return "98" + nsn
    if form < 0.70:
        return "0098" + nsn
    if form < 0.80:
        return ("0" + nsn).translate(PERSIAN)
    if form < 0.84:
        return f"0{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}".translate(ARABIC)
    if form < 0.90:
        return f"۰{nsn[:3]}\u200c{nsn[3:6]}\u200c{nsn[6:]}".translate(PERSIAN)
    if form < 0.95:
        return f" 0{nsn} "
    return f"\u202b+98 (0) {nsn[:3]} {nsn[3:]}\u202c"


def make_inputs(count: int, seed: int = 1404) -> list[str | int | float]:
    rng = random.Random(seed)
    values: list[str | int | float] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.85:
            values.append(mobile_form(rng))
        elif kind < 0.93:
            area = rng.choice(AREA_CODES)
            values.append(f"0{area} {rng.randrange(10**8):08d}")
        elif kind < 0.99:
            values.append(rng.choice(JUNK))
        else:
            values.append(rng.choice(FOREIGN))
    return values


def baseline(value: str | int | float) -> bool:
    try:
        number = phonenumbers.parse(str(value), "IR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def measure(
    fn: Callable[[str | int | float], object], values: Sequence[str | int | float], repeat: int
) -> float:
    """Best rate (calls per second) over `repeat` passes, so a stray pause does not decide the ratio."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for value in values:
            fn(value)
        best = min(best, time.perf_counter() - start)
    return len(values) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="number of inputs (default 200000)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes over the inputs for our code (best wins)"
    )
    args = parser.parse_args()

    values = make_inputs(args.count)
    for value in values[:1000]:  # warm caches and phonenumbers' lazy metadata loading
        parse(value)
        baseline(value)

    parse_rate = measure(parse, values, args.repeat)
    key_rate = measure(mobile_key, values, args.repeat)
    baseline_rate = measure(baseline, values, 1)

    ours_valid = sum(parse(v).valid for v in values)
    keys = sum(mobile_key(v) is not None for v in values)
    print(f"inputs                     {len(values):>12,}")
    print(f"valid (parse)              {ours_valid:>12,}   Iranian mobile keys {keys:,}")
    print(f"payamak.numbers.parse      {parse_rate:>12,.0f} /s   {1e6 / parse_rate:6.2f} µs each")
    print(f"payamak.numbers.mobile_key {key_rate:>12,.0f} /s   {1e6 / key_rate:6.2f} µs each")
    print(f"phonenumbers parse+valid   {baseline_rate:>12,.0f} /s   {1e6 / baseline_rate:6.2f} µs each")
    print(f"ratio parse / baseline     {parse_rate / baseline_rate:>12.1f}x")
    print(f"ratio mobile_key / baseline{key_rate / baseline_rate:>12.1f}x")
    print(
        json.dumps(
            {
                "bench": "numbers",
                "rate": round(key_rate),
                "baseline_rate": round(baseline_rate),
                "ratio": round(key_rate / baseline_rate, 2),
                "parse_rate": round(parse_rate),
                "parse_ratio": round(parse_rate / baseline_rate, 2),
                "count": len(values),
            }
        )
    )


if __name__ == "__main__":
    main()
