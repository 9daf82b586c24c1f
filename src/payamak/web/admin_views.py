"""The operator's pages: accounts and credit, sender names, packages and tariffs, lines and routes,
the blacklist, forbidden words. Every page needs an administrator."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from payamak.accounts import service as accounts
from payamak.api.deps import get_context
from payamak.billing import service as billing
from payamak.billing.models import ENCODINGS, KINDS, OPERATOR_KEYS, WILDCARD, Package
from payamak.billing.pricing import default_rules, with_vat
from payamak.dispatch import service as dispatch
from payamak.dispatch import worker
from payamak.errors import DomainError
from payamak.sending import blacklist
from payamak.sending import service as sending
from payamak.web import forms
from payamak.web.i18n import translate
from payamak.web.send_views import split_numbers
from payamak.web.views import check_csrf, done, redirect, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

Text = Annotated[str, Form()]
ACCOUNTS_PER_PAGE = 30
NAME_STATES = ("pending", "approved", "rejected")
MAX_AMOUNT = 10**13


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request) -> Response:
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        pending = accounts.sender_names_for_review(session, principal=principal, state="pending", limit=500)
        info = blacklist.summary(session)
    return render(request, "admin_home.html", pending=len(pending), blacklist=info)


# --- accounts and credit --------------------------------------------------------------------


def _accounts_page(
    request: Request, *, forms_by_account: dict[int, forms.Form] | None = None, status: int = 200
) -> Response:
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    listing = forms.Listing.of(request, per_page=ACCOUNTS_PER_PAGE)
    query = listing.query.strip()
    with ctx.db.transaction(readonly=True) as session:
        rows, total = accounts.list_accounts(
            session, principal=principal, query=query, offset=listing.offset, limit=listing.per_page
        )
    return render(
        request,
        "admin_accounts.html",
        status=status,
        rows=rows,
        query=query,
        pager=listing.pager(total),
        grant_forms={
            a.id: (forms_by_account or {}).get(a.id)
            or forms.Form.of(request, amount="", reason="", prefix=f"a{a.id}-")
            for a in rows
        },
        failed=set(forms_by_account or {}),
    )


@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(request: Request) -> Response:
    return _accounts_page(request)


@router.post("/admin/accounts/{account_id}/credit", response_class=HTMLResponse)
def change_credit(
    request: Request, account_id: int, amount: Text = "", reason: Text = "", csrf: Text = ""
) -> Response:
    """Grant (a positive amount) or deduct (a negative one) credit, with the reason the user sees."""
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(request, amount=amount, reason=reason, prefix=f"a{account_id}-")
    value = form.integer("amount", minimum=-MAX_AMOUNT, maximum=MAX_AMOUNT)
    form.text("reason", max_length=300)
    if value is not None:
        forms.submit(
            request,
            form,
            lambda session: billing.grant(
                session, account_id=account_id, amount=value, reason=reason, actor_id=principal.account_id
            ),
            default="amount",
        )
    if form.ok:
        # Back to the list as it was (search and page kept), when the form came from it.
        back = urlparse(request.headers.get("referer", ""))
        query = back.query if back.path == "/admin/accounts" and back.netloc == request.url.netloc else ""
        return redirect(f"/admin/accounts?{query + '&' if query else ''}ok=granted")
    return _accounts_page(request, forms_by_account={account_id: form}, status=400)


# --- sender names ---------------------------------------------------------------------------


def _names_page(
    request: Request, *, state: str, reject_forms: dict[int, forms.Form] | None = None, status: int = 200
) -> Response:
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    state = state if state in NAME_STATES else "pending"
    with ctx.db.transaction(readonly=True) as session:
        names = accounts.sender_names_for_review(session, principal=principal, state=state, limit=500)
        owners = accounts.accounts_by_id(
            session, principal=principal, account_ids=[n.account_id for n in names]
        )
    return render(
        request,
        "admin_names.html",
        status=status,
        names=names,
        owners=owners,
        state=state,
        states=NAME_STATES,
        reject_forms={
            n.id: (reject_forms or {}).get(n.id) or forms.Form.of(request, reason="", prefix=f"n{n.id}-")
            for n in names
        },
        failed=set(reject_forms or {}),
    )


@router.get("/admin/sender-names", response_class=HTMLResponse)
def names_page(request: Request, state: Annotated[str, Query(max_length=12)] = "pending") -> Response:
    return _names_page(request, state=state)


@router.post("/admin/sender-names/{name_id}/{decision}", response_class=HTMLResponse)
def decide_name(
    request: Request, name_id: int, decision: str, reason: Text = "", csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    if decision not in ("approve", "reject"):
        return _names_page(request, state="pending", status=404)
    form = forms.Form.of(request, reason=reason, prefix=f"n{name_id}-")
    form.text("reason", required=decision == "reject", max_length=300)
    forms.submit(
        request,
        form,
        lambda session: accounts.decide_sender_name(
            session, principal=principal, name_id=name_id, approve=decision == "approve", reason=reason
        ),
        default="reason",
    )
    if form.ok:
        return redirect(f"/admin/sender-names?ok={'approved' if decision == 'approve' else 'rejected'}")
    return _names_page(request, state="pending", reject_forms={name_id: form}, status=400)


# --- packages -------------------------------------------------------------------------------


def _packages_page(
    request: Request,
    *,
    form: forms.Form | None = None,
    edits: dict[int, forms.Form] | None = None,
    status: int = 200,
) -> Response:
    forms.admin_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        packages = billing.packages(session, active_only=False)
    return render(
        request,
        "admin_packages.html",
        status=status,
        packages=packages,
        form=form or forms.Form.of(request, name="", description="", price="", credit="", active="1"),
        edits={
            p.id: (edits or {}).get(p.id)
            or forms.Form.of(
                request,
                prefix=f"p{p.id}-",
                name=p.name,
                description=p.description,
                price=str(p.price),
                credit=str(p.credit),
                active="1" if p.active else "",
            )
            for p in packages
        },
        failed=set(edits or {}),
    )


@router.get("/admin/packages", response_class=HTMLResponse)
def packages_page(request: Request) -> Response:
    return _packages_page(request)


@dataclass
class _PackageForm:
    """What the package form posts, for a new package and for a change alike."""

    name: Text = ""
    description: Text = ""
    price: Text = ""
    credit: Text = ""
    active: Text = ""


@router.post("/admin/packages", response_class=HTMLResponse)
def create_package(request: Request, posted: Annotated[_PackageForm, Depends()], csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    return _save_package(request, None, posted)


@router.post("/admin/packages/{package_id}", response_class=HTMLResponse)
def update_package(
    request: Request, package_id: int, posted: Annotated[_PackageForm, Depends()], csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    return _save_package(request, package_id, posted)


def _save_package(request: Request, package_id: int | None, posted: _PackageForm) -> Response:
    """Create a package (no id) or change one; a refused form is shown again where it was."""
    forms.admin_principal(request)
    form = forms.Form.of(request, prefix="" if package_id is None else f"p{package_id}-", **asdict(posted))
    form.text("name", max_length=100)
    form.text("description", required=False, max_length=500)
    price = form.integer("price", minimum=1, maximum=MAX_AMOUNT)
    credit = form.integer("credit", minimum=1, maximum=MAX_AMOUNT)
    if price is not None and credit is not None:
        name, description, active = posted.name, form.values["description"], posted.active == "1"

        def save(session: Session) -> Package:
            if package_id is None:
                return billing.create_package(
                    session, name=name, description=description, price=price, credit=credit, active=active
                )
            return billing.update_package(
                session,
                package_id=package_id,
                name=name,
                description=description,
                price=price,
                credit=credit,
                active=active,
            )

        forms.submit(request, form, save)
    if form.ok:
        return redirect(f"/admin/packages?ok={'created' if package_id is None else 'saved'}")
    if package_id is None:
        return _packages_page(request, form=form, status=400)
    return _packages_page(request, edits={package_id: form}, status=400)


# --- tariffs and VAT ------------------------------------------------------------------------


def _tariffs_page(
    request: Request, *, form: forms.Form | None = None, vat_form: forms.Form | None = None, status: int = 200
) -> Response:
    forms.admin_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        rows, builtin = billing.tariffs(session)
        vat = billing.vat_percent(session)
    shown: list[dict[str, Any]] = [
        {
            "id": None if builtin else getattr(r, "id", None),
            "kind": r.kind,
            "encoding": r.encoding,
            "operator": r.operator,
            "line_prefix": r.line_prefix,
            "price": r.price,
            "with_vat": with_vat(r.price, vat),
        }
        for r in (default_rules() if builtin else rows)
    ]
    return render(
        request,
        "admin_tariffs.html",
        status=status,
        tariffs=shown,
        builtin=builtin,
        vat=vat,
        kinds=(WILDCARD, *KINDS),
        encodings=(WILDCARD, *ENCODINGS),
        operators=(WILDCARD, *OPERATOR_KEYS),
        form=form
        or forms.Form.of(
            request, kind=WILDCARD, encoding=WILDCARD, operator=WILDCARD, line_prefix=WILDCARD, price=""
        ),
        vat_form=vat_form or forms.Form.of(request, vat_percent=str(vat)),
    )


@router.get("/admin/tariffs", response_class=HTMLResponse)
def tariffs_page(request: Request) -> Response:
    return _tariffs_page(request)


@router.post("/admin/tariffs", response_class=HTMLResponse)
def put_tariff(
    request: Request,
    kind: Text = WILDCARD,
    encoding: Text = WILDCARD,
    operator: Text = WILDCARD,
    line_prefix: Text = WILDCARD,
    price: Text = "",
    csrf: Text = "",
) -> Response:
    check_csrf(request, csrf)
    forms.admin_principal(request)
    form = forms.Form.of(
        request, kind=kind, encoding=encoding, operator=operator, line_prefix=line_prefix, price=price
    )
    prefix = form.text("line_prefix", max_length=20) or WILDCARD
    value = form.integer("price", minimum=0, maximum=MAX_AMOUNT)
    if value is not None:
        forms.submit(
            request,
            form,
            lambda session: billing.put_tariff(
                session, kind=kind, encoding=encoding, operator=operator, line_prefix=prefix, price=value
            ),
            default="price",
        )
    if form.ok:
        return redirect("/admin/tariffs?ok=saved")
    return _tariffs_page(request, form=form, status=400)


@router.post("/admin/tariffs/{tariff_id}/delete", response_class=HTMLResponse)
def delete_tariff(request: Request, tariff_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    forms.admin_principal(request)
    return done(
        request,
        lambda session: billing.delete_tariff(session, tariff_id=tariff_id),
        "/admin/tariffs?ok=deleted",
    )


@router.post("/admin/vat", response_class=HTMLResponse)
def put_vat(request: Request, vat_percent: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    forms.admin_principal(request)
    form = forms.Form.of(request, vat_percent=vat_percent)
    value = form.integer("vat_percent", minimum=0, maximum=100)
    if value is not None:
        forms.submit(
            request,
            form,
            lambda session: billing.set_vat_percent(session, percent=value),
            default="vat_percent",
        )
    if form.ok:
        return redirect("/admin/tariffs?ok=saved")
    return _tariffs_page(request, vat_form=form, status=400)


# --- lines and routes -----------------------------------------------------------------------


def _lines_page(
    request: Request,
    *,
    line_form: forms.Form | None = None,
    route_form: forms.Form | None = None,
    status: int = 200,
) -> Response:
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    running = worker.running()
    live = running.route_status() if running is not None else None
    with ctx.db.transaction(readonly=True) as session:
        lines = sending.all_lines(session, principal=principal)
        routes = dispatch.list_routes(session, principal=principal)
        views = dispatch.route_views(session, routes, live)
        owners = accounts.accounts_by_id(
            session, principal=principal, account_ids=[ln.account_id for ln in lines if ln.account_id]
        )
    return render(
        request,
        "admin_lines.html",
        status=status,
        lines=lines,
        routes=views,
        route_names={v.route.id: v.route.name for v in views},
        route_choices=[(str(v.route.id), v.route.name) for v in views],
        owners=owners,
        simulator=live.get(None) if live is not None else None,
        dispatcher_here=running is not None,
        line_form=line_form or forms.Form.of(request, number="", kind="advertising", owner="", route_id=""),
        route_form=route_form
        or forms.Form.of(
            request,
            prefix="route-",
            name="",
            kind="smpp",
            host="",
            port="2775",
            system_id="",
            password="",
            tps="",
            priority="100",
        ),
    )


@router.get("/admin/lines", response_class=HTMLResponse)
def lines_page(request: Request) -> Response:
    return _lines_page(request)


@router.post("/admin/lines", response_class=HTMLResponse)
def add_line(
    request: Request,
    number: Text = "",
    kind: Text = "advertising",
    owner: Text = "",
    route_id: Text = "",
    csrf: Text = "",
) -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(request, number=number, kind=kind, owner=owner, route_id=route_id)
    form.text("number", max_length=20)
    form.text("owner", required=False, max_length=40)
    route = form.integer("route_id", required=False, minimum=1)
    forms.submit(
        request,
        form,
        lambda session: sending.add_line(
            session,
            principal=principal,
            number=number,
            kind=kind,
            owner_mobile=form.values["owner"] or None,
            route_id=route,
        ),
        fields={"mobile": "owner"},
        default="number",
    )
    if form.ok:
        return redirect("/admin/lines?ok=added")
    return _lines_page(request, line_form=form, status=400)


@router.post("/admin/lines/{line_id}/delete", response_class=HTMLResponse)
def remove_line(request: Request, line_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    return done(
        request,
        lambda session: sending.remove_line(session, principal=principal, line_id=line_id),
        "/admin/lines?ok=deleted",
    )


def _reload_routes() -> None:
    running = worker.running()
    if running is not None:
        running.request_reload()


@router.post("/admin/routes", response_class=HTMLResponse)
def add_route(
    request: Request,
    name: Text = "",
    kind: Text = "smpp",
    host: Text = "",
    port: Text = "",
    system_id: Text = "",
    password: Text = "",
    tps: Text = "",
    priority: Text = "100",
    csrf: Text = "",
) -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(
        request, prefix="route-", name=name, kind=kind, host=host, port=port, system_id=system_id, password=password,
        tps=tps, priority=priority,
    )  # fmt: skip
    form.text("name", max_length=64)
    order = form.integer("priority", minimum=0, maximum=1_000_000) or 0
    config: dict[str, Any] = {}
    if kind == "smpp":
        config["host"] = form.text("host", max_length=255)
        config["port"] = form.integer("port", minimum=1, maximum=65535)
        config["system_id"] = form.text("system_id", max_length=15)
        config["password"] = form.text("password", max_length=8)
        rate = form.integer("tps", required=False, minimum=1, maximum=100_000)
        if rate is not None:
            config["tps"] = rate
    elif kind != "simulator":
        form.fail("kind", translate("err_choice", form.lang))
    forms.submit(
        request,
        form,
        lambda session: dispatch.add_route(
            session, principal=principal, name=name, kind=kind, config=config, priority=order
        ),
        fields={f"config.{k}": k for k in ("host", "port", "system_id", "password", "tps")},
    )
    if form.ok:
        _reload_routes()
        return redirect("/admin/lines?ok=added#routes")
    form.values["password"] = ""
    return _lines_page(request, route_form=form, status=400)


@router.post("/admin/routes/{route_id}/delete", response_class=HTMLResponse)
def remove_route(request: Request, route_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    response = done(
        request,
        lambda session: dispatch.remove_route(session, principal=principal, route_id=route_id),
        "/admin/lines?ok=deleted#routes",
    )
    _reload_routes()
    return response


# --- blacklist ------------------------------------------------------------------------------


# What adding or removing numbers did travels in the address of the page shown after it, so a
# reload shows it again instead of posting the numbers again: the counts, and the first invalid
# entries as row:reason:value.
_RESULT_COUNTS = {
    "add": ("added", "already", "invalid"),
    "remove": ("removed", "not_listed", "still_national", "invalid"),
}
_SHOWN_INVALID = 20


def _blacklist_done(kind: str, result: blacklist.AddResult | blacklist.RemoveResult) -> Response:
    query = [("done", kind)]
    for name in _RESULT_COUNTS[kind]:
        value = getattr(result, name)
        query.append((name, str(len(value) if isinstance(value, list) else value)))
    query += [("bad", f"{i.row}:{i.reason}:{i.value[:40]}") for i in result.invalid[:_SHOWN_INVALID]]
    return redirect(f"/admin/blacklist?{urlencode(query)}")


def _blacklist_result(request: Request) -> dict[str, Any] | None:
    params = request.query_params
    kind = params.get("done", "")
    if kind not in _RESULT_COUNTS:
        return None
    found: dict[str, Any] = {"kind": kind}
    for name in _RESULT_COUNTS[kind]:
        value = params.get(name, "")
        found[name] = int(value) if value.isdigit() else 0
    shown = []
    for entry in params.getlist("bad")[:_SHOWN_INVALID]:
        row, _, rest = entry.partition(":")
        reason, _, value = rest.partition(":")
        if row.isdigit():
            shown.append({"row": int(row), "reason": reason, "value": value})
    found["shown"] = shown
    return found


def _blacklist_page(
    request: Request,
    *,
    add_form: forms.Form | None = None,
    remove_form: forms.Form | None = None,
    upload_form: forms.Form | None = None,
    check_form: forms.Form | None = None,
    status: int = 200,
) -> Response:
    forms.admin_principal(request)
    ctx = get_context(request)
    wanted = request.query_params.get("check", "").strip()[:40]
    check_form = check_form or forms.Form.of(request, check=wanted)
    checked = None
    with ctx.db.transaction(readonly=True) as session:
        info = blacklist.summary(session)
        if wanted:
            try:
                checked = blacklist.check_number(session, number=wanted)
            except DomainError as exc:
                check_form.domain(exc, default="check")
    load_id = request.query_params.get("load", "")
    return render(
        request,
        "admin_blacklist.html",
        status=status if check_form.ok else 400,
        info=info,
        checked=checked,
        result=_blacklist_result(request),
        watch_load=int(load_id) if load_id.isdigit() else None,
        add_form=add_form or forms.Form.of(request, numbers="", reason="", prefix="add-"),
        remove_form=remove_form or forms.Form.of(request, numbers="", prefix="remove-"),
        upload_form=upload_form or forms.Form.of(request, file=""),
        check_form=check_form,
        max_upload=ctx.settings.max_upload_bytes,
    )


@router.get("/admin/blacklist", response_class=HTMLResponse)
def blacklist_page(request: Request) -> Response:
    return _blacklist_page(request)


@router.post("/admin/blacklist/add", response_class=HTMLResponse)
def blacklist_add(request: Request, numbers: Text = "", reason: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(request, numbers=numbers, reason=reason, prefix="add-")
    form.text("numbers", max_length=900_000)
    form.text("reason", required=False, max_length=200)
    result = forms.submit(
        request,
        form,
        lambda session: blacklist.add_numbers(
            session,
            numbers=split_numbers(numbers),
            added_by=principal.account_id,
            reason=form.values["reason"],
        ),
        default="numbers",
    )
    if result is not None:
        return _blacklist_done("add", result)
    return _blacklist_page(request, add_form=form, status=400)


@router.post("/admin/blacklist/remove", response_class=HTMLResponse)
def blacklist_remove(request: Request, numbers: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(request, numbers=numbers, prefix="remove-")
    form.text("numbers", max_length=900_000)
    result = forms.submit(
        request,
        form,
        lambda session: blacklist.remove_numbers(
            session, numbers=split_numbers(numbers), removed_by=principal.account_id
        ),
        default="numbers",
    )
    if result is not None:
        return _blacklist_done("remove", result)
    return _blacklist_page(request, remove_form=form, status=400)


@router.post("/admin/blacklist/national", response_class=HTMLResponse)
def blacklist_upload(
    request: Request,
    background: BackgroundTasks,
    file: Annotated[UploadFile | None, File()] = None,
    csrf: Text = "",
) -> Response:
    """Replace the national list from a file (one number a line); it loads after this response."""
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    form = forms.Form.of(request, file="")
    if file is None or not file.filename:
        form.fail("file", translate("err_choose_file", form.lang))
        return _blacklist_page(request, upload_form=form, status=400)
    path = blacklist.save_national_upload(ctx.settings, file.file)
    try:
        with ctx.db.transaction() as session:
            load = blacklist.begin_national_load(
                session, source=file.filename[:255], size=path.stat().st_size, created_by=principal.account_id
            )
    except DomainError as exc:
        path.unlink(missing_ok=True)
        form.domain(exc, default="file")
        return _blacklist_page(request, upload_form=form, status=400)
    background.add_task(blacklist.run_uploaded_load, ctx.db, load_id=load.id, path=path)
    return redirect(f"/admin/blacklist?load={load.id}")


# --- forbidden words ------------------------------------------------------------------------


def _words_page(request: Request, *, form: forms.Form | None = None, status: int = 200) -> Response:
    principal = forms.admin_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        words = sending.list_forbidden_words(session, principal=principal)
    return render(
        request, "admin_words.html", status=status, words=words, form=form or forms.Form.of(request, word="")
    )


@router.get("/admin/words", response_class=HTMLResponse)
def words_page(request: Request) -> Response:
    return _words_page(request)


@router.post("/admin/words", response_class=HTMLResponse)
def add_word(request: Request, word: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    form = forms.Form.of(request, word=word)
    form.text("word", max_length=64)
    forms.submit(
        request,
        form,
        lambda session: sending.add_forbidden_word(session, principal=principal, word=word),
        default="word",
    )
    if form.ok:
        return redirect("/admin/words?ok=added")
    return _words_page(request, form=form, status=400)


@router.post("/admin/words/{word_id}/delete", response_class=HTMLResponse)
def remove_word(request: Request, word_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = forms.admin_principal(request)
    return done(
        request,
        lambda session: sending.remove_forbidden_word(session, principal=principal, word_id=word_id),
        "/admin/words?ok=deleted",
    )
