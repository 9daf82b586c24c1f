"""Groups and their numbers: lists, one number at a time, imports with a preview, exports."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from payamak.api.deps import get_context
from payamak.errors import DomainError
from payamak.phonebook import imports, keys, reader
from payamak.phonebook import service as phonebook
from payamak.phonebook.service import NewNumber
from payamak.web import forms
from payamak.web.i18n import translate
from payamak.web.views import check_csrf, done, page_principal, redirect, render

router = APIRouter(include_in_schema=False)

NUMBERS_PER_PAGE = 50
PREVIEW_ROWS = 10
REPORT_ROWS = 200
MAX_PASTE = 900_000  # under the form body limit, with room for the other fields
_STORED = re.compile(r"^[0-9a-f]{32}(\.[a-z0-9]{1,9})?$")

Text = Annotated[str, Form()]


# --- groups ---------------------------------------------------------------------------------


def _groups_page(request: Request, form: forms.Form | None = None, status: int = 200) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        groups = phonebook.list_groups(session, account_id=principal.account_id)
    return render(
        request, "groups.html", status=status, groups=groups, form=form or forms.Form.of(request, name="")
    )


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request) -> Response:
    return _groups_page(request)


@router.post("/groups", response_class=HTMLResponse)
def create_group(request: Request, name: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name)
    form.text("name", max_length=phonebook.MAX_GROUP_NAME)
    view = forms.submit(
        request,
        form,
        lambda session: phonebook.create_group(session, account_id=principal.account_id, name=name),
        default="name",
    )
    if view is not None:
        return redirect(f"/groups/{view.group.id}?ok=created")
    return _groups_page(request, form, status=400)


@router.post("/groups/{group_id}/rename", response_class=HTMLResponse)
def rename_group(request: Request, group_id: int, name: Text = "", csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name, prefix="rename-")
    form.text("name", max_length=phonebook.MAX_GROUP_NAME)
    forms.submit(
        request,
        form,
        lambda session: phonebook.rename_group(
            session, account_id=principal.account_id, group_id=group_id, name=name
        ),
        default="name",
        not_found_page=True,
    )
    if form.ok:
        return redirect(f"/groups/{group_id}?ok=renamed")
    return _group_page(request, group_id, rename_form=form, status=400)


@router.post("/groups/{group_id}/delete", response_class=HTMLResponse)
def delete_group(request: Request, group_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: phonebook.delete_group(session, account_id=principal.account_id, group_id=group_id),
        "/groups?ok=deleted",
    )


# --- one group and its numbers --------------------------------------------------------------


def _group_page(
    request: Request,
    group_id: int,
    *,
    add_form: forms.Form | None = None,
    rename_form: forms.Form | None = None,
    status: int = 200,
    result: phonebook.AddResult | None = None,
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    listing = forms.Listing.of(request, per_page=NUMBERS_PER_PAGE)
    with ctx.db.transaction(readonly=True) as session:
        view = phonebook.get_group(session, account_id=principal.account_id, group_id=group_id)
        found = phonebook.list_numbers(
            session,
            account_id=principal.account_id,
            group_id=group_id,
            query=listing.query or None,
            offset=listing.offset,
            limit=NUMBERS_PER_PAGE,
        )
        recent = imports.list_imports(session, account_id=principal.account_id, group_id=group_id, limit=5)
    return render(
        request,
        "group.html",
        status=status,
        view=view,
        numbers=found.items,
        total=found.total,
        query=listing.query,
        pager=listing.pager(found.total),
        add_form=add_form or forms.Form.of(request, number="", name="", fields=""),
        rename_form=rename_form or forms.Form.of(request, name=view.group.name, prefix="rename-"),
        recent=recent,
        result=result,
        local_of=keys.to_local,
        operator_of=keys.operator_of,
    )


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, group_id: int) -> Response:
    return _group_page(request, group_id)


@router.post("/groups/{group_id}/numbers", response_class=HTMLResponse)
def add_number(
    request: Request, group_id: int, number: Text = "", name: Text = "", fields: Text = "", csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, number=number, name=name, fields=fields)
    form.text("number", max_length=64)
    values = forms.name_and_fields(form, max_name=phonebook.MAX_NAME)
    result = forms.submit(
        request,
        form,
        lambda session: phonebook.add_numbers(
            session,
            account_id=principal.account_id,
            group_id=group_id,
            items=[NewNumber(number, name or None, values)],
        ),
        fields={"numbers": "number"},
        default="fields",
        not_found_page=True,
    )
    if result is None:
        return _group_page(request, group_id, add_form=form, status=400)
    if result.invalid:
        form.fail("number", result.invalid[0].message(form.lang))
        return _group_page(request, group_id, add_form=form, status=400)
    if result.duplicates:
        form.fail("number", translate("number_already_in_group", form.lang))
        return _group_page(request, group_id, add_form=form, status=400)
    return redirect(f"/groups/{group_id}?ok=added")


def _number_page(
    request: Request, group_id: int, number_id: int, form: forms.Form | None = None, status: int = 200
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        view = phonebook.get_group(session, account_id=principal.account_id, group_id=group_id)
        found = phonebook.get_number(
            session, account_id=principal.account_id, group_id=group_id, number_id=number_id
        )
    form = form or forms.Form.of(request, name=found.name or "", fields=forms.fields_text(found.fields))
    return render(
        request,
        "number_edit.html",
        status=status,
        view=view,
        item=found,
        local_number=keys.to_local(found.key),
        form=form,
    )


@router.get("/groups/{group_id}/numbers/{number_id}", response_class=HTMLResponse)
def number_page(request: Request, group_id: int, number_id: int) -> Response:
    return _number_page(request, group_id, number_id)


@router.post("/groups/{group_id}/numbers/{number_id}", response_class=HTMLResponse)
def save_number(
    request: Request, group_id: int, number_id: int, name: Text = "", fields: Text = "", csrf: Text = ""
) -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    form = forms.Form.of(request, name=name, fields=fields)
    values = forms.name_and_fields(form, max_name=phonebook.MAX_NAME)
    forms.submit(
        request,
        form,
        lambda session: phonebook.update_number(
            session,
            account_id=principal.account_id,
            group_id=group_id,
            number_id=number_id,
            name=form.values["name"] or None,
            fields=values,
        ),
        default="fields",
        not_found_page=True,
    )
    if form.ok:
        return redirect(f"/groups/{group_id}?ok=saved")
    return _number_page(request, group_id, number_id, form, status=400)


@router.post("/groups/{group_id}/numbers/{number_id}/delete", response_class=HTMLResponse)
def delete_number(request: Request, group_id: int, number_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    return done(
        request,
        lambda session: phonebook.delete_number(
            session, account_id=principal.account_id, group_id=group_id, number_id=number_id
        ),
        f"/groups/{group_id}?ok=deleted",
    )


@router.post("/groups/{group_id}/from-customers", response_class=HTMLResponse)
def fill_from_customers(request: Request, group_id: int, csrf: Text = "") -> Response:
    check_csrf(request, csrf)
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction() as session:
        result = phonebook.add_customers_to_group(
            session, account_id=principal.account_id, group_id=group_id, customer_ids=None
        )
    return _group_page(request, group_id, result=result)


# --- imports --------------------------------------------------------------------------------


def _sign(request: Request, account_id: int, stored: str, filename: str) -> str:
    """Ties a stored upload to the account that sent it, so its name alone opens nothing."""
    key = get_context(request).settings.signing_key
    message = f"import:{account_id}:{stored}:{filename}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def _stored_path(
    request: Request, account_id: int, stored: str, filename: str, signature: str
) -> Path | None:
    if not _STORED.match(stored) or not hmac.compare_digest(
        _sign(request, account_id, stored, filename), signature
    ):
        return None
    path = get_context(request).settings.data_dir / "imports" / stored
    return path if path.is_file() else None


def _import_form(
    request: Request, group_id: int, form: forms.Form | None = None, status: int = 200
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    with ctx.db.transaction(readonly=True) as session:
        view = phonebook.get_group(session, account_id=principal.account_id, group_id=group_id)
    return render(
        request,
        "group_import.html",
        status=status,
        view=view,
        form=form or forms.Form.of(request, text="", file=""),
        max_upload=ctx.settings.max_upload_bytes,
    )


@router.get("/groups/{group_id}/import", response_class=HTMLResponse)
def import_page(request: Request, group_id: int) -> Response:
    return _import_form(request, group_id)


def _column(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _name_column(value: str) -> int | Literal["auto"] | None:
    """The name column chosen: "auto" (detect it), a column number, or "none"."""
    # An empty form value reads as the default, so "no name column" has a word of its own.
    return "auto" if value == "auto" else _column(value)


@dataclass
class _ImportForm:
    """What the import pages post: pasted text, or a stored upload with its signature, and the
    columns chosen on the preview."""

    text: Text = ""
    stored: Text = ""
    filename: Text = ""
    signature: Text = ""
    phone_column: Text = ""
    name_column: Text = "auto"


@router.post("/groups/{group_id}/imports/preview", response_class=HTMLResponse)
def import_preview(
    request: Request,
    group_id: int,
    fields: Annotated[_ImportForm, Depends()],
    file: Annotated[UploadFile | None, File()] = None,
    csrf: Text = "",
) -> Response:
    """Check the file (or pasted text) and show its columns and first rows to choose from."""
    check_csrf(request, csrf)
    text, stored, filename, signature = fields.text, fields.stored, fields.filename, fields.signature
    principal = page_principal(request)
    ctx = get_context(request)
    form = forms.Form.of(request, text=text, file="")
    with ctx.db.transaction(readonly=True) as session:
        view = phonebook.get_group(session, account_id=principal.account_id, group_id=group_id)
    limits = imports.limits_for(ctx.settings)
    path: Path | None = None
    try:
        if file is not None and file.filename:
            filename = file.filename[:200]
            path = imports.save_upload(ctx.settings, file.file, filename)
            stored = path.name
            signature = _sign(request, principal.account_id, stored, filename)
        elif stored:
            path = _stored_path(request, principal.account_id, stored, filename, signature)
            if path is None:
                form.fail("file", translate("err_upload_gone", form.lang))
                return _import_form(request, group_id, form, status=400)
        if path is not None:
            found = reader.preview_file(
                path,
                filename=filename,
                limits=limits,
                rows=PREVIEW_ROWS,
                phone_column=_column(fields.phone_column),
                name_column=_name_column(fields.name_column),
            )
        else:
            if not text.strip():
                form.fail("file", translate("err_import_input", form.lang))
                return _import_form(request, group_id, form, status=400)
            if len(text) > MAX_PASTE:
                form.fail("text", translate("err_paste_too_long", form.lang))
                return _import_form(request, group_id, form, status=400)
            found = reader.preview_text(text, limits=limits, rows=PREVIEW_ROWS)
    except DomainError as exc:
        if path is not None and file is not None and file.filename:
            path.unlink(missing_ok=True)  # refused as uploaded: nothing will ever read it
        form.domain(exc, default="text" if path is None else "file")
        return _import_form(request, group_id, form, status=400)
    return render(
        request,
        "import_preview.html",
        view=view,
        preview=found,
        text=text if path is None else "",
        stored=stored if path is not None else "",
        filename=filename if path is not None else "",
        signature=signature if path is not None else "",
    )


@router.post("/groups/{group_id}/imports", response_class=HTMLResponse)
def import_start(
    request: Request, group_id: int, fields: Annotated[_ImportForm, Depends()], csrf: Text = ""
) -> Response:
    """Start the import checked by the preview; it runs in the background and has its own page."""
    check_csrf(request, csrf)
    text, stored, filename, signature = fields.text, fields.stored, fields.filename, fields.signature
    principal = page_principal(request)
    ctx = get_context(request)
    form = forms.Form.of(request, text=text, file="")
    limits = imports.limits_for(ctx.settings)
    with ctx.db.transaction(readonly=True) as session:
        phonebook.owned_group(session, account_id=principal.account_id, group_id=group_id)
    path: Path | None = None
    try:
        if stored:
            path = _stored_path(request, principal.account_id, stored, filename, signature)
            if path is None:
                form.fail("file", translate("err_upload_gone", form.lang))
                return _import_form(request, group_id, form, status=400)
            opened = reader.open_file(
                path,
                filename=filename,
                limits=limits,
                phone_column=_column(fields.phone_column),
                name_column=_name_column(fields.name_column),
            )
            source = filename
        else:
            opened = reader.open_text(text, limits=limits)
            source = "text"
        with ctx.db.transaction() as session:
            job = imports.create_import(
                session,
                account_id=principal.account_id,
                group_id=group_id,
                source=source,
                rows_total=opened.total_rows_hint,
            )
    except DomainError as exc:
        form.domain(exc, default="text" if path is None else "file")
        return _import_form(request, group_id, form, status=400)
    imports.start_in_background(ctx.db, import_id=job.id, reader=opened, cleanup=path)
    return redirect(f"/imports/{job.id}")


@router.get("/imports/{import_id}", response_class=HTMLResponse)
def import_page_of(
    request: Request, import_id: int, page: Annotated[str, Query(max_length=12)] = "1"
) -> Response:
    principal = page_principal(request)
    ctx = get_context(request)
    number = forms.page_number(page)
    with ctx.db.transaction(readonly=True) as session:
        job = imports.get_import(
            session, account_id=principal.account_id, import_id=import_id, invalid_limit=0
        )
        view = phonebook.get_group(session, account_id=principal.account_id, group_id=job.job.group_id)
        rows = imports.invalid_rows(
            session,
            account_id=principal.account_id,
            import_id=import_id,
            offset=(number - 1) * REPORT_ROWS,
            limit=REPORT_ROWS,
        )
    return render(
        request,
        "import_job.html",
        job=job,
        view=view,
        invalid=rows.items,
        pager=forms.Pager.of(request, total=rows.total, per_page=REPORT_ROWS, page=number),
    )
