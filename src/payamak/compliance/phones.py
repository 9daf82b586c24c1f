"""Phone numbers: Iranian mobiles and landlines, foreign numbers, short numbers after a keyword, and
numbers spelled out in words, in any digit system and with any separators.

Messages are full of digit runs that are not phone numbers (amounts, dates, codes, cards, IBANs), so
the rule works in three steps on the folded text:

1. shapes that are never phone numbers (times, dates, thousands-grouped amounts, decimals,
   versions) are masked out, so "1,250,000 - 2,000,000" cannot be read as one long number;
2. every remaining run of digits and separators is read as groups, and the whole run, or failing
   that a stretch of whole groups inside it, is matched against the phone shapes;
3. the words around the run decide the doubtful cases: a code keyword before it («کد رهگیری»,
   «شبا», "order") or a unit after it («ریال», «روز») makes it not a phone number; a phone
   keyword («تماس», «تلفن», "call", ☎) makes even a short number one.

A number shaped like a mobile (09…, +989…, 9891…) or a landline (0 + area code + eight digits) is a
phone number unless a code keyword stands right before it with nothing about calling around.
"""

from __future__ import annotations

import itertools
import re
from typing import Final, Literal

from payamak.compliance._lexicon import ARABIC_LETTER, WORD_CHAR, Span, alternation, merge, phrases
from payamak.compliance.normalize import fold

__all__ = ["find_phones"]

Shape = Literal["mobile", "bare_mobile", "landline", "foreign"]

_DIGIT: Final = re.compile(r"[0-9]")
_LATIN_LETTER: Final = re.compile(r"[a-z]")

# Shapes that are never phone numbers. Dates are checked for a plausible month and day. Every
# alternative continues after a first digit that is matched (with a look-behind saying it starts a
# number) outside the alternation, so the regex engine can skip from digit to digit in C.
_TRAPS: Final = re.compile(
    r"[0-9](?<![0-9/.,\-][0-9])(?:"
    r"(?P<time>[0-9]?:[0-9]{2}(?::[0-9]{2})?(?![0-9]))"
    r"|(?P<date>(?:[0-9]{3}(?P<s1>[/.\-])[0-9]{1,2}(?P=s1)[0-9]{1,2}"
    r"|[0-9]?(?P<s2>[/.\-])[0-9]{1,2}(?P=s2)[0-9]{4}"
    r"|[0-9](?P<s3>[/.\-])[0-9]{1,2}(?P=s3)[0-9]{1,2}"
    r"|[0-9]{3}/[0-9]{1,2}|[0-9]?/[0-9]{1,2})(?![0-9]|[/.][0-9]))"
    r"|(?P<version>[0-9]{0,2}(?:\.[0-9]{1,3}){2,3}(?![0-9]|\.[0-9]))"
    r"|(?P<amount>[0-9]{0,2}(?P<s4>[,.])[0-9]{3}(?:(?P=s4)[0-9]{3})*(?:[.,][0-9]{1,2})?(?![0-9]|[,.][0-9]))"
    r"|(?P<decimal>[0-9]{0,3}[.,][0-9]{1,3}(?![0-9]|[.,][0-9]))"
    r")"
)
_MASK: Final = "\x00"

# A run: digits joined by at most three separator characters (spaces, dashes, dots, underscores,
# slashes, brackets); a "+" or "(" just before it is taken in by `_lead`. Runs of at least three
# digits (a service number after a keyword) and of at least eight (the least a number needs to have
# a phone number's shape, all that is worth a look when the text has no phone keyword).
_RUN_SEPARATOR = r"[ \t\-._/()]{0,3}"
_RUN: Final = re.compile(rf"[0-9](?:{_RUN_SEPARATOR}[0-9]){{2,}}")
_LONG_RUN: Final = re.compile(rf"[0-9](?:{_RUN_SEPARATOR}[0-9]){{7,}}")
_GROUP: Final = re.compile(r"[0-9]+")
_SEPARATORS: Final = str.maketrans("", "", " \t-._/()")
_LEAD: Final = re.compile(r"(?:\+[ \t]?\(?|\+|\()$")
# No phone number, with its international prefix, has more digits than this.
_MAX_DIGITS: Final = 16

