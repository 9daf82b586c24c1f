"""Imports into a group: all or nothing, streamed, with progress anyone can read while they run.

An import runs in two phases, each with its own units of work:

* **reading** streams rows from the `reader`, turns each value into its key, drops numbers seen
  earlier in the file (a set of ints) and keeps the new ones as compact ints (tuples only for rows
  with a name or fields). The group is not touched, so the job's progress, counters and invalid
  rows are committed every `write_interval` seconds in short transactions of their own.
* **saving** is one transaction: lock the group, drop keys already in it, sort the rest (inserting
  in key order only ever appends to the primary key's b-tree, about twice as fast as at random)
  and bulk-insert them in chunks (COPY on PostgreSQL, one JSON array per chunk on SQLite), then
  mark the job done. A failure anywhere rolls it back, so the group is exactly as before, and the
  job is marked failed.

On PostgreSQL progress keeps moving while saving (other connections can write the job row); on
SQLite the one writer is busy saving, so readers see the last reading figure until it is done.

`run_import` owns its transactions, so it takes the `Database`, not a session. The API runs it on
a worker thread (`start_in_background`); the CLI calls it directly.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final, Literal

from sqlalchemy.orm import Session

from payamak import numbers
from payamak.config import Settings
from payamak.db import Database, utcnow
from payamak.errors import DomainError, NotFound
from payamak.numbers.iran import KEY_END
from payamak.phonebook import keys as numkeys
from payamak.phonebook import repository as repo
from payamak.phonebook import service
from payamak.phonebook.models import ImportJob
from payamak.phonebook.reader import Limits, Reader
from payamak.phonebook.service import InvalidRow, Page

log = logging.getLogger(__name__)

# Share of the progress bar given to reading; saving takes the rest (measured on 1M-row files).
READ_SHARE: Final = 0.7
WRITE_INTERVAL: Final = 1.0
# Invalid rows wait in memory until this many are pending (or the import ends): inserting them
# at every progress write made each write several times slower.
INVALID_BATCH: Final = 5000
SAVE_CHUNK: Final = 50_000
# A running job whose row has not moved for this long belongs to a process that died.
STALE_AFTER: Final = dt.timedelta(minutes=10)
INVALID_SHOWN: Final = 1000
MAX_CONCURRENT: Final = 2

Stage = Literal["reading", "saving", "done", "failed"]


@dataclass(frozen=True, slots=True)
class Progress:
    stage: Stage
    progress: float
    rows_read: int
    rows_total: int | None
    added: int
    duplicates: int
    invalid: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class ImportFailure:
    code: str
    message_fa: str
    message_en: str
    extra: dict[str, Any]

    def message(self, lang: str = "fa") -> str:
        return self.message_en if lang == "en" else self.message_fa


@dataclass(frozen=True, slots=True)
class ImportView:
    job: ImportJob
    status: Literal["running", "done", "failed"]
    error: ImportFailure | None
    invalid: list[InvalidRow]


def limits_for(settings: Settings) -> Limits:
    return Limits(max_bytes=settings.max_upload_bytes)


# --- jobs -----------------------------------------------------------------------------------


def create_import(
    session: Session, *, account_id: int, group_id: int, source: str, rows_total: int | None = None
) -> ImportJob:
    """A running job for the account's group; commit it before `run_import` starts."""
    service.owned_group(session, account_id=account_id, group_id=group_id)
    job = ImportJob(
        account_id=account_id,
        group_id=group_id,
        status="running",
        source=source[:200],
        rows_total=rows_total,
    )
    repo.add(session, job)
    return job


def _not_found(import_id: int) -> NotFound:
    return NotFound("این ورود پیدا نشد.", "No such import.", code="import_not_found", import_id=import_id)


def _interrupted() -> ImportFailure:
    return ImportFailure(
        "import_interrupted",
        "ورود نیمه‌کاره ماند (برنامه در میانهٔ کار متوقف شد) و چیزی به گروه افزوده نشد؛ دوباره وارد کنید.",
        "The import was interrupted (the program stopped while it ran) and nothing was added; run it again.",
        {},
    )


def _view(session: Session, job: ImportJob, *, account_id: int, invalid_limit: int) -> ImportView:
    status: Literal["running", "done", "failed"]
    error = None
    if job.status == "running" and job.updated_at < utcnow() - STALE_AFTER:
        status, error = "failed", _interrupted()
    elif job.status == "done":
        status = "done"
    elif job.status == "failed":
        status = "failed"
        error = ImportFailure(
            job.error_code or "import_failed",
            job.error_fa or "",
            job.error_en or "",
            dict(job.error_extra or {}),
        )
    else:
        status = "running"
    invalid: list[InvalidRow] = []
    if invalid_limit and job.invalid_count:
        rows = repo.invalid_rows(session, account_id=account_id, import_id=job.id, limit=invalid_limit)
        invalid = [InvalidRow(r.row, r.value, r.reason) for r in rows]
    return ImportView(job, status, error, invalid)


