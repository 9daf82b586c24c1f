"""HTTP API of the phonebook: groups, their numbers, customers, imports and exports."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as InPath
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from payamak.api.deps import Caller, Ctx, ShortCaller, Tx, get_context
from payamak.api.errors import language, responses
from payamak.errors import ValidationFailed
from payamak.phonebook import export, imports, keys, reader, schemas
from payamak.phonebook import service as phonebook
from payamak.phonebook.models import Customer, GroupNumber
from payamak.phonebook.service import UNSET, GroupView, InvalidRow, NewNumber

router = APIRouter(tags=["phonebook"])

# Bounded so that no id or offset can overflow a database integer (a 500 instead of a 404/422).
MAX_ID = schemas.MAX_ID
GroupId = Annotated[int, InPath(ge=1, le=MAX_ID)]
NumberId = Annotated[
    int, InPath(ge=-MAX_ID, le=MAX_ID, description="The number's id in the group, as listed (its key).")
]
CustomerId = Annotated[int, InPath(ge=1, le=MAX_ID)]
ImportId = Annotated[int, InPath(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def import_limits(request: Request) -> reader.Limits:
    return imports.limits_for(get_context(request).settings)


ImportLimits = Annotated[reader.Limits, Depends(import_limits)]


def group_out(view: GroupView) -> schemas.GroupOut:
    g = view.group
    return schemas.GroupOut(id=g.id, name=g.name, size=view.size, created_at=g.created_at)


def invalid_out(rows: list[InvalidRow], lang: str) -> list[schemas.InvalidOut]:
    return [
        schemas.InvalidOut(row=r.row, value=r.value, reason=r.reason, message=r.message(lang)) for r in rows
    ]


def number_out(n: GroupNumber) -> schemas.NumberOut:
    return schemas.NumberOut(
        id=n.key,
        number=keys.to_e164(n.key),
        local=keys.to_local(n.key),
        operator=keys.operator_of(n.key),
        name=n.name,
        fields=dict(n.fields or {}),
        created_at=n.created_at,
    )


def customer_out(c: Customer) -> schemas.CustomerOut:
    return schemas.CustomerOut(
        id=c.id,
        mobile=keys.to_e164(c.key),
        local=keys.to_local(c.key),
        operator=keys.operator_of(c.key),
        name=c.name,
        fields=dict(c.fields or {}),
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


# --- groups ---------------------------------------------------------------------------------


@router.post(
    "/groups", status_code=201, response_model=schemas.GroupOut, responses=responses(401, 409, 413, 422)
)
def create_group(body: schemas.GroupIn, caller: Caller, session: Tx) -> schemas.GroupOut:
    """Create a group; names are unique in the account."""
    return group_out(phonebook.create_group(session, account_id=caller.account_id, name=body.name))


@router.get("/groups", response_model=list[schemas.GroupOut], responses=responses(401))
def list_groups(caller: Caller, session: Tx) -> list[schemas.GroupOut]:
    """The account's groups by name, with how many numbers each holds."""
    return [group_out(v) for v in phonebook.list_groups(session, account_id=caller.account_id)]


@router.get("/groups/{group_id}", response_model=schemas.GroupOut, responses=responses(401, 404, 422))
def get_group(group_id: GroupId, caller: Caller, session: Tx) -> schemas.GroupOut:
    return group_out(phonebook.get_group(session, account_id=caller.account_id, group_id=group_id))


@router.patch(
    "/groups/{group_id}", response_model=schemas.GroupOut, responses=responses(401, 404, 409, 413, 422)
)
def rename_group(group_id: GroupId, body: schemas.GroupIn, caller: Caller, session: Tx) -> schemas.GroupOut:
    """Rename a group."""
    view = phonebook.rename_group(session, account_id=caller.account_id, group_id=group_id, name=body.name)
    return group_out(view)


@router.delete("/groups/{group_id}", status_code=204, responses=responses(401, 404, 422))
def delete_group(group_id: GroupId, caller: Caller, session: Tx) -> None:
    """Delete a group with its numbers and imports (customers stay)."""
    phonebook.delete_group(session, account_id=caller.account_id, group_id=group_id)


