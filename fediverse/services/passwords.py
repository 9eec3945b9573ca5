"""Password hashing with argon2id (argon2-cffi), off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2-cffi's defaults follow RFC 9106's low-memory recommendation for argon2id.
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


async def hash_password(password: str) -> str:
    """Return an argon2id hash; runs in a thread because hashing takes tens of milliseconds."""
    return await asyncio.to_thread(_hasher.hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Tell whether a stored hash was made with other parameters than new hashes get."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether `password` matches the stored hash."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
