"""Groups, the numbers in them, and customers. Never commits.

Other domains read recipients through `iter_group_recipients` (every number of some groups of an
account, streamed, with name and fields when asked) and `iter_customer_recipients`. Imports live in `imports`,
exports in `export`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payamak import numbers
from payamak.db import utcnow
from payamak.errors import Conflict, NotFound, ValidationFailed
from payamak.phonebook import keys as numkeys
from payamak.phonebook import repository as repo
from payamak.phonebook.models import Customer, Group, GroupNumber

MAX_GROUP_NAME: Final = 100
MAX_NAME: Final = 200
MAX_FIELDS: Final = 30
MAX_FIELD_NAME: Final = 50
MAX_FIELD_VALUE: Final = 500
MAX_ADD: Final = 10_000
MAX_PAGE: Final = 500
# Shown with an invalid row, enough to recognise the value and never a whole pasted line.
MAX_VALUE_SHOWN: Final = 100

T = TypeVar("T")


class _Unset(enum.Enum):
    UNSET = 0


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """A value that is not a number that can receive SMS. `row` is 1-based, as people count."""

    row: int
    value: str
    reason: str

    def message(self, lang: str = "fa") -> str:
        return numbers.reason_message(self.reason, lang)


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int
    duplicates: int
    invalid: list[InvalidRow]


@dataclass(frozen=True, slots=True)
class GroupView:
    group: Group
    size: int


@dataclass(frozen=True, slots=True)
class NewNumber:
    number: str | int | float
    name: str | None = None
    fields: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


class Recipient(NamedTuple):
    """A number to send to, as the sending domain resolves it.

    `key` is the Iranian mobile's key (its national number, as `payamak.numbers.mobile_key`) and
    None for a foreign number, which `e164` then identifies. `values` fills placeholders: the
    fields, with the name under "name" (and under «نام» unless a field has that name).
    """

    key: int | None
    e164: str
    values: dict[str, str] | None


# --- checks ---------------------------------------------------------------------------------

_ARABIC_LETTERS: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})


def clean_group_name(name: str) -> str:
    # Arabic yeh and kaf look the same as the Persian letters; folding them keeps «مشتریان»
    # typed on two keyboards one group.
    name = " ".join(name.translate(_ARABIC_LETTERS).split())
    if not name:
        raise ValidationFailed(
            "نام گروه را بنویسید.", "The group name is required.", code="group_name_required", field="name"
        )
    if len(name) > MAX_GROUP_NAME:
        raise ValidationFailed(
            f"نام گروه نباید بیش از {MAX_GROUP_NAME} نویسه باشد.",
            f"The group name must be at most {MAX_GROUP_NAME} characters.",
            code="group_name_too_long",
            field="name",
        )
    return name


def clean_name(name: str | None, *, field: str = "name") -> str | None:
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValidationFailed(
            f"نام نباید بیش از {MAX_NAME} نویسه باشد.",
            f"The name must be at most {MAX_NAME} characters.",
            code="name_too_long",
            field=field,
        )
    return name or None


def clean_fields(fields: Mapping[str, Any] | None, *, field: str = "fields") -> dict[str, str] | None:
    """A small str -> str dict for personalisation, or None when empty."""
    if not fields:
        return None
    if len(fields) > MAX_FIELDS:
        raise ValidationFailed(
            f"حداکثر {MAX_FIELDS} فیلد می‌توان داشت.",
            f"At most {MAX_FIELDS} fields are allowed.",
            code="fields_too_many",
            field=field,
        )
    cleaned: dict[str, str] = {}
    for raw_key, raw_value in fields.items():
        key = " ".join(str(raw_key).split())
        if not key or len(key) > MAX_FIELD_NAME:
            raise ValidationFailed(
                f"نام هر فیلد باید ۱ تا {MAX_FIELD_NAME} نویسه باشد.",
                f"Each field name must be 1 to {MAX_FIELD_NAME} characters.",
                code="field_name_invalid",
                field=f"{field}.{raw_key}",
            )
        if not isinstance(raw_value, str):
            raise ValidationFailed(
                "مقدار فیلدها باید متن باشد.",
                "Field values must be text.",
                code="field_value_invalid",
                field=f"{field}.{key}",
            )
        value = raw_value.strip()
        if len(value) > MAX_FIELD_VALUE:
            raise ValidationFailed(
                f"مقدار هر فیلد نباید بیش از {MAX_FIELD_VALUE} نویسه باشد.",
                f"Each field value must be at most {MAX_FIELD_VALUE} characters.",
                code="field_value_too_long",
                field=f"{field}.{key}",
            )
        cleaned[key] = value
    return cleaned or None


def value_text(value: object) -> str:
    """A cell as the person typed it, short enough to show next to a reason."""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    return text[:MAX_VALUE_SHOWN]


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(
            f"اندازهٔ صفحه باید ۱ تا {MAX_PAGE} باشد.",
            f"The page size must be 1 to {MAX_PAGE}.",
            code="page_invalid",
            field="limit",
        )
    return offset, limit


def _search(query: str | None) -> tuple[int | None, str | None, str | None]:
    """(exact key, digits within the number, text within the name) for a search box."""
    if query is None or not query.strip():
        return None, None, None
    digits = numkeys.search_digits(query)
    if digits is None:
        return None, None, " ".join(query.split())
    key, _ = numkeys.key_of(query)
    return (key, None, None) if key is not None else (None, digits, None)


def _group_not_found(group_id: int) -> NotFound:
    return NotFound("این گروه پیدا نشد.", "No such group.", code="group_not_found", group_id=group_id)


def owned_group(session: Session, *, account_id: int, group_id: int, for_update: bool = False) -> Group:
    """The account's group, or 404 (another account's group is never told apart from none)."""
    group = repo.group(session, account_id=account_id, group_id=group_id, for_update=for_update)
    if group is None:
        raise _group_not_found(group_id)
    return group


# --- groups ---------------------------------------------------------------------------------


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"گروهی به نام «{name}» از پیش دارید؛ نام دیگری انتخاب کنید.",
        f"You already have a group named “{name}”; choose another name.",
        code="group_name_taken",
        field="name",
        name=name,
    )


def create_group(session: Session, *, account_id: int, name: str) -> GroupView:
    name = clean_group_name(name)
    if repo.group_by_name(session, account_id=account_id, name=name) is not None:
        raise _name_taken(name)
    group = Group(account_id=account_id, name=name)
    try:
        with session.begin_nested():
            repo.add(session, group)
    except sa.exc.IntegrityError as exc:  # created by a concurrent request since the check above
        raise _name_taken(name) from exc
    return GroupView(group, 0)


def group_named(session: Session, *, account_id: int, name: str) -> Group | None:
    return repo.group_by_name(session, account_id=account_id, name=clean_group_name(name))


def rename_group(session: Session, *, account_id: int, group_id: int, name: str) -> GroupView:
    group = owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    name = clean_group_name(name)
    if name != group.name:
        other = repo.group_by_name(session, account_id=account_id, name=name)
        if other is not None:
            raise _name_taken(name)
        group.name = name
        group.updated_at = utcnow()
        try:
            with session.begin_nested():
                session.flush()
        except sa.exc.IntegrityError as exc:
            raise _name_taken(name) from exc
    return GroupView(group, repo.group_size(session, group_id=group.id))


def delete_group(session: Session, *, account_id: int, group_id: int) -> None:
    owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    repo.delete_group(session, account_id=account_id, group_id=group_id)


def get_group(session: Session, *, account_id: int, group_id: int) -> GroupView:
    group = owned_group(session, account_id=account_id, group_id=group_id)
    return GroupView(group, repo.group_size(session, group_id=group.id))


def list_groups(session: Session, *, account_id: int) -> list[GroupView]:
    return [GroupView(g, size) for g, size in repo.groups_with_sizes(session, account_id=account_id)]


# --- numbers in a group ---------------------------------------------------------------------


def add_numbers(
    session: Session, *, account_id: int, group_id: int, items: Sequence[str | int | NewNumber]
) -> AddResult:
    """Add numbers (plain values, or with name and fields) to a group, each at most once.

    `duplicates` counts items repeated in `items` and items already in the group; those are left
    as they are. Invalid items are listed with their 1-based position.
    """
    if len(items) > MAX_ADD:
        raise ValidationFailed(
            f"در هر درخواست حداکثر {MAX_ADD} شماره می‌توان افزود؛ برای بیشتر، فایل را وارد کنید.",
            f"At most {MAX_ADD} numbers can be added per request; import a file for more.",
            code="too_many_numbers",
            field="numbers",
            max_numbers=MAX_ADD,
        )
    owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    seen: set[int] = set()
    rows: list[tuple[int, str | None, dict[str, str] | None]] = []
    invalid: list[InvalidRow] = []
    repeated = 0
    for index, item in enumerate(items):
        if isinstance(item, NewNumber):
            value: str | int | float = item.number
            name = clean_name(item.name, field=f"numbers.{index}.name")
            fields = clean_fields(item.fields, field=f"numbers.{index}.fields")
        else:
            value, name, fields = item, None, None
        key, reason = numkeys.key_of(value)
        if key is None:
            invalid.append(InvalidRow(index + 1, value_text(value), reason or "invalid"))
            continue
        if key in seen:
            repeated += 1
            continue
        seen.add(key)
        rows.append((key, name, fields))
    existing = repo.existing_keys(session, group_id=group_id, keys=[k for k, _, _ in rows])
    new = [row for row in rows if row[0] not in existing]
    repo.insert_numbers(session, group_id=group_id, rows=new)
    return AddResult(added=len(new), duplicates=repeated + len(rows) - len(new), invalid=invalid)


def list_numbers(
    session: Session,
    *,
    account_id: int,
    group_id: int,
    query: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[GroupNumber]:
    """A page of the group's numbers in number order.

    `query` with digits (Persian, Arabic or Latin, any prefix form) finds the number or numbers
    containing them; without digits it searches names.
    """
    offset, limit = _page_bounds(offset, limit)
    owned_group(session, account_id=account_id, group_id=group_id)
    key, digits, name = _search(query)
    items, total = repo.list_numbers(
        session,
        account_id=account_id,
        group_id=group_id,
        limit=limit,
        offset=offset,
        key=key,
        digits=digits,
        name=name,
    )
    return Page(items, total, offset, limit)


def _number_not_found(number_id: int) -> NotFound:
    return NotFound(
        "این شماره در این گروه پیدا نشد.",
        "No such number in this group.",
        code="number_not_found",
        number_id=number_id,
    )


def get_number(session: Session, *, account_id: int, group_id: int, number_id: int) -> GroupNumber:
    found = repo.number(session, account_id=account_id, group_id=group_id, number_id=number_id)
    if found is None:
        raise _number_not_found(number_id)
    return found


def update_number(
    session: Session,
    *,
    account_id: int,
    group_id: int,
    number_id: int,
    name: str | Unset | None = UNSET,
    fields: Mapping[str, str] | Unset | None = UNSET,
) -> GroupNumber:
    """Change the name and/or the fields (replaced as a whole) of a number in a group."""
    found = get_number(session, account_id=account_id, group_id=group_id, number_id=number_id)
    if name is not UNSET:
        found.name = clean_name(name)
    if fields is not UNSET:
        found.fields = clean_fields(fields)
    session.flush()
    return found


def delete_number(session: Session, *, account_id: int, group_id: int, number_id: int) -> None:
    owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    if not repo.delete_numbers(session, account_id=account_id, group_id=group_id, ids=[number_id]):
        raise _number_not_found(number_id)


def delete_numbers(
    session: Session, *, account_id: int, group_id: int, number_ids: Sequence[int] | None
) -> int:
    """Delete these numbers (ids are keys; ones not in the group are ignored), or all with None."""
    owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    ids = None if number_ids is None else sorted(set(number_ids))
    return repo.delete_numbers(session, account_id=account_id, group_id=group_id, ids=ids)


# --- recipients, for the sending domain ------------------------------------------------------


def check_groups(session: Session, *, account_id: int, group_ids: Sequence[int]) -> list[Group]:
    """The account's groups with these ids, in the order given; 404 naming any that is not."""
    wanted = list(dict.fromkeys(group_ids))
    found = {g.id: g for g in repo.groups_by_ids(session, account_id=account_id, group_ids=wanted)}
    return _in_order(
        wanted, found, "برخی از گروه‌ها پیدا نشدند.", "Some groups were not found.", code="group_not_found"
    )


