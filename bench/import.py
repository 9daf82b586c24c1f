"""Import speed: a million-row xlsx into a group, against python-calamine reading the same file.

The file has one column of mobile numbers under a header, as shops export them: most cells text
("09121234567"), some numeric cells (9121234567, which spreadsheets make of numbers), 10% of the
rows repeating an earlier number and 1% invalid (too short, landlines).

Baseline: `python_calamine.load_workbook(path).get_sheet_by_index(0).to_python()`, the bare cost
of reading the cells. Ours: `reader.open_file` (format, zip-bomb and limit checks), a job row, and
`imports.run_import` to the end, numbers committed in a new group. Each runs in a fresh child
process, so the peak memory reported is the import's alone. The two alternate (`--repeat` imports,
each into a new group, with a baseline run before each and one after) and the best of each side
is compared, so that load from other processes on the machine does not decide the ratio.

    .venv/bin/python bench/import.py [--rows N] [--database-url URL] [--repeat N]

Without --database-url the database is a new SQLite file in a temporary directory; with one it is
migrated, used by a throwaway account, and that account is deleted afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a numbers.py, which would shadow the standard library's `numbers` for this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

PREFIXES = ("912", "913", "915", "919", "935", "936", "937", "938", "901", "902", "990", "991", "921", "922")
INVALID = ("0912345", "02188776655", "09", "0513 123 4567")


def build_file(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write the workbook (constant-memory mode) and return what a correct import must report."""
    import xlsxwriter

    rng = random.Random(seed)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_string(0, 0, "شماره موبایل")
    seen: list[int] = []
    unique: set[int] = set()
    invalid = duplicates = 0
    for row in range(1, rows + 1):
        draw = rng.random()
        if draw < 0.01:
            sheet.write_string(row, 0, rng.choice(INVALID))
            invalid += 1
            continue
        if draw < 0.11 and seen:
            key = seen[rng.randrange(len(seen))]
            duplicates += 1
        else:
            key = int(rng.choice(PREFIXES) + f"{rng.randrange(10**7):07d}")
            if key in unique:
                duplicates += 1
            else:
                unique.add(key)
                seen.append(key)
        if rng.random() < 0.2:
            sheet.write_number(row, 0, key)
        else:
            sheet.write_string(row, 0, f"0{key}")
    book.close()
    return {"rows": rows, "added": len(unique), "duplicates": duplicates, "invalid": invalid}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_baseline(path: str) -> dict[str, Any]:
    from python_calamine import load_workbook

    started = time.perf_counter()
    rows = load_workbook(path).get_sheet_by_index(0).to_python()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(rows), "peak_mb": peak_mb()}


def child_import(path: str, url: str, account_id: int, group_id: int) -> dict[str, Any]:
    import payamak.models  # noqa: F401  (the whole schema, as the app and the CLI load it)
    from payamak.db import Database
    from payamak.phonebook import imports, reader

    db = Database(url)
    marks: dict[str, float] = {}

    def note(step: imports.Progress) -> None:
        marks.setdefault(step.stage, time.perf_counter())

    started = time.perf_counter()
    opened = reader.open_file(path, filename=Path(path).name)
    opened_at = time.perf_counter()
    with db.transaction() as session:
        job = imports.create_import(
            session,
            account_id=account_id,
            group_id=group_id,
            source="bench",
            rows_total=opened.total_rows_hint,
        )
    final = imports.run_import(db, import_id=job.id, reader=opened, on_progress=note)
    seconds = time.perf_counter() - started
    db.dispose()
    saving = marks.get("saving", started)
    return {
        "seconds": seconds,
        "open_seconds": opened_at - started,
        "read_seconds": saving - opened_at,
        "save_seconds": started + seconds - saving,
        "status": final.status,
        "error": final.error_code,
        "added": final.added,
        "duplicates": final.duplicates,
        "invalid": final.invalid_count,
        "rows_read": final.rows_read,
        "peak_mb": peak_mb(),
    }


