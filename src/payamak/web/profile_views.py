"""The account: name, language and low-balance warning, sender names, lines, API keys, logins, password."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from payamak.accounts import service as accounts
from payamak.accounts.service import Principal
from payamak.api.deps import SESSION_COOKIE, get_context
from payamak.sending import service as sending
from payamak.web import forms
from payamak.web.i18n import translate
from payamak.web.views import (
    check_csrf,
    done,
    lang_of,
    page_principal,
    redirect,
    render,
    set_language_cookie,
)

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form()]
MAX_THRESHOLD = 10**12

# Browsers and systems by the marks in their user-agent, the more specific first: Edge and
# Opera also say "Chrome", Chrome also says "Safari", Android also says "Linux".
_BROWSERS: tuple[tuple[str, str], ...] = (
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrom(e|ium)/|CriOS/", "Chrome"),
    (r"Version/[\d.]+.*Safari/", "Safari"),
)
_SYSTEMS: tuple[tuple[str, str], ...] = (
    (r"Windows", "Windows"),
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux|X11", "Linux"),
)


def device_text(client: str, lang: str) -> str:
    """A login's user-agent as people say it ("Chrome on Linux"); a program's own name
    (curl/8.5) for anything that is not a browser."""
    browser = next((name for mark, name in _BROWSERS if re.search(mark, client)), None)
    system = next((name for mark, name in _SYSTEMS if re.search(mark, client)), None)
    if browser and system:
        return translate("browser_on_system", lang).format(browser=browser, system=system)
    if browser or system:
        return browser or system or ""
    return client.split(" ", 1)[0][:40] or "—"


def _page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    profile: forms.Form | None = None,
    password: forms.Form | None = None,
    name_form: forms.Form | None = None,
    key_form: forms.Form | None = None,
    new_key: str | None = None,
) -> Response:
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        account = accounts.me(session, principal=principal)
        names = accounts.sender_names(session, principal=principal)
        keys = accounts.api_keys(session, principal=principal)
        logins = accounts.sessions(session, principal=principal)
        lines = sending.lines_of(session, principal=principal)
    return render(
        request,
        "profile.html",
        status=status,
        account=account,
        names=names,
        keys=keys,
        logins=logins,
        lines=lines,
        current_session=principal.session_id,
        device=lambda client: device_text(client, lang_of(request)),
        profile=profile
        or forms.Form.of(
            request,
            name=account.name,
            language=account.language,
            low_balance_threshold=str(account.low_balance_threshold),
        ),
        password=password
        or forms.Form.of(request, current_password="", new_password="", confirm_password=""),
        name_form=name_form or forms.Form.of(request, name="", prefix="sn-"),
        key_form=key_form or forms.Form.of(request, name="", prefix="key-"),
        new_key=new_key,
    )


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request) -> Response:
    return _page(request, page_principal(request))


@router.post("/profile", response_class=HTMLResponse)
def save_profile(
    request: Request,
    name: Text = "",
    language: Text = "fa",
    low_balance_threshold: Text = "",
    csrf: Text = "",
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name, language=language, low_balance_threshold=low_balance_threshold)
    form.text("name", max_length=100)
    if language not in ("fa", "en"):
        form.fail("language", translate("err_choice", form.lang))
    threshold = form.integer("low_balance_threshold", required=False, minimum=0, maximum=MAX_THRESHOLD)
    forms.submit(
        request,
        form,
        lambda session: accounts.update_profile(
            session, principal=principal, name=name, language=language, low_balance_threshold=threshold or 0
        ),
    )
    if form.ok:
        response = redirect("/profile?ok=saved")
        set_language_cookie(response, request, language)
        return response
    return _page(request, principal, status=400, profile=form)


@router.post("/profile/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    current_password: Text = "",
    new_password: Text = "",
    confirm_password: Text = "",
    csrf: Text = "",
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(
        request,
        current_password=current_password,
        new_password=new_password,
        confirm_password=confirm_password,
    )
    # Passwords are taken as typed: spaces at either end are part of them.
    for field in ("current_password", "new_password", "confirm_password"):
        if not form.values[field]:
            form.fail(field, translate("err_required", form.lang))
        elif len(form.values[field]) > accounts.MAX_PASSWORD:
            form.fail(
                field, translate("err_too_long", form.lang).replace("{max}", str(accounts.MAX_PASSWORD))
            )
    if form.ok and new_password != confirm_password:
        form.fail("confirm_password", translate("err_passwords_differ", form.lang))
    ctx = get_context(request)
    forms.submit(
        request,
        form,
        lambda session: accounts.change_password(
            session,
            passwords=ctx.passwords,
            principal=principal,
            current_password=current_password,
            new_password=new_password,
        ),
    )
    if form.ok:
        return redirect("/profile?ok=password_changed")
    # Never send a password back to the browser.
    form.values = dict.fromkeys(form.values, "")
    return _page(request, principal, status=400, password=form)


@router.post("/profile/sender-names", response_class=HTMLResponse)
def add_sender_name(request: Request, name: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name, prefix="sn-")
    form.text("name", max_length=accounts.SENDER_NAME_MAX)
    forms.submit(
        request,
        form,
        lambda session: accounts.register_sender_name(session, principal=principal, name=name),
        default="name",
    )
    if form.ok:
        return redirect("/profile?ok=added#sender-names")
    return _page(request, principal, status=400, name_form=form)


@router.post("/profile/sender-names/{name_id}/delete", response_class=HTMLResponse)
def delete_sender_name(request: Request, name_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: accounts.delete_sender_name(session, principal=principal, name_id=name_id),
        "/profile?ok=deleted#sender-names",
    )


@router.post("/profile/api-keys", response_class=HTMLResponse)
def create_api_key(request: Request, name: Text = "", csrf: Text = "") -> Response:
    """Create a key and show it this once: only its hash is kept."""
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name, prefix="key-")
    form.text("name", max_length=100)
    created = forms.submit(
        request,
        form,
        lambda session: accounts.create_api_key(session, principal=principal, name=name),
        default="name",
    )
    if created is not None:
        _record, key = created
        response = _page(request, principal, new_key=key)
        response.headers["Cache-Control"] = "no-store"
        return response
    return _page(request, principal, status=400, key_form=form)


@router.post("/profile/api-keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_api_key(request: Request, key_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: accounts.revoke_api_key(session, principal=principal, key_id=key_id),
        "/profile?ok=revoked#api-keys",
    )


@router.post("/profile/sessions/{session_id}/revoke", response_class=HTMLResponse)
def revoke_session(request: Request, session_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    own = session_id == principal.session_id
    response = done(
        request,
        lambda session: accounts.revoke_session(session, principal=principal, session_id=session_id),
        "/login" if own else "/profile?ok=revoked#sessions",
    )
    if own:
        response.delete_cookie(SESSION_COOKIE)
    return response
