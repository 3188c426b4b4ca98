"""Signing in to the console: an API key exchanged for a session, and the session's checks.

The browser holds a random token in an HTTP-only, SameSite=Strict cookie; the database
holds its sha256, the API key it stands for and a CSRF token. Every request that changes
something must send the CSRF token back (a form field or htmx's header), which a page of
another site cannot read. Signing out revokes the session; revoking the API key ends
every session made with it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.console_models import ConsoleSessionRow
from esl.db.models import ApiKeyRow
from esl.errors import AccessDeniedError
from esl.services.keys import Principal, Role, hash_token

__all__ = ["SESSION_LIFETIME", "SignedIn", "open_session", "revoke_session", "signed_in"]

SESSION_LIFETIME = timedelta(hours=12)  # one shift


@dataclass(frozen=True, slots=True)
class SignedIn:
    principal: Principal
    csrf_token: str
    session_id: int


def open_session(session: Session, *, api_key: str, now: datetime) -> tuple[str, SignedIn]:
    """The cookie token and who signed in; AccessDeniedError for an unknown or revoked key."""
    digest = hash_token(api_key.strip())
    key = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        raise AccessDeniedError("unknown or revoked API key", role=None)
    token = secrets.token_urlsafe(32)
    row = ConsoleSessionRow(
        token_hash=hash_token(token),
        api_key_id=key.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return token, SignedIn(_principal(key), row.csrf_token, row.id)


def signed_in(session: Session, *, cookie: str | None, now: datetime) -> SignedIn | None:
    """Who holds this session cookie; None when it is unknown, expired, signed out or its
    key was revoked."""
    if not cookie:
        return None
    digest = hash_token(cookie)
    found = session.execute(
        select(ConsoleSessionRow, ApiKeyRow)
        .join(ApiKeyRow, ApiKeyRow.id == ConsoleSessionRow.api_key_id)
        .where(ConsoleSessionRow.token_hash == digest)
    ).one_or_none()
    if found is None:
        return None
    row, key = found
    if row.revoked_at is not None or key.revoked_at is not None or now >= row.expires_at:
        return None
    return SignedIn(_principal(key), row.csrf_token, row.id)


def revoke_session(session: Session, *, session_id: int, now: datetime) -> None:
    row = session.get(ConsoleSessionRow, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


def _principal(key: ApiKeyRow) -> Principal:
    return Principal(name=key.name, role=Role(key.role), store=key.store)