def get_import(
    session: Session, *, account_id: int, import_id: int, invalid_limit: int = INVALID_SHOWN
) -> ImportView:
    """The job as it stands, with its first `invalid_limit` invalid rows (page through the rest)."""
    job = repo.import_job(session, account_id=account_id, import_id=import_id)
    if job is None:
        raise _not_found(import_id)
    return _view(session, job, account_id=account_id, invalid_limit=invalid_limit)


def list_imports(
    session: Session, *, account_id: int, group_id: int | None = None, limit: int = 20
) -> list[ImportView]:
    jobs = repo.import_jobs(session, account_id=account_id, group_id=group_id, limit=min(max(limit, 1), 100))
    return [_view(session, job, account_id=account_id, invalid_limit=0) for job in jobs]


def invalid_rows(
    session: Session, *, account_id: int, import_id: int, offset: int = 0, limit: int = 500
) -> Page[InvalidRow]:
    job = repo.import_job(session, account_id=account_id, import_id=import_id)
    if job is None:
        raise _not_found(import_id)
    offset, limit = max(offset, 0), min(max(limit, 1), 5000)
    rows = repo.invalid_rows(session, account_id=account_id, import_id=import_id, limit=limit, offset=offset)
    return Page([InvalidRow(r.row, r.value, r.reason) for r in rows], job.invalid_count, offset, limit)


# --- running --------------------------------------------------------------------------------


class _Tracker:
    """Reports progress to the callback and, at most every `interval` seconds, to the job row."""

    def __init__(
        self,
        db: Database,
        import_id: int,
        rows_total: int | None,
        on_progress: ProgressCallback | None,
        interval: float,
    ) -> None:
        self.db = db
        self.import_id = import_id
        self.rows_total = rows_total
        self.on_progress = on_progress
        self.interval = interval
        self.last_write = time.monotonic()
        # Only one SQLite connection can write at a time, and while saving it is the import's.
        self.write_while_saving = db.dialect != "sqlite"
        self.pending_invalid: list[tuple[int, str, str]] = []

    def _write(self, values: dict[str, Any], session: Session | None = None) -> None:
        values["updated_at"] = utcnow()
        final = "status" in values
        if session is None:
            with self.db.transaction() as own:
                if not final:
                    repo.without_waiting_for_disk(own)
                self._write(values, own)
            return
        if final or len(self.pending_invalid) >= INVALID_BATCH:
            repo.add_invalid_rows(session, import_id=self.import_id, rows=self.pending_invalid)
            # A final write's transaction may still roll back (saving fails at commit); the rows
            # are then written again with the failure.
            if not final:
                self.pending_invalid.clear()
        repo.update_import(session, import_id=self.import_id, values=values)
        self.last_write = time.monotonic()

    def reading(self, rows_read: int, duplicates: int, invalid: int, *, force: bool = False) -> None:
        share = min(1.0, rows_read / self.rows_total) if self.rows_total else 0.0
        progress = READ_SHARE * share
        if force or time.monotonic() - self.last_write >= self.interval:
            self._write(
                {
                    "progress": progress,
                    "rows_read": rows_read,
                    "duplicates": duplicates,
                    "invalid_count": invalid,
                }
            )
        if self.on_progress is not None:
            self.on_progress(
                Progress("reading", progress, rows_read, self.rows_total, 0, duplicates, invalid)
            )

    def saving(self, saved: int, to_save: int, counts: tuple[int, int, int]) -> None:
        progress = READ_SHARE + (1 - READ_SHARE) * (saved / to_save if to_save else 1.0)
        rows_read, duplicates, invalid = counts
        if self.write_while_saving and time.monotonic() - self.last_write >= self.interval:
            self._write({"progress": progress})
        if self.on_progress is not None:
            self.on_progress(
                Progress("saving", progress, rows_read, self.rows_total, saved, duplicates, invalid)
            )

    def finish(self, session: Session, values: dict[str, Any]) -> None:
        self._write(values, session)

    def fail(self, error: DomainError, counts: tuple[int, int, int]) -> None:
        rows_read, duplicates, invalid = counts
        values = {
            "status": "failed",
            "added": 0,
            "rows_read": rows_read,
            "duplicates": duplicates,
            "invalid_count": invalid,
            "error_code": error.code,
            "error_fa": error.message_fa,
            "error_en": error.message_en,
            "error_extra": _json_safe(error.extra) or None,
            "finished_at": utcnow(),
        }
        try:
            self._write(values)
        except Exception:
            log.exception("import %s failed and its failure could not be recorded", self.import_id)
        if self.on_progress is not None:
            self.on_progress(Progress("failed", 0.0, rows_read, self.rows_total, 0, duplicates, invalid))


