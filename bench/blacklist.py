"""Blacklist check and load: a 50M-number national list against a Python set of the same numbers.

Builds a national list of random Iranian mobiles (uniform over every valid prefix: a real *800#
list is not sorted by anything useful either), then measures in the same run:

- memory: the bitmap's serialized size and the process RSS it takes once loaded by a
  `BlacklistCache` from a real (SQLite) database, as every API and dispatcher process loads it;
- filtering 1,000,000 recipients: given as a bitmap (as `sending.resolve` hands them over) and
  as a list of ints (building the bitmap included), against the baseline: a Python `set` of
  the same numbers and `[k for k in recipients if k in blocked]`;
- loading a national list file through the real loader (usual one-shape file, and a file of
  mixed written forms), against a plain per-line `mobile_key` loop on the same lines.

The last line printed is the JSON summary. "seconds" is the filter as sending calls it (the
recipients already a bitmap, as `sending.resolve` builds them) and "baseline_seconds" the same
question asked of sets (recipients as a set, `recipients & blocked`); "list_seconds" and
"list_baseline_seconds" are the same with recipients given as a list of ints (building the bitmap
included, against `[k for k in recipients if k in blocked]`). "peak_mb" is the RSS another
process takes to hold the loaded list.
"""

from __future__ import annotations

import os
import sys

# This folder holds a `numbers.py`, which would shadow the standard library's `numbers` (that
# `decimal`, and so SQLAlchemy, import) when this script is run by path; hence imports below it.
# ruff: noqa: E402
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]

import argparse
import gc
import json
import math
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pyroaring import BitMap

from payamak.numbers import KEY_BASE, mobile_key
from payamak.sending.blacklist import (
    Blacklist,
    keys_of,
    parse_number_file,
    replace_national,
    serialize_slabs,
    to_bitmap,
    valid_mobile_keys,
)

BLOCK = 1 << 16


