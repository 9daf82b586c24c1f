"""A shop ready to send: an account with credit, an approved sender name, and lines of both kinds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from payamak.context import Context

API = "/api/v1"


@dataclass
class Shop:
    user: object
    admin: object
    ad_line: str
    service_line: str

    @property
    def headers(self) -> dict[str, str]:
        return self.user.headers  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def shop(client: TestClient, ctx: Context, make_user: Callable[..., object]) -> Shop:
    ctx.settings.advertising_hours = "always"
    user, admin = make_user(), make_user(admin=True)
    for number, kind in (("30001234", "advertising"), ("20001234", "service")):
        r = client.post(f"{API}/admin/lines", headers=admin.headers, json={"number": number, "kind": kind})  # type: ignore[attr-defined]
        assert r.status_code == 201, r.text
    r = client.post(
        f"{API}/admin/accounts/{user.id}/credit",  # type: ignore[attr-defined]
        headers=admin.headers,  # type: ignore[attr-defined]
        json={"amount": 10_000_000, "reason": "اعتبار آزمایشی"},
    )
    assert r.status_code in (200, 201), r.text
    name = client.post(f"{API}/sender-names", headers=user.headers, json={"name": "فروشگاه نیلی"}).json()  # type: ignore[attr-defined]
    client.post(f"{API}/admin/sender-names/{name['id']}/approve", headers=admin.headers)  # type: ignore[attr-defined]
    return Shop(user=user, admin=admin, ad_line="30001234", service_line="20001234")
