"""The in-memory blacklist and reading number files: no database here."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from pyroaring import BitMap

from payamak.errors import ValidationFailed
from payamak.numbers import KEY_BASE, mobile_key
from payamak.numbers.iran import is_mobile_nsn
from payamak.sending import blacklist
from payamak.sending.blacklist import (
    Blacklist,
    check_parsed,
    deserialize_slabs,
    parse_number_file,
    serialize_slabs,
    to_bitmap,
    valid_mobile_keys,
)

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PREFIXES = ("912", "935", "901", "990", "921", "936", "903", "930", "919", "933")


def random_nsn(rng: random.Random) -> str:
    return rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}"


def write(path: Path, lines: list[str], *, ending: str = "\n", final: bool = True) -> Path:
    text = ending.join(lines) + (ending if final else "")
    path.write_bytes(text.encode("utf-8"))
    return path


# --- valid numbers ---------------------------------------------------------------------------


def test_valid_keys_agree_with_the_number_rules() -> None:
    valid = valid_mobile_keys()
    rng = random.Random(7)
    samples = [rng.randrange(KEY_BASE, KEY_BASE + 10**9) for _ in range(100_000)]
    # every five-digit prefix, with its first and last number and one in between
    for prefix in range(9000, 10000):
        start = prefix * 10**6
        samples += [start, start + 10**6 - 1, start + rng.randrange(10**6)]
    for key in samples:
        assert (key - KEY_BASE in valid) == bool(is_mobile_nsn(str(key))), key


# --- the list in memory ----------------------------------------------------------------------


def test_contains_filter_and_kinds() -> None:
    national = to_bitmap([9121111111, 9122222222, 9353333333])
    listed = Blacklist(
        national=national,
        operator=to_bitmap([9353333333, 9014444444]),
        manual=to_bitmap([9905555555]),
        version=3,
    )
    assert len(listed) == 5  # the national and operator lists share one number
    assert listed.contains(9121111111) and 9014444444 in listed and listed.contains(9905555555)
    assert not listed.contains(9126666666)
    assert not listed.contains(123) and not listed.contains(10**10 + 5)  # no non-mobile key is on a list
    assert listed.kinds(9353333333) == ["national", "operator"]
    assert listed.kinds(9126666666) == []
    recipients = to_bitmap([9121111111, 9014444444, 9126666666, 9905555555, 9127777777])
    blocked = listed.filter_blocked(recipients)
    assert set(blacklist.keys_of(blocked)) == {9121111111, 9014444444, 9905555555}
    assert set(blacklist.keys_of(listed.allowed(recipients))) == {9126666666, 9127777777}
    assert listed.counts() == {"national": 3, "operator": 2, "manual": 1}
    assert len(Blacklist()) == 0 and Blacklist().filter_blocked(recipients) == BitMap()


def test_slabs_round_trip_across_ranges() -> None:
    rng = random.Random(3)
    keys = {int(random_nsn(rng)) for _ in range(50_000)}
    bitmap = to_bitmap(keys)
    pieces = list(serialize_slabs(bitmap))
    assert len(pieces) > 5  # 912, 935, 990... fall in different 2**24 ranges
    assert max(map(len, pieces)) <= (1 << blacklist.SLAB_BITS) // 8 + 4096
    assert deserialize_slabs(pieces) == bitmap
    assert list(serialize_slabs(BitMap())) == []
    assert deserialize_slabs([]) == BitMap()


# --- reading files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "ending"),
    [
        ("{nsn}", "\n"),
        ("0{nsn}", "\n"),
        ("98{nsn}", "\n"),
        ("+98{nsn}", "\n"),
        ("098{nsn}", "\n"),
        ("0098{nsn}", "\n"),
        ("0{nsn}", "\r\n"),
        ("+98{nsn}", "\r\n"),
    ],
)
def test_every_usual_shape_reads_the_same(tmp_path: Path, form: str, ending: str) -> None:
    rng = random.Random(form + ending)
    nsns = [random_nsn(rng) for _ in range(5000)]
    path = write(tmp_path / "list.txt", [form.format(nsn=n) for n in nsns], ending=ending)
    parsed = parse_number_file(path)
    assert parsed.numbers == to_bitmap(int(n) for n in nsns)
    assert (parsed.lines, parsed.valid, parsed.invalid, parsed.blank) == (5000, 5000, 0, 0)
    assert parsed.duplicates == 5000 - len(set(nsns))


def test_mixed_forms_persian_digits_and_invalid_lines(tmp_path: Path) -> None:
    lines = [
        "09121234567",
        "۰۹۳۵۱۲۳۴۵۶۷",  # Persian digits
        "٠٩٠١٢٣٤٥٦٧٨",  # Arabic-Indic
        "+98 912 765 4321",
        "0912-111-2233",
        "",
        "   ",
        "9.12E+09",  # a spreadsheet mangled it
        "۰۹۹۰\u200c۱۲۳\u200c۴۵۶۷",  # ZWNJ between groups
        "021 8888 7777",  # landline
        "hello",
        "09501234567",  # no operator has 0950
        "9121234567",  # duplicate of the first line
        "\u202b+98 (0) 912 000 1122\u202c",
    ]
    parsed = parse_number_file(write(tmp_path / "mixed.txt", lines))
    expected = {9121234567, 9351234567, 9012345678, 9127654321, 9121112233, 9901234567, 9120001122}
    assert set(blacklist.keys_of(parsed.numbers)) == expected
    assert (parsed.lines, parsed.blank, parsed.valid, parsed.invalid) == (14, 2, 8, 4)
    assert parsed.duplicates == 1
    assert [(s.line, s.value, s.reason) for s in parsed.invalid_samples] == [
        (8, "9.12E+09", "scientific_notation"),
        (10, "021 8888 7777", "landline"),
        (11, "hello", "not_a_number"),
        (12, "09501234567", "invalid_prefix"),
    ]


def test_an_invalid_number_inside_a_uniform_block_is_found_by_line(tmp_path: Path) -> None:
    lines = [f"0912{i:07d}" for i in range(3000)]
    lines[1234] = "09501234567"  # right shape, no such operator
    lines[2000] = "+1 650 253 0000"  # foreign: cannot be on the national list
    parsed = parse_number_file(write(tmp_path / "list.txt", lines))
    assert parsed.valid == 2998 and parsed.invalid == 2
    assert [(s.line, s.reason) for s in parsed.invalid_samples] == [
        (1235, "invalid_prefix"),
        (2001, "not_iranian_mobile"),
    ]


def test_block_boundaries_do_not_change_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    forms = ["0{}", "{}", "98{}", "+98{}", "0098{}", "+98 {}", "{}\r", "junk{}", ""]
    lines = []
    for _ in range(3000):
        nsn = random_nsn(rng)
        form = rng.choice(forms)
        line = form.format(nsn)
        if rng.random() < 0.1:
            line = line.translate(PERSIAN if rng.random() < 0.5 else ARABIC)
        lines.append(line)
    path = write(tmp_path / "list.txt", lines, final=False)
    whole = parse_number_file(path)
    monkeypatch.setattr(blacklist, "BLOCK_BYTES", 97)  # many blocks, cut mid-line
    pieces = parse_number_file(path)
    keys = [mobile_key(line) for line in lines]
    expected = to_bitmap(k for k in keys if k is not None)
    for parsed in (whole, pieces):
        assert parsed.numbers == expected
        assert parsed.lines == len(lines)
        assert parsed.valid == sum(k is not None for k in keys)
        assert parsed.blank == sum(1 for line in lines if not line.strip())
        assert parsed.invalid == len(lines) - parsed.valid - parsed.blank
    assert [s.line for s in whole.invalid_samples] == [s.line for s in pieces.invalid_samples]
    assert all(mobile_key(lines[s.line - 1]) is None for s in whole.invalid_samples)


def test_gzip_utf16_bom_and_no_final_newline(tmp_path: Path) -> None:
    text = "09121234567\n۰۹۳۵۱۲۳۴۵۶۷\n+989901234567"
    expected = {9121234567, 9351234567, 9901234567}
    (tmp_path / "a.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "b.txt").write_bytes(text.encode("utf-16"))  # with its BOM, as Excel saves
    (tmp_path / "c.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    for name in ("a.gz", "b.txt", "c.txt"):
        parsed = parse_number_file(tmp_path / name)
        assert set(blacklist.keys_of(parsed.numbers)) == expected, name
        assert parsed.invalid == 0 and parsed.lines == 3, name


def test_progress_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blacklist, "BLOCK_BYTES", 1200)
    path = write(tmp_path / "list.txt", [f"0912{i:07d}" for i in range(1000)])
    steps: list[blacklist.LoadProgress] = []
    parse_number_file(path, progress=steps.append)
    assert len(steps) > 5
    assert [s.bytes_read for s in steps] == sorted(s.bytes_read for s in steps)
    assert steps[-1].bytes_read == steps[-1].bytes_total == path.stat().st_size
    assert steps[-1].lines == 1000


def test_unreadable_and_wrong_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as missing:
        parse_number_file(tmp_path / "nope.txt")
    assert missing.value.code == "file_unreadable"
    (tmp_path / "broken.gz").write_bytes(gzip.compress(b"09121234567\n" * 1000)[:-30])
    with pytest.raises(ValidationFailed) as broken:
        parse_number_file(tmp_path / "broken.gz")
    assert broken.value.code == "file_unreadable"

    rows = ["name,mobile,city"] + [f"n{i},0912{i:07d},Tehran" for i in range(10)] + ["09121234567"] * 3
    csv = write(tmp_path / "customers.csv", rows)
    with pytest.raises(ValidationFailed) as wrong:
        check_parsed(parse_number_file(csv))
    assert wrong.value.code == "blacklist_file_rejected"
    assert wrong.value.extra["invalid"] == 11 and wrong.value.extra["invalid_samples"][0]["line"] == 1

    empty = write(tmp_path / "empty.txt", ["", "  "])
    with pytest.raises(ValidationFailed) as nothing:
        check_parsed(parse_number_file(empty))
    assert nothing.value.code == "blacklist_file_empty"

    # Some junk among mostly good lines is reported, not fatal.
    check_parsed(parse_number_file(write(tmp_path / "ok.txt", ["mobile", "09121234567", "09351234567"])))


def test_a_file_without_newlines_stays_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blacklist, "BLOCK_BYTES", 1000)
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(random.Random(1).randrange(11, 256) for _ in range(10_000)))
    parsed = parse_number_file(path)
    assert parsed.valid == 0 and parsed.invalid >= 1
