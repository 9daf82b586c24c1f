"""The Provider protocol: what the rest of Payamak needs from anything that delivers SMS.

Every implementation (SMPP, HTTP providers, the simulator) passes the same contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    to: str  # E.164
    text: str
    sender: str = ""  # the line number or name it is sent from; empty: the provider's default
    reference: str = ""  # our id for it, echoed back in results
    # The same non-empty key is the same message again (a retry after an answer that never came):
    # a provider that can tell, such as Kavenegar with its local ids, sends it only once.
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    reference: str
    accepted: bool
    provider_id: str | None = None
    error: str | None = None
    # A temporary failure (throttled, queue full, connection lost) is retried; a permanent one is not.
    temporary: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    name: str

    async def submit(self, messages: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """Hand messages to the network; one result per message, in order."""
        ...

    async def close(self) -> None: ...
