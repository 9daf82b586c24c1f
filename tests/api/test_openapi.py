"""The native API against its own OpenAPI description, with schemathesis.

Every operation is called with generated input (valid and invalid) by a logged-in user; no answer
may be a server error, and every answer must be documented: its status code declared for the
operation and its body matching the declared schema. Kept small (a few examples per operation)
so that it runs in CI every time; a larger local run: SCHEMATHESIS_EXAMPLES=200.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from payamak.accounts.security import Passwords
from payamak.config import Settings
from payamak.context import Context
from payamak.db import Database

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _app() -> Any:
    """The application, built once at import so schemathesis can enumerate its operations.

    Its context (and so its database) is the placeholder below until a test binds the test
    database's context: every request reads the context from `app.state.ctx`.
    """
    from payamak.api.app import create_app

    directory = Path(tempfile.mkdtemp(prefix="payamak-openapi-"))
    placeholder = Context(
        settings=Settings(data_dir=directory, database_url="sqlite://", secret_key="openapi"),
        db=Database("sqlite://"),
        passwords=Passwords(time_cost=1, memory_kib=1024),
    )
    return create_app(context=placeholder)


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def token(ctx: Context, make_user: Callable[..., Any]) -> Iterator[str]:
    """A logged-in user's token, with the application bound to the test database."""
    placeholder = APP.state.ctx
    APP.state.ctx = ctx
    try:
        yield str(make_user().token)
    finally:
        APP.state.ctx = placeholder


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_matches_its_description(case: Any, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.parametrize("path", ["/api/v1/groups/{group_id}/imports", "/api/v1/imports/preview"])
@pytest.mark.parametrize(
    "form",
    [{"files": {"other": ("numbers.csv", b"09121234567")}, "data": {"phone_column": "0"}},
     {"files": {"phone_column": (None, "0")}}],
    ids=["file-under-another-name", "fields-only"],
)  # fmt: skip
def test_a_form_without_its_file_part_is_refused_as_documented(path: str, form: dict[str, Any], token: str) -> None:
    """Once a 500: the form's body, already consumed by its parsing, was read again as JSON."""
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(APP) as client:
        group_id = client.post("/api/v1/groups", headers=headers, json={"name": "مشتریان"}).json()["id"]
        response = client.post(path.format(group_id=group_id), headers=headers, **form)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["error"], body["field"]) == ("import_input_required", "file")
    assert "فرم بخشی به نام file ندارد" in body["detail"]
    schema[path]["POST"].validate_response(response)  # raises unless documented, status and body
