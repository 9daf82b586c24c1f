"""Violation spans index the text exactly as typed: Persian and Arabic digits, ZWNJ, direction
marks, tatweel, diacritics, fullwidth letters and emoji all stay where the user put them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payamak.compliance import check

SHOP = ("فروشگاه رضا",)
HERE = Path(__file__).parent


def spans(text: str, **kwargs: object) -> list[tuple[str, str]]:
    """(rule, the typed substring) for every violation."""
    found = check(text, kind="informational", sender_names=SHOP, **kwargs)  # type: ignore[arg-type]
    return [(v.rule, text[v.start : v.end]) for v in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("فروشگاه رضا: تماس ۰۹۱۲۳۴۵۶۷۸۹ لطفاً", [("phone_number", "۰۹۱۲۳۴۵۶۷۸۹")]),
        ("فروشگاه رضا: ۰۹۱۲\u200c۳۴۵\u200c۶۷۸۹ زنگ بزنید", [("phone_number", "۰۹۱۲\u200c۳۴۵\u200c۶۷۸۹")]),
        ("فروشگاه رضا: \u200f۰۹۱۲\u200f۳۴۵\u200f۶۷۸۹\u200f", [("phone_number", "۰۹۱۲\u200f۳۴۵\u200f۶۷۸۹")]),
        ("فروشگاه‌رضا لطفاً با ٠٩١٢٣٤٥٦٧٨٩ هماهنگ کنید", [("phone_number", "٠٩١٢٣٤٥٦٧٨٩")]),
        ("فروشگاه رضا: +۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹.", [("phone_number", "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹")]),
        ("فروشگاه رضا: (۰۲۱) ۸۸۷۷ ۶۶۵۵", [("phone_number", "(۰۲۱) ۸۸۷۷ ۶۶۵۵")]),
        ("فروشگاه رضا: تماس: ۱۸۱۸", [("phone_number", "۱۸۱۸")]),
        ("فروشگاه رضا: 1️⃣5️⃣6️⃣6️⃣ تماس بگیرید", [("phone_number", "1️⃣5️⃣6️⃣6️⃣")]),
        (
            "فروشگاه رضا: صفر نهصد و دوازده، سیصد و چهل و پنج، شصت و هفت، هشتاد و نه",
            [("phone_number", "صفر نهصد و دوازده، سیصد و چهل و پنج، شصت و هفت، هشتاد و نه")],
        ),
        ("لطفـــاً به ｓｈｏｐ．ｉｒ بروید؛ فروشگاه رضا", [("link", "ｓｈｏｐ．ｉｒ")]),
        ("فروشگاه رضا: سایت‌ ما shop دات آی‌آر است", [("link", "shop دات آی‌آر")]),
        ("فروشگاه رضا: https://shop.ir/a?b=1، بعد", [("link", "https://shop.ir/a?b=1")]),
        ("فروشگاه رضا: کافه‌کتاب.ایران", [("link", "کتاب.ایران")]),
        ("فروشگاه رضا: اینستاگرام: @shop_reza.", [("social_id", "@shop_reza")]),
        ("فروشگاه رضا: ＠ｓｈｏｐ＿ｒｅｚａ", [("social_id", "＠ｓｈｏｐ＿ｒｅｚａ")]),
        ("فروشگاه رضا: t.me/shopreza", [("link", "t.me/shopreza"), ("social_id", "t.me/shopreza")]),
        ("فروشگاه رضا: ایمیل info [at] shop [dot] ir", [("email", "info [at] shop [dot] ir")]),
        ("فروشگاه رضا: info اَت shop دات ir", [("email", "info اَت shop دات ir")]),
        ("فروشگاه رضا: sara@shop.ir", [("email", "sara@shop.ir")]),
    ],
)
def test_span_is_the_typed_substring(text: str, expected: list[tuple[str, str]]) -> None:
    assert spans(text) == expected


def test_forbidden_word_span_keeps_zwnj_and_diacritics() -> None:
    text = "فروشگاه رضا: برندهٔ‌های خوش‌شانس و بَرَنده"
    assert spans(text, forbidden_words=["برنده"]) == [
        ("forbidden_word", "برندهٔ"),
        ("forbidden_word", "بَرَنده"),
    ]


def test_violations_are_in_text_order() -> None:
    text = "سلام ۰۹۱۲۳۴۵۶۷۸۹ و shop.ir و @shop_reza و a@b.ir"
    found = check(text, kind="informational", sender_names=SHOP)
    assert [v.rule for v in found] == ["sender_name_missing", "phone_number", "link", "social_id", "email"]
    assert [v.start for v in found] == sorted(v.start for v in found)


def test_missing_sender_name_is_the_empty_span_at_the_start() -> None:
    (violation,) = check("سلام", kind="informational", sender_names=SHOP)
    assert (violation.rule, violation.start, violation.end) == ("sender_name_missing", 0, 0)


def test_every_corpus_span_is_a_trimmed_piece_of_the_text() -> None:
    for name in ("corpus.jsonl", "holdout.jsonl"):
        for line in (HERE / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            text = case["text"]
            for v in check(
                text,
                kind=case["kind"],
                sender_names=case["sender_names"],
                forbidden_words=case["forbidden_words"],
            ):
                assert 0 <= v.start <= v.end <= len(text)
                if v.rule == "sender_name_missing":
                    continue
                piece = text[v.start : v.end]
                assert piece.strip() == piece and piece, (text, v)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [
                *list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ +-.()@:/abcdxyzشماره تماس دات نقطه"),
                "\u200c",
                "\u200f",
                "\u200b",
                "ـ",
                "ً",
                "ｗ",
                "．",
                "️",
                "⃣",
                "ﻻ",
                "…",
                "İ",
            ]
        ),
        max_size=80,
    )
)
def test_spans_stay_inside_the_text_whatever_it_holds(text: str) -> None:
    for v in check(text, kind="informational", sender_names=SHOP, forbidden_words=["دات"]):
        assert 0 <= v.start <= v.end <= len(text)
        if v.rule != "sender_name_missing":
            assert v.start < v.end


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=160))
def test_any_text_is_checked_without_error(text: str) -> None:
    found = check(text, kind="informational", sender_names=SHOP, forbidden_words=["برنده"])
    assert all(0 <= v.start <= v.end <= len(text) for v in found)
    assert found == sorted(found, key=lambda v: (v.start, v.end))
