"""What each violation says to the sender, in Persian and in English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["explain"]

_SNIPPET_LIMIT: Final = 40

_TEMPLATES: Final[dict[str, tuple[str, str]]] = {
    "link": (
        "پیامک اطلاع‌رسانی نباید پیوند یا نشانی وب‌سایت داشته باشد: «{s}»",
        'An informational SMS may not contain a link or web address: "{s}"',
    ),
    "phone_number": (
        "پیامک اطلاع‌رسانی نباید شماره تلفن داشته باشد: «{s}»",
        'An informational SMS may not contain a phone number: "{s}"',
    ),
    "social_id": (
        "پیامک اطلاع‌رسانی نباید شناسه یا نشانی شبکه‌های اجتماعی داشته باشد: «{s}»",
        'An informational SMS may not contain a social-media handle or address: "{s}"',
    ),
    "email": (
        "پیامک اطلاع‌رسانی نباید نشانی ایمیل داشته باشد: «{s}»",
        'An informational SMS may not contain an e-mail address: "{s}"',
    ),
    "sender_name_missing": (
        "نام فرستنده در متن نیامده است؛ یکی از نام‌های تأییدشده را در متن بنویسید: {s}",
        "The sender is not named in the text; include one of the approved sender names: {s}",
    ),
    "forbidden_word": (
        "واژهٔ «{s}» مجاز نیست؛ اپراتورها پیامک دارای این واژه را بی‌صدا حذف می‌کنند و هزینه‌اش را می‌گیرند.",
        'The word "{s}" is not allowed: operators silently drop messages containing it and still charge.',
    ),
}


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_LIMIT else text[: _SNIPPET_LIMIT - 1] + "…"


def explain(rule: str, found: str = "", names: Sequence[str] = ()) -> tuple[str, str]:
    """The Persian and English explanation of one violation of `rule` about `found`."""
    persian, english = _TEMPLATES[rule]
    if rule == "sender_name_missing":
        return (
            persian.format(s="، ".join(f"«{n}»" for n in names)),
            english.format(s=", ".join(f'"{n}"' for n in names)),
        )
    snippet = _snippet(found)
    return persian.format(s=snippet), english.format(s=snippet)
