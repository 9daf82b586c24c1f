"""The opt-out line informational messages carry."""

from __future__ import annotations

import pytest

from payamak.compliance import OPT_OUT_SUFFIX, has_opt_out, text_to_send


def test_informational_gets_the_opt_out_line() -> None:
    assert OPT_OUT_SUFFIX == "لغو۱۱"
    assert text_to_send("سفارش شما ارسال شد.", kind="informational") == "سفارش شما ارسال شد.\nلغو۱۱"


def test_trailing_whitespace_goes_before_the_opt_out_line() -> None:
    assert text_to_send("سلام  \n", kind="informational") == "سلام\nلغو۱۱"


@pytest.mark.parametrize(
    "text",
    [
        "سلام\nلغو۱۱",
        "سلام لغو 11",
        "سلام\nلغو11",
        "سلام - لغو: ۱۱",
        "سلام لغو١١",
        "سلام لغو\u200c۱۱",
        "سلام\nارسال ۱۱ جهت لغو",
        "لغو۱۱\nسلام",
    ],
)
def test_an_opt_out_already_there_is_not_repeated(text: str) -> None:
    assert has_opt_out(text)
    assert text_to_send(text, kind="informational") == text


@pytest.mark.parametrize("text", ["لغو ۱۱۰ مورد", "لغو 112", "سلام 11", "لغو سفارش"])
def test_other_numbers_are_not_the_opt_out(text: str) -> None:
    assert not has_opt_out(text)


@pytest.mark.parametrize("kind", ["advertising", None])
def test_other_kinds_are_sent_as_typed(kind: str | None) -> None:
    assert text_to_send("سلام", kind=kind) == "سلام"  # type: ignore[arg-type]


def test_the_suffix_can_be_switched_off() -> None:
    assert text_to_send("سلام", kind="informational", opt_out_suffix=False) == "سلام"


@pytest.mark.parametrize("text", ["", "  \n"])
def test_a_blank_text_stays_blank(text: str) -> None:
    assert text_to_send(text, kind="informational") == text