def note(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Resident memory now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_list(size: int, seed: int) -> BitMap:
    """`size` distinct valid mobiles, uniform over the valid ranges.

    Drawn 65,536-key block by block so that building the bitmap never scatters inserts (that is
    the loader's problem, measured separately); exact size by topping up or trimming at the end.
    """
    rng = random.Random(seed)
    valid = valid_mobile_keys()
    space = len(valid)
    density = size / space
    draws = round(-math.log(1 - density) * BLOCK)  # expected distinct = density * BLOCK
    listed = BitMap()
    for block in range(valid.min() // BLOCK, valid.max() // BLOCK + 1):
        start = block * BLOCK
        if not valid.range_cardinality(start, start + BLOCK):
            continue
        listed |= _block(rng, draws).shift(start)
    listed &= valid
    while len(listed) < size:
        listed |= to_bitmap(
            KEY_BASE + v for v in (rng.randrange(space) for _ in range(size - len(listed))) if v in valid
        )
    if len(listed) > size:
        listed.remove_range(listed[size], listed.max() + 1)
    listed.run_optimize()
    listed.shrink_to_fit()
    return listed


def _block(rng: random.Random, draws: int) -> BitMap:
    """`draws` random values below 65,536, made in C: random 32-bit words with their high half zeroed."""
    from array import array

    raw = bytearray(rng.randbytes(4 * draws))
    zeros = bytes(draws)
    raw[2::4] = zeros
    raw[3::4] = zeros
    values = array("I")
    values.frombytes(raw)
    return BitMap(values)


def random_recipients(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    valid = valid_mobile_keys()
    seen: set[int] = set()
    out: list[int] = []
    while len(out) < count:
        value = rng.randrange(10**9)
        if value in valid and value not in seen:  # distinct, as a send's recipients are
            seen.add(value)
            out.append(KEY_BASE + value)
    return out


def best_of(repeat: int, fn: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure_load(listed: BitMap, lines: int, folder: Path, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    values = listed.to_array()  # indexing a bitmap is a scan over its containers; an array is not
    sample = [KEY_BASE + values[rng.randrange(len(values))] for _ in range(lines)]
    del values
    usual = folder / "usual.txt"
    usual.write_text("\n".join("0" + str(k) for k in sample) + "\n")
    start = time.perf_counter()
    parsed = parse_number_file(usual)
    usual_seconds = time.perf_counter() - start
    assert parsed.valid == lines and parsed.invalid == 0

    # Mixed written forms, as a list pasted together from several sources: the line-by-line path.
    persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    forms = (
        lambda n: "0" + n,
        lambda n: n,
        lambda n: "+98 " + n[:3] + " " + n[3:6] + " " + n[6:],
        lambda n: ("0" + n).translate(persian),
        lambda n: "98" + n,
        lambda n: f"0{n[:3]}-{n[3:6]}-{n[6:]}",
    )
    mixed_count = min(lines, 1_000_000)
    mixed_lines = [forms[i % len(forms)](str(k)) for i, k in enumerate(sample[:mixed_count])]
    mixed = folder / "mixed.txt"
    mixed.write_text("\n".join(mixed_lines) + "\n")
    start = time.perf_counter()
    parsed_mixed = parse_number_file(mixed)
    mixed_seconds = time.perf_counter() - start
    assert parsed_mixed.valid == mixed_count

    # The per-line loop the loader would be without its block path, on the same usual lines.
    naive_count = min(lines, 1_000_000)
    start = time.perf_counter()
    with open(usual, encoding="utf-8") as f:
        naive = BitMap()
        for _, line in zip(range(naive_count), f, strict=False):
            key = mobile_key(line)
            if key is not None:
                naive.add(key - KEY_BASE)
    naive_seconds = time.perf_counter() - start
    return {
        "usual_rate": lines / usual_seconds,
        "usual_seconds": usual_seconds,
        "mixed_rate": mixed_count / mixed_seconds,
        "naive_rate": naive_count / naive_seconds,
        "file_mb": usual.stat().st_size / 2**20,
    }


# Run in a fresh interpreter: what one more API or dispatcher process pays to get the list.
_OTHER_PROCESS = """
import gc, json, os, sys, time
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
from payamak.db import Database
from payamak.sending.blacklist import BlacklistCache, valid_mobile_keys
valid_mobile_keys()
db = Database(sys.argv[1])
with db.transaction(readonly=True) as session:
    session.execute(__import__("sqlalchemy").text("SELECT 1"))
gc.collect()
before = rss()
start = time.perf_counter()
cache = BlacklistCache()
with db.transaction(readonly=True) as session:
    listed = cache.get(session)
seconds = time.perf_counter() - start
gc.collect()
held = rss() - before
start = time.perf_counter()
for _ in range(1000):
    with db.transaction(readonly=True) as session:
        cache.get(session)
check = (time.perf_counter() - start) / 1000
print(json.dumps({"size": len(listed), "seconds": seconds, "rss_mb": held, "check_ms": check * 1000}))
"""


def measure_cache(listed: BitMap, folder: Path) -> dict[str, float]:
    from payamak.db import Database, upgrade

    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    start = time.perf_counter()
    with db.transaction() as session:
        snap = replace_national(session, numbers=listed, source="bench")
    store_seconds = time.perf_counter() - start
    chunks = snap.chunks
    db.dispose()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, url], capture_output=True, text=True, check=True, env=env
    )
    other = json.loads(out.stdout.strip().splitlines()[-1])
    assert other["size"] == len(listed)
    return {
        "store_seconds": store_seconds,
        "cache_load_seconds": other["seconds"],
        "cache_rss_mb": other["rss_mb"],
        "chunks": chunks,
        "version_check_ms": other["check_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--list-size", type=int, default=50_000_000, help="numbers on the national list")
    parser.add_argument("--recipients", type=int, default=1_000_000, help="recipients of the send")
    parser.add_argument("--load-size", type=int, default=5_000_000, help="lines in the file loaded (0: skip)")
    parser.add_argument("--repeat", type=int, default=5, help="passes per measurement (best wins)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the Python set (needs ~4 GB at 50M)")
    parser.add_argument("--seed", type=int, default=1404)
    args = parser.parse_args()
    note(f"python {sys.version.split()[0]}; building a list of {args.list_size:,} numbers")

    valid_mobile_keys()
    gc.collect()
    rss_before = rss_mb()
    start = time.perf_counter()
    listed = random_list(args.list_size, args.seed)
    build_seconds = time.perf_counter() - start
    gc.collect()
    bitmap_rss = rss_mb() - rss_before
    stats = listed.get_statistics()
    container_mb = (
        stats["n_bytes_array_containers"]
        + stats["n_bytes_bitset_containers"]
        + stats["n_bytes_run_containers"]
    ) / 2**20
    serialized_mb = sum(len(piece) for piece in serialize_slabs(listed)) / 2**20

    note("list built; filtering recipients")
    recipients = random_recipients(args.recipients, args.seed + 1)
    recipients_bitmap = to_bitmap(recipients)
    blacklist = Blacklist(national=listed, version=1)
    bitmap_seconds, blocked = best_of(args.repeat, lambda: blacklist.filter_blocked(recipients_bitmap))
    list_seconds, blocked_from_list = best_of(
        args.repeat, lambda: blacklist.filter_blocked(to_bitmap(recipients))
    )
    assert blocked == blocked_from_list
    contains_seconds, _ = best_of(1, lambda: sum(1 for k in recipients if blacklist.contains(k)))
    recipients_set = set(recipients)

    with tempfile.TemporaryDirectory(prefix="payamak-bench-") as tmp:
        folder = Path(tmp)
        note("storing the list in SQLite and loading it as a process would")
        cache = measure_cache(listed, folder)
        note("loading list files")
        load = measure_load(listed, args.load_size, folder, args.seed + 2) if args.load_size else {}

    baseline_seconds = set_and_seconds = float("nan")
    set_mb = float("nan")
    if not args.no_baseline:
        note("baseline: a set of the same numbers")
        gc.collect()
        before = rss_mb()
        national_set = set(keys_of(listed))
        set_mb = rss_mb() - before
        baseline_seconds, baseline_blocked = best_of(
            args.repeat, lambda: [k for k in recipients if k in national_set]
        )
        set_and_seconds, set_blocked = best_of(args.repeat, lambda: recipients_set & national_set)
        assert len(baseline_blocked) == len(blocked) == len(set_blocked)
        del national_set, baseline_blocked, set_blocked
        gc.collect()

    print(f"national list              {len(listed):>14,} numbers (built in {build_seconds:.1f} s)")
    print(
        f"bitmap memory              {container_mb:>14.1f} MB in containers, {serialized_mb:.1f} MB serialized,"
        f" {bitmap_rss:.1f} MB RSS when built"
    )
    print(
        f"loaded by another process  {cache['cache_rss_mb']:>14.1f} MB RSS, {cache['cache_load_seconds']:.2f} s"
        f" from {cache['chunks']} chunks (stored in {cache['store_seconds']:.2f} s, SQLite)"
    )
    print(f"version check (no change)  {cache['version_check_ms']:>14.3f} ms per get()")
    print(f"recipients                 {len(recipients):>14,} ({len(blocked):,} blocked)")
    print(f"filter, bitmap given       {bitmap_seconds * 1000:>14.2f} ms")
    print(f"filter, list of ints given {list_seconds * 1000:>14.2f} ms (bitmap built from the list included)")
    print(f"contains() per recipient   {contains_seconds * 1000:>14.2f} ms for all")
    if not args.no_baseline:
        print(
            f"baseline: set of ints      {baseline_seconds * 1000:>14.2f} ms ({set_mb:,.0f} MB RSS for the set)"
        )
        print(f"baseline: set & set        {set_and_seconds * 1000:>14.2f} ms (recipients given as a set)")
        print(f"ratio list / set           {list_seconds / baseline_seconds:>14.3f}")
        print(f"ratio bitmap / set & set   {bitmap_seconds / set_and_seconds:>14.3f}")
    if load:
        print(
            f"load, one shape            {load['usual_rate']:>14,.0f} lines/s ({args.load_size:,} lines,"
            f" {load['file_mb']:.0f} MB, {load['usual_seconds']:.1f} s;"
            f" 50M lines ≈ {50_000_000 / load['usual_rate']:.0f} s)"
        )
        print(f"load, mixed forms          {load['mixed_rate']:>14,.0f} lines/s (line by line)")
        print(f"per-line mobile_key loop   {load['naive_rate']:>14,.0f} lines/s (baseline for the load)")
    summary = {
        "bench": "blacklist",
        "seconds": round(bitmap_seconds, 5),
        "baseline_seconds": round(set_and_seconds, 5),
        "ratio": round(bitmap_seconds / set_and_seconds, 4),
        "list_seconds": round(list_seconds, 5),
        "list_baseline_seconds": round(baseline_seconds, 5),
        "list_ratio": round(list_seconds / baseline_seconds, 4),
        "peak_mb": round(cache["cache_rss_mb"], 1),
        "bitmap_mb": round(container_mb, 1),
        "serialized_mb": round(serialized_mb, 1),
        "set_mb": round(set_mb, 1),
        "list_size": len(listed),
        "recipients": len(recipients),
        "blocked": len(blocked),
    }
    if load:
        summary["load_rate"] = round(load["usual_rate"])
        summary["load_mixed_rate"] = round(load["mixed_rate"])
        summary["load_baseline_rate"] = round(load["naive_rate"])
        summary["load_lines"] = args.load_size
    # NaN is not JSON: a measurement that was skipped is null.
    print(json.dumps({k: None if isinstance(v, float) and math.isnan(v) else v for k, v in summary.items()}))


if __name__ == "__main__":
    main()