def _in_order(
    wanted: Sequence[int], found: Mapping[int, T], message_fa: str, message_en: str, *, code: str
) -> list[T]:
    """`found` in the order of `wanted`; NotFound naming every wanted id it lacks."""
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(message_fa, message_en, code=code, missing=missing)
    return [found[i] for i in wanted]


def count_group_numbers(session: Session, *, account_id: int, group_ids: Sequence[int]) -> int:
    """Numbers in these groups, a number in two groups counted twice."""
    return sum(
        repo.group_size(session, group_id=g.id)
        for g in check_groups(session, account_id=account_id, group_ids=group_ids)
    )


def _values(name: str | None, fields: Mapping[str, Any] | None) -> dict[str, str]:
    values = {k: str(v) for k, v in (fields or {}).items()}
    if name:
        values["name"] = name
        values.setdefault("نام", name)
    return values


def _recipient(key: int, name: str | None, fields: Mapping[str, Any] | None, with_values: bool) -> Recipient:
    return Recipient(
        key if key > 0 else None, numkeys.to_e164(key), _values(name, fields) if with_values else None
    )


def iter_group_recipients(
    session: Session,
    *,
    account_id: int,
    group_ids: Sequence[int],
    with_values: bool = False,
    batch_size: int = 10_000,
) -> Iterator[Recipient]:
    """Every number of these groups of the account, group by group, streamed.

    The groups are checked now (404 naming any that is not the account's); the numbers are then
    read lazily in key order, `batch_size` at a time, inside the caller's transaction, so memory
    stays flat whatever the group size. Names and fields are read only `with_values`. A number in
    two groups comes twice.
    """
    groups = check_groups(session, account_id=account_id, group_ids=group_ids)

    def stream() -> Iterator[Recipient]:
        for group in groups:
            after: int | None = None
            while True:
                if with_values:
                    rows = repo.numbers_after(session, group_id=group.id, after_key=after, limit=batch_size)
                    for key, name, fields in rows:
                        yield _recipient(key, name, fields, True)
                    last = rows[-1][0] if rows else None
                    count = len(rows)
                else:
                    found = repo.keys_after(session, group_id=group.id, after_key=after, limit=batch_size)
                    for key in found:
                        yield Recipient(key if key > 0 else None, numkeys.to_e164(key), None)
                    last = found[-1] if found else None
                    count = len(found)
                if count < batch_size:
                    break
                after = last

    return stream()


