"""The blacklist: numbers advertising SMS must skip, held in memory as compressed bitmaps.

Three lists make it up: `national` (the *800# list the admin loads, tens of millions of numbers),
`operator` (numbers an operator reported as blacklisted in a delivery receipt) and `manual` (added
and removed by the admin). Every number is a mobile key, and in bitmaps `key - KEY_BASE`, which
fits in 32 bits (see `payamak.numbers.mobile_key`); foreign numbers cannot be on these lists.

Sharing between processes: the national list lives in the database as one serialized roaring
bitmap cut into key-range slabs (`blacklist_snapshot_chunks`), the other two as rows
(`blacklist_entries`), and one row (`blacklist_state`) carries a version that every change moves
on. `BlacklistCache.get(session)` reads that row (one primary-key lookup) and reloads only when
the version moved: the national bitmap only when a new snapshot came into force, the other lists
by applying just the rows changed since the version it holds. Checking a million recipients is
then one bitmap intersection (about 10 ms) against a list held in about a byte a number (50
million random mobiles: 44 MB; at most 2 bytes a number however sparse the list).

Loading the national list streams the file in blocks. Blocks whose lines all have one of the
usual ASCII shapes (9…, 09…, 989…, +989…, 0989…, 00989…) take a path that never looks at a line
in Python: column slices check the prefix, the nine digits after the leading 9 are parsed by
`int` over a split, and validity is one bitmap subset test against every valid mobile number.
Any other block (Persian digits, separators, junk) goes line by line through `mobile_key`.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import io
import itertools
import logging
import operator
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Final, Literal

from pyroaring import BitMap, FrozenBitMap
from sqlalchemy.orm import Session

from payamak.config import Settings
from payamak.db import Database, utcnow
from payamak.errors import Conflict, DomainError, NotFound, ValidationFailed
from payamak.numbers import KEY_BASE, key_to_e164, mobile_key, parse
from payamak.numbers.iran import KEY_END, MOBILE_LENGTH, is_mobile_nsn
from payamak.sending import blacklist_repository as repo
from payamak.sending.blacklist_models import ENTRY_KINDS, BlacklistLoad, BlacklistSnapshot

log = logging.getLogger(__name__)

Kind = Literal["national", "operator", "manual"]
KINDS: Final[tuple[Kind, ...]] = ("national", "operator", "manual")

NOT_IRANIAN_MOBILE: Final = "not_iranian_mobile"
"""Reason for a valid number that is not an Iranian mobile: the lists hold only those."""


# --- keys -----------------------------------------------------------------------------------


def to_bitmap(keys: Iterable[int]) -> BitMap:
    """Mobile keys (9123456789) as a bitmap of `key - KEY_BASE`. OverflowError for a non-mobile key."""
    return BitMap(array("I", map(operator.sub, keys, itertools.repeat(KEY_BASE))))


def keys_of(bitmap: Iterable[int]) -> Iterator[int]:
    """The mobile keys of a bitmap made by `to_bitmap`."""
    return (KEY_BASE + value for value in bitmap)


# Validity of an Iranian mobile is settled by its first few digits in libphonenumber's patterns;
# probes of the remaining digits confirm that a prefix is settled before its whole range is taken.
_SETTLED_DIGITS: Final = 5
_PROBES: Final = tuple(d * MOBILE_LENGTH for d in "0123456789") + tuple(
    f"{random.Random(seed).randrange(10**MOBILE_LENGTH):0{MOBILE_LENGTH}d}" for seed in range(8)
)


@functools.cache
def valid_mobile_keys() -> FrozenBitMap:
    """Every valid Iranian mobile as a bitmap key: a few hundred ranges, a few kilobytes.

    Built once per process from `is_mobile_nsn`, so it follows the installed phonenumbers data;
    a prefix whose probes disagree is split digit by digit, down to single numbers if need be.
    """
    valid = BitMap()

    def visit(prefix: str) -> None:
        rest = MOBILE_LENGTH - len(prefix)
        if rest == 0:
            if is_mobile_nsn(prefix):
                valid.add(int(prefix) - KEY_BASE)
            return
        if len(prefix) >= _SETTLED_DIGITS:
            verdicts = {bool(is_mobile_nsn(prefix + probe[:rest])) for probe in _PROBES}
            if len(verdicts) == 1:
                if verdicts.pop():
                    start = int(prefix) * 10**rest - KEY_BASE
                    valid.add_range(start, start + 10**rest)
                return
        for digit in "0123456789":
            visit(prefix + digit)

    visit("9")
    valid.run_optimize()
    return FrozenBitMap(valid)


# --- the in-memory list ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Blacklist:
    """One consistent view of the three lists. Never changed once made: a newer one replaces it."""

    national: BitMap = field(default_factory=BitMap)
    operator: BitMap = field(default_factory=BitMap)
    manual: BitMap = field(default_factory=BitMap)
    version: int = 0
    epoch: str = ""
    national_snapshot_id: int | None = None
    # The operator and manual lists together: small, so kept as a union; the national list is
    # never copied into a union with them (that would double the memory for nothing).
    _extra: BitMap = field(init=False, repr=False)
    _size: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        extra = self.operator | self.manual
        object.__setattr__(self, "_extra", extra)
        size = len(self.national) + len(extra) - self.national.intersection_cardinality(extra)
        object.__setattr__(self, "_size", size)

    def __len__(self) -> int:
        """Distinct numbers on any list."""
        return self._size

    def contains(self, key: int) -> bool:
        """Whether a mobile key (9123456789, as `mobile_key` gives) is on any list."""
        if not KEY_BASE <= key < KEY_END:
            return False
        value = key - KEY_BASE
        return value in self.national or value in self._extra

    __contains__ = contains

    def kinds(self, key: int) -> list[Kind]:
        """Which lists hold a mobile key, in the order national, operator, manual."""
        if not KEY_BASE <= key < KEY_END:
            return []
        value = key - KEY_BASE
        found: list[Kind] = []
        if value in self.national:
            found.append("national")
        if value in self.operator:
            found.append("operator")
        if value in self.manual:
            found.append("manual")
        return found

    def filter_blocked(self, keys: BitMap) -> BitMap:
        """The recipients (a bitmap of `key - KEY_BASE`) that are on any list."""
        blocked = keys & self.national
        if self._extra:
            blocked |= keys & self._extra
        return blocked

    def allowed(self, keys: BitMap) -> BitMap:
        """The recipients that are on no list."""
        return keys - self.national - self._extra if self._extra else keys - self.national

    def counts(self) -> dict[Kind, int]:
        return {"national": len(self.national), "operator": len(self.operator), "manual": len(self.manual)}


# --- national snapshots in the database -----------------------------------------------------

SLAB_BITS: Final = 24
"""Each stored chunk holds the keys of one 2**24 range: at most 2 MB serialized, 60 for all mobiles."""


def serialize_slabs(bitmap: BitMap) -> Iterator[bytes]:
    """The bitmap as serialized pieces by key range, skipping empty ranges."""
    if not bitmap:
        return
    span = 1 << SLAB_BITS
    for slab in range(bitmap.min() >> SLAB_BITS, (bitmap.max() >> SLAB_BITS) + 1):
        start = slab << SLAB_BITS
        if not bitmap.range_cardinality(start, start + span):
            continue
        part = bitmap & BitMap(range(start, start + span))
        part.run_optimize()
        yield part.serialize()


def deserialize_slabs(pieces: Iterable[bytes]) -> BitMap:
    # Slabs are disjoint and come in key order, so each OR appends containers: memory stays at
    # the bitmap plus one piece, never two whole copies.
    bitmap = BitMap()
    for data in pieces:
        bitmap |= BitMap.deserialize(data)
    bitmap.shrink_to_fit()
    return bitmap


class SnapshotChanged(Exception):
    """The snapshot was replaced and deleted while being read; reading the state again fixes it."""


def _read_national(session: Session, snapshot_id: int) -> BitMap:
    snap = repo.snapshot(session, snapshot_id)
    if snap is None:
        raise SnapshotChanged(snapshot_id)

    def pieces() -> Iterator[bytes]:
        for seq in range(snap.chunks):
            data = repo.chunk(session, snapshot_id=snapshot_id, seq=seq)
            if data is None:
                raise SnapshotChanged(snapshot_id)
            yield data

    bitmap = deserialize_slabs(pieces())
    # On PostgreSQL each statement of a READ COMMITTED transaction sees the latest commit, so a
    # snapshot replaced (and its chunks deleted) mid-read shows up as missing pieces.
    if len(bitmap) != snap.numbers:
        raise SnapshotChanged(snapshot_id)
    return bitmap


class BlacklistCache:
    """A process's copy of the blacklist, reloaded when the database's version moves.

    `BlacklistCache.shared()` is the one the API, the dispatcher and the CLI use; tests make
    their own to act as separate processes. Safe to share between threads.
    """

    _shared: ClassVar[BlacklistCache | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._current = Blacklist()
        self._loaded = False
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> BlacklistCache:
        if cls._shared is None:
            with cls._shared_lock:
                if cls._shared is None:
                    cls._shared = cls()
        return cls._shared

    def get(self, session: Session, *, max_age: float = 0.0) -> Blacklist:
        """The blacklist as of the database's current version.

        The version check is one primary-key read; with `max_age` seconds given, a copy checked
        that recently is returned without even that (for loops that check many times a second).
        """
        now = time.monotonic()
        current = self._current
        if self._loaded and max_age > 0 and now - self._checked_at < max_age:
            return current
        state = repo.state(session)
        if self._loaded and _same(current, state):
            self._checked_at = now
            return current
        with self._lock:
            current = self._current
            state = repo.state(session)
            if not (self._loaded and _same(current, state)):
                current = self._reload(session, current, state)
                self._current = current
                self._loaded = True
            self._checked_at = time.monotonic()
            return current

    def invalidate(self) -> None:
        """Forget the copy: the next `get` reads the state and reloads what changed."""
        self._checked_at = 0.0

    def _reload(self, session: Session, current: Blacklist, state: repo.State | None) -> Blacklist:
        for _ in range(5):
            if state is None:
                return Blacklist()
            try:
                return _refreshed(session, current if self._loaded else None, state)
            except SnapshotChanged:
                state = repo.state(session)
        raise RuntimeError("the national blacklist kept changing while it was being read")


def _same(blacklist: Blacklist, state: repo.State | None) -> bool:
    if state is None:
        return blacklist.version == 0 and blacklist.epoch == ""
    return blacklist.epoch == state.epoch and blacklist.version == state.version


def _refreshed(session: Session, current: Blacklist | None, state: repo.State) -> Blacklist:
    same_epoch = current is not None and current.epoch == state.epoch
    if current is not None and same_epoch and current.national_snapshot_id == state.national_snapshot_id:
        national = current.national
    elif state.national_snapshot_id is None:
        national = BitMap()
    else:
        national = _read_national(session, state.national_snapshot_id)

    lists: dict[str, BitMap]
    if current is not None and same_epoch:
        lists = {"operator": current.operator.copy(), "manual": current.manual.copy()}
        for kind, key, listed in repo.entries_changed_after(session, version=current.version):
            if listed:
                lists[kind].add(key - KEY_BASE)
            else:
                lists[kind].discard(key - KEY_BASE)
    else:
        values: dict[str, array[int]] = {kind: array("I") for kind in ENTRY_KINDS}
        for kind, key in repo.active_entry_keys(session):
            values[kind].append(key - KEY_BASE)
        lists = {kind: BitMap(values[kind]) for kind in ENTRY_KINDS}
    return Blacklist(
        national=national,
        operator=lists["operator"],
        manual=lists["manual"],
        version=state.version,
        epoch=state.epoch,
        national_snapshot_id=state.national_snapshot_id,
    )


# --- reading a list of numbers from a file ---------------------------------------------------

BLOCK_BYTES: Final = 4 << 20
MERGE_EVERY: Final = 4_000_000
SAMPLE_LIMIT: Final = 20
MAX_INVALID_SHARE: Final = 0.5
"""A file with more invalid lines than this share of its non-blank lines is refused: wrong file."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    line: int  # 1-based
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "value": self.value, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class LoadProgress:
    bytes_read: int
    bytes_total: int | None
    lines: int
    invalid: int