_IR_MOBILE: Final = re.compile(r"(?:(?:\+|00)?98|098)0?9\d{9}|09\d{9}")
_IR_BARE_MOBILE: Final = re.compile(r"9\d{9}")
_IR_LANDLINE: Final = re.compile(r"(?:(?:\+|00)?98|098)0?[1-8]\d{9}|0[1-8]\d{9}")
_FOREIGN: Final = re.compile(r"\+[1-9]\d{7,14}|00[1-9]\d{8,13}")
_AREA_CODE: Final = re.compile(r"0[1-8]\d")

_PHONE_WORDS = phrases(
    "تلفن | تلفنی | تلفن همراه | تلفن ثابت | تلفن گویا | تلفن بانک | همراه بانک | تماس | مرکز تماس |"
    "شماره تماس | شماره تلفن | شماره همراه | شماره موبایل | شماره ثابت | شماره واتساپ | شماره پشتیبانی |"
    "شماره مستقیم | شماره ما | شماره زیر | شماره گیری | موبایل | فکس | دورنگار | پشتیبانی | خط ویژه |"
    "واتساپ | واتس اپ | واتزاپ | tel | telephone | phone | ph | call | call us | call us on | call us at |"
    "mobile | mob | cell | fax | whatsapp | contact | hotline | phone number | contact number |"
    "mobile number | tel number | telephone number | fax number | cell number | whatsapp number |"
    "☎ | ☏ | ✆ | \U0001f4de | \U0001f4f1"
)
_CODE_WORDS = phrases(
    "کد | رمز | رهگیری | پیگیری | سفارش | فاکتور | مبلغ | ریال | تومان | شبا | کارت | حساب | ملی | پستی |"
    "شناسه | مرسوله | بارنامه | قبض | پرونده | قرارداد | بیمه | بیمه نامه | پلاک | پذیرش | تراکنش | ارجاع |"
    "پرداخت | واریز | برداشت | مانده | موجودی | سریال | قسط | وام | چک | صیادی | اشتراک | کوپن | بن |"
    "تخفیف | امتیاز | نوبت | فیش | سند | رسید | ثبت | گواهی | شماره سفارش | شماره پیگیری | شماره کارت |"
    "شماره حساب | شماره شبا | شماره فاکتور | شماره قبض | شماره پرونده | شماره قرارداد | شماره مرسوله |"
    "شماره بیمه | شماره ملی | شماره سریال | شماره اشتراک | شماره پذیرش | شماره نوبت |"
    "otp | code | pin | password | pass | order | tracking | track | ref | reference | invoice | amount |"
    "iban | account | acct | card | policy | claim | id | serial | transaction | txn | booking | ticket |"
    "receipt | customer | member | no | number | voucher | coupon | balance | total | price | cost | #"
)
# «ساعات تماس: ۹-۱۸» is about hours, not a number to call.
_TIME_WORDS = phrases(
    "ساعت | ساعات | ساعات تماس | ساعت تماس | زمان تماس | ساعات پاسخگویی | ساعات کاری | تاریخ | سال |"
    "time | hours | date | year"
)
# A word right after a number that makes it a quantity.
_UNIT_WORDS = phrases(
    "ریال | تومان | تومانی | ریالی | درصد | درصدی | % | روز | روزه | ساعت | ساعته | دقیقه | ثانیه | ماه |"
    "ماهه | سال | ساله | هفته | بار | عدد | نفر | قسط | کیلو | کیلوگرم | گرم | متر | سانت | لیتر | امتیاز |"
    "واحد | سکه | هزار | میلیون | میلیارد | تا | مورد | قلم | جلد | صفحه | کلمه | پیامک | بسته | ام |"
    "امین | مین | rial | rials | toman | tomans | irr | usd | $ | day | days | hour | hours | min | minutes |"
    "points | pts | items | kg | km | gb | mb | th | st | nd | rd | x"
)
# «شماره» before one of these still speaks of a phone number (or of nothing in particular yet);
# before any other noun it names some other number («شماره بن»).
_NOUNS_KEEPING_SHOMARE: Final = frozenset(
    fold(w)
    for w in phrases(
        "تماس | تلفن | همراه | موبایل | ثابت | واتساپ | پشتیبانی | مستقیم | ما | زیر | فکس | دفتر | گیری |"
        "های | ی | مرکز | واحد | فروش | شرکت | فروشگاه"
    )
)
_SHOMARE: Final = fold("شماره")
# "your call 123", "missed call": the noun, not the verb.
_DETERMINERS: Final = frozenset(
    phrases("your | the | a | an | my | our | this | that | each | per | missed | last | next")
)


