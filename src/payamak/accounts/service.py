"""Accounts: sign-up with a verified mobile, logins, sessions, API keys. Never commits."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from payamak import numbers
from payamak.accounts import repository as repo
from payamak.accounts.models import Account, ApiKey, AuthSession, LoginFailure, OneTimeCode, SenderName
from payamak.accounts.security import (
    API_KEY_PREFIX,
    SESSION_TOKEN_PREFIX,
    Passwords,
    code_hash,
    new_code,
    new_token,
    same,
    token_hash,
)
from payamak.compliance.normalize import fold
from payamak.config import Settings
from payamak.db import utcnow
from payamak.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    ValidationFailed,
)

MIN_PASSWORD = 8
MAX_PASSWORD = 128
PURPOSES = ("signup", "password_reset")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account, and the login or API key that proved it."""

    account_id: int
    role: str
    session_id: int | None = None
    api_key_id: int | None = None
    # last-seen is written at most once a minute, in its own small transaction (see `touch`).
    touch_due: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class OutgoingCode:
    """A one-time code to send by SMS once the transaction that stored it has committed."""

    mobile: str
    text: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Login:
    token: str
    session: AuthSession
    account: Account


def normalize_mobile(value: str) -> str:
    """An Iranian mobile in any form a person types -> E.164, or a clear error."""
    info = numbers.parse(value)
    if not info.valid or info.e164 is None:
        reason = info.reason or "invalid"
        raise ValidationFailed(
            f"شمارهٔ موبایل درست نیست: {numbers.reason_message(reason, 'fa')}",
            f"The mobile number is not valid: {numbers.reason_message(reason, 'en')}",
            code="mobile_invalid",
            field="mobile",
            reason=reason,
        )
    if not info.e164.startswith("+989"):
        raise ValidationFailed(
            "فقط شمارهٔ موبایل ایران پذیرفته می‌شود.",
            "Only Iranian mobile numbers can be used.",
            code="mobile_not_iranian",
            field="mobile",
        )
    return info.e164


