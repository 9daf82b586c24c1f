"""Every Provider implementation against the same contract (contract.py)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest

from payamak.providers.base import Provider
from payamak.providers.simulator import RecordingProvider
from payamak.providers.smpp import SimulatedSmsc, SmppProvider, SmppRoute, SmscConfig


def load_contract() -> ModuleType:
    name = "payamak_tests_provider_contract"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("contract.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


contract = load_contract()
Check = Callable[[Callable[[], contextlib.AbstractAsyncContextManager[Provider]]], Awaitable[None]]


@contextlib.asynccontextmanager
async def recording() -> AsyncIterator[Provider]:
    provider = RecordingProvider()
    try:
        yield provider
    finally:
        await provider.close()


def smpp(
    long_mode: Literal["udh", "payload"],
) -> Callable[[], contextlib.AbstractAsyncContextManager[Provider]]:
    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[Provider]:
        async with SimulatedSmsc(SmscConfig(port=0, receipt_delay=0.01)) as smsc:
            route = SmppRoute(
                "127.0.0.1", smsc.port, "payamak", "payamak", binds=2, window=16, long_mode=long_mode
            )
            provider = SmppProvider(route)
            try:
                yield provider
            finally:
                await provider.close()

    return factory


@pytest.mark.parametrize("check", contract.CHECKS, ids=lambda check: check.__name__)
def test_recording_provider(check: Check) -> None:
    asyncio.run(asyncio.wait_for(check(recording), 30))


@pytest.mark.parametrize("long_mode", ["udh", "payload"])
@pytest.mark.parametrize("check", contract.CHECKS, ids=lambda check: check.__name__)
def test_smpp_provider(check: Check, long_mode: Literal["udh", "payload"]) -> None:
    asyncio.run(asyncio.wait_for(check(smpp(long_mode)), 30))
