"""When advertising SMS may go out: a daily window in local time (operators block them at night)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def parse_hours(value: str) -> tuple[dt.time, dt.time] | None:
    """`08:00-21:00` -> (08:00, 21:00); `always` -> None (no window)."""
    if value == "always":
        return None
    start, _, end = value.partition("-")
    return dt.time.fromisoformat(start), dt.time.fromisoformat(end)


def next_opening(when: dt.datetime, *, hours: str, tz: ZoneInfo) -> dt.datetime | None:
    """None if `when` is inside the window, else the next moment the window opens (aware UTC)."""
    window = parse_hours(hours)
    if window is None:
        return None
    start, end = window
    local = when.astimezone(tz)
    now_t = local.time()
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if inside:
        return None
    opening = dt.datetime.combine(local.date(), start, tzinfo=tz)
    if opening <= local:
        opening = dt.datetime.combine(local.date() + dt.timedelta(days=1), start, tzinfo=tz)
    return opening.astimezone(dt.UTC)