# --- numbers --------------------------------------------------------------------------------


@router.post(
    "/groups/{group_id}/numbers",
    response_model=schemas.AddResultOut,
    responses=responses(401, 404, 413, 422),
)
def add_numbers(
    group_id: GroupId, body: schemas.NumbersIn, request: Request, caller: Caller, session: Tx
) -> schemas.AddResultOut:
    """Add numbers to a group. Each number is kept once; invalid values are listed, not added."""
    items = [
        item if isinstance(item, str) else NewNumber(item.number, item.name, item.fields)
        for item in body.numbers
    ]
    result = phonebook.add_numbers(session, account_id=caller.account_id, group_id=group_id, items=items)
    return schemas.AddResultOut(
        added=result.added,
        duplicates=result.duplicates,
        invalid=invalid_out(result.invalid, language(request)),
    )


@router.get(
    "/groups/{group_id}/numbers", response_model=schemas.NumberPage, responses=responses(401, 404, 422)
)
def list_numbers(
    group_id: GroupId,
    caller: Caller,
    session: Tx,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of a number in any form, or of a name.")
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=phonebook.MAX_PAGE)] = 50,
) -> schemas.NumberPage:
    """The group's numbers in number order, a page at a time."""
    page = phonebook.list_numbers(
        session, account_id=caller.account_id, group_id=group_id, query=q, offset=offset, limit=limit
    )
    return schemas.NumberPage(
        items=[number_out(n) for n in page.items], total=page.total, offset=page.offset, limit=page.limit
    )


@router.patch(
    "/groups/{group_id}/numbers/{number_id}",
    response_model=schemas.NumberOut,
    responses=responses(401, 404, 413, 422),
)
def update_number(
    group_id: GroupId, number_id: NumberId, body: schemas.NumberUpdateIn, caller: Caller, session: Tx
) -> schemas.NumberOut:
    """Change a number's name and/or fields; fields given replace the old ones."""
    given = body.model_fields_set
    found = phonebook.update_number(
        session,
        account_id=caller.account_id,
        group_id=group_id,
        number_id=number_id,
        name=body.name if "name" in given else UNSET,
        fields=body.fields if "fields" in given else UNSET,
    )
    return number_out(found)


@router.delete("/groups/{group_id}/numbers/{number_id}", status_code=204, responses=responses(401, 404, 422))
def delete_number(group_id: GroupId, number_id: NumberId, caller: Caller, session: Tx) -> None:
    phonebook.delete_number(session, account_id=caller.account_id, group_id=group_id, number_id=number_id)


@router.post(
    "/groups/{group_id}/numbers/delete",
    response_model=schemas.DeletedOut,
    responses=responses(401, 404, 413, 422),
)
def delete_some_numbers(
    group_id: GroupId, body: schemas.IdsIn, caller: Caller, session: Tx
) -> schemas.DeletedOut:
    """Delete the numbers with these ids from the group."""
    deleted = phonebook.delete_numbers(
        session, account_id=caller.account_id, group_id=group_id, number_ids=body.ids
    )
    return schemas.DeletedOut(deleted=deleted)


@router.delete(
    "/groups/{group_id}/numbers", response_model=schemas.DeletedOut, responses=responses(401, 404, 422)
)
def delete_all_numbers(group_id: GroupId, caller: Caller, session: Tx) -> schemas.DeletedOut:
    """Empty the group."""
    deleted = phonebook.delete_numbers(
        session, account_id=caller.account_id, group_id=group_id, number_ids=None
    )
    return schemas.DeletedOut(deleted=deleted)


@router.post(
    "/groups/{group_id}/customers",
    response_model=schemas.AddResultOut,
    responses=responses(401, 404, 413, 422),
)
def add_customers_to_group(
    group_id: GroupId, body: schemas.GroupCustomersIn, caller: Caller, session: Tx
) -> schemas.AddResultOut:
    """Fill the group from customers: the ones listed, or all with `all: true`."""
    if body.all == (body.customer_ids is not None):
        raise ValidationFailed(
            "یا فهرست مشتری‌ها را بدهید یا all را true کنید (نه هر دو).",
            "Give either customer_ids or all: true (not both).",
            code="customers_choice_required",
            field="customer_ids",
        )
    result = phonebook.add_customers_to_group(
        session,
        account_id=caller.account_id,
        group_id=group_id,
        customer_ids=None if body.all else body.customer_ids,
    )
    return schemas.AddResultOut(added=result.added, duplicates=result.duplicates, invalid=[])


