"""Opt-outs: recipients who replied 11 to a line (12 starts it again), or refused one account.

Scopes and what they stop:

- `line`: the recipient replied 11 (or «لغو», STOP…) to a line. Every SMS from that line to them
  is skipped, informational ones included; 12 (START) lifts it.
- `account`: the recipient refused one account's advertising. A reply that the dispatcher can tie
  to the account whose message it answers records this too, and 12 lifts it with the line's.

Informational sends skip line opt-outs only; advertising sends skip both (and the blacklist).
Lines are keyed by their number as digits, the form `lines.number` stores, so an opt-out outlives
the line row being removed and added again. Only Iranian mobiles (mobile keys) are recorded: a
reply from any other number is left to the caller as an ordinary inbound SMS.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from pyroaring import BitMap
from sqlalchemy.orm import Session

from payamak.db import utcnow
from payamak.errors import ValidationFailed
from payamak.numbers import mobile_key
from payamak.sending import blacklist_repository as repo
from payamak.sending.blacklist import to_bitmap

Action = Literal["stop", "start"]
Scope = Literal["line", "account"]
SendKind = Literal["advertising", "informational"]

STOP_WORDS: Final = frozenset(
    {
        "11",
        "لغو",
        "لغو11",
        "11لغو",
        # What the Twilio-compatible API and English-speaking recipients use.
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
    }
)
START_WORDS: Final = frozenset({"12", "start", "unstop"})
# An inbound SMS longer than this is a message, not a keyword; not worth folding.
_LONGEST_REPLY: Final = 40


def _fold_table() -> dict[int, int | str | None]:
    table: dict[int, int | str | None] = {}
    for cp in range(0x10000):
        ch = chr(cp)
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            table[cp] = 0x30 + digit
            continue
        category = unicodedata.category(ch)
        # Separators, punctuation, symbols (quotes, «», emoji), invisible marks (ZWNJ, RLM,
        # tatweel is Lm but only stretches a word) all go: "لغو۱۱"، « لـغو 11 » and "STOP!" match.
        if category[0] in "ZPSC" or ch == "\u0640":
            table[cp] = None
    # Arabic spellings of Persian letters, as Arabic keyboards type them.
    table[ord("ي")] = "ی"
    table[ord("ك")] = "ک"
    return table


_FOLD: Final = _fold_table()


def parse_reply(text: str) -> Action | None:
    """ "stop" for 11, «لغو», «لغو ۱۱», STOP…; "start" for 12, START; None for anything else.

    Digits in any script, spaces, ZWNJ, punctuation and case do not matter; anything more does:
    "111", "1100", "11 تا", "لغو ۱۲" and sentences are not replies.
    """
    if len(text) > _LONGEST_REPLY:
        return None
    word = unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def normalize_line(line: str) -> str:
    """A line number as digits only (Persian and Arabic digits folded), as `lines.number` holds it."""
    digits = "".join(ch for ch in str(line).translate(_FOLD) if ch.isdigit())
    if not 3 <= len(digits) <= 20:
        raise ValidationFailed(
            "شمارهٔ خط باید ۳ تا ۲۰ رقم باشد.",
            "A line number has 3 to 20 digits.",
            code="line_invalid",
            field="line",
        )
    return digits


def _key(number: str | int) -> int:
    key = mobile_key(number)
    if key is None:
        raise ValidationFailed(
            f"«{number}» شمارهٔ همراه ایرانی درستی نیست.",
            f"{number!r} is not a valid Iranian mobile number.",
            code="invalid_number",
        )
    return key


def _target(scope: Scope, line: str | None, account_id: int | None) -> tuple[str | None, int | None]:
    if scope == "line":
        if line is None:
            raise ValueError("a line opt-out needs the line")
        return normalize_line(line), None
    if account_id is None:
        raise ValueError("an account opt-out needs the account")
    return None, account_id


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    action: Action
    line: str
    number_key: int
    account_id: int | None
    changed: bool  # False when the recipient was already in the state asked for


def apply_reply(
    session: Session,
    *,
    line: str,
    from_number: str | int,
    text: str,
    account_id: int | None = None,
) -> ReplyOutcome | None:
    """Act on an inbound SMS if it is an opt-out reply; None when it is not one (or not from a mobile).

    For the dispatcher, per inbound SMS to `line` (the line's number). `account_id` is the account
    whose message the reply answers, when known: the opt-out then covers that account's
    advertising from every line too. Idempotent: replying 11 twice changes nothing the second time.
    """
    action = parse_reply(text)
    if action is None:
        return None
    key = mobile_key(from_number)
    if key is None:
        return None
    line_digits = normalize_line(line)
    if action == "stop":
        changed = add_optout(session, scope="line", number=key, line=line_digits, source="reply")
        if account_id is not None:
            changed |= add_optout(session, scope="account", number=key, account_id=account_id, source="reply")
    else:
        changed = remove_optout(session, scope="line", number=key, line=line_digits)
        if account_id is not None:
            changed |= remove_optout(session, scope="account", number=key, account_id=account_id)
    return ReplyOutcome(
        action=action, line=line_digits, number_key=key, account_id=account_id, changed=changed
    )


def add_optout(
    session: Session,
    *,
    scope: Scope,
    number: str | int,
    line: str | None = None,
    account_id: int | None = None,
    source: str = "manual",
) -> bool:
    """Record an opt-out of a line or an account; False when it was already recorded."""
    line_digits, account = _target(scope, line, account_id)
    return repo.insert_optout(
        session,
        scope=scope,
        key=_key(number),
        line=line_digits,
        account_id=account,
        source=source[:10],
        now=utcnow(),
    )


def remove_optout(
    session: Session,
    *,
    scope: Scope,
    number: str | int,
    line: str | None = None,
    account_id: int | None = None,
) -> bool:
    """Lift an opt-out; False when there was none."""
    line_digits, account = _target(scope, line, account_id)
    return repo.delete_optout(session, scope=scope, key=_key(number), line=line_digits, account_id=account)


def _scopes_for(kind: SendKind, account_id: int | None) -> int | None:
    if kind == "advertising":
        return account_id
    if kind == "informational":
        return None
    raise ValueError(f"unknown kind of send: {kind!r}")


def is_opted_out(
    session: Session, *, number: str | int, line: str, account_id: int | None, kind: SendKind
) -> bool:
    """Whether one recipient refused this line (or, for advertising, this account)."""
    key = mobile_key(number)
    if key is None:
        return False
    account = _scopes_for(kind, account_id)
    return bool(repo.optout_scopes(session, key=key, line=normalize_line(line), account_id=account))


def opted_out_keys(session: Session, *, account_id: int | None, line: str, kind: SendKind) -> BitMap:
    """Every recipient a send must skip for opt-outs, as a bitmap of `key - KEY_BASE`.

    Advertising: opted out of the line or of the account; informational: of the line only.
    One indexed query; intersect the result with the send's recipients.
    """
    account = _scopes_for(kind, account_id)
    keys = repo.optout_keys(session, line=normalize_line(line), account_id=account)
    return to_bitmap(keys)
