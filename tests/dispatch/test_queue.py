"""The queue's SQL on a real database: claims, guarded writes, recovery, expiry, upkeep."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from payamak.db import utcnow
from payamak.dispatch import repository as repo
from payamak.dispatch import service
from payamak.sending.models import Message, Send

from .conftest import Shop

LEASE = dt.timedelta(seconds=60)


def claim(shop: Shop, limit: int, now: dt.datetime | None = None) -> list[repo.ClaimedRow]:
    now = now or utcnow()
    with shop.ctx.db.transaction() as session:
        return repo.claim(session, now=now, lease_until=now + LEASE, limit=limit)


def test_claim_takes_due_messages_once(shop: Shop) -> None:
    send_id = shop.send([f"0912{1_000_000 + n:07d}" for n in range(10)])
    first = claim(shop, 4)
    second = claim(shop, 100)
    assert len(first) == 4 and len(second) == 6
    assert not {r.id for r in first} & {r.id for r in second}
    assert claim(shop, 100) == []
    assert all(r.attempts == 1 and r.send_id == send_id and r.text is None for r in first + second)
    for m in shop.messages():
        assert m.status == "submitting" and m.claimed_at is not None
        assert m.due_at - m.claimed_at == LEASE
    with shop.ctx.db.transaction(readonly=True) as session:
        info = repo.send_infos(session, send_ids=[send_id])[0]
    assert info.line_number == shop.line and info.kind == "advertising" and info.text == "حراج پاییزه"


def test_future_messages_wait(shop: Shop) -> None:
    send_id = shop.send(["09121111111"])
    with shop.ctx.db.transaction() as session:
        session.execute(
            sa.update(Message).values(due_at=utcnow() + dt.timedelta(minutes=5), status="scheduled")
        )
        session.execute(
            sa.update(Send)
            .where(Send.id == send_id)
            .values(state="scheduled", send_at=utcnow() + dt.timedelta(minutes=5))
        )
    assert claim(shop, 10) == []
    later = utcnow() + dt.timedelta(minutes=6)
    with shop.ctx.db.transaction() as session:
        assert service.promote(session, now=later) == 1
    assert shop.messages()[0].status == "queued"
    with shop.ctx.db.transaction(readonly=True) as session:
        assert session.get(Send, send_id).state == "queued"  # type: ignore[union-attr]
    assert len(claim(shop, 10, now=later)) == 1


def test_writes_are_guarded_by_status_and_attempt(shop: Shop) -> None:
    shop.send(["09121111111", "09121111112"])
    rows = claim(shop, 10)
    now = utcnow()
    with shop.ctx.db.transaction() as session:
        # A stale result (an older attempt) changes nothing.
        repo.mark_sent(session, now=now, rows=[(rows[0].id, rows[0].attempts - 1, "old", None)])
        repo.mark_sent(session, now=now, rows=[(rows[0].id, rows[0].attempts, "p1", None)])
        changed = repo.finish_claimed(
            session,
            rows=[(rows[1].id, rows[1].attempts, "failed", "x", now, None, None, None)] * 2,
            confirm=True,
        )
        assert changed == {rows[1].id}
    with shop.ctx.db.transaction() as session:
        first = repo.finish_sent(
            session, rows=[(rows[0].id, "rejected", "receipt:rejected", now)], confirm=True
        )
        again = repo.finish_sent(session, rows=[(rows[0].id, "delivered", None, now)], confirm=True)
        assert (first, again) == ({rows[0].id}, set())
        found = repo.by_provider_ids(session, route_id=None, provider_ids=["p1", "nope"])
        assert [(f.id, f.status) for f in found] == [(rows[0].id, "rejected")]
        assert repo.by_provider_ids(session, route_id=7, provider_ids=["p1"]) == []


def test_batched_writes_take_every_form_of_row(shop: Shop) -> None:
    """Rows sharing a provider id, without one, or with an empty one are written as well as the
    usual batch of distinct ids: each group of a batch is written in the form that fits it."""
    shop.send([f"0912{3_000_000 + n:07d}" for n in range(8)])
    rows = claim(shop, 10)
    now = utcnow()
    done = now - dt.timedelta(minutes=1)
    a, b, c, d, e, f, g, h = rows
    with shop.ctx.db.transaction() as session:
        # Two routes' SMSCs may give the same id; an SMSC may give none.
        repo.mark_sent(session, now=now, rows=[(a.id, a.attempts, "same", 1), (b.id, b.attempts, "same", 2),
                                               (c.id, c.attempts, "", 1), (d.id, d.attempts, "d1", None)])  # fmt: skip
        changed = repo.finish_claimed(
            session,
            rows=[
                (e.id, e.attempts, "delivered", None, done, "e1", 3, now),
                (f.id, f.attempts, "undelivered", "receipt:undelivered", done, "f1", 3, now),
                (g.id, g.attempts, "failed", "invalid_text", now, None, None, None),
                (h.id, h.attempts, "rejected", "smpp_status:x", now, "h1", None, None),
                (h.id, h.attempts - 1, "failed", "stale", now, None, None, None),
            ],
            confirm=True,
        )
        assert changed == {e.id, f.id, g.id, h.id}
        assert repo.finish_sent(session, rows=[(a.id, "delivered", None, done), (d.id, "blocked", "receipt:blocked", done),
                                               (b.id, "delivered", None, done)], confirm=True) == {a.id, b.id, d.id}  # fmt: skip
    got = {m.id: m for m in shop.messages()}
    assert [(got[m.id].status, got[m.id].provider_id, got[m.id].route_id) for m in (a, b, c, d)] == [
        ("delivered", "same", 1), ("delivered", "same", 2), ("sent", "", 1), ("blocked", "d1", None)]  # fmt: skip
    assert all(got[m.id].submitted_at is not None for m in (a, b, c, d, e, f))
    assert [(got[m.id].status, got[m.id].error, got[m.id].provider_id, got[m.id].route_id) for m in (e, f, g, h)] == [
        ("delivered", None, "e1", 3), ("undelivered", "receipt:undelivered", "f1", 3), ("failed", "invalid_text", None, None),
        ("rejected", "smpp_status:x", "h1", None)]  # fmt: skip
    assert got[d.id].done_at is not None and got[e.id].done_at is not None
    assert abs((got[e.id].done_at - done).total_seconds()) < 1  # type: ignore[operator]


def test_recovery_takes_back_only_abandoned_claims(shop: Shop) -> None:
    shop.send([f"0912{2_000_000 + n:07d}" for n in range(6)])
    old = claim(shop, 2)
    with shop.ctx.db.transaction() as session:  # claimed five minutes ago: the lease ended
        five = dt.timedelta(minutes=5)
        ids = [r.id for r in old]
        session.execute(sa.update(Message).where(Message.id.in_(ids)).values(
            claimed_at=utcnow() - five, due_at=utcnow() - five + LEASE))  # fmt: skip
    assert len(old) == 2
    mine_started = utcnow()
    recent = claim(shop, 2)
    with shop.ctx.db.transaction() as session:
        other = repo.register_dispatcher(session, name="other", now=utcnow())
        me = repo.register_dispatcher(session, name="me", now=utcnow())
    with shop.ctx.db.transaction() as session:
        # Another dispatcher is alive: only the claim whose lease ended comes back.
        assert (
            service.recover(session, now=utcnow(), dispatcher_id=me, started_at=mine_started, dead_after=30)
            == 2
        )
    by_id = {m.id: m for m in shop.messages()}
    assert all(by_id[r.id].status == "queued" and by_id[r.id].maybe_duplicate for r in old)
    assert all(by_id[r.id].error == "claim_lost" and by_id[r.id].attempts == 1 for r in old)
    assert all(by_id[r.id].status == "submitting" for r in recent)
    with shop.ctx.db.transaction() as session:
        repo.stop_dispatcher(session, dispatcher_id=other, now=utcnow(), stats={})
    with shop.ctx.db.transaction() as session:
        # Alone: claims made before this dispatcher started are taken back, its own are not.
        assert (
            service.recover(session, now=utcnow(), dispatcher_id=me, started_at=mine_started, dead_after=30)
            == 0
        )
        assert (
            service.recover(session, now=utcnow(), dispatcher_id=me, started_at=utcnow(), dead_after=30) == 2
        )
    assert {m.status for m in shop.messages()} == {"queued"}


def test_expiry_refunds_waiting_messages(shop: Shop) -> None:
    send_id = shop.send(["09121111111", "09121111112", "09121111113"])
    claim(shop, 1)
    before = shop.balance()
    with shop.ctx.db.transaction() as session:
        session.execute(
            sa.update(Send).where(Send.id == send_id).values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    with shop.ctx.db.transaction() as session:
        count, refunded = service.expire(session, now=utcnow(), lookback=dt.timedelta(days=1))
    assert count == 2
    statuses = sorted(m.status for m in shop.messages())
    assert statuses == ["expired", "expired", "submitting"]
    assert shop.balance() == before + refunded and refunded == sum(
        m.price for m in shop.messages() if m.status == "expired"
    )
    assert shop.ledger_ok()


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_overlap(shop: Shop) -> None:
    shop.send([f"0912{6_000_000 + n:07d}" for n in range(3000)])
    taken: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def worker(slot: int) -> None:
        barrier.wait()
        while rows := claim(shop, 50):
            taken[slot].extend(r.id for r in rows)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in taken for i in ids]
    assert len(everything) == len(set(everything)) == 3000
    assert sum(1 for ids in taken if ids) >= 2  # they really ran side by side