# --- export ---------------------------------------------------------------------------------


def _disposition(name: str, extension: str, group_id: int) -> str:
    fallback = f"group-{group_id}.{extension}"
    return f"attachment; filename=\"{fallback}\"; filename*=utf-8''{quote(f'{name}.{extension}')}"


@router.get(
    "/groups/{group_id}/export",
    responses={
        **responses(401, 404, 422),
        200: {
            "content": {
                "text/csv": {},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            },
            "description": "The group as a file: number, name, then one column per field.",
        },
    },
    response_class=StreamingResponse,
    response_model=None,
)
def export_group(
    group_id: GroupId,
    caller: Caller,
    ctx: Ctx,
    session: Tx,
    file_format: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
) -> StreamingResponse | FileResponse:
    """Download the group as xlsx or CSV (UTF-8); cells that could run as formulas are defused."""
    view = phonebook.get_group(session, account_id=caller.account_id, group_id=group_id)
    name = view.group.name
    if file_format == "csv":

        def body() -> Any:
            # The request's transaction has ended by the time the body streams; read in one's own.
            with ctx.db.transaction(readonly=True) as own:
                yield from export.csv_chunks(own, account_id=caller.account_id, group_id=group_id)

        return StreamingResponse(
            body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _disposition(name, "csv", group_id)},
        )
    folder = ctx.settings.ensure_data_dir() / "exports"
    folder.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".xlsx", delete=False) as handle:
        path = Path(handle.name)
    try:
        export.write_xlsx(session, account_id=caller.account_id, group_id=group_id, path=path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _disposition(name, "xlsx", group_id)},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


# --- customers ------------------------------------------------------------------------------


@router.post(
    "/customers",
    status_code=201,
    response_model=schemas.CustomerOut,
    responses=responses(401, 409, 413, 422),
)
def create_customer(body: schemas.CustomerIn, caller: Caller, session: Tx) -> schemas.CustomerOut:
    """Add a customer (one per number in the account)."""
    customer = phonebook.create_customer(
        session, account_id=caller.account_id, mobile=body.mobile, name=body.name, fields=body.fields
    )
    return customer_out(customer)


@router.get("/customers", response_model=schemas.CustomerPage, responses=responses(401, 422))
def list_customers(
    caller: Caller,
    session: Tx,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=phonebook.MAX_PAGE)] = 50,
) -> schemas.CustomerPage:
    """Customers, newest first; `q` searches numbers (any form) or names."""
    page = phonebook.list_customers(
        session, account_id=caller.account_id, query=q, offset=offset, limit=limit
    )
    return schemas.CustomerPage(
        items=[customer_out(c) for c in page.items], total=page.total, offset=page.offset, limit=page.limit
    )


@router.get(
    "/customers/{customer_id}", response_model=schemas.CustomerOut, responses=responses(401, 404, 422)
)
def get_customer(customer_id: CustomerId, caller: Caller, session: Tx) -> schemas.CustomerOut:
    return customer_out(
        phonebook.get_customer(session, account_id=caller.account_id, customer_id=customer_id)
    )


@router.patch(
    "/customers/{customer_id}",
    response_model=schemas.CustomerOut,
    responses=responses(401, 404, 409, 413, 422),
)
def update_customer(
    customer_id: CustomerId, body: schemas.CustomerUpdateIn, caller: Caller, session: Tx
) -> schemas.CustomerOut:
    given = body.model_fields_set
    if "mobile" in given and body.mobile is None:
        raise ValidationFailed(
            "شمارهٔ موبایل را نمی‌توان خالی گذاشت.",
            "The mobile cannot be empty.",
            code="mobile_required",
            field="mobile",
        )
    customer = phonebook.update_customer(
        session,
        account_id=caller.account_id,
        customer_id=customer_id,
        mobile=body.mobile if body.mobile is not None else UNSET,
        name=body.name if "name" in given else UNSET,
        fields=body.fields if "fields" in given else UNSET,
    )
    return customer_out(customer)


