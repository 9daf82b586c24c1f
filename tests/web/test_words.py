"""What the pages say for codes: recipients' errors, a login's browser, the year's first and last day."""

from __future__ import annotations

import datetime as dt

import pytest

from payamak.web.i18n import jalali_year, problem_text, translate
from payamak.web.profile_views import device_text

# Each family of error codes, as dispatch and the providers write them, and the reason it gives.
FAMILIES: dict[str, list[str]] = {
    "why_blocked": ["receipt:blocked:14", "receipt:blocked"],
    "why_undelivered": ["receipt:undelivered:1"],
    "why_expired": ["receipt:expired:2"],
    "why_rejected": [
        "receipt:rejected:3",
        "smpp_status:ESME_RSYSERR",
        "ESME_RX_P_APPN",
        "kavenegar_status:6",
    ],
    "why_validity": ["validity_expired"],
    "why_route": ["route_unavailable:closed", "provider_error:TimeoutError", "smpp_timeout", "smpp_closed"],
    "why_route_login": ["smpp_bind_failed:ESME_RINVPASWD"],
    "why_bad_number": ["smpp_status:ESME_RINVDSTADR", "invalid_address"],
    "why_other": ["something_new:42"],
}


@pytest.mark.parametrize(("key", "error"), [(k, e) for k, errors in FAMILIES.items() for e in errors])
def test_a_recipients_error_is_said_in_words(key: str, error: str) -> None:
    assert problem_text(error) == translate(key, "fa")
    assert problem_text(error, "en") == translate(key, "en")


def test_the_reasons_read_as_the_shop_owner_expects() -> None:
    assert problem_text("receipt:blocked:14") == "شماره در فهرست سیاه مخابرات است"
    assert problem_text("receipt:undelivered:1") == "به گوشی نرسید (خاموش یا خارج از دسترس)"
    assert problem_text("route_unavailable:closed") == "خطای موقت مسیر ارسال"
    assert problem_text("receipt:expired:2", "en") == "The delivery time ran out"


@pytest.mark.parametrize("error", [None, "", "canceled"])
def test_no_reason_where_the_status_says_it(error: str | None) -> None:
    assert problem_text(error) == "" and problem_text(error, "en") == ""


def test_the_jalali_year_runs_to_the_29th_or_in_a_leap_year_the_30th_of_esfand() -> None:
    assert jalali_year(dt.datetime(2025, 11, 26)) == ("1404/01/01", "1404/12/29")
    assert jalali_year(dt.datetime(2025, 3, 19)) == ("1403/01/01", "1403/12/30")


@pytest.mark.parametrize(
    ("client", "fa", "en"),
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            "Chrome روی Linux",
            "Chrome on Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge روی Windows",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1",
            "Safari روی iOS",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
            "Chrome روی Android",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox روی macOS",
            "Firefox on macOS",
        ),
        ("curl/8.5.0", "curl/8.5.0", "curl/8.5.0"),
        ("", "—", "—"),
    ],
)
def test_a_login_is_named_by_its_browser_and_system(client: str, fa: str, en: str) -> None:
    assert device_text(client, "fa") == fa
    assert device_text(client, "en") == en
