"""API keys: a random token shown once, stored as its sha256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import ApiKeyRow, StoreRow
from esl.errors import AccessDeniedError, ConflictError, InvalidItemError, NotFoundError
from esl.one_line_text import one_line_problem
from esl.text_lengths import API_KEY_NAME_LENGTH

__all__ = [
    "Principal",
    "Role",
    "authenticate",
    "create_key",
    "hash_token",
    "list_keys",
    "revoke_key",
]

TOKEN_PREFIX = "esl_"


class Role(StrEnum):
    PRICING = "pricing"
    STORE = "store"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name, its role and, for the store role, its one store."""

    name: str
    role: Role
    store: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(
    session: Session, *, name: str, role: Role, store: str | None, now: datetime
) -> tuple[ApiKeyRow, str]:
    """Store a new key and return it with its token (the only time the token exists)."""
    _require_key_name(name)
    if role is Role.STORE and store is None:
        raise ConflictError("a store key needs the store it belongs to", field="store")
    if role is not Role.STORE and store is not None:
        raise ConflictError("only store keys belong to a store", field="store")
    if store is not None and session.get(StoreRow, store) is None:
        raise NotFoundError("store", store)
    if session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)) is not None:
        raise ConflictError(f"a key named {name!r} exists", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(
        name=name,
        role=role.value,
        store=store,
        key_hash=hash_token(token),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        created_at=now,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return row, token


def _require_key_name(name: str) -> None:
    """InvalidItemError unless `name` fits its column and `esl keys list`'s one line per
    key (name TAB role TAB ...): PostgreSQL refused a longer one as a failed statement,
    SQLite stored it, and a line break or tab made one key two rows to a script."""
    if not name.strip():
        raise InvalidItemError("a key needs a name: who or what uses it", field="name")
    if len(name) > API_KEY_NAME_LENGTH:
        raise InvalidItemError(
            f"a key's name is at most {API_KEY_NAME_LENGTH} characters, not {len(name)}",
            field="name",
        )
    problem = one_line_problem(name)
    if problem:
        raise InvalidItemError(f"a key's name {problem}", field="name")


def authenticate(session: Session, token: str) -> Principal:
    """The principal a token stands for; AccessDeniedError for unknown or revoked tokens."""
    digest = hash_token(token)
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
    # The lookup is by digest; comparing digests again in constant time keeps the check
    # independent of how the database compares strings.
    if row is None or not hmac.compare_digest(row.key_hash, digest) or row.revoked_at is not None:
        raise AccessDeniedError("unknown or revoked API key", role=None)
    return Principal(name=row.name, role=Role(row.role), store=row.store)


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))


def revoke_key(session: Session, *, name: str, now: datetime) -> ApiKeyRow:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name))
    if row is None:
        raise NotFoundError("api key", name)
    if row.revoked_at is None:
        row.revoked_at = now
    return row
