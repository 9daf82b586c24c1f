"""Admin HTTP API of the blacklist: counts, manual numbers, checks, loading the national list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile

from payamak.api.deps import Admin, Ctx, Tx
from payamak.api.errors import language, responses
from payamak.sending import blacklist
from payamak.sending import blacklist_schemas as schemas
from payamak.sending.blacklist_models import BlacklistLoad, BlacklistSnapshot

router = APIRouter(prefix="/admin/blacklist", tags=["blacklist"])


def load_out(load: BlacklistLoad, lang: str = "fa") -> schemas.LoadOut:
    status = blacklist.load_status_of(load)
    error, detail = load.error_code, load.error_en if lang == "en" else load.error_fa
    if status != load.status:
        error = "blacklist_load_interrupted"
        detail = (
            "The load stopped without finishing (its process ended); the previous list stays in force."
            if lang == "en"
            else "بارگذاری ناتمام ماند (فرایند آن پایان یافت)؛ فهرست پیشین همچنان برقرار است."
        )
    progress = None
    if status == "done":
        progress = 1.0
    elif load.bytes_total:
        progress = min(1.0, load.bytes_read / load.bytes_total)
    return schemas.LoadOut(
        id=load.id,
        status=status,
        source=load.source,
        progress=progress,
        bytes_total=load.bytes_total,
        bytes_read=load.bytes_read,
        lines=load.lines,
        blank=load.blank,
        valid=load.valid,
        numbers=load.numbers,
        invalid=load.invalid,
        duplicates=max(0, load.valid - load.numbers),
        invalid_samples=load.invalid_samples,
        error=error,
        detail=detail,
        created_at=load.created_at,
        finished_at=load.finished_at,
    )


def _invalid(items: list[blacklist.InvalidNumber]) -> list[schemas.InvalidOut]:
    return [schemas.InvalidOut(row=i.row, value=i.value, reason=i.reason) for i in items]


def _national_out(snap: BlacklistSnapshot) -> schemas.NationalOut:
    return schemas.NationalOut(
        numbers=snap.numbers,
        lines=snap.lines,
        invalid=snap.invalid,
        source=snap.source,
        size_bytes=snap.size_bytes,
        loaded_at=snap.created_at,
        loaded_by=snap.created_by,
    )


@router.get("", response_model=schemas.SummaryOut, responses=responses(401, 403))
def summary(request: Request, admin: Admin, session: Tx) -> schemas.SummaryOut:
    """Numbers on each list, the version, and the national list in force."""
    info = blacklist.summary(session)
    national = info.national
    return schemas.SummaryOut(
        version=info.version,
        counts=info.counts,
        loaded_at=national.created_at if national else None,
        national=_national_out(national) if national else None,
        last_load=load_out(info.last_load, language(request)) if info.last_load else None,
    )


@router.post("/numbers", response_model=schemas.AddedOut, responses=responses(401, 403, 422))
def add_numbers(body: schemas.NumbersIn, admin: Admin, session: Tx) -> schemas.AddedOut:
    """Put numbers on the manual list (any written form); invalid ones are listed and skipped."""
    result = blacklist.add_numbers(
        session, numbers=body.numbers, added_by=admin.account_id, reason=body.reason
    )
    return schemas.AddedOut(added=result.added, already=result.already, invalid=_invalid(result.invalid))


def _remove(body: schemas.RemoveIn, admin: Admin, session: Tx) -> schemas.RemovedOut:
    result = blacklist.remove_numbers(session, numbers=body.numbers, removed_by=admin.account_id)
    return schemas.RemovedOut(
        removed=result.removed,
        not_listed=result.not_listed,
        still_national=result.still_national,
        invalid=_invalid(result.invalid),
    )


@router.delete("/numbers", response_model=schemas.RemovedOut, responses=responses(401, 403, 422))
def remove_numbers(body: schemas.RemoveIn, admin: Admin, session: Tx) -> schemas.RemovedOut:
    """Take numbers off the manual and operator lists (the national list changes only by a new load)."""
    return _remove(body, admin, session)


@router.post("/numbers/remove", response_model=schemas.RemovedOut, responses=responses(401, 403, 422))
def remove_numbers_post(body: schemas.RemoveIn, admin: Admin, session: Tx) -> schemas.RemovedOut:
    """The same as DELETE /admin/blacklist/numbers, for clients that cannot send a body with DELETE."""
    return _remove(body, admin, session)


@router.get("/check", response_model=schemas.CheckOut, responses=responses(401, 403, 422))
def check(
    admin: Admin, session: Tx, number: Annotated[str, Query(max_length=40, examples=["09121234567"])]
) -> schemas.CheckOut:
    """Whether a number is blocked for advertising SMS, and by which lists."""
    result = blacklist.check_number(session, number=number)
    return schemas.CheckOut(
        input=result.input,
        e164=result.e164,
        blocked=result.blocked,
        kinds=result.kinds,
        entries=[
            schemas.EntryOut(kind=e.kind, reason=e.reason, added_at=e.added_at, added_by=e.added_by)
            for e in result.entries
        ],
        version=result.version,
    )


@router.post(
    "/national", status_code=202, response_model=schemas.LoadOut, responses=responses(401, 403, 409, 413, 422)
)
def load_national(
    request: Request,
    file: Annotated[UploadFile, File(description="One number a line, any written form; plain or gzip.")],
    background: BackgroundTasks,
    admin: Admin,
    ctx: Ctx,
    session: Tx,
) -> schemas.LoadOut:
    """Replace the national (*800#) list from a file; it loads in the background.

    Follow it with GET /admin/blacklist/loads/{id}. The list in force stays until the new one is
    complete; a file whose lines are mostly not mobile numbers is refused and changes nothing.
    Files over the upload limit go through `payamak blacklist load FILE` instead.
    """
    path = blacklist.save_national_upload(ctx.settings, file.file)
    try:
        load = blacklist.begin_national_load(
            session, source=file.filename or "upload", size=path.stat().st_size, created_by=admin.account_id
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    background.add_task(blacklist.run_uploaded_load, ctx.db, load_id=load.id, path=path)
    return load_out(load, language(request))


@router.get("/loads/{load_id}", response_model=schemas.LoadOut, responses=responses(401, 403, 404))
def load_status(load_id: int, request: Request, admin: Admin, session: Tx) -> schemas.LoadOut:
    """Progress of a national-list load, then its counts and the first invalid lines."""
    return load_out(blacklist.load_status(session, load_id=load_id), language(request))