def _keyword_table() -> dict[str, str]:
    """Keyword (its words joined by one space, and also written solid) -> the kind of number it
    announces. Later kinds win a tie: «ساعات تماس» is about hours."""
    table: dict[str, str] = {}
    for kind, words in (("code", _CODE_WORDS), ("phone", _PHONE_WORDS), ("time", _TIME_WORDS)):
        for word in words:
            folded = " ".join(fold(word).split())
            table[folded] = kind
            table.setdefault(folded.replace(" ", ""), kind)
    return table


_KEYWORDS: Final = _keyword_table()
_LONGEST_KEYWORD: Final = max(key.count(" ") + 1 for key in _KEYWORDS)
_FIRST_WORDS: Final = frozenset(key.split(" ")[0] for key in _KEYWORDS) | {_SHOMARE}
# Words, digit groups and the one-character keywords: keywords are looked up token by token, which
# is several times cheaper than a regex alternation of a few hundred phrases.
_TOKEN: Final = re.compile(rf"[{WORD_CHAR}]+|[#☎☏✆\U0001f4de\U0001f4f1]")
# Keywords reach across other numbers («پشتیبانی ۲۴ ساعته ۰۲۱۸۲۳۰») but not across a sentence.
_WINDOW_STOP: Final = re.compile(rf"[\n!?;{_MASK}]")
# How far before and after a number its keywords are looked for, in characters.
_WINDOW: Final = 48
_TAIL: Final = 40

_UNIT_AFTER: Final = re.compile(rf"[ \t]*(?:{alternation(_UNIT_WORDS)})(?![{WORD_CHAR}])")
# A call verb after the number: «با ۱۸۱۸ تماس بگیرید», «۱۸۱۸ - زنگ بزنید». «۲۰۰ تماس موفق» counts
# calls, so the noun alone does not do, except right after «با» or «به» («با ۱۸۱۸ تماس …»).
_CALL_VERB_AFTER: Final = re.compile(
    rf"[ \t\-:,]*(?:[{ARABIC_LETTER}]+[ \t]+)?"
    r"(?:تماس[ \t]*(?:بگیر|بفرما|حاصل|گرفته|می[ \t]*گیر)|زنگ[ \t]*(?:بزن|زده|می[ \t]*زن))"
)
_CALL_AFTER: Final = re.compile(rf"[ \t\-:,]*(?:[{ARABIC_LETTER}]+[ \t]+)?(?:تماس|زنگ)(?![{WORD_CHAR}])")
_WITH_BEFORE: Final = re.compile(rf"(?<![{WORD_CHAR}])(?:با|به)[ \t]+$")
# A number right after these is a quantity or a bound, not something to dial: «از ۹ تا ۱۸»,
# «پشتیبانی از ۱۲۰۰ محصول», "up to 500".
_QUANTITY_BEFORE: Final = re.compile(
    rf"(?<![{WORD_CHAR}])(?:"
    + alternation(
        phrases(
            "از | تا | حدود | بالای | زیر | بیش | کمتر | فقط | تنها | حداقل | حداکثر |"
            "from | to | over | under | about | only | than | least | most"
        )
    )
    + r")[ \t]*$"
)