def _json_safe(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | list | dict) or v is None
    }


@dataclass(slots=True)
class _Collected:
    plain: list[int]
    rich: list[tuple[int, str | None, dict[str, str] | None]]
    rows_read: int = 0
    repeated: int = 0
    invalid: int = 0

    @property
    def counts(self) -> tuple[int, int, int]:
        return self.rows_read, self.repeated, self.invalid


def _trim_name(name: str | None) -> str | None:
    if not name:
        return None
    return " ".join(name.split())[: service.MAX_NAME] or None


def _trim_fields(fields: dict[str, str]) -> dict[str, str] | None:
    """Imported columns are kept, cut to the sizes the API accepts rather than refused."""
    if not fields:
        return None
    trimmed: dict[str, str] = {}
    for key, value in fields.items():
        key = " ".join(key.split())[: service.MAX_FIELD_NAME]
        if key and key not in trimmed:
            trimmed[key] = value[: service.MAX_FIELD_VALUE]
            if len(trimmed) == service.MAX_FIELDS:
                break
    return trimmed or None


def _read(reader: Reader, tracker: _Tracker, collected: _Collected, every: int) -> None:
    """Phase one, the import's hot path: everything it touches is a local.

    Rows are taken one at a time, never gathered into batches: a batch keeps thousands of tuples
    alive long enough for the garbage collector to walk them again and again (1.8x slower).
    """
    mobile_key = numbers.mobile_key
    key_base, key_end = numbers.KEY_BASE, KEY_END
    slow_key_of = numkeys.slow_key_of
    value_text = service.value_text
    seen: set[int] = set()
    seen_add = seen.add
    plain_append = collected.plain.append
    rich_append = collected.rich.append
    invalid_append = tracker.pending_invalid.append
    rows_read = repeated = invalid = 0
    tick = every
    try:
        for number, phone, name, fields in reader:
            rows_read += 1
            if rows_read == tick:
                tick += every
                tracker.reading(rows_read, repeated, invalid)
            # A numeric cell (a float from the spreadsheet) takes the int path: same key, 3x faster.
            if phone.__class__ is float and key_base <= phone < key_end:
                key = mobile_key(int(phone))
            else:
                key = mobile_key(phone)
            if key is None:
                key, reason = slow_key_of(phone)
                if key is None:
                    invalid += 1
                    invalid_append((number, value_text(phone), reason or "invalid"))
                    continue
            if key in seen:
                repeated += 1
                continue
            seen_add(key)
            if name is None and not fields:
                plain_append(key)
            else:
                rich_append((key, _trim_name(name), _trim_fields(fields)))
    finally:
        collected.rows_read, collected.repeated, collected.invalid = rows_read, repeated, invalid
    tracker.reading(rows_read, repeated, invalid, force=True)


def _group_gone(group_id: int) -> NotFound:
    return NotFound(
        "گروه در میانهٔ ورود حذف شد و چیزی افزوده نشد.",
        "The group was deleted during the import; nothing was added.",
        code="group_not_found",
        group_id=group_id,
    )


def _save(db: Database, job: ImportJob, tracker: _Tracker, collected: _Collected) -> None:
    """Phase two: one transaction, so the group gets every new number or none."""
    with db.transaction() as session:
        group_id = job.group_id
        if repo.group(session, account_id=job.account_id, group_id=group_id, for_update=True) is None:
            raise _group_gone(group_id)
        plain, rich = collected.plain, collected.rich
        if repo.has_numbers(session, group_id=group_id):
            existing = repo.all_keys(session, group_id=group_id)
            plain = [k for k in plain if k not in existing]
            rich = [r for r in rich if r[0] not in existing]
            del existing
        plain.sort()
        rich.sort(key=itemgetter(0))
        to_save = len(plain) + len(rich)
        unique = len(collected.plain) + len(collected.rich)
        saved = 0
        tracker.saving(saved, to_save, collected.counts)
        for start in range(0, len(plain), SAVE_CHUNK):
            chunk = plain[start : start + SAVE_CHUNK]
            repo.bulk_insert_keys(session, group_id=group_id, keys=chunk)
            saved += len(chunk)
            tracker.saving(saved, to_save, collected.counts)
        for start in range(0, len(rich), SAVE_CHUNK):
            rows = rich[start : start + SAVE_CHUNK]
            repo.bulk_insert_rows(session, group_id=group_id, rows=rows)
            saved += len(rows)
            tracker.saving(saved, to_save, collected.counts)
        tracker.finish(
            session,
            {
                "status": "done",
                "progress": 1.0,
                "rows_read": collected.rows_read,
                "added": saved,
                "duplicates": collected.repeated + unique - saved,
                "invalid_count": collected.invalid,
                "finished_at": utcnow(),
            },
        )