@dataclass
class ParsedList:
    """What a file held: the distinct numbers as a bitmap, and counts of every kind of line."""

    numbers: BitMap
    lines: int = 0
    blank: int = 0
    valid: int = 0
    invalid: int = 0
    invalid_samples: list[InvalidLine] = field(default_factory=list)
    bytes_read: int = 0

    @property
    def duplicates(self) -> int:
        return self.valid - len(self.numbers)


# The usual shapes by line width: per prefix column, the bytes allowed there. The nine digits after
# the national number's leading 9 are always the last nine of the line.
_SHAPES: Final[dict[int, tuple[bytes, ...]]] = {
    10: (b"9",),  # 9123456789
    11: (b"0", b"9"),  # 09123456789
    12: (b"9", b"8", b"9"),  # 989123456789
    13: (b"+0", b"9", b"8", b"9"),  # +989123456789, 0989123456789
    14: (b"0", b"0", b"9", b"8", b"9"),  # 00989123456789
}
_DIGITS: Final = b"0123456789"
_DIGIT_VALUES: Final = bytes.maketrans(_DIGITS, bytes(range(10)))
_BLANK: Final = " \t\r\f\v\u200c\u200d\u200e\u200f\u2060\ufeff\xa0"
_UTF8_BOM: Final = b"\xef\xbb\xbf"


