"""Sign-up with a verified mobile, month-long logins, sessions, passwords: through the real API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from payamak.context import Context
from payamak.providers.simulator import RecordingProvider

API = "/api/v1"


def last_code(ctx: Context, mobile: str) -> str:
    assert isinstance(ctx.system_sms, RecordingProvider)
    text = ctx.system_sms.last_text(mobile)
    assert text is not None, f"no SMS was sent to {mobile}"
    match = re.search(r"\d{6}", text)
    assert match
    return match.group(0)


def sign_up(
    client: TestClient, ctx: Context, mobile: str = "۰۹۱۲ ۳۴۵ ۶۷۸۹", password: str = "s3cret-pass"
) -> str:
    r = client.post(
        f"{API}/auth/signup", json={"mobile": mobile, "password": password, "name": "فروشگاه نمونه"}
    )
    assert r.status_code == 202, r.text
    return str(r.json()["mobile"])


def test_signup_verify_and_me(client: TestClient, ctx: Context) -> None:
    e164 = sign_up(client, ctx)
    assert e164 == "+989123456789"
    # Not verified yet: the password is right but login is refused with a clear code.
    r = client.post(f"{API}/auth/login", json={"mobile": "09123456789", "password": "s3cret-pass"})
    assert r.status_code == 403 and r.json()["error"] == "mobile_not_verified"

    r = client.post(f"{API}/auth/verify", json={"mobile": "+98 912 345 6789", "code": last_code(ctx, e164)})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    expires = dt.datetime.fromisoformat(r.json()["expires_at"])
    assert expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=29)

    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["mobile"] == "+989123456789" and me["role"] == "user" and me["balance"] == 0
    assert me["logged_in"] is True and me["name"] == "فروشگاه نمونه"


def test_code_is_single_use_and_limited(client: TestClient, ctx: Context) -> None:
    e164 = sign_up(client, ctx)
    code = last_code(ctx, e164)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(ctx.settings.otp_max_attempts):
        r = client.post(f"{API}/auth/verify", json={"mobile": e164, "code": wrong})
        assert r.status_code == 422 and r.json()["error"] == "code_invalid"
    # Attempts are used up: even the right code no longer works.
    r = client.post(f"{API}/auth/verify", json={"mobile": e164, "code": code})
    assert r.status_code == 429 and r.json()["error"] == "code_attempts_exceeded"
    assert "Retry-After" in r.headers
    # A new code works once.
    assert client.post(f"{API}/auth/resend", json={"mobile": e164}).status_code == 202
    fresh = last_code(ctx, e164)
    assert client.post(f"{API}/auth/verify", json={"mobile": e164, "code": fresh}).status_code == 200
    r = client.post(f"{API}/auth/verify", json={"mobile": e164, "code": fresh})
    assert r.status_code == 422 and r.json()["error"] == "code_invalid"


def test_expired_code(client: TestClient, ctx: Context) -> None:
    ctx.settings.otp_ttl_seconds = 0
    e164 = sign_up(client, ctx)
    r = client.post(f"{API}/auth/verify", json={"mobile": e164, "code": last_code(ctx, e164)})
    assert r.status_code == 422 and r.json()["error"] == "code_expired"


def test_second_signup_of_a_verified_mobile_is_refused(client: TestClient, ctx: Context) -> None:
    e164 = sign_up(client, ctx)
    client.post(f"{API}/auth/verify", json={"mobile": e164, "code": last_code(ctx, e164)})
    r = client.post(
        f"{API}/auth/signup", json={"mobile": "9123456789", "password": "another-pass", "name": "x"}
    )
    assert r.status_code == 409 and r.json()["error"] == "mobile_taken"
    # and the first password still works
    r = client.post(f"{API}/auth/login", json={"mobile": e164, "password": "s3cret-pass"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"mobile": "02188776655", "password": "longenough", "name": "x"}, "mobile_invalid", "mobile"),
        ({"mobile": "0912", "password": "longenough", "name": "x"}, "mobile_invalid", "mobile"),
        ({"mobile": "salam", "password": "longenough", "name": "x"}, "mobile_invalid", "mobile"),
        ({"mobile": "+14155550123", "password": "longenough", "name": "x"}, "mobile_not_iranian", "mobile"),
        ({"mobile": "09121234567", "password": "short", "name": "x"}, "password_too_short", "password"),
        ({"mobile": "09121234567", "password": "longenough", "name": "  "}, "name_required", "name"),
        ({"mobile": "09121234567", "password": "longenough"}, "validation_error", "name"),
        (
            {"mobile": "09121234567", "password": "longenough", "name": "x", "admin": True},
            "validation_error",
            "admin",
        ),
    ],
)
def test_bad_signups_change_nothing(
    client: TestClient, ctx: Context, body: dict[str, object], code: str, field: str
) -> None:
    r = client.post(f"{API}/auth/signup", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == code and r.json()["field"] == field
    assert r.json()["detail"]  # a sentence, Persian by default
    assert isinstance(ctx.system_sms, RecordingProvider) and ctx.system_sms.recent() == []


def test_errors_speak_english_when_asked(client: TestClient) -> None:
    body = {"mobile": "09121234567", "password": "short", "name": "x"}
    fa = client.post(f"{API}/auth/signup", json=body).json()["detail"]
    en = client.post(f"{API}/auth/signup", json=body, headers={"Accept-Language": "en"}).json()["detail"]
    assert re.search("[\u0600-\u06ff]", fa) and "password" in en.lower()


def test_login_lasts_a_month_or_hours(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    long = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password}).json()
    short = client.post(
        f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password, "remember": False}
    ).json()
    now = dt.datetime.now(dt.UTC)
    assert dt.datetime.fromisoformat(long["expires_at"]) - now > dt.timedelta(days=29, hours=23)
    assert dt.datetime.fromisoformat(short["expires_at"]) - now < dt.timedelta(days=1)


def test_logout_revokes_the_token(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    assert client.get(f"{API}/me", headers=user.headers).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=user.headers).status_code == 204
    r = client.get(f"{API}/me", headers=user.headers)
    assert r.status_code == 401 and r.json()["error"] == "token_invalid"


def test_expired_token_is_refused(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from payamak.accounts.models import AuthSession

    user = make_user()
    with ctx.db.transaction() as session:
        session.execute(
            sa.update(AuthSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    r = client.get(f"{API}/me", headers=user.headers)
    assert r.status_code == 401 and r.json()["error"] == "token_invalid"


def test_sessions_list_revoke_and_password_change(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    other = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password}).json()[
        "token"
    ]
    other_headers = {"Authorization": f"Bearer {other}"}
    listed = client.get(f"{API}/sessions", headers=user.headers).json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    other_id = next(s["id"] for s in listed if not s["current"])
    assert client.delete(f"{API}/sessions/{other_id}", headers=user.headers).status_code == 204
    assert client.get(f"{API}/me", headers=other_headers).status_code == 401

    third = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password}).json()[
        "token"
    ]
    r = client.post(
        f"{API}/me/password",
        headers=user.headers,
        json={"current_password": "wrong-one", "new_password": "new-password-1"},
    )
    assert r.status_code == 422 and r.json()["error"] == "password_wrong"
    r = client.post(
        f"{API}/me/password",
        headers=user.headers,
        json={"current_password": user.password, "new_password": "new-password-1"},
    )
    assert r.status_code == 204
    assert client.get(f"{API}/me", headers=user.headers).status_code == 200  # this login stays
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {third}"}).status_code == 401
    assert (
        client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password}).status_code
        == 401
    )
    assert (
        client.post(
            f"{API}/auth/login", json={"mobile": user.mobile, "password": "new-password-1"}
        ).status_code
        == 200
    )


def test_password_reset_by_code(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    assert client.post(f"{API}/auth/password-reset", json={"mobile": user.mobile}).status_code == 202
    code = last_code(ctx, user.mobile)
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"mobile": user.mobile, "code": code, "new_password": "brand-new-pw"},
    )
    assert r.status_code == 204
    assert client.get(f"{API}/me", headers=user.headers).status_code == 401  # every login ended
    assert (
        client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": "brand-new-pw"}).status_code
        == 200
    )
    # unknown numbers get the same answer and no SMS
    assert client.post(f"{API}/auth/password-reset", json={"mobile": "09350000000"}).status_code == 202
    assert isinstance(ctx.system_sms, RecordingProvider) and ctx.system_sms.recent(to="+989350000000") == []


def test_failed_logins_are_limited_per_mobile(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    for _ in range(ctx.settings.login_failures_per_mobile):
        r = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": "wrong-password"})
        assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    r = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password})
    assert r.status_code == 429 and r.json()["error"] == "too_many_attempts"
    assert int(r.headers["Retry-After"]) > 0


def test_failed_logins_are_limited_per_address(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    ctx.settings.login_failures_per_address = 3
    user = make_user()
    for i in range(3):
        client.post(f"{API}/auth/login", json={"mobile": f"0935000000{i}", "password": "guess-guess"})
    r = client.post(f"{API}/auth/login", json={"mobile": user.mobile, "password": user.password})
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_api_keys(client: TestClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user()
    created = client.post(f"{API}/api-keys", headers=user.headers, json={"name": "فروشگاه اینترنتی"}).json()
    key = created["key"]
    assert key.startswith("pmk_") and created["prefix"] == key[:12]
    listed = client.get(f"{API}/api-keys", headers=user.headers).json()
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["auth"] == "api_key" and me["mobile"] == user.mobile
    assert client.delete(f"{API}/api-keys/{created['id']}", headers=user.headers).status_code == 204
    r = client.get(f"{API}/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401


def test_keys_and_tokens_are_stored_hashed(client: TestClient, ctx: Context, make_user) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    user = make_user()
    key = client.post(f"{API}/api-keys", headers=user.headers, json={"name": "k"}).json()["key"]
    with ctx.db.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("auth_sessions", "api_keys", "accounts", "one_time_codes")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert user.token not in dump and key not in dump and user.password not in dump
    assert "$argon2id$" in dump