def run_import(
    db: Database,
    *,
    import_id: int,
    reader: Reader,
    on_progress: ProgressCallback | None = None,
    progress_every: int | None = None,
    write_interval: float = WRITE_INTERVAL,
) -> ImportJob:
    """Run a job created by `create_import` to its end and return it as finished (done or failed).

    Never raises for bad input: a refusal met while reading (row limit, damaged file) or saving
    marks the job failed with the error's code and messages, and the group is left as it was.
    `progress_every` rows (default: about 1% of the file) the callback is called and, if
    `write_interval` seconds have passed, the job row is updated.
    """
    with db.transaction(readonly=True) as session:
        job = repo.import_job_by_id(session, import_id)
        if job is None:
            raise _not_found(import_id)
    total = reader.total_rows_hint
    every = progress_every or max(1000, min(50_000, (total or 0) // 100))
    tracker = _Tracker(db, import_id, total, on_progress, write_interval)
    collected = _Collected([], [])
    try:
        _read(reader, tracker, collected, every)
        _save(db, job, tracker, collected)
    except DomainError as exc:
        tracker.fail(exc, collected.counts)
    except Exception:
        log.exception("import %s failed", import_id)
        tracker.fail(
            DomainError(
                "ورود به خطای داخلی برخورد و چیزی به گروه افزوده نشد.",
                "The import hit an internal error; nothing was added to the group.",
                code="import_failed",
            ),
            collected.counts,
        )
    with db.transaction(readonly=True) as session:
        final = repo.import_job_by_id(session, import_id)
        if final is None:  # the group, and its imports with it, was deleted meanwhile
            raise _not_found(import_id)
    if on_progress is not None and final.status == "done":
        on_progress(
            Progress("done", 1.0, final.rows_read, total, final.added, final.duplicates, final.invalid_count)
        )
    return final


# --- uploads and background runs ------------------------------------------------------------


def save_upload(settings: Settings, source: IO[bytes], filename: str) -> Path:
    """Copy an upload into the data dir, where it stays until its import has ended."""
    folder = settings.ensure_data_dir() / "imports"
    folder.mkdir(exist_ok=True)
    suffix = Path(filename).suffix.lower()[:10]
    path = folder / f"{uuid.uuid4().hex}{suffix if suffix.isascii() else ''}"
    with path.open("wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)
    return path


_slots = threading.BoundedSemaphore(MAX_CONCURRENT)
_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def _work(db: Database, import_id: int, reader: Reader, cleanup: Path | None) -> None:
    try:
        # Waiting for a slot keeps the job's row fresh so it is not taken for an interrupted one.
        while not _slots.acquire(timeout=60):
            with db.transaction() as session:
                repo.update_import(session, import_id=import_id, values={"updated_at": utcnow()})
        try:
            run_import(db, import_id=import_id, reader=reader)
        finally:
            _slots.release()
    except Exception:
        log.exception("import %s could not run", import_id)
    finally:
        if cleanup is not None:
            cleanup.unlink(missing_ok=True)
        with _running_lock:
            _running.discard(threading.current_thread())


def start_in_background(
    db: Database, *, import_id: int, reader: Reader, cleanup: Path | None = None
) -> threading.Thread:
    """Run the job on a worker thread; `cleanup` (the stored upload) is deleted when it ends.

    Not a daemon: a server shutting down waits for running imports rather than abandoning them.
    """
    thread = threading.Thread(
        target=_work, args=(db, import_id, reader, cleanup), name=f"payamak-import-{import_id}", daemon=False
    )
    with _running_lock:
        _running.add(thread)
    thread.start()
    return thread


def running_threads() -> Iterator[threading.Thread]:
    with _running_lock:
        return iter(list(_running))


def wait_for_imports(timeout: float | None = None) -> bool:
    """Wait for background imports to end; False if some still run after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for thread in running_threads():
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in running_threads())