def iter_customer_recipients(
    session: Session, *, account_id: int, customer_ids: Sequence[int], with_values: bool = False
) -> Iterator[Recipient]:
    """These customers of the account, in the order given; 404 naming any that is not the account's."""
    customers = check_customers(session, account_id=account_id, customer_ids=customer_ids)
    return iter([_recipient(c.key, c.name, c.fields, with_values) for c in customers])


# --- customers ------------------------------------------------------------------------------


def _customer_not_found(customer_id: int) -> NotFound:
    return NotFound(
        "این مشتری پیدا نشد.", "No such customer.", code="customer_not_found", customer_id=customer_id
    )


def check_customers(session: Session, *, account_id: int, customer_ids: Sequence[int]) -> list[Customer]:
    wanted = list(dict.fromkeys(customer_ids))
    found = {c.id: c for c in repo.customers_by_ids(session, account_id=account_id, customer_ids=wanted)}
    return _in_order(
        wanted,
        found,
        "برخی از مشتری‌ها پیدا نشدند.",
        "Some customers were not found.",
        code="customer_not_found",
    )


def _customer_key(mobile: str) -> int:
    key, reason = numkeys.key_of(mobile)
    if key is None:
        reason = reason or "invalid"
        raise ValidationFailed(
            f"شمارهٔ موبایل درست نیست: {numbers.reason_message(reason, 'fa')}",
            f"The mobile number is not valid: {numbers.reason_message(reason, 'en')}",
            code="number_invalid",
            field="mobile",
            reason=reason,
        )
    return key


