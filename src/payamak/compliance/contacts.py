"""E-mail addresses and social-media addresses (handles, platform links, a platform keyword followed
by a handle)."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from payamak.compliance._lexicon import (
    ARABIC_LETTER,
    WORD_CHAR,
    Span,
    alternation,
    folded_set,
    merge,
    phrases,
    word_set,
)
from payamak.compliance.links import PERSIAN_TLDS, POPULAR_TLDS, is_tld
from payamak.compliance.normalize import Normalized

__all__ = ["SocialFound", "find_emails", "find_social"]

_LATIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LABEL = rf"(?:{_LATIN_LABEL}|[{ARABIC_LETTER}]{{2,}})"
_DOT_WORDS = r"dot|نقطه|دات"
_SEP = (
    rf"[ \t]*[\[({{<][ \t]*(?:\.|{_DOT_WORDS})[ \t]*[\])}}>][ \t]*"
    rf"|[ \t]*\.[ \t]*|[ \t_-]+dot[ \t_-]+|[ \t]+(?:نقطه|دات)[ \t]+"
)
_AT_WORDS = r"at|@|ات[ \t]*ساین|ات"
_AT = (
    rf"(?P<bracket>[ \t]*[\[({{<][ \t]*(?:{_AT_WORDS})[ \t]*[\])}}>][ \t]*)"
    r"|(?P<sign>[ \t]{0,2}@[ \t]{0,2})"
    r"|(?P<word>[ \t]+at[ \t]+)"
    rf"|(?P<persian>[ \t]*(?<![{ARABIC_LETTER}])(?:ات[ \t]*ساین|ات)(?![{ARABIC_LETTER}])[ \t]*)"
)
_FA_TLD = alternation(PERSIAN_TLDS)
_DOMAIN = (
    rf"(?P<domain>{_LABEL}(?:(?:{_SEP}){_LABEL}){{0,6}}?(?P<sep>{_SEP})"
    rf"(?P<tld>[a-z]{{2,24}}(?![a-z0-9\-])|(?:{_FA_TLD})(?![{WORD_CHAR}])))"
)
# Both patterns start with a character class and test "not inside a word" after it, so the regex
# engine skips in C to the places worth trying.
_EMAIL: Final = re.compile(
    r"(?P<local>[a-z0-9](?<![a-z0-9._%+\-][a-z0-9])(?:[a-z0-9._%+\-]{0,63}[a-z0-9_])?)"
    rf"(?:{_AT}){_DOMAIN}"
)
# «اینفو ات شاپ دات کام»: everything spelled in Persian, which only the Persian "at" can join.
_PERSIAN_EMAIL: Final = re.compile(
    rf"(?P<local>[{ARABIC_LETTER}](?<![{WORD_CHAR}][{ARABIC_LETTER}])[{ARABIC_LETTER}]+)(?:{_AT}){_DOMAIN}"
)
_PERSIAN_AT_HINTS: Final = (" ات ", "ات ساین", "(ات)", "[ات]", "{ات}", "<ات>")
_SEP_RE: Final = re.compile(_SEP)

# Mailbox names that make "info at shop.ir" an address rather than "find us at shop.ir".
_MAILBOXES: Final = word_set(
    "info support sales contact admin hello mail office hr jobs career careers service help team "
    "billing noreply no-reply webmaster marketing order orders booking reservations"
)
_WEBMAIL: Final = word_set("gmail yahoo hotmail outlook live icloud protonmail chmail mail yandex aol")
_LOCAL_SHAPE: Final = re.compile(r"[._+\-\d]")
_EMAIL_WORD_BEFORE: Final = re.compile(
    rf"(?<![{WORD_CHAR}])(?:{alternation(['email', 'e-mail', 'mail', 'ایمیل', 'پست الکترونیک', 'رایانامه'])})"
    r"[ \t:\-]*(?:[a-z]+[ \t]+){0,2}$"
)
# Words before " at " that make it prose: "us at shop.ir" is a site, not a mailbox.
_NOT_LOCAL: Final = word_set(
    "us me you them him her it home work store shop site website our we i online available here there "
    "find see visit open order buy read"
)


def _email_ok(m: re.Match[str], text: str) -> bool:
    tld = m.group("tld")
    latin_tld = tld.isascii()
    if latin_tld and not is_tld(tld):
        return False
    local, domain = m.group("local"), m.group("domain")
    seps = _SEP_RE.findall(domain)
    disguised = any(s.strip(" \t_-") != "." for s in seps)
    persian_parts = not local.isascii() or not domain.isascii()
    if (persian_parts or not latin_tld) and not (m.group("persian") or m.group("bracket") or disguised):
        return False
    if m.group("word") is not None:
        # "catalog at shop dot ir" points at a site; "info at shop dot ir", "a.karimi at gmail dot
        # com" and "e-mail: sara at shop.ir" spell out a mailbox.
        if local in _NOT_LOCAL:
            return False
        first_label = re.split(_SEP, domain, maxsplit=1)[0]
        return bool(
            _LOCAL_SHAPE.search(local)
            or local in _MAILBOXES
            or first_label in _WEBMAIL
            or _EMAIL_WORD_BEFORE.search(text, max(0, m.start() - 30), m.start())
        )
    if m.group("sign") is not None and m.group("sign").strip() != m.group("sign"):
        # "name @ host.tld" with spaces around the "@": only under a TLD sites really use.
        return not latin_tld or tld in POPULAR_TLDS
    return True


def find_emails(text: str, *, latin: bool = True) -> list[Span]:
    """Spans, in the folded text, of every e-mail address, disguised or not. `latin` says whether
    the folded text has any Latin letter."""
    spans: list[Span] = []
    persian_at = "ات" in text and any(hint in text for hint in _PERSIAN_AT_HINTS)
    if latin and ("@" in text or "at" in text or persian_at):
        spans.extend(m.span() for m in _EMAIL.finditer(text) if _email_ok(m, text))
    if persian_at:
        spans.extend(m.span() for m in _PERSIAN_EMAIL.finditer(text) if _email_ok(m, text))
    return merge(spans)


# Platform names and the words that introduce a handle.
_PLATFORM_WORDS = phrases(
    "اینستاگرام | اینستا | اینستگرام | اینستاگرم | تلگرام | تلگرم | واتساپ | واتس اپ | واتزاپ | واتس آپ |"
    "ایتا | روبیکا | روبینو | سروش پلاس | آی گپ | ایگپ | تیک تاک | یوتیوب | آپارات | لینکدین | توییتر |"
    "تویتر | فیسبوک | ویراستی | کلاب هاوس | instagram | insta | telegram | whatsapp | eitaa | eita |"
    "rubika | bale | igap | twitter | linkedin | youtube | tiktok | aparat | facebook | virasty | threads |"
    "snapchat"
)
# Keywords that also have an everyday meaning («بله» is "yes", «سروش» a first name, "page" a page,
# "ID" an identifier): a handle after them must look like one (after ":" or "@", or with "_", "."
# or a digit in it).
_AMBIGUOUS_WORDS = phrases("بله | سروش | گپ | id | page | channel | ig | tg | fb | soroush | gap")
# «گروه» and «صفحه» are left out: «گروه Samsung» is a company, «صفحه Home» a page.
_HANDLE_WORDS = phrases("آیدی | آی دی | ای دی | پیج | کانال | اکانت | یوزرنیم | نام کاربری")
_KEYWORDS = _PLATFORM_WORDS + _AMBIGUOUS_WORDS + _HANDLE_WORDS
_KEYWORD_SET: Final = folded_set(_KEYWORDS) | folded_set(w.replace(" ", "") for w in _KEYWORDS)
_AMBIGUOUS: Final = folded_set(_AMBIGUOUS_WORDS)
_ENGLISH_AFTER_PLATFORM: Final = word_set(
    "and or to for with us now today app bot web desktop link direct dm messenger group groups story "
    "stories post posts reels live account accounts followers follower users user profile the our your "
    "is are was has have will can from this that these those too also only official support team chat "
    "call calls video voice message messages channel page handle username premium business status"
)
_EN_FILLERS = "us on our official page channel account handle username user name id is at my via in the"

# The keyword's own start is checked in code: a look-behind before the alternation would stop the
# engine from skipping ahead to the keywords' first letters.
_KEYWORD_HANDLE: Final = re.compile(
    rf"(?P<kw>{alternation(_KEYWORDS)})(?![{WORD_CHAR}])"
    rf"(?P<gap>(?:[ \t]*[:\-][ \t]*|[ \t]+)"
    rf"(?:(?:[{ARABIC_LETTER}]+|{'|'.join(_EN_FILLERS.split())})(?:[ \t]*[:\-][ \t]*|[ \t]+)){{0,4}})"
    r"(?P<at>@?)(?P<handle>[a-z0-9_](?:[a-z0-9_.]{1,30}[a-z0-9_]))(?![a-z0-9_@]|\.[a-z0-9])"
)
_HANDLE: Final = re.compile(
    r"@(?<![a-z0-9_.@]@)(?P<space>[ \t]?)(?P<handle>[a-z0-9_](?:[a-z0-9_.]{0,30}[a-z0-9_])?)(?![a-z0-9_@])"
)
_PLATFORM_URL: Final = re.compile(
    r"(?:t\.me|telegram\.me|telegram\.dog|instagram\.com|instagr\.am|wa\.me"
    r"|api\.whatsapp\.com|chat\.whatsapp\.com|whatsapp\.com|eitaa\.com|rubika\.ir|ble\.ir|splus\.ir"
    r"|sapp\.ir|igap\.net|aparat\.com|youtube\.com|youtu\.be|twitter\.com|x\.com|facebook\.com|fb\.com"
    r"|linkedin\.com|tiktok\.com|virasty\.com|threads\.net)/[^\s]+"
)
_URL_START: Final = re.compile(r"(?:www\.)?$")
_LATIN_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_CODE_LIKE: Final = re.compile(r"[a-z]{0,3}\d{3,}")
_LETTER: Final = re.compile(r"[a-z]")
# "@2.5m", "@10k", "@5pm": an amount or a time after "@", not a handle.
_QUANTITY: Final = re.compile(r"[0-9][0-9.,]*[a-z]{0,3}")
_WORD: Final = re.compile(f"[{WORD_CHAR}]")
_HANDLE_SHAPE: Final = re.compile(r"[_.\d]")
_PREVIOUS_WORD: Final = re.compile(r"([a-z]+)[ \t]*$")
# A Latin word before "ID" that makes it some other identifier ("Order ID", "Apple ID").
_ID_OWNERS_ALLOWED: Final = folded_set(_PLATFORM_WORDS) | word_set("my our your the its")
# "Instagram page kafeketab", "Telegram ID shop": the filler itself announces a handle.
_NAMING_FILLER: Final = re.compile(r"(?<![a-z])(?:page|account|handle|username|id|channel)(?![a-z])")
_TRAILING: Final = ".,;:!?)]}»\"'"


def _keyword_handle_ok(m: re.Match[str], n: Normalized) -> bool:
    text = n.text
    keyword = re.sub(r"[ \t]+", " ", m.group("kw"))
    handle = m.group("handle")
    gap = m.group("gap")
    marked = bool(m.group("at")) or ":" in gap or "-" in gap.strip() or _NAMING_FILLER.search(gap) is not None
    if not _LETTER.search(handle) or handle in _KEYWORD_SET or handle.replace(" ", "") in _KEYWORD_SET:
        return False
    fillers = re.findall(r"[^\s:\-]+", gap)
    if len(fillers) > 2 and not (marked or _HANDLE_SHAPE.search(handle)):
        return False
    if not (marked or _HANDLE_SHAPE.search(handle)):
        # A bare word after a keyword: a handle after a platform name unless it is ordinary
        # English ("Telegram channel", "Instagram and WhatsApp"); never after an everyday word.
        if keyword in _AMBIGUOUS or handle in _ENGLISH_AFTER_PLATFORM:
            return False
        if keyword.isascii() and fillers:
            return False
    if keyword == "id":
        # "Order ID: A12345", "Apple ID: x": English "ID" names many things besides a handle, and
        # a code is written in capitals where a handle is not.
        start, end = n.span(m.start("handle"), m.end("handle"))
        if _CODE_LIKE.fullmatch(handle) and not n.original[start:end].islower():
            return False
        previous = _PREVIOUS_WORD.search(text, 0, m.start())
        if previous is not None and previous.group(1) not in _ID_OWNERS_ALLOWED:
            return False
    return True


class SocialFound(NamedTuple):
    spans: list[Span]
    # Handles introduced by a platform keyword: what they are is known even when they look like a
    # domain.
    named: list[Span]


def find_social(n: Normalized, *, latin: bool = True) -> SocialFound:
    """Spans, in the folded text, of social-media addresses: the handle itself (with its "@"), or
    the whole platform link. Handles are Latin, so a text without Latin letters (`latin` False)
    has none."""
    text = n.text
    spans: list[Span] = []
    named: list[Span] = []
    if not latin:
        return SocialFound(spans, named)
    if "@" in text:
        for m in _HANDLE.finditer(text):
            handle = m.group("handle")
            # "@2.5M", "@ 85", "@ home": prices and prose, not handles.
            if len(handle) < 3 or not _LETTER.search(handle) or _QUANTITY.fullmatch(handle):
                continue
            if m.group("space") and not (
                handle[0].isalpha() and (_HANDLE_SHAPE.search(handle) or len(handle) >= 6)
            ):
                continue
            spans.append((m.start(), m.end()))
    for m in _KEYWORD_HANDLE.finditer(text):
        if m.start() and _WORD.match(text, m.start() - 1):
            continue
        if _keyword_handle_ok(m, n):
            named.append((m.start("at") if m.group("at") else m.start("handle"), m.end()))
    if "/" in text:
        for m in _PLATFORM_URL.finditer(text):
            start = m.start()
            if start and text[start - 1] in _LATIN_WORD_CHARS:
                www = _URL_START.search(text, max(0, start - 4), start)
                if (
                    www is None
                    or not www.group()
                    or (www.start() and text[www.start() - 1] in _LATIN_WORD_CHARS)
                ):
                    continue
                start = www.start()
            end = m.end()
            while end > start + 1 and text[end - 1] in _TRAILING:
                end -= 1
            spans.append((start, end))
    return SocialFound(merge(spans + named), named)