@router.delete("/customers/{customer_id}", status_code=204, responses=responses(401, 404, 422))
def delete_customer(customer_id: CustomerId, caller: Caller, session: Tx) -> None:
    phonebook.delete_customer(session, account_id=caller.account_id, customer_id=customer_id)


# --- imports --------------------------------------------------------------------------------

_UPLOAD_DOC = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "phone_column": {"type": "integer", "description": "0-based; default: detected"},
                        "name_column": {"type": "integer", "description": "0-based; default: detected"},
                    },
                }
            },
            "application/json": {"schema": schemas.TextImportIn.model_json_schema()},
        },
        "required": True,
    }
}


async def _text_body(request: Request) -> str:
    """The pasted text of a JSON body.

    Anything else without a `file` part is refused with 422 `import_input_required`, and never
    read: FastAPI has already parsed (and so consumed) the body of a form, and reading it again
    raises instead of answering."""
    if not _is_json(request):
        raise ValidationFailed(
            'فرم بخشی به نام file ندارد: فایل را در بخش file بفرستید، یا متن را به شکل JSON {"text": "…"}.',
            'The form has no "file" part: send the file in a part named "file", or the text as JSON {"text": "…"}.',
            code="import_input_required",
            field="file",
        )
    try:
        body = schemas.TextImportIn.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError) as exc:
        raise ValidationFailed(
            'یک فایل (multipart با نام file) یا JSON به شکل {"text": "…"} بفرستید.',
            'Send a file (multipart, field "file") or JSON like {"text": "…"}.',
            code="import_input_required",
            field="file",
        ) from exc
    return body.text


