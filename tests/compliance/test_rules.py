"""The rules' contract: kinds, decisions about overlaps, sender names, forbidden words, messages."""

from __future__ import annotations

import time

import pytest

from payamak.compliance import RULES, Violation, check
from payamak.errors import ValidationFailed

SHOP = ("فروشگاه رضا",)


def rules(text: str, **kwargs: object) -> list[str]:
    kwargs.setdefault("kind", "informational")
    kwargs.setdefault("sender_names", SHOP)
    return [v.rule for v in check(text, **kwargs)]  # type: ignore[arg-type]


def test_rule_ids() -> None:
    assert RULES == ("link", "phone_number", "social_id", "email", "sender_name_missing", "forbidden_word")


def test_kind_none_only_analyses() -> None:
    assert check("shop.ir ۰۹۱۲۳۴۵۶۷۸۹ برنده", kind=None, sender_names=SHOP, forbidden_words=["برنده"]) == []


def test_advertising_is_free_of_content_rules_but_not_of_forbidden_words() -> None:
    text = "جشنواره! shop.ir ۰۹۱۲۳۴۵۶۷۸۹ @shop a@b.ir برنده شوید"
    assert rules(text, kind="advertising") == []
    assert rules(text, kind="advertising", forbidden_words=["برنده"]) == ["forbidden_word"]


def test_unknown_kind_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check("x", kind="marketing")  # type: ignore[arg-type]
    assert caught.value.code == "kind_invalid"


def test_violation_carries_persian_and_english_explanations() -> None:
    (v,) = check("فروشگاه رضا: shop.ir", kind="informational", sender_names=SHOP)
    assert isinstance(v, Violation)
    assert "shop.ir" in v.message and "پیوند" in v.message
    assert "link" in v.message_en


def test_sender_name_explanation_lists_the_approved_names() -> None:
    (v,) = check("سلام", kind="informational", sender_names=["فروشگاه رضا", "Reza Shop"])
    assert "«فروشگاه رضا»" in v.message and '"Reza Shop"' in v.message_en


class TestSenderName:
    @pytest.mark.parametrize(
        "text",
        [
            "فروشگاه رضا: سلام",
            "فروشگاه‌رضا: سلام",
            "فروشگاهرضا: سلام",
            "فروشگاه  رضا: سلام",
            "فروشگاه رِضا: سلام",
            "فروشـگاه رضـا: سلام",
            "سلام از «فروشگاه رضا».",
        ],
    )
    def test_named(self, text: str) -> None:
        assert rules(text) == []

    def test_arabic_letters_in_the_approved_name(self) -> None:
        assert rules("کاشی کرمان: سلام", sender_names=["كاشي كرمان"]) == []

    @pytest.mark.parametrize(
        ("name", "text"),
        [("Ali Shop", "ALI  SHOP: hi"), ("Ali Shop", "ali-shop: hi"), ("Ali Shop", "alishop: hi")],
    )
    def test_latin_names_ignore_case_and_spacing(self, name: str, text: str) -> None:
        assert rules(text, sender_names=[name]) == []

    @pytest.mark.parametrize(
        ("name", "text"),
        [("نور", "نوروز مبارک"), ("نور", "نورانی"), ("Ali Shop", "AliShopping week"), ("مهر", "مهرسان")],
    )
    def test_a_longer_word_is_not_the_name(self, name: str, text: str) -> None:
        assert rules(text, sender_names=[name]) == ["sender_name_missing"]

    def test_any_approved_name_will_do(self) -> None:
        assert rules("Reza Shop: hi", sender_names=["فروشگاه رضا", "Reza Shop"]) == []

    def test_a_single_string_is_one_name(self) -> None:
        assert rules("سلام", sender_names="فروشگاه رضا") == ["sender_name_missing"]
        assert rules("فروشگاه رضا: برنده", forbidden_words="برنده") == ["forbidden_word"]

    def test_no_approved_names_means_nothing_to_compare(self) -> None:
        assert rules("سلام", sender_names=[]) == []
        assert rules("سلام", sender_names=["", "  "]) == []


class TestForbiddenWords:
    def test_whole_words_after_folding(self) -> None:
        words = ["برنده", "قرعه کشی"]
        assert rules("فروشگاه رضا: برنده شدید", forbidden_words=words) == ["forbidden_word"]
        assert rules("فروشگاه رضا: قرعه‌کشی", forbidden_words=words) == ["forbidden_word"]
        assert rules("فروشگاه رضا: قرعهکشی", forbidden_words=words) == ["forbidden_word"]
        assert rules("فروشگاه رضا: برندهای معتبر", forbidden_words=words) == []

    def test_each_occurrence_is_reported(self) -> None:
        assert rules("فروشگاه رضا: برنده و برنده", forbidden_words=["برنده"]) == ["forbidden_word"] * 2


class TestOverlaps:
    def test_an_email_is_not_also_a_link_or_a_handle(self) -> None:
        assert rules("فروشگاه رضا: info@shop.ir") == ["email"]
        assert rules("فروشگاه رضا: ali @ gmail.com") == ["email"]
        assert rules("فروشگاه رضا: support at thc dot ac dot ir") == ["email"]

    def test_a_platform_link_is_both_a_link_and_a_social_address(self) -> None:
        found = check("فروشگاه رضا: t.me/shop", kind="informational", sender_names=SHOP)
        assert [v.rule for v in found] == ["link", "social_id"]
        assert {(v.start, v.end) for v in found} == {(13, 22)}

    def test_a_handle_after_a_platform_keyword_is_only_a_social_address(self) -> None:
        assert rules("فروشگاه رضا: اینستاگرام: shop.ir") == ["social_id"]

    def test_a_number_inside_a_link_is_part_of_the_link(self) -> None:
        assert rules("فروشگاه رضا: wa.me/989121234567") == ["link", "social_id"]
        assert rules("فروشگاه رضا: shop.ir/p/09121234567") == ["link"]

    def test_a_number_after_whatsapp_is_a_phone_number(self) -> None:
        assert rules("فروشگاه رضا: واتساپ ۰۹۱۲۳۴۵۶۷۸۹") == ["phone_number"]


@pytest.mark.parametrize(
    "text",
    [
        "a . " * 400,
        "1 . " * 400,
        "0 9 1 2 " * 200,
        "۰۹ " * 400,
        "1," * 700,
        "info at a dot a dot " * 70,
        "@a_" * 500,
        "صفر " * 400,
        "تماس ۱ " * 250,
        "x" * 1500 + ".com",
    ],
)
def test_pathological_input_stays_fast(text: str) -> None:
    started = time.perf_counter()
    check(text, kind="informational", sender_names=SHOP, forbidden_words=["برنده"])
    assert time.perf_counter() - started < 0.25
