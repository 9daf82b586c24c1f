"""What the HTTP layer refuses before any endpoint runs: big bodies, wrong types, bad tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient

API = "/api/v1"


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_oversized_body_is_refused(client: TestClient) -> None:
    big = "x" * 2_000_000
    r = client.post(f"{API}/auth/login", json={"mobile": big, "password": "p"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"


def test_oversized_chunked_body_is_refused(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(300):
            yield b"x" * 10_000

    r = client.post(f"{API}/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_wrong_content_type_is_refused(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", data={"mobile": "09121234567", "password": "p"})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"


def test_malformed_json_names_the_problem(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_missing_and_garbage_tokens(client: TestClient) -> None:
    r = client.get(f"{API}/me")
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    for token in ("garbage", "pms_" + "a" * 43, "pmk_" + "b" * 43):
        r = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"] == "token_invalid"


def test_unknown_path_is_json(client: TestClient) -> None:
    r = client.get(f"{API}/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