def check_password(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"رمز عبور باید دست‌کم {MIN_PASSWORD} نویسه باشد.",
            f"The password must be at least {MIN_PASSWORD} characters long.",
            code="password_too_short",
            field=field,
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(
            f"رمز عبور نباید بیش از {MAX_PASSWORD} نویسه باشد.",
            f"The password must be at most {MAX_PASSWORD} characters long.",
            code="password_too_long",
            field=field,
        )


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("نام را بنویسید.", "The name is required.", code="name_required", field="name")
    if len(name) > 100:
        raise ValidationFailed(
            "نام نباید بیش از ۱۰۰ نویسه باشد.",
            "The name must be at most 100 characters.",
            code="name_too_long",
            field="name",
        )
    return name


# --- sign-up and one-time codes -------------------------------------------------------------


def sign_up(
    session: Session, *, settings: Settings, passwords: Passwords, mobile: str, password: str, name: str
) -> OutgoingCode:
    """Create (or refresh) a pending account and a code to verify its mobile.

    A pending account that was never verified may sign up again: whoever typed the number first
    proved nothing, and only the phone's owner can read the code.
    """
    e164 = normalize_mobile(mobile)
    check_password(password)
    name = check_name(name)
    account = repo.account_by_mobile(session, e164, for_update=True)
    if account is not None and account.state != "pending":
        raise Conflict(
            "این شمارهٔ موبایل پیش‌تر ثبت‌نام کرده است؛ وارد شوید یا رمز را بازیابی کنید.",
            "This mobile number is already registered; log in or reset the password.",
            code="mobile_taken",
            field="mobile",
        )
    if account is None:
        account = Account(
            mobile=e164, name=name, password_hash=passwords.hash(password), role="user", state="pending"
        )
        repo.add(session, account)
    else:
        account.name = name
        account.password_hash = passwords.hash(password)
    return _issue_code(session, settings=settings, mobile=e164, purpose="signup")


def resend_code(session: Session, *, settings: Settings, mobile: str, purpose: str) -> OutgoingCode | None:
    e164 = normalize_mobile(mobile)
    account = repo.account_by_mobile(session, e164)
    wanted = "pending" if purpose == "signup" else "active"
    if account is None or account.state != wanted:
        return None  # say nothing about which numbers have accounts
    return _issue_code(session, settings=settings, mobile=e164, purpose=purpose)


def request_password_reset(session: Session, *, settings: Settings, mobile: str) -> OutgoingCode | None:
    return resend_code(session, settings=settings, mobile=mobile, purpose="password_reset")


def _issue_code(session: Session, *, settings: Settings, mobile: str, purpose: str) -> OutgoingCode:
    now = utcnow()
    last = repo.latest_code(session, mobile=mobile, purpose=purpose)
    if last is not None:
        wait = settings.otp_resend_seconds - int((now - last.created_at).total_seconds())
        if wait > 0:
            raise RateLimited(
                f"کد پیش‌تر فرستاده شد؛ {wait} ثانیهٔ دیگر دوباره درخواست کنید.",
                f"A code was just sent; ask again in {wait} seconds.",
                code="code_recently_sent",
                retry_after=wait,
            )
    if repo.codes_since(session, mobile=mobile, since=now - dt.timedelta(hours=1)) >= settings.otp_per_hour:
        raise RateLimited(
            "در یک ساعت گذشته کد بسیاری فرستاده شده است؛ کمی بعد دوباره تلاش کنید.",
            "Too many codes were sent in the last hour; try again later.",
            code="too_many_codes",
            retry_after=3600,
        )
    code = new_code()
    expires = now + dt.timedelta(seconds=settings.otp_ttl_seconds)
    repo.add(
        session,
        OneTimeCode(
            mobile=mobile,
            purpose=purpose,
            code_hash=code_hash(settings.signing_key, mobile, code),
            expires_at=expires,
            created_at=now,
        ),
    )
    minutes = max(1, settings.otp_ttl_seconds // 60)
    text = f"کد تأیید پیامک: {code}\nاین کد را به کسی ندهید. اعتبار: {minutes} دقیقه"
    return OutgoingCode(mobile=mobile, text=text, expires_at=expires)


def _consume_code(session: Session, *, settings: Settings, mobile: str, purpose: str, code: str) -> None:
    record = repo.latest_code(session, mobile=mobile, purpose=purpose)
    now = utcnow()
    if record is None or record.used_at is not None:
        raise ValidationFailed(
            "کدی برای این شماره در انتظار نیست؛ کد تازه بخواهید.",
            "No code is waiting for this number; ask for a new one.",
            code="code_invalid",
            field="code",
        )
    if record.expires_at <= now:
        raise ValidationFailed(
            "کد منقضی شده است؛ کد تازه بخواهید.",
            "The code has expired; ask for a new one.",
            code="code_expired",
            field="code",
        )
    if record.attempts >= settings.otp_max_attempts:
        raise RateLimited(
            "تلاش‌های نادرست بسیار بود؛ کد تازه بخواهید.",
            "Too many wrong attempts; ask for a new code.",
            code="code_attempts_exceeded",
            retry_after=max(1, int((record.expires_at - now).total_seconds())),
        )
    digits = numbers.to_ascii_digits(code.strip())
    if not same(record.code_hash, code_hash(settings.signing_key, mobile, digits)):
        record.attempts += 1
        error = ValidationFailed(
            "کد درست نیست.",
            "The code is not correct.",
            code="code_invalid",
            field="code",
            attempts_left=max(0, settings.otp_max_attempts - record.attempts),
        )
        error.keep_changes = True  # the failed attempt must count even though the request fails
        raise error
    record.used_at = now


def _account_for_code(
    session: Session, *, settings: Settings, e164: str, state: str, purpose: str, code: str
) -> Account:
    """The account of `e164`, locked, once `code` is the one sent to it for `purpose`.

    Codes are only for accounts in `state` (signup: pending, password reset: active).
    """
    account = repo.account_by_mobile(session, e164, for_update=True)
    if account is None or account.state != state:
        raise ValidationFailed(
            "کدی برای این شماره در انتظار نیست.",
            "No code is waiting for this number.",
            code="code_invalid",
            field="code",
        )
    _consume_code(session, settings=settings, mobile=e164, purpose=purpose, code=code)
    return account


def verify_mobile(session: Session, *, settings: Settings, mobile: str, code: str) -> Account:
    e164 = normalize_mobile(mobile)
    account = _account_for_code(
        session, settings=settings, e164=e164, state="pending", purpose="signup", code=code
    )
    account.state = "active"
    account.verified_at = utcnow()
    return account


def reset_password(
    session: Session, *, settings: Settings, passwords: Passwords, mobile: str, code: str, new_password: str
) -> Account:
    e164 = normalize_mobile(mobile)
    check_password(new_password, field="new_password")
    account = _account_for_code(
        session, settings=settings, e164=e164, state="active", purpose="password_reset", code=code
    )
    account.password_hash = passwords.hash(new_password)
    repo.revoke_sessions(session, account_id=account.id, now=utcnow())
    return account


# --- logins ---------------------------------------------------------------------------------


def log_in(
    session: Session,
    *,
    settings: Settings,
    passwords: Passwords,
    mobile: str,
    password: str,
    address: str,
    client: str,
    remember: bool = True,
) -> Login:
    now = utcnow()
    typed = mobile.strip()[:32]
    try:
        e164: str | None = normalize_mobile(mobile)
    except ValidationFailed:
        e164 = None
    _check_login_limits(session, settings=settings, mobile=e164 or typed, address=address, now=now)
    account = repo.account_by_mobile(session, e164) if e164 else None
    # Verify even when there is no account, so the answer takes as long either way.
    if not passwords.verify(account.password_hash if account else None, password) or account is None:
        repo.add(session, LoginFailure(mobile=e164 or typed, address=address, created_at=now))
        error = Unauthenticated(
            "شمارهٔ موبایل یا رمز عبور درست نیست.",
            "The mobile number or password is not correct.",
            code="invalid_credentials",
        )
        error.keep_changes = True
        raise error
    if account.state == "pending":
        raise PermissionDenied(
            "شمارهٔ موبایل هنوز تأیید نشده است؛ کد تأیید را وارد کنید.",
            "The mobile number is not verified yet; enter the verification code.",
            code="mobile_not_verified",
        )
    if account.state == "disabled":
        raise PermissionDenied(
            "این حساب غیرفعال شده است.", "This account is disabled.", code="account_disabled"
        )
    repo.clear_failures(session, mobile=account.mobile)
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash(password)
    return start_session(
        session, settings=settings, account=account, address=address, client=client, remember=remember
    )


def start_session(
    session: Session,
    *,
    settings: Settings,
    account: Account,
    address: str,
    client: str,
    remember: bool = True,
) -> Login:
    """A new login for an account that has just proved who it is."""
    now = utcnow()
    lifetime = (
        dt.timedelta(days=settings.session_days)
        if remember
        else dt.timedelta(hours=settings.short_session_hours)
    )
    token = new_token(SESSION_TOKEN_PREFIX)
    auth = AuthSession(
        account_id=account.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        client=client[:200],
        address=address[:64],
    )
    repo.add(session, auth)
    return Login(token=token, session=auth, account=account)


def _check_login_limits(
    session: Session, *, settings: Settings, mobile: str, address: str, now: dt.datetime
) -> None:
    window = dt.timedelta(seconds=settings.login_failure_window_seconds)
    since = now - window
    for count, oldest, limit in (
        (*repo.failures_since(session, since=since, mobile=mobile), settings.login_failures_per_mobile),
        (*repo.failures_since(session, since=since, address=address), settings.login_failures_per_address),
    ):
        if count >= limit and oldest is not None:
            retry = max(1, int((oldest + window - now).total_seconds()) + 1)
            raise RateLimited(
                f"تلاش‌های ناموفق ورود بسیار بود؛ {retry} ثانیهٔ دیگر دوباره تلاش کنید.",
                f"Too many failed logins; try again in {retry} seconds.",
                code="too_many_attempts",
                retry_after=retry,
            )


class AccountDisabled(Unauthenticated):
    """A live login or API key of an account that is not active.

    It keeps `token_invalid`'s code and words, so the native API and the web UI answer it as any
    invalid token; Kavenegar's API tells a disabled account (its 401) from a bad key (its 403), and
    catches this type to do the same. Only the holder of a live key ever sees the difference.
    """


def authenticate(session: Session, *, token: str) -> Principal:
    """The principal behind a login token or an API key, or `token_invalid` (`AccountDisabled`
    when the token is live but its account is not active)."""
    now = utcnow()
    hashed = token_hash(token)
    account = None
    if token.startswith(SESSION_TOKEN_PREFIX):
        auth = repo.live_session_by_hash(session, hashed, now)
        if auth is not None:
            account = repo.account_by_id(session, auth.account_id)
            if account is not None and account.state == "active":
                due = (now - auth.last_seen_at).total_seconds() > 60
                return Principal(account_id=account.id, role=account.role, session_id=auth.id, touch_due=due)
    elif token.startswith(API_KEY_PREFIX):
        key = repo.live_api_key_by_hash(session, hashed)
        if key is not None:
            account = repo.account_by_id(session, key.account_id)
            if account is not None and account.state == "active":
                due = key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60
                return Principal(account_id=account.id, role=account.role, api_key_id=key.id, touch_due=due)
    error = AccountDisabled if account is not None else Unauthenticated
    raise error(
        "نشست شما معتبر نیست یا به پایان رسیده است؛ دوباره وارد شوید.",
        "Your login is not valid or has expired; log in again.",
        code="token_invalid",
    )


def touch(session: Session, *, principal: Principal) -> None:
    """Record that the login or key was just used (shown in the sessions and keys lists)."""
    now = utcnow()
    if principal.session_id is not None:
        repo.touch_session(session, principal.session_id, now)
    if principal.api_key_id is not None:
        repo.touch_api_key(session, principal.api_key_id, now)


def log_out(session: Session, *, principal: Principal) -> None:
    if principal.session_id is not None:
        repo.revoke_sessions(
            session, account_id=principal.account_id, now=utcnow(), only_id=principal.session_id
        )


def sessions(session: Session, *, principal: Principal) -> Sequence[AuthSession]:
    return repo.live_sessions(session, account_id=principal.account_id, now=utcnow())


def revoke_session(session: Session, *, principal: Principal, session_id: int) -> None:
    if not repo.revoke_sessions(session, account_id=principal.account_id, now=utcnow(), only_id=session_id):
        raise NotFound("این نشست پیدا نشد.", "No such session.", code="session_not_found")


def change_password(
    session: Session, *, passwords: Passwords, principal: Principal, current_password: str, new_password: str
) -> None:
    """Change the password and end every other login (the one in use stays)."""
    account = me(session, principal=principal)
    if not passwords.verify(account.password_hash, current_password):
        raise ValidationFailed(
            "رمز عبور فعلی درست نیست.",
            "The current password is not correct.",
            code="password_wrong",
            field="current_password",
        )
    check_password(new_password, field="new_password")
    account.password_hash = passwords.hash(new_password)
    repo.revoke_sessions(session, account_id=account.id, now=utcnow(), except_id=principal.session_id)


def me(session: Session, *, principal: Principal) -> Account:
    account = repo.account_by_id(session, principal.account_id)
    if account is None:
        raise Unauthenticated("حساب پیدا نشد.", "The account no longer exists.", code="token_invalid")
    return account


def update_profile(
    session: Session,
    *,
    principal: Principal,
    name: str | None = None,
    language: str | None = None,
    low_balance_threshold: int | None = None,
) -> Account:
    account = me(session, principal=principal)
    if name is not None:
        account.name = check_name(name)
    if language is not None:
        account.language = language
    if low_balance_threshold is not None:
        account.low_balance_threshold = low_balance_threshold
    return account


# --- API keys -------------------------------------------------------------------------------


def create_api_key(session: Session, *, principal: Principal, name: str) -> tuple[ApiKey, str]:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationFailed(
            "نام کلید باید ۱ تا ۱۰۰ نویسه باشد.",
            "The key name must be 1 to 100 characters.",
            code="name_invalid",
            field="name",
        )
    key = new_token(API_KEY_PREFIX)
    record = ApiKey(account_id=principal.account_id, name=name, prefix=key[:12], key_hash=token_hash(key))
    repo.add(session, record)
    return record, key


def api_keys(session: Session, *, principal: Principal) -> Sequence[ApiKey]:
    return repo.api_keys(session, account_id=principal.account_id)


def revoke_api_key(session: Session, *, principal: Principal, key_id: int) -> None:
    if not repo.revoke_api_key(session, account_id=principal.account_id, key_id=key_id, now=utcnow()):
        raise NotFound("این کلید پیدا نشد.", "No such API key.", code="api_key_not_found")


# --- operator tasks -------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    passwords: Passwords,
    mobile: str,
    password: str,
    name: str | None = None,
    admin: bool = False,
) -> Account:
    """An active account created by the operator (the mobile is taken as verified)."""
    e164 = normalize_mobile(mobile)
    check_password(password)
    if repo.account_by_mobile(session, e164) is not None:
        raise Conflict(
            "این شمارهٔ موبایل پیش‌تر ثبت شده است.",
            "This mobile number is already registered.",
            code="mobile_taken",
        )
    account = Account(
        mobile=e164,
        name=check_name(name or e164),
        password_hash=passwords.hash(password),
        role="admin" if admin else "user",
        state="active",
        verified_at=utcnow(),
    )
    repo.add(session, account)
    return account


def account_by_mobile(session: Session, *, mobile: str) -> Account:
    account = repo.account_by_mobile(session, normalize_mobile(mobile))
    if account is None:
        raise NotFound(
            "حسابی با این شماره نیست.", "No account has this mobile number.", code="account_not_found"
        )
    return account


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied(
            "این کار فقط از مدیر سامانه برمی‌آید.", "Only an administrator can do this.", code="admin_only"
        )


def list_accounts(
    session: Session, *, principal: Principal, query: str | None = None, offset: int = 0, limit: int = 30
) -> tuple[Sequence[Account], int]:
    """Every account for the operator, newest first, and how many match (admin).

    `query` matches part of a mobile or a name; a whole mobile typed in any form (0912…, ۰۹۱۲…,
    +98 912…) is first written as stored, in E.164.
    """
    require_admin(principal)
    query = (query or "").strip()
    if query:
        with contextlib.suppress(ValidationFailed):
            query = normalize_mobile(query)
    return repo.list_accounts(session, query=query or None, offset=max(offset, 0), limit=max(limit, 1))


def accounts_by_id(
    session: Session, *, principal: Principal, account_ids: Iterable[int]
) -> dict[int, Account]:
    """The accounts of these ids that exist, by id: the owners shown beside names and lines (admin)."""
    require_admin(principal)
    return {account.id: account for account in repo.accounts_by_ids(session, account_ids)}


# --- sender names ---------------------------------------------------------------------------

SENDER_NAME_MAX = 64


def fold_sender_name(name: str) -> str:
    """The comparison key of a name: spelling variants, ZWNJ, spaces and case do not count."""
    return "".join(fold(name).replace("\u200c", " ").split())


def register_sender_name(session: Session, *, principal: Principal, name: str) -> SenderName:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(
            "نام صادرکننده را بنویسید.", "The sender name is empty.", code="sender_name_empty", field="name"
        )
    if len(name) > SENDER_NAME_MAX:
        raise ValidationFailed(
            f"نام صادرکننده نباید بیش از {SENDER_NAME_MAX} نویسه باشد.",
            f"The sender name must be at most {SENDER_NAME_MAX} characters.",
            code="sender_name_too_long",
            field="name",
            limit=SENDER_NAME_MAX,
        )
    folded = fold_sender_name(name)
    if len(folded) < 2:
        raise ValidationFailed(
            "نام صادرکننده باید دست‌کم دو حرف داشته باشد.",
            "The sender name needs at least two letters.",
            code="sender_name_too_short",
            field="name",
        )
    if repo.sender_name_by_folded(session, account_id=principal.account_id, folded=folded) is not None:
        raise Conflict(
            "این نام صادرکننده پیش‌تر ثبت شده است.",
            "This sender name is already registered.",
            code="sender_name_taken",
            field="name",
        )
    record = SenderName(account_id=principal.account_id, name=name, folded=folded, state="pending")
    repo.add(session, record)
    return record


def sender_names(session: Session, *, principal: Principal) -> Sequence[SenderName]:
    return repo.sender_names(session, account_id=principal.account_id)


def approved_sender_names(session: Session, *, account_id: int) -> list[str]:
    """The names an informational SMS of this account may be identified by."""
    return [n.name for n in repo.sender_names(session, account_id=account_id, state="approved")]


def delete_sender_name(session: Session, *, principal: Principal, name_id: int) -> None:
    if not repo.delete_sender_name(session, account_id=principal.account_id, name_id=name_id):
        raise NotFound("این نام صادرکننده پیدا نشد.", "No such sender name.", code="sender_name_not_found")


def sender_names_for_review(
    session: Session,
    *,
    principal: Principal,
    state: str | None = "pending",
    limit: int = 100,
    offset: int = 0,
) -> Sequence[SenderName]:
    require_admin(principal)
    return repo.sender_names_for_review(session, state=state, limit=limit, offset=offset)


def decide_sender_name(
    session: Session, *, principal: Principal, name_id: int, approve: bool, reason: str = ""
) -> SenderName:
    """The operator approves a name, or rejects it saying why (a rejection needs a reason)."""
    require_admin(principal)
    record = repo.sender_name(session, name_id=name_id, account_id=None)
    if record is None:
        raise NotFound("این نام صادرکننده پیدا نشد.", "No such sender name.", code="sender_name_not_found")
    reason = " ".join(reason.split())
    if not approve and not reason:
        raise ValidationFailed(
            "دلیل رد را بنویسید تا کاربر بداند چه کند.",
            "Give a reason for the rejection so the user knows what to do.",
            code="reason_required",
            field="reason",
        )
    record.state = "approved" if approve else "rejected"
    record.reason = reason[:300]
    record.decided_at = utcnow()
    record.decided_by = principal.account_id
    return record


def approve_sender_name_by_mobile(session: Session, *, mobile: str, name: str) -> SenderName:
    """Operator CLI: approve (registering it first if needed) a name for the account of `mobile`."""
    account = account_by_mobile(session, mobile=mobile)
    owner = Principal(account_id=account.id, role=account.role)
    record = repo.sender_name_by_folded(session, account_id=account.id, folded=fold_sender_name(name))
    if record is None:
        record = register_sender_name(session, principal=owner, name=name)
    record.state = "approved"
    record.reason = ""
    record.decided_at = utcnow()
    return record
