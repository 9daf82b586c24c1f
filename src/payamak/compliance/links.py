"""Links: URLs, bare domains, shorteners, IDN and punycode names, and their usual disguises.

A bare domain counts only when its last label is a real top-level domain (the Public Suffix List,
shipped offline) and the dot really separates labels. How strict the TLD test is depends on how the
dot was written: "shop.ir" needs any real TLD; "shop . ir" or "shop dot ir" (a deliberate disguise,
but also what ordinary prose can look like) need a TLD that is commonly used for sites; "shop. Co"
is a sentence boundary, not a domain. File names whose extension happens to be a TLD ("scan.zip",
"notes.md") need more evidence: a path, a subdomain or "www".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from publicsuffixlist import PublicSuffixList

from payamak.compliance._lexicon import ARABIC_LETTER, WORD_CHAR, Span, alternation, merge, word_set
from payamak.compliance.normalize import Normalized, fold

__all__ = ["PERSIAN_TLDS", "find_links", "is_tld"]

_PSL: Final = PublicSuffixList()


@lru_cache(maxsize=4096)
def is_tld(label: str) -> bool:
    """Whether `label` (folded) is a top-level domain in the Public Suffix List. Under a wildcard
    TLD ("*.ck") every second-level name is itself public, so the answer comes back longer."""
    suffix = _PSL.publicsuffix("x." + label, accept_unknown=False)
    return suffix in (label, "x." + label)


# TLDs accepted even when the dot is disguised or spaced out: the ones Iranian SMS spam really uses.
# English words that happen to be TLDs ("in", "it", "to", "is") are left out on purpose: "put a dot
# in the box" is prose.
POPULAR_TLDS: Final = word_set(
    "com net org ir info biz io co me ly gl gd tv cc xyz online shop store site website app dev ai "
    "club top link click blog tech cloud pro ws eu de uk ru tr ae ca fr ch nl se us"
)
# TLDs that are a domain even when capitalised like the first word of a sentence ("Digikala.Com").
_CORE_TLDS: Final = word_set("com net org ir info biz io co")
# After a full stop followed by a space only these still read as a domain ("shop. ir").
_SENTENCE_TLDS: Final = word_set("com net org ir")
# TLDs that are also common file extensions: "scan.zip" and "setup.py" are files, not sites.
_FILE_EXTENSIONS: Final = word_set("zip mov md py rs sh pl ps pm so am ac in cc ml ai do mp sr ts")
# A word before " dot " that makes it prose ("a dot com company", "connect each dot").
_PROSE_BEFORE_DOT: Final = word_set(
    "a an the one each every no any this that little small big red black white blue green polka final "
    "single tiny first last per with and or to of in on at by is its it my your our"
)

# Persian spellings of TLDs, written after «دات»/«نقطه»/"dot": «دات کام», «نقطه آی آر».
# fmt: off
PERSIAN_TLDS: Final = {
    fold(spelled): tld
    for spelled, tld in {
        "کام": "com", "کوم": "com", "آی آر": "ir", "آیآر": "ir", "ای آر": "ir", "نت": "net", "اورگ": "org",
        "ارگ": "org", "آی او": "io", "کو": "co", "اینفو": "info", "ایران": "ایران", "شاپ": "shop",
        "آنلاین": "online", "اپ": "app", "می": "me", "بیز": "biz", "اکس وای زد": "xyz", "سایت": "site",
        "استور": "store", "لینک": "link",
    }.items()
}
# fmt: on
# Spelled TLDs that are also ordinary words after «نقطه» («هر نقطه ایران», «نقطه می‌رسد»).
_PERSIAN_TLDS_NOT_AFTER_NOQTE: Final = frozenset(fold(w) for w in ("ایران", "می", "اپ", "سایت", "لینک"))
# Internationalised TLDs written in Persian that stand for a domain after a plain dot.
_IDN_TLDS: Final = frozenset(fold(w) for w in ("ایران",))

_FA_TLD = alternation(PERSIAN_TLDS)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOT_WORDS = r"dot|نقطه|دات"
_BRACKET_DOT = rf"[ \t]*[\[({{<][ \t]*(?:\.|{_DOT_WORDS})[ \t]*[\])}}>][ \t]*"
_SEP = (
    rf"{_BRACKET_DOT}"
    r"|[ \t]{1,2}\.[ \t]{0,2}|\.[ \t]{1,2}|\."
    r"|[ \t_-]+dot[ \t_-]+|[ \t]+(?:نقطه|دات)[ \t]+"
)
_SEP_SPLIT: Final = re.compile(f"({_SEP})")
_FA_WORD_END = f"(?![{WORD_CHAR}])"

# Every pattern below starts with a plain character (class), with the "not inside a word" test as
# a look-behind after it: the regex engine can then skip ahead to candidate characters in C
# instead of trying the whole pattern at every position.
_DOMAIN: Final = re.compile(
    r"(?P<host>[a-z0-9](?<![a-z0-9_@.\-][a-z0-9])(?:[a-z0-9-]{0,61}[a-z0-9])?(?:"
    + _SEP
    + rf")(?:{_LABEL}(?:{_SEP})){{0,7}}"
    rf"(?:(?:xn--[a-z0-9-]{{1,59}}|[a-z]{{2,24}})(?![a-z0-9_\-])|(?:{_FA_TLD}){_FA_WORD_END}))"
    r"(?P<path>(?::\d{1,5})?[/?#][^\s]*)?"
)
# Persian label, then a dot written as a word, then a TLD in either script: «تارا دات آی آر».
_PERSIAN_DOTTED: Final = re.compile(
    rf"(?:(?<![{WORD_CHAR}])(?P<label>[{ARABIC_LETTER}]{{2,}})[ \t]+)?"
    rf"(?<![{WORD_CHAR}])(?P<sep>نقطه|دات|[\[(](?:نقطه|دات|dot|\.)[\])])[ \t]*"
    rf"(?P<tld>(?:{_FA_TLD}){_FA_WORD_END}|[a-z]{{2,24}}(?![a-z0-9_\-]))"
)
# Persian label with a real dot: an IDN name «کافه.ایران», or a Persian label under a common TLD.
_PERSIAN_LABEL_DOMAIN: Final = re.compile(
    rf"(?P<label>[{ARABIC_LETTER}]{{2,}})\.(?P<tld>ایران|com|ir|net|org)(?![{WORD_CHAR}])(?P<path>/[^\s]*)?"
)
_PERSIAN_LABEL_TLD_HINT: Final = re.compile(r"\.(?:com|ir|net|org)")
_SCHEME: Final = re.compile(
    r"(?:h(?<![a-z]h)[ \t._-]{0,2}[tx][ \t._-]{0,2}[tx][ \t._-]{0,2}p(?:[ \t._-]{0,2}s)?[ \t]{0,2}"
    r"(?::[ \t]{0,2}/[ \t]{0,2}/|:(?=[a-z0-9])|/[ \t]{0,2}/)|f(?<![a-z]f)tp://)[ \t]*[^\s]*"
)
_WWW: Final = re.compile(
    rf"(?:w(?<![a-z0-9]w)[ \t._-]?w[ \t._-]?w|(?:دبلیو[ \t]*){{3}})"
    rf"(?:{_SEP}|[ \t]+)(?:[a-z0-9][a-z0-9-]*|[{ARABIC_LETTER}]+)"
)
# A bare IPv4 address is a link only with a port or a path: "192.168.1.1" alone may be anything.
_IP_URL: Final = re.compile(r"[0-9](?<![0-9.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?::[0-9]{1,5}|/[^\s]*)")
_PUNYCODE: Final = re.compile(r"[a-z0-9.-]*xn--[a-z0-9-]+(?:\.[a-z0-9-]+)*")
_TRAILING_PUNCTUATION: Final = ".,;:!?)]}»\"'"
_WORD_OR_HYPHEN: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
# A word that ends a Persian sentence: a full stop typed without its space after such a word and
# before «ایران» is a sentence boundary («با تشکر.ایران خودرو»), not the .ایران TLD.
_SENTENCE_END: Final = re.compile(
    "(?:"
    + alternation(["ید", "ند", "یم", "شد", "ست", "شود", "گردد", "تشکر", "سپاس", "ممنون", "مبارک", "باد"])
    + ")$"
)


def _sep_kind(sep: str) -> str:
    if sep == ".":
        return "plain"
    stripped = sep.strip(" \t_-")
    if stripped[:1] in "[({<":
        return "bracket"
    if stripped != ".":
        return "word"
    if sep[0] == ".":
        return "sentence"
    return "spaced"


def _valid_host(labels: list[str], seps: list[str], original_tld: str, has_path: bool) -> bool:
    tld = labels[-1]
    kinds = {_sep_kind(s) for s in seps}
    if tld in PERSIAN_TLDS and not tld.isascii():
        if tld in _IDN_TLDS and kinds == {"plain"}:
            return True
        # A spelled TLD needs a spelled or bracketed dot, and some are words after «نقطه».
        noqte = any("نقطه" in s for s in seps)
        return kinds <= {"word", "bracket"} and not (noqte and tld in _PERSIAN_TLDS_NOT_AFTER_NOQTE)
    if tld.startswith("xn--"):
        return True
    if not is_tld(tld):
        return False
    before = labels[-2]
    if "sentence" in kinds:
        return tld in _SENTENCE_TLDS and original_tld.islower() and len(before) >= 2 and not before.isdigit()
    if "spaced" in kinds or "word" in kinds:
        if tld not in POPULAR_TLDS or before.isdigit():
            return False
        if any(s.strip(" \t_-") == "dot" for s in seps) and before in _PROSE_BEFORE_DOT:
            return False
        return len(before) >= 2 or tld in _CORE_TLDS
    if "bracket" in kinds:
        return True
    # Plain dots only.
    if all(label.isdigit() for label in labels[:-1]) and tld not in _CORE_TLDS:
        return False
    if tld in _FILE_EXTENSIONS and not (has_path or len(labels) >= 3 or labels[0] == "www"):
        return False
    if original_tld[:1].isupper() and not original_tld.isupper() and tld not in _CORE_TLDS:
        # "ready.It will ship", "Payment received.Online booking": a missing space, not a domain.
        return False
    return len(before) >= 2 or tld in POPULAR_TLDS


def _domains(n: Normalized, spans: list[Span]) -> None:
    text = n.text
    for m in _DOMAIN.finditer(text):
        parts = _SEP_SPLIT.split(m.group("host"))
        labels, seps = parts[0::2], parts[1::2]
        has_path = m.group("path") is not None
        # A rejected long candidate may still end in a real domain: "www.shop.ir.Thanks".
        for keep in range(len(labels), 1, -1):
            host_len = sum(map(len, labels[:keep])) + sum(map(len, seps[: keep - 1]))
            tld_start = m.start() + host_len - len(labels[keep - 1])
            start, stop = n.span(tld_start, tld_start + len(labels[keep - 1]))
            original_tld = n.original[start:stop]
            if _valid_host(labels[:keep], seps[: keep - 1], original_tld, has_path and keep == len(labels)):
                end = m.end() if keep == len(labels) else m.start() + host_len
                spans.append((m.start(), _trim(text, m.start(), end)))
                break


def _trim(text: str, start: int, end: int) -> int:
    while end > start + 1 and text[end - 1] in _TRAILING_PUNCTUATION:
        end -= 1
    return end


def find_links(n: Normalized, *, latin: bool = True) -> list[Span]:
    """Spans, in the folded text, of every link. `latin` says whether the folded text has any
    Latin letter; without one only the Persian spellings need looking for."""
    text = n.text
    spans: list[Span] = []
    if latin:
        _domains(n, spans)
    if "نقطه" in text or "دات" in text:
        for m in _PERSIAN_DOTTED.finditer(text):
            tld = m.group("tld")
            if tld.isascii():
                if not is_tld(tld):
                    continue
            elif "نقطه" in m.group("sep") and tld in _PERSIAN_TLDS_NOT_AFTER_NOQTE:
                continue
            spans.append((m.start(), m.end()))
    if ".ایران" in text or (latin and _PERSIAN_LABEL_TLD_HINT.search(text) is not None):
        for m in _PERSIAN_LABEL_DOMAIN.finditer(text):
            if m.start() and text[m.start() - 1] == ".":
                continue
            if (
                m.group("tld") in _IDN_TLDS
                and m.group("path") is None
                and _SENTENCE_END.search(m.group("label"))
            ):
                continue
            spans.append((m.start(), _trim(text, m.start(), m.end())))
    if latin:
        if "h" in text and ("/" in text or ":" in text):
            _add(_SCHEME, text, spans)
        if "w" in text:
            _add(_WWW, text, spans)
        if "xn--" in text:
            _add(_PUNYCODE, text, spans)
    if "دبلیو" in text:
        _add(_WWW, text, spans)
    if text.count(".") >= 3 and ("/" in text or ":" in text):
        _add(_IP_URL, text, spans)
    return merge(spans)


def _add(regex: re.Pattern[str], text: str, spans: list[Span]) -> None:
    for m in regex.finditer(text):
        if regex is _PUNYCODE and m.start() and text[m.start() - 1] in _WORD_OR_HYPHEN:
            continue
        spans.append((m.start(), _trim(text, m.start(), m.end())))
