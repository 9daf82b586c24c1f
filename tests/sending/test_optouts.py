"""Opt-out replies (11 stops a line, 12 starts it again) and what sends must skip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from payamak.db import Database
from payamak.errors import ValidationFailed
from payamak.sending import optouts
from payamak.sending.blacklist import keys_of, to_bitmap
from payamak.sending.optouts import apply_reply, opted_out_keys, parse_reply

STOP = [
    "11",
    " 11 ",
    "۱۱",
    "١١",
    "１１",  # fullwidth
    "11.",
    "11!",
    "«۱۱»",
    "\u200f11\u200f",  # right-to-left marks around it
    "1\u200c1",
    "1 1",
    "لغو",
    "لغو11",
    "لغو۱۱",
    "لغو ۱۱",
    "لغو 11",
    "لغو-۱۱",
    "لغو: 11",
    "لـغو ۱۱",  # tatweel
    "ﻟﻐﻮ",  # Arabic presentation forms
    "۱۱ لغو",
    "«لغو۱۱»",
    "لغو\u200c۱۱",
    "\n11\n",
    "STOP",
    "stop",
    "Stop.",
    "UNSUBSCRIBE",
    "cancel",
    "End",
    "quit",
    "stopall",
]
START = ["12", " ۱۲ ", "١٢", "12.", "START", "start", "Unstop", "1 2"]
NEITHER = [
    "",
    " ",
    "1",
    "111",
    "1100",
    "011",
    "11 11",
    "112",
    "11 تا",
    "۱۱ تا",
    "لغو ۱۲",
    "12 لغو",
    "لغو کنید",
    "لطفا لغو 11",
    "13",
    "0",
    "سلام",
    "stop it",
    "yes",
    "help",
    "11" * 30,
    "11 ok",
    "تایید",
]


@pytest.mark.parametrize("text", STOP)
def test_stop_replies(text: str) -> None:
    assert parse_reply(text) == "stop"


@pytest.mark.parametrize("text", START)
def test_start_replies(text: str) -> None:
    assert parse_reply(text) == "start"


@pytest.mark.parametrize("text", NEITHER)
def test_anything_else_is_not_a_reply(text: str) -> None:
    assert parse_reply(text) is None


def test_line_numbers_are_digits() -> None:
    assert optouts.normalize_line("۳۰۰۰ ۱۲۳۴") == "30001234"
    assert optouts.normalize_line("+98 912 000 1111") == "989120001111"
    with pytest.raises(ValidationFailed):
        optouts.normalize_line("ab")


def test_reply_11_then_12_is_idempotent(db: Database, make_user: Callable[..., Any]) -> None:
    shop = make_user()
    with db.transaction() as session:
        first = apply_reply(
            session, line="30001234", from_number="+989121111111", text="لغو ۱۱", account_id=shop.id
        )
        again = apply_reply(
            session, line="30001234", from_number="09121111111", text="11", account_id=shop.id
        )
    assert first is not None and first.action == "stop" and first.changed
    assert first.number_key == 9121111111 and first.line == "30001234" and first.account_id == shop.id
    assert again is not None and not again.changed
    with db.transaction(readonly=True) as session:
        assert optouts.is_opted_out(
            session, number="09121111111", line="30001234", account_id=None, kind="informational"
        )
        # the account's advertising from another line stops too; its informational SMS do not
        assert optouts.is_opted_out(
            session, number="09121111111", line="30009999", account_id=shop.id, kind="advertising"
        )
        assert not optouts.is_opted_out(
            session, number="09121111111", line="30009999", account_id=shop.id, kind="informational"
        )
    with db.transaction() as session:
        start = apply_reply(
            session, line="30001234", from_number="09121111111", text="۱۲", account_id=shop.id
        )
        start_again = apply_reply(
            session, line="30001234", from_number="09121111111", text="12", account_id=None
        )
    assert start is not None and start.action == "start" and start.changed
    assert start_again is not None and not start_again.changed
    with db.transaction(readonly=True) as session:
        assert not optouts.is_opted_out(
            session, number="09121111111", line="30001234", account_id=shop.id, kind="advertising"
        )


def test_replies_that_are_not_opt_outs_change_nothing(db: Database) -> None:
    with db.transaction() as session:
        assert apply_reply(session, line="30001234", from_number="09121111111", text="سلام، قیمت؟") is None
        # a foreign number cannot be keyed; the caller keeps it as an ordinary inbound SMS
        assert apply_reply(session, line="30001234", from_number="+447911123456", text="STOP") is None
        assert opted_out_keys(session, account_id=None, line="30001234", kind="advertising") == to_bitmap([])


def test_opted_out_keys_by_kind(db: Database, make_user: Callable[..., Any]) -> None:
    shop, other = make_user(), make_user()
    with db.transaction() as session:
        apply_reply(session, line="30001234", from_number="09121111111", text="11")  # line only
        optouts.add_optout(session, scope="account", number="09352222222", account_id=shop.id)
        optouts.add_optout(session, scope="account", number="09903333333", account_id=other.id)
        apply_reply(session, line="20001234", from_number="09014444444", text="11")  # another line
    with db.transaction(readonly=True) as session:
        ad = opted_out_keys(session, account_id=shop.id, line="30001234", kind="advertising")
        info = opted_out_keys(session, account_id=shop.id, line="30001234", kind="informational")
        other_line = opted_out_keys(session, account_id=shop.id, line="۲۰۰۰۱۲۳۴", kind="informational")
        with pytest.raises(ValueError, match="unknown kind"):
            opted_out_keys(session, account_id=shop.id, line="30001234", kind="bulk")  # type: ignore[arg-type]
    assert set(keys_of(ad)) == {9121111111, 9352222222}
    assert set(keys_of(info)) == {9121111111}
    assert set(keys_of(other_line)) == {9014444444}


def test_a_number_opted_out_of_both_scopes_comes_once(db: Database, make_user: Callable[..., Any]) -> None:
    shop = make_user()
    with db.transaction() as session:
        apply_reply(session, line="30001234", from_number="09121111111", text="11", account_id=shop.id)
        keys = opted_out_keys(session, account_id=shop.id, line="30001234", kind="advertising")
    assert list(keys_of(keys)) == [9121111111]


def test_manual_opt_outs_and_their_errors(db: Database, make_user: Callable[..., Any]) -> None:
    shop = make_user()
    with db.transaction() as session:
        assert optouts.add_optout(session, scope="line", number="09121111111", line="30001234")
        assert not optouts.add_optout(session, scope="line", number="9121111111", line="3000 1234")
        assert optouts.remove_optout(session, scope="line", number="09121111111", line="30001234")
        assert not optouts.remove_optout(session, scope="line", number="09121111111", line="30001234")
        assert not optouts.remove_optout(session, scope="account", number="09121111111", account_id=shop.id)
        with pytest.raises(ValidationFailed) as bad:
            optouts.add_optout(session, scope="line", number="hello", line="30001234")
        assert bad.value.code == "invalid_number"
        with pytest.raises(ValueError, match="needs the line"):
            optouts.add_optout(session, scope="line", number="09121111111")
        with pytest.raises(ValueError, match="needs the account"):
            optouts.add_optout(session, scope="account", number="09121111111")


def test_many_opt_outs_come_back_as_one_bitmap(db: Database) -> None:
    with db.transaction() as session:
        for i in range(2000):
            optouts.add_optout(
                session, scope="line", number=9120000000 + i * 3, line="30001234", source="import"
            )
    with db.transaction(readonly=True) as session:
        keys = opted_out_keys(session, account_id=None, line="30001234", kind="informational")
    assert keys == to_bitmap(9120000000 + i * 3 for i in range(2000))
