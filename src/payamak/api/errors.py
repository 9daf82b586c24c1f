"""Domain errors -> HTTP: `{"error": code, "detail": message, ...extra}` in the caller's language."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from payamak.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

STATUS_BY_TYPE: tuple[tuple[type[DomainError], int], ...] = (
    (RateLimited, 429),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
)
# Codes whose status differs from their type's.
STATUS_BY_CODE: dict[str, int] = {
    "insufficient_credit": 402,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "disk_full": 507,  # the database's disk: nothing was saved, the same request works once freed
}


class ErrorOut(BaseModel):
    """Every error the API returns has this shape (some add fields, e.g. `violations`)."""

    error: str
    detail: str


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ValidationErrorOut(ErrorOut):
    """422: input that can never succeed as given; `field` names the first field at fault."""

    field: str | None = None
    fields: list[FieldError] | None = None
    violations: list[dict[str, Any]] | None = None


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.headers.get("accept-language", "")
    return "en" if wanted.lower().startswith("en") else "fa"


def status_for(error: DomainError) -> int:
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    for kind, status in STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 400


def error_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail, **extra}


def domain_error_response(request: Request, error: DomainError) -> JSONResponse:
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        error_body(error.code, error.message(language(request)), **error.extra),
        status_code=status_for(error),
        headers=headers,
    )


_FIELD_MESSAGES = {
    "missing": ("این مورد لازم است", "is required"),
    "string_too_long": ("بیش از اندازه بلند است", "is too long"),
    "extra_forbidden": ("شناخته‌شده نیست", "is not a known field"),
    "json_invalid": ("JSON درستی نیست", "is not valid JSON"),
}


def validation_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    lang = language(request)
    fields = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "header")]
        name = ".".join(loc) or "body"
        fa, en = _FIELD_MESSAGES.get(err.get("type", ""), (None, None))
        message = (fa if lang == "fa" else en) or str(err.get("msg", ""))
        fields.append({"field": name, "message": message, "type": err.get("type", "")})
    first = fields[0]["field"] if fields else "body"
    detail = (
        f"ورودی درست نیست: «{first}» {fields[0]['message'] if fields else ''}".strip()
        if lang == "fa"
        else f"Invalid input: '{first}' {fields[0]['message'] if fields else ''}".strip()
    )
    return JSONResponse(error_body("validation_error", detail, field=first, fields=fields), status_code=422)


_HTTP_CODES = {
    404: ("not_found", "چنین نشانی‌ای نیست.", "No such path."),
    405: ("method_not_allowed", "این روش برای این نشانی پذیرفته نیست.", "Method not allowed."),
}


def http_error_response(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400:
        # The framework's "error parsing the body" (a form or JSON it could not read) is bad input
        # like any other, so it is answered the way every other validation error is.
        fa, en = "بدنهٔ درخواست خوانا نیست.", "The request body could not be read."
        detail = en if language(request) == "en" else fa
        return JSONResponse(error_body("validation_error", detail, field="body", fields=[]), status_code=422)
    code, fa, en = _HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail), str(exc.detail)))
    return JSONResponse(
        error_body(code, en if language(request) == "en" else fa),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def out_of_range_response(request: Request, _exc: Exception) -> JSONResponse:
    """A number too big for the database (an id of 2**63) names nothing that exists."""
    fa, en = "عددی در درخواست بزرگ‌تر از حد مجاز است.", "A number in the request is out of range."
    return JSONResponse(
        error_body("value_out_of_range", en if language(request) == "en" else fa, field=None, fields=[]),
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(OverflowError, out_of_range_response)
    app.add_exception_handler(DataError, out_of_range_response)
    app.add_exception_handler(DomainError, domain_error_response)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_response)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error_response)  # type: ignore[arg-type]


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the error responses an endpoint can give."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS.get(code, "Error")} for code in codes}


_DESCRIPTIONS = {
    401: "Not logged in, or the token or key is invalid",
    402: "Not enough credit",
    403: "Not allowed",
    404: "Not found (or another account's)",
    409: "Conflict with what exists",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid input",
    429: "Too many attempts; see Retry-After",
}


def describe_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the API really answers on errors.

    FastAPI documents 422 as its own `HTTPValidationError`; ours is `ValidationErrorOut`. Bodies
    can also be refused before any route runs (413 too large, 415 wrong content type).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, FieldError, ValidationErrorOut):
        generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(generated.pop("$defs", {}))
        components[model.__name__] = generated
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)

    def ref(name: str, description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses or operation.get("parameters") or operation.get("requestBody"):
                responses["422"] = ref("ValidationErrorOut", "Invalid input")
            if method in ("post", "put", "patch") and path.startswith("/api/") and operation.get("requestBody"):
                responses.setdefault("413", ref("ErrorOut", _DESCRIPTIONS[413]))
                responses.setdefault("415", ref("ErrorOut", _DESCRIPTIONS[415]))
    return schema
