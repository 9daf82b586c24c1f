"""What every Provider implementation must do, as reusable checks.

Each check is `async def check_…(make: ProviderFactory) -> None`, where `make()` is an async
context manager that yields a ready provider able to accept ordinary messages (setting up and
tearing down whatever it needs: a simulated SMSC, an HTTP stub). Load this file and run every
check against a new provider like this (test modules here are not importable as a package):

    contract = load_contract()          # see test_contract.py
    @pytest.mark.parametrize("check", contract.CHECKS, ids=lambda check: check.__name__)
    def test_my_provider(check): asyncio.run(check(my_factory))
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from payamak.providers.base import OutgoingSms, Provider, SubmitResult

ProviderFactory = Callable[[], contextlib.AbstractAsyncContextManager[Provider]]

PERSIAN = "سلام، سفارش شما ثبت شد. کد پیگیری ۱۲۳۴۵"
LONG_PERSIAN = "مشتری گرامی، حراج بزرگ پاییزه از امروز آغاز شد و تا پایان هفته ادامه دارد. " * 4
GSM = "Your code is 4821. Valid for 2 minutes."
GSM_EXTENDED = "Price: 100€ [half] {today} ~ only ^_^ |" * 5
EMOJI = "سلام 😀 خوش آمدید 🎉"


def number(n: int) -> str:
    # Ordinary mobiles: none ends in six zeros and a digit, which simulators keep for test outcomes.
    return f"+98912{3_100_000 + n}"


def batch(texts: Sequence[str], prefix: str = "m") -> list[OutgoingSms]:
    return [
        OutgoingSms(to=number(index), text=text, sender="3000123", reference=f"{prefix}-{index}")
        for index, text in enumerate(texts)
    ]


def assert_well_formed(messages: Sequence[OutgoingSms], results: list[SubmitResult]) -> None:
    assert isinstance(results, list)
    assert len(results) == len(messages)
    for message, result in zip(messages, results, strict=True):
        assert isinstance(result, SubmitResult)
        assert result.reference == message.reference
        assert isinstance(result.extra, dict)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.extra.items())
        if result.accepted:
            assert isinstance(result.provider_id, str) and result.provider_id
            assert result.error is None
            assert result.temporary is False
        else:
            assert isinstance(result.error, str) and result.error


async def check_is_a_provider(make: ProviderFactory) -> None:
    async with make() as provider:
        assert isinstance(provider, Provider)
        assert isinstance(provider.name, str) and provider.name


async def check_empty_batch_gives_no_results(make: ProviderFactory) -> None:
    async with make() as provider:
        assert await provider.submit([]) == []


async def check_one_result_per_message_in_order(make: ProviderFactory) -> None:
    messages = batch([GSM, PERSIAN, LONG_PERSIAN, GSM_EXTENDED, EMOJI, PERSIAN, GSM])
    async with make() as provider:
        results = await provider.submit(messages)
    assert_well_formed(messages, results)
    assert all(result.accepted for result in results), results


async def check_references_echoed_even_repeated_or_empty(make: ProviderFactory) -> None:
    messages = [
        OutgoingSms(to=number(1), text=GSM, reference="same"),
        OutgoingSms(to=number(2), text=GSM, reference=""),
        OutgoingSms(to=number(3), text=PERSIAN, reference="same"),
    ]
    async with make() as provider:
        results = await provider.submit(messages)
    assert [result.reference for result in results] == ["same", "", "same"]
    assert_well_formed(messages, results)


async def check_accepted_messages_have_distinct_provider_ids(make: ProviderFactory) -> None:
    messages = batch([GSM, PERSIAN, LONG_PERSIAN] * 10)
    async with make() as provider:
        first = await provider.submit(messages)
        second = await provider.submit(messages)
    ids = [result.provider_id for result in first + second if result.accepted]
    assert len(ids) == 2 * len(messages)
    assert len(set(ids)) == len(ids)


async def check_concurrent_submits_keep_their_own_order(make: ProviderFactory) -> None:
    batches = [batch([GSM, PERSIAN, LONG_PERSIAN] * 5, prefix=f"b{index}") for index in range(4)]
    async with make() as provider:
        all_results = await asyncio.gather(*(provider.submit(messages) for messages in batches))
    for messages, results in zip(batches, all_results, strict=True):
        assert_well_formed(messages, results)
        assert all(result.accepted for result in results)


async def check_large_batch(make: ProviderFactory) -> None:
    messages = batch([PERSIAN if index % 3 else GSM for index in range(500)])
    async with make() as provider:
        results = await provider.submit(messages)
    assert_well_formed(messages, results)
    assert sum(result.accepted for result in results) == len(messages)


async def check_close_is_idempotent(make: ProviderFactory) -> None:
    async with make() as provider:
        await provider.submit(batch([GSM]))
        await provider.close()
        await provider.close()
    # The factory's own exit closed it a third time.


async def check_close_without_use(make: ProviderFactory) -> None:
    async with make() as provider:
        await provider.close()


CHECKS: list[Callable[[ProviderFactory], Awaitable[None]]] = [
    check_is_a_provider,
    check_empty_batch_gives_no_results,
    check_one_result_per_message_in_order,
    check_references_echoed_even_repeated_or_empty,
    check_accepted_messages_have_distinct_provider_ids,
    check_concurrent_submits_keep_their_own_order,
    check_large_batch,
    check_close_is_idempotent,
    check_close_without_use,
]
