"""`payamak admin templates approve|revoke`: what operators script."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from payamak.cli import app as cli_app
from payamak.compat import repository as repo
from payamak.context import Context

from .conftest import SENDER_NAME, Shop


def run(ctx: Context, *args: str) -> tuple[int, str]:
    env = {"PAYAMAK_DATABASE_URL": ctx.db.url, "PAYAMAK_DATA_DIR": str(ctx.settings.data_dir), "PAYAMAK_SECRET_KEY": "k"}
    result = CliRunner().invoke(cli_app, list(args), env=env)
    return result.exit_code, result.output


def texts(ctx: Context, shop: Shop) -> dict[str, str]:
    with ctx.db.transaction(readonly=True) as session:
        return {t.name: t.text for t in repo.templates(session, account_id=shop.account_id)}


def test_approve_replace_and_revoke(ctx: Context, make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    code, out = run(ctx, "admin", "templates", "approve", "--mobile", shop.mobile, "--name", "otp", "--text", f"{SENDER_NAME}: کد %token")
    assert code == 0, out
    code, out = run(ctx, "admin", "templates", "approve", "--mobile", shop.mobile, "--name", "otp", "--text", f"{SENDER_NAME}: رمز %token")
    assert code == 0, out
    assert texts(ctx, shop) == {"otp": f"{SENDER_NAME}: رمز %token"}
    code, out = run(ctx, "admin", "templates", "revoke", "--mobile", shop.mobile, "--name", "otp")
    assert code == 0 and texts(ctx, shop) == {}


def test_refusals_are_one_line_and_change_nothing(ctx: Context, make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    for args, code_word in (
        (("--name", "otp", "--text", f"{SENDER_NAME}: بدون جای‌خالی"), "template_without_token"),
        (("--name", "otp", "--text", "کد %token"), "compliance_violation"),  # no sender name
        (("--name", "otp", "--text", f"{SENDER_NAME}: %token nili.ir"), "compliance_violation"),
        (("--name", "نام فارسی", "--text", f"{SENDER_NAME}: %token"), "template_name_invalid"),
    ):
        code, out = run(ctx, "admin", "templates", "approve", "--mobile", shop.mobile, *args)
        assert code == 1 and code_word in out and out.count("\n") == 1, out
    code, out = run(ctx, "admin", "templates", "approve", "--mobile", "09129999999", "--name", "otp", "--text", "%token")
    assert code == 1 and "account_not_found" in out
    assert run(ctx, "admin", "templates", "revoke", "--mobile", shop.mobile, "--name", "nope")[0] == 1
    assert texts(ctx, shop) == {}
