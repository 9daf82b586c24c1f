"""Password hashing (argon2id) and random tokens stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_TOKEN_PREFIX = "pms_"  # noqa: S105 - a prefix, not a secret
API_KEY_PREFIX = "pmk_"


class Passwords:
    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        # argon2-cffi's default type is argon2id; the parameters are stored inside each hash, so
        # changing them later still verifies old hashes (and `needs_rehash` tells us to upgrade).
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # A hash to verify against when the mobile is unknown, so timing does not reveal accounts.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; a slow one would only slow requests.
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(key: bytes, mobile: str, code: str) -> str:
    # Keyed, because a 6-digit code hashed plainly is reversed by trying all million values.
    return hmac.new(key, f"{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
