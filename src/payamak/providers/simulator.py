"""A provider that delivers nothing and records what it was given.

Used where no phone network exists (a demo, the tests): the web UI shows its recent messages so a
person can read the one-time code that would have reached their phone.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from payamak.db import utcnow
from payamak.providers.base import OutgoingSms, SubmitResult


@dataclass(frozen=True, slots=True)
class Recorded:
    id: str
    message: OutgoingSms
    at: str


class RecordingProvider:
    name = "simulator"

    def __init__(self, keep: int = 1000) -> None:
        self._messages: deque[Recorded] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    async def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        results = []
        with self._lock:
            for message in messages:
                pid = f"sim-{next(self._ids)}"
                self._messages.append(Recorded(id=pid, message=message, at=utcnow().isoformat()))
                results.append(SubmitResult(reference=message.reference, accepted=True, provider_id=pid))
        return results

    async def close(self) -> None:
        return None

    def recent(self, *, to: str | None = None, limit: int = 50) -> list[Recorded]:
        with self._lock:
            items = [r for r in reversed(self._messages) if to is None or r.message.to == to]
        return items[:limit]

    def last_text(self, to: str) -> str | None:
        found = self.recent(to=to, limit=1)
        return found[0].message.text if found else None
