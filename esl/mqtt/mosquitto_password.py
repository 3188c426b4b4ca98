"""Mosquitto's password-file hash (`$7$`: PBKDF2-HMAC-SHA512), without `mosquitto_passwd`.

    username:$7$<iterations>$<base64 salt>$<base64 64-byte digest>

Mosquitto 2.0 reads the iteration count from each line, so we may use more rounds than
`mosquitto_passwd`'s 101 default.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

__all__ = ["PBKDF2_ITERATIONS", "generate_password", "hash_password", "verify_password"]

PBKDF2_ITERATIONS = 1000
_SALT_BYTES = 12  # what mosquitto_passwd uses


def generate_password() -> str:
    """A random password of 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """The `$7$...` string mosquitto expects after `username:` in a password file."""
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, hashed: str) -> bool:
    """True when `hashed` is a `$7$` hash of `password`."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(digest, expected)
