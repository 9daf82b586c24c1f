"""Web page fixtures: a logged-in browser-like client and a shop ready to send."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from payamak.accounts import service as accounts
from payamak.api.deps import SESSION_COOKIE
from payamak.billing import service as billing
from payamak.context import Context
from payamak.phonebook import service as phonebook
from payamak.sending import service as sending

GROUP_NUMBERS = ["09121000001", "09121000002", "09351000003"]
SENDER_NAME = "گل‌فروشی نیلوفر"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def field_error(html: str, name: str) -> str:
    """The error shown next to a field (the element the field's aria-describedby points at)."""
    match = re.search(rf'<p class="field-error" id="e-{re.escape(name)}"[^>]*>([^<]*)</p>', html)
    assert match, f"no error is shown next to {name}"
    return match.group(1).strip()


@dataclass
class Browser:
    """A TestClient logged in as someone, with the page's CSRF token at hand."""

    client: TestClient
    user: Any

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/profile") -> str:
        return csrf_of(self.client.get(path).text)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, token: str | None = None, **kwargs: Any
    ) -> Any:
        body = {"csrf": token or self.token(), **(data or {})}
        return self.client.post(path, data=body, follow_redirects=False, **kwargs)


@pytest.fixture
def login(client: TestClient) -> Callable[[Any], Browser]:
    def log_in(user: Any) -> Browser:
        client.cookies.set(SESSION_COOKIE, user.token)
        return Browser(client, user)

    return log_in


@dataclass
class Shop:
    user: Any
    admin: Any
    group_id: int
    ad_line: str = "30001234"
    service_line: str = "20001234"


@pytest.fixture
def shop(ctx: Context, make_user: Callable[..., Any]) -> Shop:
    """An account with credit, an approved sender name, lines of both kinds and a group."""
    ctx.settings.advertising_hours = "always"
    user, admin = make_user(), make_user(admin=True)
    with ctx.db.transaction() as session:
        admin_principal = accounts.Principal(account_id=admin.id, role="admin")
        owner = accounts.Principal(account_id=user.id, role="user")
        sending.add_line(session, principal=admin_principal, number="30001234", kind="advertising")
        sending.add_line(session, principal=admin_principal, number="20001234", kind="service")
        billing.grant(session, account_id=user.id, amount=10_000_000, reason="اعتبار آزمایشی", actor_id=None)
        name = accounts.register_sender_name(session, principal=owner, name=SENDER_NAME)
        accounts.decide_sender_name(session, principal=admin_principal, name_id=name.id, approve=True)
        group = phonebook.create_group(session, account_id=user.id, name="مشتریان")
        phonebook.add_numbers(session, account_id=user.id, group_id=group.group.id, items=GROUP_NUMBERS)
    return Shop(user=user, admin=admin, group_id=group.group.id)
