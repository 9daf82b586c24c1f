"""Customers: a searchable list, add, edit, delete, and putting them into groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from payamak.api.deps import get_context
from payamak.phonebook import keys
from payamak.phonebook import service as phonebook
from payamak.phonebook.models import Customer
from payamak.web import forms
from payamak.web.i18n import translate
from payamak.web.views import check_csrf, done, page_principal, redirect, render

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
    listing = forms.Listing.of(request, per_page=PER_PAGE)
    with ctx.db.transaction(readonly=True) as session:
        found = phonebook.list_customers(
            session,
            account_id=principal.account_id,
            query=listing.query or None,
            offset=listing.offset,
            limit=PER_PAGE,
        )
        groups = phonebook.list_groups(session, account_id=principal.account_id)
    return render(
        request,
        "customers.html",
        status=status,
        customers=found.items,
        total=found.total,
        query=listing.query,
        pager=listing.pager(found.total),
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
    return _save_customer(request, None, mobile=mobile, name=name, fields=fields)


def _save_customer(
    request: Request, customer_id: int | None, *, mobile: str, name: str, fields: str
) -> Response:
    """Add a customer (no id) or change one; a refused form is shown again where it was."""
    principal = page_principal(request)
    form = forms.Form.of(request, mobile=mobile, name=name, fields=fields)
    form.text("mobile", max_length=64)
    values = forms.name_and_fields(form, max_name=phonebook.MAX_NAME)

    def save(session: Session) -> Customer:
        account_id, shown_name = principal.account_id, form.values["name"] or None
        if customer_id is None:
            return phonebook.create_customer(
                session, account_id=account_id, mobile=mobile, name=shown_name, fields=values
            )
        return phonebook.update_customer(
            session,
            account_id=account_id,
            customer_id=customer_id,
            mobile=mobile,
            name=shown_name,
            fields=values,
        )

    # A customer deleted meanwhile is gone, not a mistake in the form.
    forms.submit(request, form, save, default="fields", not_found_page=customer_id is not None)
    if form.ok:
        return redirect(f"/customers?ok={'added' if customer_id is None else 'saved'}")
    if customer_id is None:
        return _list_page(request, form=form, status=400)
    return _edit_page(request, customer_id, form, status=400)


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
    if group is not None:
        result = forms.submit(
            request,
            form,
            lambda session: phonebook.add_customers_to_group(
                session,
                account_id=principal.account_id,
                group_id=group,
                customer_ids=None if everyone == "1" else ids,
            ),
            default="group_id",
        )
        if result is not None:
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
    return _save_customer(request, customer_id, mobile=mobile, name=name, fields=fields)


@router.post("/customers/{customer_id}/delete", response_class=HTMLResponse)
def delete_customer(request: Request, customer_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: phonebook.delete_customer(
            session, account_id=principal.account_id, customer_id=customer_id
        ),
        "/customers?ok=deleted",
    )
