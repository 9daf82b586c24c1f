"""Generated messages: every written form of a phone number, address or domain is caught, and every
form of an amount, date, time or code is left alone, in any digit system and spacing."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from payamak.compliance import check, fold

SHOP = ("فروشگاه رضا",)
DIGIT_SYSTEMS = ("0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")
# What people put between digit groups: spaces, dashes, dots, underscores, invisible marks.
SEPARATORS = ("", " ", "-", ".", "_", "\u200c", "\u200b", "\u200f", " - ", "  ")


def rules(text: str) -> set[str]:
    return {v.rule for v in check(text, kind="informational", sender_names=SHOP)}


def phone_spans(text: str) -> list[str]:
    return [
        text[v.start : v.end]
        for v in check(text, kind="informational", sender_names=SHOP)
        if v.rule == "phone_number"
    ]


@st.composite
def digits_in(draw: st.DrawFn, value: str) -> str:
    system = draw(st.sampled_from(DIGIT_SYSTEMS))
    return value.translate(str.maketrans("0123456789", system))


@st.composite
def grouped(draw: st.DrawFn, digits: str, groupings: list[list[int]]) -> str:
    sizes = draw(st.sampled_from([g for g in groupings if sum(g) == len(digits)]))
    separator = draw(st.sampled_from(SEPARATORS))
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    return separator.join(parts)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    rest = draw(st.sampled_from(["1", "3", "0", "2", "9"])) + draw(
        st.text(string.digits, min_size=8, max_size=8)
    )
    body = "9" + rest
    form = draw(st.sampled_from(["0", "+98", "0098", "98", "+98 ", "0098 ", "+98 (0)", ""]))
    if form.endswith("0") or form == "0":
        number = form + draw(grouped(body, [[3, 3, 4], [3, 3, 2, 2], [10], [3, 7]]))
        if form == "0":
            number = draw(grouped("0" + body, [[4, 3, 4], [4, 3, 2, 2], [11], [4, 7], [2, 2, 3, 2, 2]]))
    else:
        number = form + draw(grouped(body, [[3, 3, 4], [3, 3, 2, 2], [10], [3, 7]]))
    return str(draw(digits_in(number)))


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["21", "26", "31", "41", "51", "71", "13", "17", "81", "87", "44", "61"]))
    local = draw(st.sampled_from("2345678")) + draw(st.text(string.digits, min_size=7, max_size=7))
    form = draw(st.integers(0, 2))
    if form == 0:
        number = draw(grouped("0" + area + local, [[3, 8], [3, 4, 4], [11], [3, 2, 2, 2, 2]]))
    elif form == 1:
        number = f"(0{area}) " + draw(grouped(local, [[8], [4, 4]]))
    else:
        number = "+98 " + area + " " + draw(grouped(local, [[8], [4, 4]]))
    return str(draw(digits_in(number)))


AROUND = [
    "فروشگاه رضا: برای هماهنگی با {} در ارتباط باشید.",
    "فروشگاه رضا\nهماهنگی: {}",
    "فروشگاه رضا - {} (آقای احمدی)",
    "Reza shop (فروشگاه رضا): reach us on {} anytime",
]


@settings(max_examples=400, deadline=None)
@given(mobiles(), st.sampled_from(AROUND))
def test_every_form_of_a_mobile_is_a_phone_number(number: str, template: str) -> None:
    text = template.format(number)
    found = phone_spans(text)
    assert len(found) == 1, (text, found)
    assert fold(found[0]).strip(" +()") == fold(number).strip(" +()"), (text, found)


@settings(max_examples=300, deadline=None)
@given(landlines(), st.sampled_from(AROUND))
def test_every_form_of_a_landline_is_a_phone_number(number: str, template: str) -> None:
    text = template.format(number)
    found = phone_spans(text)
    assert len(found) == 1, (text, found)
    assert fold(found[0]).strip(" +()") == fold(number).strip(" +()"), (text, found)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1_000, 99_999_999_999),
    st.sampled_from([",", ".", "٬", "،"]),
    st.sampled_from(["ریال", "تومان", "IRR", ""]),
    st.sampled_from(DIGIT_SYSTEMS),
    st.sampled_from(["مبلغ {}", "واریز: {}", "موجودی {} است", "{}", "جمع کل {} شد"]),
)
def test_amounts_are_not_phone_numbers(
    value: int, separator: str, unit: str, system: str, template: str
) -> None:
    amount = f"{value:,}".replace(",", separator).translate(str.maketrans("0123456789", system))
    text = "فروشگاه رضا: " + template.format(f"{amount} {unit}".strip())
    assert rules(text) == set(), text


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1300, 1420) | st.integers(1990, 2035),
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["/", "-", "."]),
    st.sampled_from(DIGIT_SYSTEMS),
)
def test_dates_and_times_are_not_phone_numbers(
    year: int, month: int, day: int, hour: int, minute: int, separator: str, system: str
) -> None:
    date = separator.join([str(year), f"{month:02d}", f"{day:02d}"])
    text = f"فروشگاه رضا: نوبت شما {date} ساعت {hour}:{minute:02d} است".translate(
        str.maketrans("0123456789", system)
    )
    assert rules(text) == set(), text


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "کد رهگیری",
            "کد رهگیری:",
            "کد ملی",
            "کد پستی:",
            "شماره سفارش",
            "شناسه پرداخت",
            "کد تایید:",
            "رمز",
            "شبا",
        ]
    ),
    st.text(string.digits, min_size=4, max_size=20),
    st.sampled_from(DIGIT_SYSTEMS),
)
def test_numbers_after_a_code_keyword_are_not_phone_numbers(keyword: str, code: str, system: str) -> None:
    text = f"فروشگاه رضا: {keyword} {code.translate(str.maketrans('0123456789', system))}"
    assert "phone_number" not in rules(text), text


LABEL = st.text(string.ascii_lowercase, min_size=3, max_size=10)
TLD = st.sampled_from(["com", "ir", "net", "org", "co", "io", "shop", "online", "info", "xyz"])
DOTS = [".", " . ", " dot ", "[dot]", "(dot)", "[.]", " نقطه ", " دات ", "{dot}"]


@settings(max_examples=300, deadline=None)
@given(
    LABEL, TLD, st.sampled_from(DOTS), st.sampled_from(["", "www.", "https://", "http://www."]), st.booleans()
)
def test_every_disguise_of_a_domain_is_a_link(
    label: str, tld: str, dot: str, prefix: str, upper: bool
) -> None:
    domain = prefix + label + dot + tld
    if upper:
        domain = domain.upper()
    assert rules(f"فروشگاه رضا: سایت ما {domain} است") == {"link"}, domain


@settings(max_examples=200, deadline=None)
@given(
    LABEL, st.sampled_from(["pdf", "docx", "xlsx", "jpg", "png", "txt", "csv", "mp4", "rar", "apk", "exe"])
)
def test_file_names_are_not_links(name: str, extension: str) -> None:
    if name == "www":  # "www.anything" is written as a site address
        return
    assert rules(f"فروشگاه رضا: فایل {name}.{extension} ارسال شد") == set()


@settings(max_examples=300, deadline=None)
@given(
    st.text(string.ascii_lowercase, min_size=2, max_size=8),
    LABEL,
    TLD,
    st.sampled_from(
        [
            ("@", "."),
            (" [at] ", " [dot] "),
            ("(at)", "(dot)"),
            (" at ", " dot "),
            (" اَت ", " دات "),
            ("@", " dot "),
        ]
    ),
)
def test_every_disguise_of_an_email_is_an_email(
    local: str, host: str, tld: str, marks: tuple[str, str]
) -> None:
    at, dot = marks
    address = f"{local}.{local}{at}{host}{dot}{tld}"
    assert rules(f"فروشگاه رضا: ایمیل {address}") == {"email"}, address


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9_.]{2,14}[a-z0-9_]", fullmatch=True))
def test_handles_are_social_addresses(handle: str) -> None:
    if ".." in handle or handle.endswith("."):
        return
    found = rules(f"فروشگاه رضا: ما را دنبال کنید @{handle}")
    assert "social_id" in found, handle


PERSIAN_DIGIT_WORDS = ("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نه")


@settings(max_examples=200, deadline=None)
@given(st.text(string.digits, min_size=9, max_size=9), st.sampled_from([" ", "، ", " - "]))
def test_a_mobile_spelled_digit_by_digit_is_a_phone_number(rest: str, separator: str) -> None:
    spelled = separator.join(PERSIAN_DIGIT_WORDS[int(d)] for d in "09" + rest)
    assert rules(f"فروشگاه رضا: شماره ما {spelled}") == {"phone_number"}, spelled


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["تلفن:", "تماس:", "شماره تماس", "☎", "📞", "Tel:", "call", "تلفن گویا", "مرکز تماس"]),
    st.text(string.digits, min_size=4, max_size=5).filter(lambda d: d[0] != "0"),
    st.sampled_from(DIGIT_SYSTEMS),
)
def test_a_short_number_after_a_phone_keyword_is_a_phone_number(
    keyword: str, number: str, system: str
) -> None:
    text = f"فروشگاه رضا: {keyword} {number.translate(str.maketrans('0123456789', system))}"
    assert rules(text) == {"phone_number"}, text


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["+1", "+44", "+971", "+90", "0044", "001", "+49", "0049"]),
    st.text(string.digits, min_size=9, max_size=10).filter(lambda d: d[0] != "0"),
    st.sampled_from([" ", "-", ""]),
)
def test_foreign_numbers_are_phone_numbers(country: str, number: str, separator: str) -> None:
    written = country + " " + number[:3] + separator + number[3:6] + separator + number[6:]
    assert rules(f"فروشگاه رضا: {written}") == {"phone_number"}, written


HANDLE = st.from_regex(r"[a-z][a-z0-9_]{3,12}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "آیدی",
            "آیدی تلگرام:",
            "اینستاگرام:",
            "پیج اینستا",
            "کانال ما:",
            "ایتا:",
            "روبیکا:",
            "بله:",
            "ID:",
            "Telegram:",
            "Instagram:",
            "WhatsApp:",
            "Eitaa:",
            "Rubika:",
            "Bale:",
            "Soroush:",
            "iGap:",
            "سروش:",
        ]
    ),
    HANDLE,
)
def test_a_handle_after_a_platform_keyword_is_a_social_address(keyword: str, handle: str) -> None:
    assert rules(f"فروشگاه رضا: {keyword} {handle}") == {"social_id"}, (keyword, handle)


NAME_FORMS = st.sampled_from(
    [
        lambda n: n,
        lambda n: n.replace(" ", "\u200c"),
        lambda n: n.replace(" ", ""),
        lambda n: n.replace(" ", "  "),
        lambda n: n.replace("ی", "ي").replace("ک", "ك"),
        lambda n: n.upper(),
        lambda n: n.lower(),
        lambda n: n.replace("ا", "اَ", 1),
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["فروشگاه رضا", "کافه کتاب", "Ali Shop", "بیمه آسیا", "دیجی کالا"]), NAME_FORMS)
def test_a_sender_name_is_found_however_it_is_typed(name: str, form: object) -> None:
    typed = form(name)  # type: ignore[operator]
    assert check(f"{typed}: سفارش شما ارسال شد", kind="informational", sender_names=[name]) == []
    assert check(f"{typed}ها: سفارش شما ارسال شد", kind="informational", sender_names=[name]) != []