if array("I").itemsize != 4:  # pragma: no cover - every platform CPython supports today
    raise ImportError("the blacklist loader needs a 4-byte array('I')")


class _Parser:
    def __init__(self) -> None:
        self.result = ParsedList(numbers=BitMap())
        self._pending: list[BitMap] = []
        self._pending_size = 0
        self._valid = valid_mobile_keys()

    def feed(self, block: bytes) -> None:
        """A block of whole lines, ending with a newline."""
        count = block.count(b"\n")
        values = self._uniform(block, count)
        if values is not None:
            part = BitMap(values)
            if part.issubset(self._valid):
                self._add(part, count)
                self.result.lines += count
                return
        part, valid = self._by_line(block)
        self._add(part, valid)
        self.result.lines += count

    def finish(self) -> ParsedList:
        self._merge()
        numbers = self.result.numbers
        numbers.run_optimize()
        numbers.shrink_to_fit()
        return self.result

    def _add(self, part: BitMap, valid: int) -> None:
        self.result.valid += valid
        self._pending.append(part)
        self._pending_size += len(part)
        # Folding every block into the big bitmap would rewrite its containers each time; folding
        # a few million numbers at once keeps the cost near one pass over the list.
        if self._pending_size >= MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if self._pending:
            self.result.numbers |= BitMap.union(*self._pending)
            self._pending = []
            self._pending_size = 0

    @staticmethod
    def _uniform(block: bytes, count: int) -> array[int] | None:
        """The bitmap values of a block whose lines all have one usual shape and width, else None."""
        width = block.find(b"\n")
        stride = width + 1
        # Every newline at a multiple of the first line's width, and nothing after the last: every
        # line has that width.
        if width < 10 or len(block) != count * stride or block[width::stride].count(b"\n") != count:
            return None
        digits = width
        if block[width - 1] == 0x0D:
            if block[width - 1 :: stride].count(b"\r") != count:
                return None
            digits -= 1
        shape = _SHAPES.get(digits)
        if shape is None:
            return None
        for column, allowed in enumerate(shape):
            if block[column::stride].translate(None, allowed):
                return None
        # The nine digits become ints without a Python object per line: one big int holds a
        # 32-bit lane per line, and Horner's rule (x10, + next digit column) runs over all lanes
        # at once. A lane never exceeds 999,999,999 < 2**32, so no carry crosses into the next.
        lane = bytearray(4 * count)
        total = 0
        for column in range(digits - 9, digits):
            digit_bytes = block[column::stride]
            if digit_bytes.translate(None, _DIGITS):
                return None
            lane[0::4] = digit_bytes.translate(_DIGIT_VALUES)
            total = total * 10 + int.from_bytes(lane, "little")
        values = array("I")
        values.frombytes(total.to_bytes(4 * count, "little"))
        if sys.byteorder == "big":
            values.byteswap()
        return values

    def _by_line(self, block: bytes) -> tuple[BitMap, int]:
        result = self.result
        base = result.lines
        values = array("I")
        append = values.append
        text = block.decode("utf-8", errors="replace")
        lines = text.split("\n")
        lines.pop()  # after the block's final newline
        for index, line in enumerate(lines):
            key = mobile_key(line)
            if key is not None:
                append(key - KEY_BASE)
            elif not line.strip(_BLANK):
                result.blank += 1
            else:
                result.invalid += 1
                if len(result.invalid_samples) < SAMPLE_LIMIT:
                    value = line.strip(_BLANK)
                    result.invalid_samples.append(
                        InvalidLine(line=base + index + 1, value=value[:100], reason=_reason(value))
                    )
        return BitMap(values), len(values)


