"""What every page form needs: checks with Persian messages next to the field, paging, admin pages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from payamak.accounts.service import Principal
from payamak.errors import DomainError
from payamak.web.i18n import fa_digits, translate
from payamak.web.views import Forbidden, lang_of, page_principal

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٬,", "01234567890123456789  ")


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
        cleaned = raw.translate(_DIGITS).replace(" ", "")
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
