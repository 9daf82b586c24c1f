"""The content check a message goes through before anything is charged."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from payamak.compliance._lexicon import Span, inside, merge, overlaps
from payamak.compliance.contacts import find_emails, find_social
from payamak.compliance.links import find_links
from payamak.compliance.messages import explain
from payamak.compliance.names import matcher
from payamak.compliance.normalize import Normalized
from payamak.compliance.phones import find_phones
from payamak.errors import ValidationFailed

__all__ = ["KINDS", "OPT_OUT_SUFFIX", "RULES", "Kind", "Violation", "check", "has_opt_out", "text_to_send"]

Kind = Literal["advertising", "informational"]
KINDS: Final[tuple[Kind, ...]] = ("advertising", "informational")

RULES: Final[tuple[str, ...]] = (
    "link",
    "phone_number",
    "social_id",
    "email",
    "sender_name_missing",
    "forbidden_word",
)
_RULE_ORDER: Final = {rule: i for i, rule in enumerate(RULES)}
_LATIN: Final = re.compile("[a-z]")

OPT_OUT_SUFFIX: Final = "لغو۱۱"
# «لغو۱۱», «لغو 11», «لغو: ۱۱», and the spelled-out «ارسال ۱۱ جهت لغو», in any digits and with any
# spacing or invisible marks; matched on the raw text, which spares folding it a second time.
_GAP = "[ \t:=_.\\-\u200b-\u200f\u2066-\u2069\u00a0]*"
_ELEVEN = "[1\u06f1\u0661\uff11][1\u06f1\u0661\uff11](?![0-9\u06f0-\u06f9\u0660-\u0669])"
_OPT_OUT: Final = re.compile(
    f"\u0644\u063a\u0648{_GAP}{_ELEVEN}"
    f"|(?<![0-9\u06f0-\u06f9\u0660-\u0669]){_ELEVEN}{_GAP}(?:(?:برای|جهت){_GAP})?\u0644\u063a\u0648"
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule. `start`/`end` index the text as typed; `message` is Persian.

    `sender_name_missing` has no place in the text, so its span is the empty span (0, 0)."""

    rule: str
    start: int
    end: int
    message: str
    message_en: str


def _kind(kind: str | None) -> Kind | None:
    if kind is None or kind in KINDS:
        return kind
    raise ValidationFailed(
        f"نوع پیامک نامعتبر است: «{kind}»؛ advertising یا informational",
        f"Unknown message kind {kind!r}: expected advertising or informational",
        code="kind_invalid",
    )


def check(
    text: str,
    *,
    kind: Kind | None,
    sender_names: Sequence[str] = (),
    forbidden_words: Sequence[str] = (),
) -> list[Violation]:
    """Every rule `text` breaks as a message of `kind`, ordered by position.

    `kind=None` only analyses: nothing is reported. Advertising messages are exempt from the content
    rules, but not from the forbidden words, which operators filter whatever the kind.
    Informational messages must not contain links, phone numbers, social-media addresses or e-mail
    addresses, and must name the sender with one of `sender_names` (when none are given there is
    nothing to compare with and that rule is skipped).
    """
    if _kind(kind) is None:
        return []
    # A lone string is one name, not a sequence of one-letter names that would match anything.
    if isinstance(sender_names, str):
        sender_names = (sender_names,)
    if isinstance(forbidden_words, str):
        forbidden_words = (forbidden_words,)
    n = Normalized(text)
    found: list[tuple[str, Span]] = []
    if kind == "informational":
        _content(n, found)
        if sender_names:
            names = matcher(tuple(sender_names))
            if names is not None and names.search(n.text) is None:
                found.append(("sender_name_missing", (0, 0)))
    if forbidden_words:
        words = matcher(tuple(forbidden_words))
        if words is not None:
            for m in words.finditer(n.text):
                found.append(("forbidden_word", m.span()))
    return _violations(n, found, sender_names)


def _content(n: Normalized, found: list[tuple[str, Span]]) -> None:
    text = n.text
    latin = _LATIN.search(text) is not None
    emails = find_emails(text, latin=latin)
    links = find_links(n, latin=latin)
    # A domain inside an e-mail is that e-mail, and one that runs past what the e-mail pattern
    # took ("support at thc dot ac dot ir") still is: the e-mail grows to cover it.
    if emails and links:
        emails = merge(emails + [s for s in links if overlaps(s, emails)])
        links = [s for s in links if not overlaps(s, emails)]
    social, named = find_social(n, latin=latin)
    if emails and social:
        social = [s for s in social if not inside(s, emails)]
    # A handle given after a platform keyword may look like a domain («اینستاگرام: shop.ir»):
    # the keyword says what it is, so it is reported once, as a social address. A platform link
    # (t.me/…, instagram.com/…) is reported as both: each rule alone forbids it, and an operator
    # filters it under either. A number inside a link or an address is part of it.
    if named and links:
        links = [s for s in links if s not in named]
    phones = find_phones(text)
    taken = emails + links + social
    if phones and taken:
        phones = [s for s in phones if not inside(s, taken)]
    for rule, spans in (("email", emails), ("link", links), ("social_id", social), ("phone_number", phones)):
        for span in spans:
            found.append((rule, span))


def _violations(n: Normalized, found: list[tuple[str, Span]], names: Sequence[str]) -> list[Violation]:
    result: list[Violation] = []
    for rule, (start, end) in found:
        if rule == "sender_name_missing":
            persian, english = explain(rule, names=names)
            result.append(Violation(rule, 0, 0, persian, english))
            continue
        o_start, o_end = n.span(start, end)
        persian, english = explain(rule, n.original[o_start:o_end])
        result.append(Violation(rule, o_start, o_end, persian, english))
    result.sort(key=lambda v: (v.start, v.end, _RULE_ORDER[v.rule]))
    return result


def has_opt_out(text: str) -> bool:
    """Whether the opt-out instruction («لغو۱۱» in any digits or spacing) is already there."""
    return "\u0644\u063a\u0648" in text and _OPT_OUT.search(text) is not None


def text_to_send(text: str, *, kind: Kind | None, opt_out_suffix: bool = True) -> str:
    """The text as it will go out: informational messages get «لغو۱۱» on a line of its own when
    they do not already carry it (trailing whitespace is dropped first, since it would only add to
    the length). Other kinds, and a blank text, are returned unchanged."""
    if _kind(kind) != "informational" or not opt_out_suffix or not text.strip() or has_opt_out(text):
        return text
    return text.rstrip() + "\n" + OPT_OUT_SUFFIX