# Stems of every phone keyword and call verb, looked for once per text: without one, only numbers
# shaped like phone numbers need a closer look.
_PHONE_STEMS: Final = tuple(
    fold(w)
    for w in phrases(
        "تلفن | تماس | موبایل | فکس | دورنگار | پشتیبانی | خط ویژه | واتس | واتز | زنگ | شماره ما |"
        "شماره زیر | شماره مستقیم | شماره ثابت | شماره همراه | شماره گیری | همراه بانک | همراهبانک |"
        "tel | ph | call | mob | cell | fax | whatsapp | contact | hotline | ☎ | ☏ | ✆ | \U0001f4de | \U0001f4f1"
    )
)
if not all(any(stem in fold(word) for stem in _PHONE_STEMS) for word in _PHONE_WORDS):
    raise AssertionError("every phone keyword must contain one of the phone stems")
_PHONE_STEM: Final = re.compile("|".join(map(re.escape, _PHONE_STEMS)))

# Numbers in words: «صفر نهصد و دوازده …», «یک هشت یک هشت», "zero nine one two …".
# fmt: off
_NUMBER_WORDS: Final = {
    "صفر": 0, "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "شیش": 6, "هفت": 7, "هشت": 8,
    "نه": 9, "ده": 10, "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "پونزده": 15,
    "شانزده": 16, "شونزده": 16, "هفده": 17, "هیفده": 17, "هجده": 18, "هیجده": 18, "نوزده": 19,
    "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60, "هفتاد": 70, "هشتاد": 80, "نود": 90,
    "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300, "چهارصد": 400, "پانصد": 500, "پونصد": 500,
    "ششصد": 600, "شیشصد": 600, "هفتصد": 700, "هشتصد": 800, "نهصد": 900, "هزار": 1000,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9,
}
# fmt: on
_NUMBER_WORD = rf"(?:{alternation(_NUMBER_WORDS)}|[0-9]+)(?![{WORD_CHAR}])"
_SPELLED: Final = re.compile(
    rf"(?<![{WORD_CHAR}]){_NUMBER_WORD}(?:(?:[ \t]*[,\-][ \t]*|[ \t]+و[ \t]+|[ \t]+){_NUMBER_WORD})+"
)
_SPELLED_TOKEN: Final = re.compile(rf"(?P<and>(?<![{WORD_CHAR}])و(?![{WORD_CHAR}]))|(?P<word>{_NUMBER_WORD})")
# A phone number that starts in digits and goes on in words: «۰۹۱۲ سه چهار …», «+98 912 سه …».
# The look-ahead on first letters prunes most places before the long alternation is tried.
_NUMBER_WORD_START = "(?=[" + "".join(sorted({w[0] for w in _NUMBER_WORDS})) + "])"
_DIGITS_THEN_WORDS: Final = re.compile(
    rf"[0-9][ \t,\-]+{_NUMBER_WORD_START}(?:{alternation(_NUMBER_WORDS)})[ \t,\-]+"
    rf"(?:{alternation(_NUMBER_WORDS)})(?![{WORD_CHAR}])"
)


def find_phones(text: str) -> list[Span]:
    """Spans, in the folded text, of every phone number."""
    spans: list[Span] = []
    keywords = _PHONE_STEM.search(text) is not None
    if _DIGIT.search(text) is not None:
        _digit_runs(text, _mask_traps(text), spans, keywords)
    _spelled(text, spans, keywords)
    return merge(spans)


