"""The web pages for logging in and signing up: cookies, CSRF, going back to the page asked for."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from payamak.context import Context
from payamak.providers.simulator import RecordingProvider


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_login_page_is_persian_and_rtl(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200
    assert 'dir="rtl"' in r.text and 'lang="fa"' in r.text and "ورود" in r.text
    en = client.get("/login?lang=en")
    assert 'dir="ltr"' in en.text and "Log in" in en.text


def test_pages_need_login_and_return_after_it(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/")
    page = client.get("/login?next=/simulator")
    r = client.post(
        "/login",
        data={
            "mobile": user.mobile,
            "password": user.password,
            "remember": "1",
            "next": "/simulator",
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/simulator"
    cookie = r.headers["set-cookie"]
    assert "payamak_session=" in cookie and "HttpOnly" in cookie and "Max-Age=2592000" in cookie
    home = client.get("/")
    assert home.status_code == 200 and "وارد شده‌اید" in home.text


def test_login_redirect_stays_on_this_site(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "mobile": user.mobile,
            "password": user.password,
            "next": "//evil.example/x",
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_forms_refuse_a_missing_or_wrong_csrf_token(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    client.get("/login")
    for token in ("", "forged"):
        r = client.post("/login", data={"mobile": user.mobile, "password": user.password, "csrf": token})
        assert r.status_code == 403 and "payamak_session" not in r.headers.get("set-cookie", "")


def test_wrong_password_shows_the_error_on_the_form(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    page = client.get("/login")
    r = client.post(
        "/login", data={"mobile": user.mobile, "password": "nope-nope", "csrf": csrf_of(page.text)}
    )
    assert r.status_code == 400 and "رمز عبور درست نیست" in r.text and user.mobile in r.text


def test_signup_verify_logout_in_pages(client: TestClient, ctx: Context) -> None:
    page = client.get("/signup")
    r = client.post(
        "/signup",
        data={
            "mobile": "۰۹۳۵۱۲۳۴۵۶۷",
            "password": "page-password",
            "name": "گل‌فروشی",
            "csrf": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/verify?mobile=")
    verify = client.get(r.headers["location"])
    assert isinstance(ctx.system_sms, RecordingProvider)
    text = ctx.system_sms.last_text("+989351234567")
    assert text
    code = re.search(r"\d{6}", text)
    assert code
    # The simulator page shows the code to whoever has no real phone behind the number.
    assert code.group(0) in client.get("/simulator").text
    r = client.post(
        "/verify",
        data={"mobile": "+989351234567", "code": code.group(0), "csrf": csrf_of(verify.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = client.get("/")
    assert "گل‌فروشی" in home.text
    r = client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_forgotten_password_by_code(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    page = client.get("/forgot")
    r = client.post("/forgot", data={"mobile": user.mobile, "csrf": csrf_of(page.text)})
    assert r.status_code == 200 and 'name="code"' in r.text
    assert isinstance(ctx.system_sms, RecordingProvider)
    code = re.search(r"\d{6}", ctx.system_sms.last_text(user.mobile) or "")
    assert code
    r = client.post(
        "/reset",
        data={
            "mobile": user.mobile,
            "code": code.group(0),
            "new_password": "after-reset-1",
            "csrf": csrf_of(r.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    login = client.post(
        "/auth/login".join(["/api/v1", ""]), json={"mobile": user.mobile, "password": "after-reset-1"}
    )
    assert login.status_code == 200
