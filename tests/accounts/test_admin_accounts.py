"""The operator's view of accounts: the list with its search and count, and owners looked up by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.context import Context
from payamak.errors import PermissionDenied


def principal_of(user: Any, *, admin: bool) -> Principal:
    return Principal(account_id=user.id, role="admin" if admin else "user")


def test_list_newest_first_a_page_at_a_time_with_the_count(
    ctx: Context, make_user: Callable[..., Any]
) -> None:
    admin = make_user(admin=True)
    users = [make_user() for _ in range(4)]
    everyone = [admin, *users]
    with ctx.db.transaction(readonly=True) as session:
        rows, total = accounts.list_accounts(session, principal=principal_of(admin, admin=True), limit=2)
        assert total == len(everyone)
        assert [a.id for a in rows] == [u.id for u in reversed(everyone)][:2]
        rows, total = accounts.list_accounts(
            session, principal=principal_of(admin, admin=True), offset=4, limit=2
        )
        assert (total, [a.id for a in rows]) == (len(everyone), [admin.id])


@pytest.mark.parametrize("typed", ["09125550001", "۰۹۱۲۵۵۵۰۰۰۱", "+98 912 555 0001", " 0912 555 0001 "])
def test_a_mobile_in_any_form_finds_its_account(
    ctx: Context, make_user: Callable[..., Any], typed: str
) -> None:
    admin = make_user(admin=True)
    wanted = make_user("09125550001")
    make_user("09125550002")
    with ctx.db.transaction(readonly=True) as session:
        rows, total = accounts.list_accounts(session, principal=principal_of(admin, admin=True), query=typed)
    assert (total, [a.id for a in rows]) == (1, [wanted.id])


def test_part_of_a_mobile_or_a_name_narrows_the_list(ctx: Context, make_user: Callable[..., Any]) -> None:
    admin = make_user(admin=True)
    first, second = make_user("09125550001"), make_user("09125550002")
    with ctx.db.transaction() as session:
        accounts.update_profile(
            session, principal=principal_of(second, admin=False), name="فروشگاه نیلی", language="fa"
        )
    with ctx.db.transaction(readonly=True) as session:
        rows, total = accounts.list_accounts(
            session, principal=principal_of(admin, admin=True), query="555000"
        )
        assert total == 2 and {a.id for a in rows} == {first.id, second.id}
        rows, total = accounts.list_accounts(session, principal=principal_of(admin, admin=True), query="نیلی")
        assert (total, [a.id for a in rows]) == (1, [second.id])
        rows, total = accounts.list_accounts(session, principal=principal_of(admin, admin=True), query="  ")
        assert total == 3


def test_only_an_admin_lists_or_looks_up_accounts(ctx: Context, make_user: Callable[..., Any]) -> None:
    user = make_user()
    with ctx.db.transaction(readonly=True) as session:
        with pytest.raises(PermissionDenied):
            accounts.list_accounts(session, principal=principal_of(user, admin=False))
        with pytest.raises(PermissionDenied):
            accounts.accounts_by_id(session, principal=principal_of(user, admin=False), account_ids=[user.id])


def test_owners_by_id_leave_out_the_missing(ctx: Context, make_user: Callable[..., Any]) -> None:
    admin, user = make_user(admin=True), make_user()
    with ctx.db.transaction(readonly=True) as session:
        found = accounts.accounts_by_id(
            session, principal=principal_of(admin, admin=True), account_ids=[user.id, user.id, 999_999]
        )
        assert {k: v.mobile for k, v in found.items()} == {user.id: user.mobile}
        assert (
            accounts.accounts_by_id(session, principal=principal_of(admin, admin=True), account_ids=[]) == {}
        )