def in_child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prepare_database(url: str, groups: int) -> tuple[int, list[int]]:
    """A throwaway account with `groups` empty groups, one for each import run."""
    from payamak.accounts import service as accounts
    from payamak.accounts.security import Passwords
    from payamak.db import Database, upgrade
    from payamak.phonebook import service as phonebook

    upgrade(url)
    db = Database(url)
    mobile = f"0912{secrets.randbelow(10**7):07d}"
    with db.transaction() as session:
        account = accounts.create_user(
            session,
            passwords=Passwords(time_cost=1, memory_kib=1024),
            mobile=mobile,
            password="bench-password-1",
        )
        group_ids = [
            phonebook.create_group(session, account_id=account.id, name=f"bench {n}").group.id
            for n in range(groups)
        ]
        account_id = account.id
    db.dispose()
    return account_id, group_ids


def drop_account(url: str, account_id: int) -> None:
    import sqlalchemy as sa

    from payamak.accounts.models import Account
    from payamak.db import Database
    from payamak.phonebook import service as phonebook

    db = Database(url)
    with db.transaction() as session:
        for view in phonebook.list_groups(session, account_id=account_id):
            phonebook.delete_group(session, account_id=account_id, group_id=view.group.id)
        session.execute(sa.delete(Account).where(Account.id == account_id))
    db.dispose()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "baseline":
            result = child_baseline(rest[0])
        else:
            result = child_import(rest[0], rest[1], int(rest[2]), int(rest[3]))
        print(json.dumps(result))
        return

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the workbook")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--seed", type=int, default=1404)
    parser.add_argument("--repeat", type=int, default=3, help="import runs (the best is compared)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="payamak-bench-import-"))
    try:
        path = folder / "numbers.xlsx"
        started = time.perf_counter()
        expected = build_file(path, args.rows, args.seed)
        print(
            f"built {path.name}: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB"
            f" in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        account_id, group_ids = prepare_database(url, args.repeat)
        baselines: list[dict[str, Any]] = []
        runs: list[dict[str, Any]] = []
        try:
            # Alternated, so that a burst of load elsewhere on the machine hits both sides alike.
            for group_id in group_ids:
                baselines.append(in_child("baseline", str(path)))
                runs.append(in_child("import", str(path), url, str(account_id), str(group_id)))
            baselines.append(in_child("baseline", str(path)))
        finally:
            if args.database_url:
                drop_account(url, account_id)
        baseline = min(run["seconds"] for run in baselines)
        ours = min(runs, key=lambda run: float(run["seconds"]))
        peak = max(run["peak_mb"] for run in runs)
        dialect = url.split(":", 1)[0].split("+", 1)[0]
        print(f"database      {dialect}")

        def times(results: list[dict[str, Any]]) -> str:
            return ", ".join(f"{run['seconds']:.2f}s" for run in results)

        print(f"calamine      {times(baselines)}  (best: {baseline:.2f}s)")
        print(f"import        {times(runs)}  (best: {ours['seconds']:.2f}s)")
        print(
            f"best import   open {ours['open_seconds']:.2f}s + read {ours['read_seconds']:.2f}s"
            f" + save {ours['save_seconds']:.2f}s  ->  {ours['status']}"
        )
        print(f"ratio         {ours['seconds'] / baseline:.2f}x the baseline (target: at most 4x)")
        print(f"peak memory   {peak:.0f} MB (calamine alone: {baselines[0]['peak_mb']:.0f} MB)")
        print(
            f"report        added {ours['added']:,}, duplicates {ours['duplicates']:,},"
            f" invalid {ours['invalid']:,} of {ours['rows_read']:,} rows"
        )
        for run in runs:
            got = {"rows": run["rows_read"], "added": run["added"], "duplicates": run["duplicates"]}
            got["invalid"] = run["invalid"]
            if run["status"] != "done" or got != expected:
                raise SystemExit(
                    f"wrong import: expected {expected}, got {got} ({run['status']}, {run['error']})"
                )
        print(
            json.dumps(
                {
                    "bench": "import",
                    "database": dialect,
                    "rows": args.rows,
                    "seconds": round(ours["seconds"], 3),
                    "baseline_seconds": round(baseline, 3),
                    "ratio": round(ours["seconds"] / baseline, 3),
                    "peak_mb": round(peak, 1),
                }
            )
        )
    finally:
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