class _Utf16AsUtf8:
    """A UTF-16 text file (Excel's "Unicode text") read as UTF-8 bytes, so one parser serves both."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._text = io.TextIOWrapper(raw, encoding="utf-16", errors="replace", newline="")

    def read(self, size: int) -> bytes:
        return self._text.read(size // 2).encode("utf-8")


def parse_number_file(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[LoadProgress], None] | None = None,
) -> ParsedList:
    """Read a list of numbers, one a line in any written form, plain or gzip, UTF-8 or UTF-16.

    Streams the file in blocks of a few MB; memory is the bitmap plus a block. Blank lines are
    skipped; invalid lines are counted, the first few kept with their line numbers.
    """
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after the stream wrapping it
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    with raw:
        total = os.fstat(raw.fileno()).st_size
        head = raw.read(4)
        raw.seek(0)
        stream: Any = raw
        if head[:2] == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
            head = stream.peek(4)[:4]
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            stream = _Utf16AsUtf8(stream)
        parser = _Parser()
        carry = b""
        first = True
        try:
            while True:
                block = stream.read(BLOCK_BYTES)
                if not block:
                    break
                if first:
                    block = block.removeprefix(_UTF8_BOM)
                    first = False
                block = carry + block
                cut = block.rfind(b"\n") + 1
                carry = block[cut:]
                if cut:
                    parser.feed(block[:cut])
                elif len(carry) > BLOCK_BYTES:
                    # Megabytes without a newline: not a list of numbers. Cut it into lines so
                    # memory stays bounded; they count as invalid and the file gets refused.
                    parser.feed(carry + b"\n")
                    carry = b""
                if progress is not None:
                    progress(LoadProgress(raw.tell(), total, parser.result.lines, parser.result.invalid))
            if carry:
                parser.feed(carry + b"\n")
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(path, exc) from exc
        result = parser.finish()
        result.bytes_read = total
        if progress is not None:
            progress(LoadProgress(total, total, result.lines, result.invalid))
        return result


def _unreadable(path: str | os.PathLike[str], exc: BaseException) -> ValidationFailed:
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
    name = os.fspath(path)
    return ValidationFailed(
        f"پرونده «{name}» خوانده نشد: {why}",
        f"Cannot read the file {name}: {why}",
        code="file_unreadable",
    )


def check_parsed(parsed: ParsedList) -> None:
    """Refuse a file that is most likely not a list of numbers (or an empty one)."""
    if parsed.valid == 0:
        raise ValidationFailed(
            "در پرونده هیچ شمارهٔ همراه درستی نیست.",
            "The file has no valid mobile number.",
            code="blacklist_file_empty",
            lines=parsed.lines,
            invalid=parsed.invalid,
            invalid_samples=[s.as_dict() for s in parsed.invalid_samples],
        )
    if parsed.invalid > (parsed.valid + parsed.invalid) * MAX_INVALID_SHARE:
        raise ValidationFailed(
            f"بیشتر سطرهای پرونده ({parsed.invalid} از {parsed.valid + parsed.invalid}) شمارهٔ همراه درستی"
            " نیستند؛ احتمالاً پرونده اشتباه است. فهرست پیشین همچنان برقرار است.",
            f"Most lines of the file ({parsed.invalid} of {parsed.valid + parsed.invalid}) are not valid"
            " mobile numbers; it is probably the wrong file. The previous list stays in force.",
            code="blacklist_file_rejected",
            lines=parsed.lines,
            invalid=parsed.invalid,
            invalid_samples=[s.as_dict() for s in parsed.invalid_samples],
        )


# --- services -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvalidNumber:
    row: int  # 1-based position in the given list
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int
    already: int
    invalid: list[InvalidNumber]


@dataclass(frozen=True, slots=True)
class RemoveResult:
    removed: int  # numbers taken off the manual or operator list
    not_listed: int  # numbers that were on neither (nor on the national list)
    still_national: list[str]  # E.164 of numbers that stay blocked because the national list has them
    invalid: list[InvalidNumber]


@dataclass(frozen=True, slots=True)
class EntryInfo:
    kind: str
    reason: str
    added_at: dt.datetime
    added_by: int | None


@dataclass(frozen=True, slots=True)
class NumberCheck:
    input: str
    e164: str
    blocked: bool
    kinds: list[str]
    entries: list[EntryInfo]
    version: int


@dataclass(frozen=True, slots=True)
class Summary:
    version: int
    counts: dict[str, int]
    national: BlacklistSnapshot | None
    last_load: BlacklistLoad | None


def _reason(value: str | int) -> str:
    info = parse(value)
    return NOT_IRANIAN_MOBILE if info.valid else (info.reason or "invalid")


def _keys(values: Iterable[str | int]) -> tuple[list[int], list[InvalidNumber]]:
    keys: dict[int, None] = {}
    invalid: list[InvalidNumber] = []
    for row, value in enumerate(values, start=1):
        key = mobile_key(value)
        if key is None:
            invalid.append(InvalidNumber(row=row, value=str(value), reason=_reason(value)))
        else:
            keys[key] = None
    return list(keys), invalid


def _put_on_list(session: Session, *, kind: str, keys: Sequence[int], by: int | None, reason: str) -> int:
    listed = {key for _, key in repo.active_entries_for(session, keys=keys, kinds=(kind,))}
    if len(listed) == len(keys):
        # Nothing new: no version bump, so a dispatcher reporting the same numbers again and again
        # makes no process reload anything.
        return 0
    version = repo.bump_version(session)
    # Read again under the state row's lock: a writer that committed in between is seen now.
    listed = {key for _, key in repo.active_entries_for(session, keys=keys, kinds=(kind,))}
    new = [key for key in keys if key not in listed]
    repo.upsert_entries(
        session, kind=kind, keys=new, version=version, now=utcnow(), added_by=by, reason=reason[:200]
    )
    return len(new)


def add_numbers(
    session: Session, *, numbers: Iterable[str | int], added_by: int | None = None, reason: str = ""
) -> AddResult:
    """Put numbers on the manual list. Invalid ones are reported and skipped, the rest added."""
    keys, invalid = _keys(numbers)
    added = _put_on_list(session, kind="manual", keys=keys, by=added_by, reason=reason) if keys else 0
    return AddResult(added=added, already=len(keys) - added, invalid=invalid)


def record_operator_blocked(session: Session, *, numbers: Iterable[int | str]) -> int:
    """Remember numbers a receipt said the operator blocked as blacklisted; returns how many are new.

    For the dispatcher, once per batch of receipts: `numbers` are mobile keys (9123456789) or any
    written form (E.164). Anything that is not an Iranian mobile is ignored.
    """
    keys, _ = _keys(numbers)
    if not keys:
        return 0
    return _put_on_list(session, kind="operator", keys=keys, by=None, reason="operator receipt")


def remove_numbers(
    session: Session,
    *,
    numbers: Iterable[str | int],
    removed_by: int | None = None,
    cache: BlacklistCache | None = None,
) -> RemoveResult:
    """Take numbers off the manual and operator lists. The national list only changes by a new load."""
    keys, invalid = _keys(numbers)
    listed = {key for _, key in repo.active_entries_for(session, keys=keys, kinds=ENTRY_KINDS)}
    if listed:
        version = repo.bump_version(session)
        repo.remove_entries(
            session,
            keys=sorted(listed),
            kinds=ENTRY_KINDS,
            version=version,
            now=utcnow(),
            removed_by=removed_by,
        )
    national = (cache or BlacklistCache.shared()).get(session).national
    still = [key_to_e164(key) for key in keys if key - KEY_BASE in national]
    not_listed = sum(1 for key in keys if key not in listed and key - KEY_BASE not in national)
    return RemoveResult(removed=len(listed), not_listed=not_listed, still_national=still, invalid=invalid)


def check_number(session: Session, *, number: str | int, cache: BlacklistCache | None = None) -> NumberCheck:
    """Whether a number is blocked for advertising SMS, and by which lists."""
    key = mobile_key(number)
    if key is None:
        info = parse(number)
        if info.valid and info.e164:
            # A foreign number can be on none of the lists.
            blacklist = (cache or BlacklistCache.shared()).get(session)
            return NumberCheck(str(number), info.e164, False, [], [], blacklist.version)
        raise invalid_number(number, info.reason or "invalid")
    blacklist = (cache or BlacklistCache.shared()).get(session)
    entries = [
        EntryInfo(kind=e.kind, reason=e.reason, added_at=e.added_at, added_by=e.added_by)
        for e in repo.entries_of(session, key=key)
        if e.removed_at is None
    ]
    kinds = (["national"] if key - KEY_BASE in blacklist.national else []) + [e.kind for e in entries]
    return NumberCheck(str(number), key_to_e164(key), bool(kinds), kinds, entries, blacklist.version)


def invalid_number(value: object, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"«{value}» شمارهٔ همراه درستی نیست.",
        f"{value!r} is not a valid mobile number.",
        code="invalid_number",
        reason=reason,
    )


def summary(session: Session) -> Summary:
    """Counts by list, the version, and the national snapshot in force."""
    state = repo.state(session)
    national = (
        repo.snapshot(session, state.national_snapshot_id)
        if state is not None and state.national_snapshot_id is not None
        else None
    )
    counts: dict[str, int] = dict.fromkeys(KINDS, 0)
    counts.update(repo.entry_counts(session))
    counts["national"] = national.numbers if national is not None else 0
    return Summary(
        version=state.version if state else 0,
        counts=counts,
        national=national,
        last_load=repo.latest_load(session),
    )


# --- loading the national list --------------------------------------------------------------

LOAD_STALE_AFTER: Final = dt.timedelta(minutes=10)
"""A running load not heard from for this long died with its process."""
PROGRESS_EVERY: Final = 1.0


def load_status_of(load: BlacklistLoad, *, now: dt.datetime | None = None) -> str:
    if load.status == "running" and (now or utcnow()) - load.updated_at > LOAD_STALE_AFTER:
        return "failed"
    return load.status


def begin_national_load(
    session: Session, *, source: str, size: int | None = None, created_by: int | None = None
) -> BlacklistLoad:
    """Record a load about to start; refused while another one is running."""
    if repo.running_loads_since(session, since=utcnow() - LOAD_STALE_AFTER):
        raise Conflict(
            "بارگذاری دیگری از فهرست سیاه ملی در جریان است؛ پس از پایان آن دوباره بفرستید.",
            "Another national blacklist load is running; try again when it has finished.",
            code="blacklist_load_running",
        )
    load = BlacklistLoad(
        status="running", source=source[:255], bytes_total=size, created_by=created_by, invalid_samples=[]
    )
    repo.add(session, load)
    return load


def load_status(session: Session, *, load_id: int) -> BlacklistLoad:
    load = repo.load_by_id(session, load_id)
    if load is None:
        raise NotFound("چنین بارگذاری‌ای نیست.", "No such load.", code="blacklist_load_not_found")
    return load


def replace_national(
    session: Session,
    *,
    numbers: BitMap,
    source: str = "",
    lines: int = 0,
    invalid: int = 0,
    created_by: int | None = None,
) -> BlacklistSnapshot:
    """Store a new national list and put it in force, in the caller's transaction.

    Until that transaction commits every process keeps using the previous list; the one before
    the previous is deleted (the previous stays, for processes still reading it).
    """
    previous = repo.state(session)
    snap = BlacklistSnapshot(
        numbers=len(numbers),
        chunks=0,
        size_bytes=0,
        lines=lines,
        invalid=invalid,
        source=source[:255],
        created_by=created_by,
    )
    repo.add(session, snap)
    for seq, data in enumerate(serialize_slabs(numbers)):
        repo.add_chunk(session, snapshot_id=snap.id, seq=seq, data=data)
        snap.chunks = seq + 1
        snap.size_bytes += len(data)
    snap.version = repo.bump_version(session, national_snapshot_id=snap.id)
    keep = {snap.id}
    if previous is not None and previous.national_snapshot_id is not None:
        keep.add(previous.national_snapshot_id)
    repo.delete_snapshots_except(session, keep=keep)
    session.flush()
    return snap


def run_national_load(
    db: Database,
    *,
    load_id: int,
    path: str | os.PathLike[str],
    progress: Callable[[LoadProgress], None] | None = None,
) -> BlacklistLoad:
    """Parse the file, and if it looks right make it the national list; the load row tells how it went.

    Owns its units of work, like a CLI command: progress is written in small transactions while
    the file is read (no lock is held meanwhile), the list and the load's result in one at the
    end. A refused or unreadable file leaves the list in force as it was; the error is raised
    after it is recorded on the load.
    """
    with db.transaction() as session:
        load = load_status(session, load_id=load_id)
        source, created_by = load.source, load.created_by
    last_write = 0.0

    def report(step: LoadProgress) -> None:
        nonlocal last_write
        if progress is not None:
            progress(step)
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY:
            last_write = now
            with db.transaction() as session:
                repo.update_load(
                    session,
                    load_id,
                    bytes_read=step.bytes_read,
                    lines=step.lines,
                    invalid=step.invalid,
                    updated_at=utcnow(),
                )

    parsed: ParsedList | None = None
    try:
        parsed = parse_number_file(path, progress=report)
        check_parsed(parsed)
        with db.transaction() as session:
            snap = replace_national(
                session,
                numbers=parsed.numbers,
                source=source,
                lines=parsed.lines,
                invalid=parsed.invalid,
                created_by=created_by,
            )
            now = utcnow()
            repo.update_load(
                session,
                load_id,
                status="done",
                snapshot_id=snap.id,
                updated_at=now,
                finished_at=now,
                **_counts(parsed),
            )
            return load_status(session, load_id=load_id)
    except Exception as exc:
        if isinstance(exc, DomainError):
            code, fa, en = exc.code, exc.message_fa, exc.message_en
        else:
            code = "internal_error"
            fa = "بارگذاری به خطای پیش‌بینی‌نشده‌ای خورد."
            en = f"The load failed unexpectedly: {type(exc).__name__}"
        with db.transaction() as session:
            now = utcnow()
            repo.update_load(
                session,
                load_id,
                status="failed",
                error_code=str(code)[:64],
                error_fa=str(fa)[:500],
                error_en=str(en)[:500],
                updated_at=now,
                finished_at=now,
                **(_counts(parsed) if parsed is not None else {}),
            )
        raise


def save_national_upload(settings: Settings, source: IO[bytes]) -> Path:
    """Copy an uploaded national list into the data dir for `run_uploaded_load`.

    Kept on disk, not in the request's spooled file: that is closed once the response is sent,
    before the background load reads it.
    """
    folder = settings.ensure_data_dir() / "uploads"
    folder.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="blacklist-", suffix=".upload", delete=False) as out:
        shutil.copyfileobj(source, out, 1 << 20)
    return Path(out.name)


def run_uploaded_load(db: Database, *, load_id: int, path: Path) -> None:
    """`run_national_load` after the response, then the upload removed.

    The load's row records how it went, so a refusal or a failure is only logged here.
    """
    try:
        run_national_load(db, load_id=load_id, path=path)
    except DomainError as exc:
        log.info("national blacklist load %s refused: %s", load_id, exc.code)
    except Exception:
        log.exception("national blacklist load %s failed", load_id)
    finally:
        path.unlink(missing_ok=True)


def _counts(parsed: ParsedList) -> dict[str, Any]:
    return {
        "bytes_read": parsed.bytes_read,
        "lines": parsed.lines,
        "blank": parsed.blank,
        "valid": parsed.valid,
        "numbers": len(parsed.numbers),
        "invalid": parsed.invalid,
        "invalid_samples": [s.as_dict() for s in parsed.invalid_samples],
    }
