"""The blacklist in the database: lists, versions, national loads, and caches in separate processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroaring import BitMap

from payamak.db import Database
from payamak.errors import Conflict, ValidationFailed
from payamak.sending import blacklist
from payamak.sending import blacklist_repository as repo
from payamak.sending.blacklist import BlacklistCache, to_bitmap


@pytest.fixture
def other_db(db: Database) -> Iterator[Database]:
    """A second engine on the same database: what another API or dispatcher process has."""
    second = Database(db.url)
    yield second
    second.dispose()


def national(db: Database, keys: list[int], *, source: str = "list.txt") -> None:
    with db.transaction() as session:
        blacklist.replace_national(session, numbers=to_bitmap(keys), source=source, lines=len(keys))


def cached(db: Database, cache: BlacklistCache) -> blacklist.Blacklist:
    with db.transaction(readonly=True) as session:
        return cache.get(session)


def test_manual_add_remove_and_check(db: Database) -> None:
    with db.transaction() as session:
        added = blacklist.add_numbers(
            session,
            numbers=["09121111111", "۰۹۳۵۲۲۲۲۲۲۲", "+98 912 111 1111", "hello"],
            added_by=None,
            reason="asked",
        )
    assert (added.added, added.already) == (2, 0)
    assert [(i.row, i.value, i.reason) for i in added.invalid] == [(4, "hello", "not_a_number")]
    with db.transaction() as session:
        again = blacklist.add_numbers(session, numbers=["09121111111", "09013333333"])
    assert (again.added, again.already) == (1, 1)

    cache = BlacklistCache()
    with db.transaction(readonly=True) as session:
        check = blacklist.check_number(session, number="9121111111", cache=cache)
        assert check.blocked and check.kinds == ["manual"] and check.e164 == "+989121111111"
        assert check.entries[0].reason == "asked"
        assert blacklist.summary(session).counts == {"national": 0, "operator": 0, "manual": 3}

    with db.transaction() as session:
        removed = blacklist.remove_numbers(session, numbers=["09121111111", "09129999999"], cache=cache)
    assert (removed.removed, removed.not_listed, removed.still_national) == (1, 1, [])
    with db.transaction(readonly=True) as session:
        assert not blacklist.check_number(session, number="09121111111", cache=cache).blocked
        # a removed row is kept with when it was removed
        [entry] = repo.entries_of(session, key=9121111111)
        assert entry.removed_at is not None
    with db.transaction() as session:  # and can come back
        assert blacklist.add_numbers(session, numbers=["09121111111"]).added == 1
    assert cached(db, cache).contains(9121111111)


def test_check_explains_and_refuses_non_numbers(db: Database) -> None:
    national(db, [9121111111])
    with db.transaction() as session:
        blacklist.record_operator_blocked(session, numbers=[9121111111])
    cache = BlacklistCache()
    with db.transaction(readonly=True) as session:
        assert blacklist.check_number(session, number="09121111111", cache=cache).kinds == [
            "national",
            "operator",
        ]
        foreign = blacklist.check_number(session, number="+44 7911 123456", cache=cache)
        assert not foreign.blocked and foreign.e164 == "+447911123456"
        with pytest.raises(ValidationFailed) as bad:
            blacklist.check_number(session, number="021 8888 7777", cache=cache)
    assert bad.value.code == "invalid_number" and bad.value.extra["reason"] == "landline"


def test_operator_reported_numbers(db: Database) -> None:
    with db.transaction() as session:
        assert (
            blacklist.record_operator_blocked(session, numbers=[9121111111, "+989352222222", "junk", 123])
            == 2
        )
    with db.transaction(readonly=True) as session:
        version = blacklist.summary(session).version
    with db.transaction() as session:
        # the same report again changes nothing and moves no version: no process reloads for it
        assert blacklist.record_operator_blocked(session, numbers=[9121111111]) == 0
        assert blacklist.record_operator_blocked(session, numbers=[]) == 0
    with db.transaction(readonly=True) as session:
        info = blacklist.summary(session)
    assert info.version == version and info.counts["operator"] == 2
    listed = cached(db, BlacklistCache())
    assert listed.kinds(9352222222) == ["operator"]
    # the admin may take a wrong report back
    with db.transaction() as session:
        assert blacklist.remove_numbers(session, numbers=["09352222222"]).removed == 1
    assert not cached(db, BlacklistCache()).contains(9352222222)


def test_remove_says_when_the_national_list_keeps_a_number(db: Database) -> None:
    national(db, [9121111111, 9122222222])
    with db.transaction() as session:
        blacklist.add_numbers(session, numbers=["09121111111"])
    cache = BlacklistCache()
    with db.transaction() as session:
        result = blacklist.remove_numbers(session, numbers=["09121111111", "09122222222"], cache=cache)
    assert result.removed == 1 and result.not_listed == 0
    assert result.still_national == ["+989121111111", "+989122222222"]
    assert cached(db, cache).kinds(9121111111) == ["national"]


def test_replacing_the_national_list_is_atomic(db: Database, other_db: Database) -> None:
    national(db, [9121111111, 9352222222])
    reader = BlacklistCache()
    assert cached(other_db, reader).contains(9121111111)

    seen_meanwhile: list[blacklist.Blacklist] = []

    def failing_load() -> None:
        with db.transaction() as session:
            blacklist.replace_national(session, numbers=to_bitmap([9903333333]))
            # not committed yet: every other process still has the old list
            seen_meanwhile.append(cached(other_db, reader))
            raise RuntimeError("the load failed at the last step")

    with pytest.raises(RuntimeError):
        failing_load()
    assert seen_meanwhile[0].contains(9121111111) and not seen_meanwhile[0].contains(9903333333)
    listed = cached(other_db, reader)
    assert listed.contains(9121111111) and not listed.contains(9903333333)

    national(db, [9903333333])
    listed = cached(other_db, reader)
    assert listed.contains(9903333333) and not listed.contains(9121111111) and len(listed) == 1


def test_only_the_current_and_previous_snapshots_are_kept(db: Database) -> None:
    for n in range(4):
        national(db, [9121111110 + n])
    with db.transaction(readonly=True) as session:
        state = repo.state(session)
        assert state is not None and state.national_snapshot_id is not None
        current = repo.snapshot(session, state.national_snapshot_id)
        previous = repo.snapshot(session, state.national_snapshot_id - 1)
        assert current is not None and current.numbers == 1 and current.version == state.version
        assert previous is not None
        assert repo.snapshot(session, state.national_snapshot_id - 2) is None
        assert repo.chunk(session, snapshot_id=state.national_snapshot_id - 2, seq=0) is None


def test_caches_in_two_processes_follow_the_version(db: Database, other_db: Database) -> None:
    first, second = BlacklistCache(), BlacklistCache()
    assert len(cached(db, first)) == 0 and len(cached(other_db, second)) == 0

    keys = [9120000000 + i * 7919 for i in range(20_000)] + [9350000000 + i for i in range(5000)]
    national(db, keys)
    seen = cached(other_db, second)
    assert len(seen) == len(keys) and seen.contains(keys[-1])
    assert seen.version == cached(db, first).version

    # a manual change reloads only the small lists: the national bitmap is the same object
    with db.transaction() as session:
        blacklist.add_numbers(session, numbers=["09901234567"])
    after = cached(other_db, second)
    assert after.national is seen.national
    assert after.contains(9901234567) and after.version == seen.version + 1
    with other_db.transaction() as session:
        blacklist.remove_numbers(session, numbers=["09901234567"], cache=second)
        blacklist.record_operator_blocked(session, numbers=[9015555555])
    back = cached(db, first)
    assert not back.contains(9901234567) and back.contains(9015555555)
    assert back.counts() == {"national": len(keys), "operator": 1, "manual": 0}

    # unchanged version: the same object, no reload
    assert cached(db, first) is back
    # within max_age not even the version is read
    with db.transaction(readonly=True) as session:
        assert first.get(session, max_age=60) is back


def test_a_recreated_state_row_is_not_mistaken_for_the_cached_one(db: Database) -> None:
    cache = BlacklistCache()
    with db.transaction() as session:
        blacklist.add_numbers(session, numbers=["09121111111"])
    assert cached(db, cache).contains(9121111111)
    # an emptied (or restored) database that reaches the same version with other numbers
    with db.engine.begin() as conn:
        for table in ("blacklist_entries", "blacklist_state"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    assert len(cached(db, cache)) == 0
    with db.transaction() as session:
        blacklist.add_numbers(session, numbers=["09352222222"])
    listed = cached(db, cache)
    assert listed.contains(9352222222) and not listed.contains(9121111111)


def test_a_snapshot_replaced_while_being_read_is_read_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    national(db, [9121111111])
    real_chunk = repo.chunk
    calls = {"n": 0}

    def racing_chunk(session, *, snapshot_id: int, seq: int):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            return None  # as if the loader had just deleted it
        return real_chunk(session, snapshot_id=snapshot_id, seq=seq)

    monkeypatch.setattr(repo, "chunk", racing_chunk)
    assert cached(db, BlacklistCache()).contains(9121111111)
    assert calls["n"] == 2


def test_cache_is_safe_across_threads(db: Database) -> None:
    national(db, [9121111111 + i for i in range(1000)])
    cache = BlacklistCache()
    results: list[int] = []

    def work() -> None:
        for _ in range(20):
            results.append(len(cached(db, cache)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1000] * 80


# --- national loads from files -------------------------------------------------------------


def test_load_runs_and_records_its_result(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "800.txt"
    path.write_text("09121111111\n۰۹۳۵۲۲۲۲۲۲۲\n\nnot a number\n09121111111\n")
    with db.transaction() as session:
        load_id = blacklist.begin_national_load(session, source="800.txt", size=path.stat().st_size).id
    steps: list[blacklist.LoadProgress] = []
    load = blacklist.run_national_load(db, load_id=load_id, path=path, progress=steps.append)
    assert steps
    assert load.status == "done" and load.snapshot_id is not None
    assert (load.lines, load.blank, load.valid, load.numbers, load.invalid) == (5, 1, 3, 2, 1)
    assert load.invalid_samples == [{"line": 4, "value": "not a number", "reason": "not_a_number"}]
    with db.transaction(readonly=True) as session:
        info = blacklist.summary(session)
        assert (
            info.counts["national"] == 2 and info.national is not None and info.national.source == "800.txt"
        )
        assert info.last_load is not None and info.last_load.id == load_id
    assert cached(db, BlacklistCache()).kinds(9352222222) == ["national"]


def test_a_refused_load_leaves_the_list_in_force(db: Database, tmp_path: Path) -> None:
    national(db, [9121111111])
    path = tmp_path / "wrong.csv"
    path.write_text("name,phone\n" + "".join(f"a{i},0912{i:07d}\n" for i in range(10)) + "09120000001\n")
    with db.transaction() as session:
        load_id = blacklist.begin_national_load(session, source="wrong.csv").id
    with pytest.raises(ValidationFailed) as refused:
        blacklist.run_national_load(db, load_id=load_id, path=path)
    assert refused.value.code == "blacklist_file_rejected"
    with db.transaction(readonly=True) as session:
        load = blacklist.load_status(session, load_id=load_id)
        assert load.status == "failed" and load.error_code == "blacklist_file_rejected"
        assert load.invalid == 11 and load.error_en and load.error_fa
    listed = cached(db, BlacklistCache())
    assert listed.contains(9121111111) and len(listed) == 1


def test_one_load_at_a_time(db: Database) -> None:
    with db.transaction() as session:
        blacklist.begin_national_load(session, source="a.txt")
    with pytest.raises(Conflict) as busy, db.transaction() as session:
        blacklist.begin_national_load(session, source="b.txt")
    assert busy.value.code == "blacklist_load_running"


def test_a_dead_load_does_not_block_the_next(db: Database) -> None:
    with db.transaction() as session:
        load = blacklist.begin_national_load(session, source="a.txt")
        repo.update_load(session, load.id, updated_at=load.updated_at - blacklist.LOAD_STALE_AFTER * 2)
    with db.transaction() as session:
        dead = blacklist.load_status(session, load_id=load.id)
        assert blacklist.load_status_of(dead) == "failed"
        blacklist.begin_national_load(session, source="b.txt")


def test_many_numbers_in_one_call(db: Database) -> None:
    numbers = [f"0912{i:07d}" for i in range(3000)]
    with db.transaction() as session:
        assert blacklist.add_numbers(session, numbers=numbers).added == 3000
    with db.transaction() as session:
        assert (
            blacklist.record_operator_blocked(session, numbers=[9120000000 + i for i in range(0, 6000, 2)])
            == 3000
        )
    listed = cached(db, BlacklistCache())
    assert listed.counts() == {"national": 0, "operator": 3000, "manual": 3000}
    assert len(listed) == 4500
    with db.transaction() as session:
        assert blacklist.remove_numbers(session, numbers=numbers).removed == 3000
    assert len(cached(db, BlacklistCache())) == 1500
    assert listed.filter_blocked(to_bitmap([9120000002, 9120009999])) == to_bitmap([9120000002])
    assert BitMap() == cached(db, BlacklistCache()).filter_blocked(to_bitmap([9120000001]))
