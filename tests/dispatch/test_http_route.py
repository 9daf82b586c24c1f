"""A Kavenegar route: its settings are checked when added, and the dispatcher builds its provider."""

from __future__ import annotations

import pytest

from payamak.dispatch import routing
from payamak.errors import ValidationFailed
from payamak.providers.kavenegar import KavenegarProvider


def test_kavenegar_settings_are_checked() -> None:
    good = {"provider": "kavenegar", "api_key": "k" * 20}
    assert routing.check_config("http", good) == good
    with pytest.raises(ValidationFailed) as refused:
        routing.check_config("http", {"provider": "kavenegar", "api_key": "k" * 20, "colour": "blue"})
    assert refused.value.code == "route_invalid"
    assert "api_key" in routing.SECRET_FIELDS


def test_dispatcher_builds_a_kavenegar_provider() -> None:
    spec = routing.RouteSpec(
        id=1, name="kave", kind="http", config={"provider": "kavenegar", "api_key": "k" * 20},
        operators=frozenset(), kinds=frozenset(), priority=1, refund_undelivered=False,
    )  # fmt: skip
    hooks = routing.ProviderHooks(on_receipt=lambda r: None, on_inbound=lambda i: None)
    runtime = routing.RouteRuntime(spec, hooks)
    assert runtime.error is None
    assert isinstance(runtime.provider, KavenegarProvider)
