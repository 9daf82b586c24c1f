from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from payamak.db import Base, BigIntPK, UTCDateTime, utcnow
from payamak.sending.models import Message

ROUTE_KINDS = ("smpp", "http", "simulator")


class Route(Base):
    """A way out to an operator: an SMSC over SMPP, an HTTP provider, or the built-in simulator.

    `operators` and `kinds` narrow what the route carries ("" = everything); among the routes that
    fit a message the lowest `priority` is tried first and the next one takes over while it is down.
    """

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    operators: Mapped[str] = mapped_column(sa.String(200), default="")
    kinds: Mapped[str] = mapped_column(sa.String(40), default="")
    priority: Mapped[int] = mapped_column(sa.Integer, default=100)
    # Whether messages the operator accepted but could not deliver are given back to the sender.
    refund_undelivered: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("kind IN ('smpp', 'http', 'simulator')", name="kind_known"),)


class Dispatcher(Base):
    """One running dispatcher process, as it last reported itself.

    The heartbeat tells the others whether its claims can be taken back at once after it died
    (no live dispatcher left) or only when their lease runs out (others still running).
    """

    __tablename__ = "dispatchers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class RouteState(Base):
    """A route's connection state as the dispatcher that last looked saw it.

    Read by the admin API when no dispatcher runs in the same process to ask directly.
    """

    __tablename__ = "route_states"

    route_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("routes.id", ondelete="CASCADE"), primary_key=True
    )
    # starting | up | down | failing | disabled
    state: Mapped[str] = mapped_column(sa.String(16))
    binds_up: Mapped[int] = mapped_column(sa.Integer, default=0)
    binds: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
    dispatcher: Mapped[str] = mapped_column(sa.String(120), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# The dispatcher's own index on the queue: the claims in flight, by when they were made. It holds
# only `submitting` rows (at most the dispatchers' windows together), so finding abandoned claims
# never walks the backlog, however long it is.
CLAIMS_INDEX = sa.Index(
    "ix_messages_claims",
    Message.claimed_at,
    postgresql_where=sa.text("status = 'submitting'"),
    sqlite_where=sa.text("status = 'submitting'"),
)
