"""Password hashing (argon2 through pwdlib) and API token material.

API tokens are long random strings shown once; only their SHA-256 is stored. A fast hash is right for
them (they carry 256 bits of entropy); passwords get argon2 because people choose them. A signed-in browser
holds a token of the same kind under BROWSER_SESSION_KEY in its signed session cookie.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
TOKEN_PREFIX = "chq_"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
BROWSER_SESSION_KEY = "browser_session"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _unknown_account_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def spend_a_password_check(password: str) -> None:
    """As long as a real check, for an email with no account: answering faster would tell which emails
    have accounts."""
    verify_password(password, _unknown_account_hash())


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash is a failed sign-in, not a crash
        return False


def new_api_token() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.isdigit() or password.isalpha() and password.lower() == password:
        return "the password is too weak: mix letters with digits, capitals or symbols"
    return None


def email_problem(email: str) -> str | None:
    return None if EMAIL_PATTERN.match(email) else f"'{email}' is not an email address"
