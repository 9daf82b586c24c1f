"""Customers: a searchable list, add, edit, delete, and putting them into groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from payamak.api.deps import get_context
from payamak.errors import DomainError, NotFound
from payamak.phonebook import keys
from payamak.phonebook import service as phonebook
from payamak.web import forms
from payamak.web.i18n import translate
from payamak.web.views import check_csrf, page_principal, render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
Text = Annotated[str, Form()]


def _list_page(
    request: Request,
    *,
    form: forms.Form | None = None,
    group_form: forms.Form | None = None,
    status: int = 200,
    result: phonebook.AddResult | None = None,
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    query = request.query_params.get("q", "")[:100]
    number = forms.page_number(request.query_params.get("page", "1"))
    with ctx.db.transaction(readonly=True) as session:
        found = phonebook.list_customers(
            session,
            account_id=principal.account_id,
            query=query or None,
            offset=(number - 1) * PER_PAGE,
            limit=PER_PAGE,
        )
        groups = phonebook.list_groups(session, account_id=principal.account_id)
    return render(
        request,
        "customers.html",
        status=status,
        customers=found.items,
        total=found.total,
        query=query,
        pager=forms.Pager.of(request, total=found.total, per_page=PER_PAGE, page=number),
        form=form or forms.Form.of(request, mobile="", name="", fields=""),
        group_form=group_form or forms.Form.of(request, group_id="", customer=[]),
        groups=groups,
        result=result,
        local_of=keys.to_local,
    )


@router.get("/customers", response_class=HTMLResponse)
def customers_page(request: Request) -> Response:
    return _list_page(request)


@router.post("/customers", response_class=HTMLResponse)
def add_customer(
    request: Request, mobile: Text = "", name: Text = "", fields: Text = "", csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, mobile=mobile, name=name, fields=fields)
    form.text("mobile", max_length=64)
    form.text("name", required=False, max_length=phonebook.MAX_NAME)
    values = forms.parse_fields(form, "fields")
    if form.ok:
        ctx = get_context(request)
        try:
            with ctx.db.transaction() as session:
                phonebook.create_customer(
                    session,
                    account_id=principal.account_id,
                    mobile=mobile,
                    name=form.values["name"] or None,
                    fields=values,
                )
        except DomainError as exc:
            form.domain(exc, default="fields")
        else:
            return RedirectResponse("/customers?ok=added", status_code=303)
    return _list_page(request, form=form, status=400)


@router.post("/customers/to-group", response_class=HTMLResponse)
def to_group(
    request: Request,
    group_id: Text = "",
    customer: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults per request
    everyone: Text = "",
    csrf: Text = "",
) -> Response:
    """Put the ticked customers (or all of them) into a group."""
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, group_id=group_id, customer=customer)
    group = form.integer("group_id", minimum=1)
    ids = [int(c) for c in customer if c.isdigit()]
    if not ids and everyone != "1":
        form.fail("customer", translate("err_choose_customers", form.lang))
    if form.ok and group is not None:
        ctx = get_context(request)
        try:
            with ctx.db.transaction() as session:
                result = phonebook.add_customers_to_group(
                    session,
                    account_id=principal.account_id,
                    group_id=group,
                    customer_ids=None if everyone == "1" else ids,
                )
        except DomainError as exc:
            form.domain(exc, default="group_id")
        else:
            return _list_page(request, result=result)
    return _list_page(request, group_form=form, status=400)


def _edit_page(
    request: Request, customer_id: int, form: forms.Form | None = None, status: int = 200
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        customer = phonebook.get_customer(session, account_id=principal.account_id, customer_id=customer_id)
    form = form or forms.Form.of(
        request,
        mobile=keys.to_local(customer.key),
        name=customer.name or "",
        fields=forms.fields_text(customer.fields),
    )
    return render(request, "customer_edit.html", status=status, customer=customer, form=form)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, customer_id: int) -> Response:
    return _edit_page(request, customer_id)


@router.post("/customers/{customer_id}", response_class=HTMLResponse)
def save_customer(
    request: Request, customer_id: int, mobile: Text = "", name: Text = "", fields: Text = "", csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, mobile=mobile, name=name, fields=fields)
    form.text("mobile", max_length=64)
    form.text("name", required=False, max_length=phonebook.MAX_NAME)
    values = forms.parse_fields(form, "fields")
    if form.ok:
        ctx = get_context(request)
        try:
            with ctx.db.transaction() as session:
                phonebook.update_customer(
                    session,
                    account_id=principal.account_id,
                    customer_id=customer_id,
                    mobile=mobile,
                    name=form.values["name"] or None,
                    fields=values,
                )
        except NotFound:
            raise
        except DomainError as exc:
            form.domain(exc, default="fields")
        else:
            return RedirectResponse("/customers?ok=saved", status_code=303)
    return _edit_page(request, customer_id, form, status=400)


@router.post("/customers/{customer_id}/delete", response_class=HTMLResponse)
def delete_customer(request: Request, customer_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction() as session:
        phonebook.delete_customer(session, account_id=principal.account_id, customer_id=customer_id)
    return RedirectResponse("/customers?ok=deleted", status_code=303)