def _mask_traps(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.lastgroup == "date" and not _plausible_date(m.group()):
            return m.group()
        # Ten digits and more in dotted groups is a phone number written with dots
        # ("0912.345.67.89"), not a version or an address.
        if m.lastgroup == "version" and len(m.group()) - m.group().count(".") >= 10:
            return m.group()
        return _MASK * (m.end() - m.start())

    return _TRAPS.sub(replace, text)


def _plausible_date(value: str) -> bool:
    parts = [int(p) for p in re.split(r"[/.\-]", value)]
    if len(parts) == 2:
        first, second = parts
        if first >= 1000:
            return 1 <= second <= 12
        return 1 <= first <= 31 and 1 <= second <= 31
    if parts[2] >= 1000:
        day, month, _ = parts
        if month > 12 >= day:
            day, month = month, day
    else:
        _, month, day = parts
    return 1 <= month <= 12 and 1 <= day <= 31


def _digit_runs(text: str, masked: str, spans: list[Span], keywords: bool) -> None:
    """Phone numbers among the digit runs of `masked` (the folded text with its traps masked).
    Without any phone keyword in the text a number needs a phone number's shape."""
    for run in (_RUN if keywords else _LONG_RUN).finditer(masked):
        raw = run.group()
        digits = raw.translate(_SEPARATORS)
        base, plus = run.start(), False
        before = masked[max(0, base - 3) : base]
        if "+" in before or "(" in before:
            base, plus = _lead(masked, base)
        shift = run.start() - base
        groups = [(g.start() + shift, g.end() + shift, g.group()) for g in _GROUP.finditer(raw)]
        end = base + groups[-1][1]
        if _glued_to_code(text, run.start(), end):
            continue
        # The run as a whole, its "+" or "(" included in the span.
        if len(digits) <= _MAX_DIGITS and _is_phone(
            text, base, end, digits, plus, [g[2] for g in groups], True
        ):
            spans.append((base, end))
            continue
        if len(groups) == 1:
            continue
        # Several numbers listed with spaced dashes or slashes ("۳۳۴۴۵۵۶۶ - ۳۳۴۴۵۵۶۷") are judged
        # one by one, then stretches of groups shaped like a phone number are looked for.
        for segment in _segments(masked, base, groups):
            lead = plus and segment[0] is groups[0]
            if len(segment) < len(groups):
                start = base if segment[0] is groups[0] else base + segment[0][0]
                stop = base + segment[-1][1]
                parts = [g[2] for g in segment]
                if _is_phone(text, start, stop, "".join(parts), lead, parts, True):
                    spans.append((start, stop))
                    continue
            if len(segment) > 1:
                _stretches(text, base, lead, segment, spans, segment[0] is groups[0])


def _segments(masked: str, base: int, groups: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """The groups of a run split where the separator is a spaced dash or slash (" - ", " / ")."""
    segments = [[groups[0]]]
    for previous, group in itertools.pairwise(groups):
        separator = masked[base + previous[1] : base + group[0]]
        if separator.strip(" \t") and separator != separator.strip(" \t"):
            segments.append([group])
        else:
            segments[-1].append(group)
    return segments


def _lead(text: str, start: int) -> tuple[int, bool]:
    """Where a run really starts, taking in a "+" or "(" typed just before its first digit, and
    whether it carries a "+"."""
    lead = _LEAD.search(text, max(0, start - 3), start)
    if lead is None:
        return start, False
    return lead.start(), "+" in lead.group()


def _stretches(
    text: str, base: int, plus: bool, groups: list[tuple[int, int, str]], spans: list[Span], at_start: bool
) -> None:
    """The longest stretches of whole groups shaped like a phone number, from left to right:
    "۰۹۱۲۱۲۳۴۵۶۷ ۲۴" holds a mobile and a stray number. `at_start` says whether the first group
    starts the run (and may then carry its "+" or "(")."""
    i = 0
    while i < len(groups):
        longest = None
        stretch = ""
        for j in range(i, len(groups)):
            stretch += groups[j][2]
            if len(stretch) > _MAX_DIGITS:
                break
            if (i, j) != (0, len(groups) - 1) and _shape(
                stretch, plus and i == 0, [g[2] for g in groups[i : j + 1]]
            ):
                longest = j
        if longest is not None:
            chosen = groups[i : longest + 1]
            start = base if i == 0 and at_start else base + chosen[0][0]
            stop = base + chosen[-1][1]
            parts = [g[2] for g in chosen]
            if _is_phone(text, start, stop, "".join(parts), plus and i == 0, parts, False):
                spans.append((start, stop))
                i = longest + 1
                continue
        i += 1


def _shape(digits: str, plus: bool, groups: list[str]) -> Shape | None:
    value = ("+" if plus else "") + digits
    if _IR_MOBILE.fullmatch(value):
        return "mobile"
    if _IR_LANDLINE.fullmatch(value):
        return "landline"
    if not plus and _IR_BARE_MOBILE.fullmatch(value):
        return "bare_mobile"
    if _FOREIGN.fullmatch(value):
        return "foreign"
    # The area code written after the number, as right-to-left typing often leaves it: ۸۸۷۷۶۶۵۵-۰۲۱.
    if len(groups) == 2 and len(groups[0]) == 8 and _AREA_CODE.fullmatch(groups[1]):
        return "landline"
    return None


def _glued_to_code(text: str, start: int, end: int) -> bool:
    """A run glued to Latin letters, or next to "*" or "#", is part of a code: IR06…, BOOK1403,
    A-12345 (after the dash), *800#, 6037-99**-****-1234."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    if _LATIN_LETTER.match(before[-1:]) or _LATIN_LETTER.match(after[:1]):
        return True
    return "*" in before or "#" in before or "*" in after or "#" in after


def _could_be_short(digits: str, groups: list[str]) -> bool:
    """Whether a number with no phone shape may still be one when a keyword says so: a service
    number (1818, 96321) or a local number (8877 6655, 1-800-123-4567), not "9-18" or "2 3"."""
    if not 3 <= len(digits) <= 13:
        return False
    if len(groups) == 1:
        return len(digits) <= 8
    return len(digits) >= 7 and min(map(len, groups[1:])) >= 2


def _is_phone(
    text: str, start: int, end: int, digits: str, plus: bool, groups: list[str], whole: bool
) -> bool:
    shape = _shape(digits, plus, groups)
    if shape is None:
        # A number with no phone shape needs a phone keyword close by; most have none.
        if not (whole and _could_be_short(digits, groups)):
            return False
        if _PHONE_STEM.search(text, max(0, start - _WINDOW), end + _TAIL) is None:
            return False
    context = _Context(text, start, end)
    if shape in ("mobile", "landline", "foreign"):
        # «کد رهگیری: ۰۹۱۲…» is a code; «تلفن سفارش ۰۲۱…» and «برای پیگیری با ۰۹۱۲… تماس
        # بگیرید» are phone numbers. A mobile gives way only to an explicit code word: «شماره
        # راننده» is still the driver's phone, «شماره بن ۰۲۱…» a voucher.
        if context.phone_nearby or context.after_call:
            return True
        if context.before != "code" or context.before_words > 2:
            return True
        return shape == "mobile" and not context.explicit_code
    if shape == "bare_mobile":
        return context.before not in ("code", "time") and not context.after_unit
    if context.after_unit or _QUANTITY_BEFORE.search(text, max(0, start - 8), start):
        return False
    if context.before == "phone" and context.before_words <= 3:
        return True
    return context.after_call and context.before not in ("code", "time")


class _Context:
    """The keywords around one candidate number in the folded text."""

    __slots__ = ("after_call", "after_unit", "before", "before_words", "explicit_code", "phone_nearby")

    def __init__(self, text: str, start: int, end: int) -> None:
        # The nearest keyword before the number that is about it: its kind ("code", "phone",
        # "time"), whether it is an explicit code word (not just «شماره» + a noun), and how many
        # words stand between it and the number.
        self.before: str | None = None
        self.explicit_code = False
        self.before_words = 0
        window = text[max(0, start - _WINDOW) : start]
        stops = list(_WINDOW_STOP.finditer(window))
        if stops:
            window = window[stops[-1].end() :]
        tokens = _TOKEN.findall(window)
        found = _keywords(tokens)
        for kind, explicit, after in reversed(found):
            following = tokens[after:]
            # A code or time word with another number after it was about that number
            # («پذیرش ۲۴ ساعته: ۰۳۱…»); a phone word may reach across one («پشتیبانی ۲۴ ساعته ۰۲۱۸۲۳۰»).
            if kind != "phone" and any(t[0].isdigit() for t in following):
                continue
            self.before, self.explicit_code, self.before_words = kind, explicit, len(following)
            break
        self.phone_nearby = any(kind == "phone" and len(tokens) - after <= 4 for kind, _, after in found)
        tail = text[end : end + _TAIL]
        self.after_unit = _UNIT_AFTER.match(tail) is not None
        self.after_call = _CALL_VERB_AFTER.match(tail) is not None or (
            _WITH_BEFORE.search(text, max(0, start - 6), start) is not None
            and _CALL_AFTER.match(tail) is not None
        )


def _keywords(tokens: list[str]) -> list[tuple[str, bool, int]]:
    """(kind, explicit code word, index of the token after it) for every keyword, longest first."""
    found: list[tuple[str, bool, int]] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in _FIRST_WORDS:
            i += 1
            continue
        for size in range(min(_LONGEST_KEYWORD, len(tokens) - i), 0, -1):
            kind = _KEYWORDS.get(" ".join(tokens[i : i + size]))
            if kind is not None:
                if tokens[i] == "call" and i and tokens[i - 1] in _DETERMINERS:
                    kind = "count"
                found.append((kind, kind == "code", i + size))
                i += size
                break
        else:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            if tokens[i] == _SHOMARE and following[:1].isalpha() and following not in _NOUNS_KEEPING_SHOMARE:
                found.append(("code", False, i + 2))
                i += 2
            else:
                i += 1
    return found


def _spelled(text: str, spans: list[Span], keywords: bool) -> None:
    # A spelled Iranian number starts with «صفر» or with digits («۰۹۱۲ سه چهار …»); otherwise only
    # a short number after a phone keyword («تماس: یک هشت یک هشت») can be spelled.
    if not (keywords or "صفر" in text or "zero" in text or _DIGITS_THEN_WORDS.search(text)):
        return
    words = _TOKEN.findall(text)
    present = _NUMBER_WORD_SET.intersection(words)
    # Two number words at least, or the same one twice: anything less spells no phone number.
    if not present or (len(present) == 1 and words.count(next(iter(present))) < 2):
        return
    for m in _SPELLED.finditer(text):
        read = _read_spelled(m.group())
        if read is None:
            continue
        digits, first, last = read
        start, end = m.start() + first, m.start() + last
        if not _glued_to_code(text, start, end) and _is_phone(
            text, start, end, digits, False, [digits], True
        ):
            spans.append((start, end))


_NUMBER_WORD_SET: Final = frozenset(_NUMBER_WORDS)


def _read_spelled(words: str) -> tuple[str, int, int] | None:
    """The digits a run of number words spells, and where its first and last number start and
    end; None with fewer than two words. Terms joined by «و» add up («سیصد و چهل و پنج» is 345),
    «هزار» multiplies, and each number writes its digits after the previous one's («صفر نهصد و
    دوازده» is 0912)."""
    numbers: list[tuple[str, int, int]] = []
    joined = False
    spelled = 0
    for token in _SPELLED_TOKEN.finditer(words):
        if token.group("and"):
            joined = True
            continue
        word = token.group("word")
        if word.isdigit():
            numbers.append((word, token.start(), token.end()))
        else:
            spelled += 1
            value = _NUMBER_WORDS[word]
            if numbers and not numbers[-1][0].startswith("0") and (joined or value == 1000):
                previous, begin, _ = numbers[-1]
                total = max(int(previous), 1) * 1000 if value == 1000 else int(previous) + value
                numbers[-1] = (str(total), begin, token.end())
            else:
                numbers.append((str(value), token.start(), token.end()))
        joined = False
    if spelled < 2:
        return None
    return "".join(n[0] for n in numbers), numbers[0][1], numbers[-1][2]
