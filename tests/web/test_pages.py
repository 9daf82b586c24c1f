"""Every page: shown to whoever may see it, a login redirect to the rest, forms refused without CSRF."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from payamak.api.deps import SESSION_COOKIE
from payamak.web.i18n import WORDS

from .conftest import Shop, csrf_of

USER_PAGES = [
    "/",
    "/send/advertising",
    "/send/informational",
    "/groups",
    "/groups/{group}",
    "/groups/{group}/import",
    "/customers",
    "/credit",
    "/credit/statement",
    "/profile",
]
ADMIN_PAGES = [
    "/admin",
    "/admin/accounts",
    "/admin/sender-names",
    "/admin/packages",
    "/admin/tariffs",
    "/admin/lines",
    "/admin/blacklist",
    "/admin/words",
]
# Every form a page posts, with the path the form lives on.
FORMS = [
    "/groups",
    "/groups/{group}/rename",
    "/groups/{group}/delete",
    "/groups/{group}/numbers",
    "/groups/{group}/from-customers",
    "/groups/{group}/imports/preview",
    "/groups/{group}/imports",
    "/customers",
    "/customers/to-group",
    "/send/advertising/preview",
    "/send/advertising",
    "/sends/1/cancel",
    "/profile",
    "/profile/password",
    "/profile/sender-names",
    "/profile/api-keys",
    "/profile/sessions/1/revoke",
    "/admin/accounts/1/credit",
    "/admin/sender-names/1/approve",
    "/admin/packages",
    "/admin/tariffs",
    "/admin/vat",
    "/admin/lines",
    "/admin/routes",
    "/admin/blacklist/add",
    "/admin/blacklist/remove",
    "/admin/blacklist/national",
    "/admin/words",
]
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "payamak" / "web" / "templates"


# One test per kind of check, each looping over the pages: the first request of every test costs
# more than all the others together.


def test_user_pages_render_in_persian_for_a_logged_in_user(client: TestClient, shop: Shop) -> None:
    client.cookies.set(SESSION_COOKIE, shop.user.token)
    for path in USER_PAGES:
        r = client.get(path.format(group=shop.group_id))
        assert r.status_code == 200, (path, r.text)
        assert 'dir="rtl"' in r.text and "وارد شده‌اید" in r.text, path
        assert 'aria-current="page"' in r.text, f"{path}: the menu does not mark where the user is"
        assert ">مدیریت<" not in r.text, f"{path}: only administrators see the admin menu"


def test_logged_out_visitors_are_sent_to_log_in_and_back(client: TestClient, shop: Shop) -> None:
    for path in USER_PAGES + ADMIN_PAGES:
        target = path.format(group=shop.group_id)
        r = client.get(target, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"] == f"/login?next={target}"


def test_admin_pages_are_for_administrators_only(client: TestClient, shop: Shop) -> None:
    for path in ADMIN_PAGES:
        client.cookies.set(SESSION_COOKIE, shop.user.token)
        r = client.get(path)
        assert r.status_code == 403 and "فقط برای مدیر" in r.text, path
        client.cookies.set(SESSION_COOKIE, shop.admin.token)
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert ">مدیریت<" in r.text, path


def test_forms_refuse_a_missing_or_forged_csrf_token(client: TestClient, shop: Shop) -> None:
    for path in FORMS:
        client.cookies.set(SESSION_COOKIE, shop.admin.token if path.startswith("/admin") else shop.user.token)
        client.get("/profile")  # the CSRF cookie is set
        target = path.format(group=shop.group_id)
        for token in ("", "forged"):
            r = client.post(target, data={"csrf": token, "name": "x"}, follow_redirects=False)
            assert r.status_code == 403, (target, r.status_code)
            assert "فرم منقضی شده است" in r.text, target


def test_a_form_posted_after_the_login_expired_returns_to_its_page(client: TestClient, shop: Shop) -> None:
    client.cookies.set(SESSION_COOKIE, shop.user.token)
    token = csrf_of(client.get("/groups").text)
    client.cookies.set(SESSION_COOKIE, "ps_expired")
    r = client.post(
        "/groups",
        data={"csrf": token, "name": "گروه"},
        headers={"referer": "http://testserver/groups?q=1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/groups%3Fq%3D1"
    r = client.post(
        "/groups",
        data={"csrf": token, "name": "x"},
        headers={"referer": "https://evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login?next=/"


def test_unknown_pages_and_records_are_pages_but_the_api_stays_json(client: TestClient, shop: Shop) -> None:
    client.cookies.set(SESSION_COOKIE, shop.user.token)
    r = client.get("/no-such-page")
    assert (
        r.status_code == 404
        and "چنین صفحه‌ای نیست" in r.text
        and r.headers["content-type"].startswith("text/html")
    )
    # The header knows who is logged in on a page that needs no login, too.
    assert "وارد شده‌اید" in r.text and 'action="/logout"' in r.text
    assert "<title>صفحه پیدا نشد | پیامک</title>" in r.text
    r = client.get("/groups/999999")
    assert r.status_code == 404 and "این گروه پیدا نشد" in r.text
    r = client.get("/groups/abc")
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    r = client.get("/api/v1/groups/999999")
    assert r.status_code == 404 and r.json()["error"] == "group_not_found"
    r = client.get("/api/v1/no-such-path")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_english_is_one_click_away_and_remembered(client: TestClient, shop: Shop) -> None:
    client.cookies.set(SESSION_COOKIE, shop.user.token)
    r = client.get("/?lang=en")
    assert 'dir="ltr"' in r.text and "Status panel" in r.text
    assert "lang=en" in r.headers["set-cookie"]
    r = client.get("/groups")
    assert 'lang="en"' in r.text and "Groups and numbers" in r.text
    switch = re.search(r'<a href="([^"]+)" hreflang="fa"', r.text)
    assert switch and switch.group(1) == "/groups?lang=fa"


def test_every_word_the_templates_use_exists_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z0-9_]+)["']\)""", template.read_text()))
    missing = sorted(used - WORDS.keys())
    assert not missing, f"words without a translation: {missing}"
    for key, (fa, en) in WORDS.items():
        assert fa and en, key
        assert fa.count("{") == en.count("{"), f"{key}: the two languages fill different values"


def test_the_pages_are_our_own_files(client: TestClient) -> None:
    """No framework, CDN or font: the page loads one stylesheet and one script of ours."""
    r = client.get("/login")
    assert re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text) == ["/static/app.css", "/static/app.js"]
    assert "http" not in "".join(re.findall(r'(?:href|src)="([^"]+)"', r.text.split("<body")[0]))
    assert client.get("/static/app.js").status_code == 200