def _customer_exists(existing: Customer) -> Conflict:
    return Conflict(
        "مشتری‌ای با این شماره از پیش دارید.",
        "You already have a customer with this number.",
        code="customer_exists",
        field="mobile",
        customer_id=existing.id,
    )


def create_customer(
    session: Session,
    *,
    account_id: int,
    mobile: str,
    name: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> Customer:
    key = _customer_key(mobile)
    customer = Customer(account_id=account_id, key=key, name=clean_name(name), fields=clean_fields(fields))
    existing = repo.customer_by_key(session, account_id=account_id, key=key)
    if existing is not None:
        raise _customer_exists(existing)
    try:
        with session.begin_nested():
            repo.add(session, customer)
    except sa.exc.IntegrityError as exc:
        existing = repo.customer_by_key(session, account_id=account_id, key=key)
        if existing is None:
            raise
        raise _customer_exists(existing) from exc
    return customer


def get_customer(session: Session, *, account_id: int, customer_id: int) -> Customer:
    customer = repo.customer(session, account_id=account_id, customer_id=customer_id)
    if customer is None:
        raise _customer_not_found(customer_id)
    return customer


def update_customer(
    session: Session,
    *,
    account_id: int,
    customer_id: int,
    mobile: str | Unset = UNSET,
    name: str | Unset | None = UNSET,
    fields: Mapping[str, str] | Unset | None = UNSET,
) -> Customer:
    customer = get_customer(session, account_id=account_id, customer_id=customer_id)
    if mobile is not UNSET:
        key = _customer_key(mobile)
        if key != customer.key:
            existing = repo.customer_by_key(session, account_id=account_id, key=key)
            if existing is not None:
                raise _customer_exists(existing)
            customer.key = key
    if name is not UNSET:
        customer.name = clean_name(name)
    if fields is not UNSET:
        customer.fields = clean_fields(fields)
    customer.updated_at = utcnow()
    session.flush()
    return customer


def delete_customer(session: Session, *, account_id: int, customer_id: int) -> None:
    if not repo.delete_customer(session, account_id=account_id, customer_id=customer_id):
        raise _customer_not_found(customer_id)


def list_customers(
    session: Session, *, account_id: int, query: str | None = None, offset: int = 0, limit: int = 50
) -> Page[Customer]:
    """Newest first; `query` searches numbers (when it has digits) or names, as for group numbers."""
    offset, limit = _page_bounds(offset, limit)
    key, digits, name = _search(query)
    items, total = repo.list_customers(
        session, account_id=account_id, limit=limit, offset=offset, key=key, digits=digits, name=name
    )
    return Page(items, total, offset, limit)


def add_customers_to_group(
    session: Session, *, account_id: int, group_id: int, customer_ids: Sequence[int] | None
) -> AddResult:
    """Put customers (these, or all of the account's with None) into a group, each number once.

    A customer whose number is already in the group counts as a duplicate and leaves that entry
    as it is.
    """
    owned_group(session, account_id=account_id, group_id=group_id, for_update=True)
    if customer_ids is None:
        selected = repo.count_customers(session, account_id=account_id)
        ids = None
    else:
        ids = [c.id for c in check_customers(session, account_id=account_id, customer_ids=customer_ids)]
        selected = len(ids)
    added = repo.copy_customers_to_group(session, account_id=account_id, group_id=group_id, customer_ids=ids)
    return AddResult(added=added, duplicates=selected - added, invalid=[])


def iter_group_key_batches(
    session: Session, *, account_id: int, group_ids: Sequence[int], batch_size: int = 50_000
) -> Iterator[list[int]]:
    """The keys alone of these groups' numbers, a list at a time (negative: a foreign number).

    For sends without placeholders: a million keys arrive as a few dozen lists, with no object
    made per number. The groups are checked first (404 naming any that is not the account's).
    """
    groups = check_groups(session, account_id=account_id, group_ids=group_ids)

    def stream() -> Iterator[list[int]]:
        for group in groups:
            after: int | None = None
            while True:
                found = repo.keys_after(session, group_id=group.id, after_key=after, limit=batch_size)
                if found:
                    yield found
                if len(found) < batch_size:
                    break
                after = found[-1]

    return stream()
