"""What every page form needs: checks with Persian messages next to the field, submitting to a
service, searching and paging a list, admin pages."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from payamak.accounts.service import Principal
from payamak.errors import DomainError, NotFound
from payamak.numbers import to_ascii_digits
from payamak.web.i18n import fa_digits, translate
from payamak.web.views import Forbidden, attempt, lang_of, page_principal

T = TypeVar("T")

# Thousands separators (Persian and Latin) and spaces people put between groups of digits.
_SEPARATORS = str.maketrans("", "", "٬, ")


@dataclass
class Form:
    """A submitted form's values and the errors found in them, keyed by field name.

    Errors without a field (`general`) are shown above the form.
    """

    lang: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: str | None = None
    # Keeps element ids unique where one page has several forms with the same field names.
    prefix: str = ""

    @classmethod
    def of(cls, request: Request, *, prefix: str = "", **values: Any) -> Form:
        return cls(lang=lang_of(request), values=dict(values), prefix=prefix)

    @property
    def ok(self) -> bool:
        return not self.errors and self.general is None

    def _say(self, key: str, **numbers: int) -> str:
        text = translate(key, self.lang)
        for name, value in numbers.items():
            text = text.replace("{" + name + "}", fa_digits(value) if self.lang == "fa" else str(value))
        return text

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str:
        """The field's text with outer spaces removed; an error if empty (when required) or too long."""
        value = str(self.values.get(name) or "").strip()
        self.values[name] = value
        if required and not value:
            self.errors.setdefault(name, self._say("err_required"))
        elif len(value) > max_length:
            self.errors.setdefault(name, self._say("err_too_long", max=max_length))
        return value

    def integer(
        self, name: str, *, required: bool = True, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """A whole number typed in Persian or Latin digits, with thousands separators allowed."""
        raw = str(self.values.get(name) or "").strip()
        self.values[name] = raw
        if not raw:
            if required:
                self.errors.setdefault(name, self._say("err_required"))
            return None
        cleaned = to_ascii_digits(raw).translate(_SEPARATORS)
        try:
            value = int(cleaned)
        except ValueError:
            self.errors.setdefault(name, self._say("err_number"))
            return None
        if minimum is not None and value < minimum:
            self.errors.setdefault(name, self._say("err_min", min=minimum))
            return None
        if maximum is not None and value > maximum:
            self.errors.setdefault(name, self._say("err_max", max=maximum))
            return None
        return value

    def fail(self, name: str | None, message: str) -> None:
        if name:
            self.errors.setdefault(name, message)
        else:
            self.general = message

    def domain(
        self, exc: DomainError, *, fields: dict[str, str] | None = None, default: str | None = None
    ) -> None:
        """Show a service's error next to its field (`fields` renames service fields to form ones);
        an error about no field of this form goes next to `default`, or above the form."""
        target = None
        name = exc.extra.get("field")
        if isinstance(name, str):
            mapped = (fields or {}).get(name, name)
            if mapped in self.values:
                target = mapped
        self.fail(target or default, exc.message(self.lang))


def submit(
    request: Request,
    form: Form,
    action: Callable[[Session], T],
    *,
    fields: dict[str, str] | None = None,
    default: str | None = None,
    not_found_page: bool = False,
) -> T | None:
    """`action`, in a transaction of its own, when the form has no errors so far; what it returns.

    None when the form already had errors or the service refused: the refusal is shown on the
    form (`fields` and `default` as for `Form.domain`), so `form.ok` says whether it was done. With
    `not_found_page`, NotFound is not the form's business: the thing being edited is gone, and the
    answer is the "not found" page.
    """
    if not form.ok:
        return None
    outcome = attempt(request, action)
    if isinstance(outcome, DomainError):
        if not_found_page and isinstance(outcome, NotFound):
            raise outcome
        form.domain(outcome, fields=fields, default=default)
        return None
    return outcome


def parse_fields(form: Form, name: str) -> dict[str, str] | None:
    """«key: value» lines (or key=value) -> a dict; a line without a separator is an error."""
    raw = str(form.values.get(name) or "")
    found: dict[str, str] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        for separator in (":", "=", "："):
            if separator in line:
                key, _, value = line.partition(separator)
                break
        else:
            form.fail(name, form._say("err_field_line", line=number))
            return None
        key = " ".join(key.split())
        if not key:
            form.fail(name, form._say("err_field_line", line=number))
            return None
        found[key] = value.strip()
    return found or None


def name_and_fields(form: Form, *, max_name: int) -> dict[str, str] | None:
    """A contact's optional name and its «key: value» fields (customers, a group's numbers)."""
    form.text("name", required=False, max_length=max_name)
    return parse_fields(form, "fields")


def fields_text(fields: dict[str, str] | None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (fields or {}).items())


@dataclass(frozen=True)
class Pager:
    """Page numbers for a list, and the links to the neighbours that keep the other filters."""

    page: int
    per_page: int
    total: int
    request: Request

    @classmethod
    def of(cls, request: Request, *, total: int, per_page: int, page: int) -> Pager:
        return cls(page=page, per_page=per_page, total=total, request=request)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    def url(self, page: int) -> str:
        target = self.request.url.include_query_params(page=page).remove_query_params("ok")
        return f"{target.path}?{target.query}"

    @property
    def prev_url(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None


@dataclass(frozen=True)
class Listing:
    """What a list page was asked for in its address: the search (`q`) and the page (`page`)."""

    request: Request
    query: str
    page: int
    per_page: int

    @classmethod
    def of(cls, request: Request, *, per_page: int) -> Listing:
        return cls(
            request=request,
            query=request.query_params.get("q", "")[:100],
            page=page_number(request.query_params.get("page", "1")),
            per_page=per_page,
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def pager(self, total: int) -> Pager:
        return Pager.of(self.request, total=total, per_page=self.per_page, page=self.page)


def page_number(value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return 1
    return min(max(number, 1), 1_000_000)


def admin_principal(request: Request) -> Principal:
    principal = page_principal(request)
    if not principal.is_admin:
        raise Forbidden
    return principal