def _is_json(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def _column(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise ValidationFailed(
            "شمارهٔ ستون از صفر شروع می‌شود و منفی نیست.",
            "Column numbers start at 0.",
            code="import_bad_column",
            field=name,
        )
    return value


@router.post(
    "/groups/{group_id}/imports",
    status_code=202,
    response_model=schemas.ImportStartedOut,
    responses=responses(401, 404, 413, 415, 422),
    openapi_extra=_UPLOAD_DOC,
)
async def start_import(
    group_id: GroupId,
    request: Request,
    caller: ShortCaller,
    limits: ImportLimits,
    file: Annotated[UploadFile | None, File(include_in_schema=False)] = None,
    phone_column: Annotated[int | None, Form(include_in_schema=False)] = None,
    name_column: Annotated[int | None, Form(include_in_schema=False)] = None,
) -> schemas.ImportStartedOut:
    """Import an uploaded file (xlsx, xls, ods, csv, txt) or pasted text into the group.

    The file is checked first (format, size and row limits, password, phone column) and refused
    with 422 and a precise `error` code; then the import runs in the background and is all or
    nothing. Follow it at `GET /imports/{id}`. A form without its `file` part, or JSON without
    `text`, is refused with 422 `import_input_required`.
    """
    ctx = get_context(request)
    text = await _text_body(request) if file is None else None

    def start() -> schemas.ImportStartedOut:
        with ctx.db.transaction(readonly=True) as session:
            phonebook.owned_group(session, account_id=caller.account_id, group_id=group_id)
        stored: Path | None = None
        try:
            if file is not None:
                filename = file.filename or "upload"
                stored = imports.save_upload(ctx.settings, file.file, filename)
                opened = reader.open_file(
                    stored,
                    filename=filename,
                    limits=limits,
                    phone_column=_column(phone_column, "phone_column"),
                    name_column=_column(name_column, "name_column") if name_column is not None else "auto",
                )
                source = filename
            else:
                opened = reader.open_text(text or "", limits=limits)
                source = "text"
            with ctx.db.transaction() as session:
                job = imports.create_import(
                    session,
                    account_id=caller.account_id,
                    group_id=group_id,
                    source=source,
                    rows_total=opened.total_rows_hint,
                )
        except BaseException:
            if stored is not None:
                stored.unlink(missing_ok=True)
            raise
        imports.start_in_background(ctx.db, import_id=job.id, reader=opened, cleanup=stored)
        return schemas.ImportStartedOut(
            id=job.id, group_id=group_id, status="running", rows_total=job.rows_total
        )

    return await run_in_threadpool(start)


@router.post(
    "/imports/preview",
    response_model=schemas.PreviewOut,
    responses=responses(401, 413, 415, 422),
    openapi_extra=_UPLOAD_DOC,
)
async def preview_import(
    request: Request,
    caller: ShortCaller,
    limits: ImportLimits,
    file: Annotated[UploadFile | None, File(include_in_schema=False)] = None,
    phone_column: Annotated[int | None, Form(include_in_schema=False)] = None,
    name_column: Annotated[int | None, Form(include_in_schema=False)] = None,
    rows: Annotated[int, Query(ge=1, le=100)] = 10,
) -> schemas.PreviewOut:
    """The columns, the first rows and the detected phone and name columns, to choose from.

    A form without its `file` part, or JSON without `text`, is refused with 422
    `import_input_required`."""
    ctx = get_context(request)
    text = await _text_body(request) if file is None else None

    def preview() -> reader.Preview:
        if file is None:
            return reader.preview_text(text or "", limits=limits, rows=rows)
        filename = file.filename or "upload"
        stored = imports.save_upload(ctx.settings, file.file, filename)
        try:
            return reader.preview_file(
                stored,
                filename=filename,
                limits=limits,
                rows=rows,
                phone_column=_column(phone_column, "phone_column"),
                name_column=_column(name_column, "name_column") if name_column is not None else "auto",
            )
        finally:
            stored.unlink(missing_ok=True)

    found = await run_in_threadpool(preview)
    return schemas.PreviewOut(
        format=found.format,
        layout=found.layout,
        encoding=found.encoding,
        columns=found.columns,
        rows=found.rows,
        row_numbers=found.row_numbers,
        phone_column=found.phone_column,
        name_column=found.name_column,
        has_header=found.has_header,
        total_rows=found.total_rows,
    )


def import_out(view: imports.ImportView, lang: str) -> schemas.ImportOut:
    job = view.job
    error = None
    if view.error is not None:
        extra = {k: v for k, v in view.error.extra.items() if k not in ("code", "detail")}
        error = schemas.ImportErrorOut(code=view.error.code, detail=view.error.message(lang), **extra)
    return schemas.ImportOut(
        id=job.id,
        group_id=job.group_id,
        source=job.source,
        status=view.status,
        progress=1.0 if view.status == "done" else min(max(job.progress, 0.0), 1.0),
        rows_read=job.rows_read,
        rows_total=job.rows_total,
        added=job.added,
        duplicates=job.duplicates,
        invalid_count=job.invalid_count,
        invalid=invalid_out(view.invalid, lang),
        error=error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@router.get("/imports", response_model=list[schemas.ImportOut], responses=responses(401, 422))
def list_imports(
    request: Request,
    caller: Caller,
    session: Tx,
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[schemas.ImportOut]:
    """Recent imports of the account (or of one group), newest first, without their invalid rows."""
    views = imports.list_imports(session, account_id=caller.account_id, group_id=group_id, limit=limit)
    return [import_out(v, language(request)) for v in views]


@router.get("/imports/{import_id}", response_model=schemas.ImportOut, responses=responses(401, 404, 422))
def get_import(import_id: ImportId, request: Request, caller: Caller, session: Tx) -> schemas.ImportOut:
    """An import's status and progress (0..1) while it runs, and its report when it ends."""
    view = imports.get_import(session, account_id=caller.account_id, import_id=import_id)
    return import_out(view, language(request))


@router.get(
    "/imports/{import_id}/invalid", response_model=schemas.InvalidPage, responses=responses(401, 404, 422)
)
def list_invalid_rows(
    import_id: ImportId,
    request: Request,
    caller: Caller,
    session: Tx,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> schemas.InvalidPage:
    """Every invalid row of an import, a page at a time, in file order."""
    page = imports.invalid_rows(
        session, account_id=caller.account_id, import_id=import_id, offset=offset, limit=limit
    )
    return schemas.InvalidPage(
        items=invalid_out(page.items, language(request)),
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )
