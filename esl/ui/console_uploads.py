"""Previewed files kept on the server until they are published.

"Publish now" names the previewed file by id and SHA-256 digest instead of sending it back
in the form (Starlette's form parser cuts a field at 1 MiB, and a chain's price file is
larger): what is published is byte for byte what was previewed. A kept file belongs to the
console session that previewed it and expires; the store stays small because each preview
drops the expired files and its session's older ones.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from esl.db.console_models import ConsoleUploadRow
from esl.errors import InvalidItemError
from esl.ui.console_values import fits_an_id

__all__ = ["KEPT_PER_SESSION", "UPLOAD_LIFETIME", "forget_upload", "keep_upload", "kept_upload"]

UPLOAD_LIFETIME = timedelta(hours=1)  # time enough to read a preview, not a shift
KEPT_PER_SESSION = 3  # previews in other tabs stay publishable


def keep_upload(
    session: Session,
    *,
    console_session_id: int,
    kind: str,
    filename: str,
    content: bytes,
    now: datetime,
) -> ConsoleUploadRow:
    """Store a previewed file; it names itself by `id` and `digest`."""
    session.execute(delete(ConsoleUploadRow).where(ConsoleUploadRow.expires_at <= now))
    older = session.scalars(
        select(ConsoleUploadRow.id)
        .where(ConsoleUploadRow.console_session_id == console_session_id)
        .order_by(ConsoleUploadRow.id.desc())
        .offset(KEPT_PER_SESSION - 1)
    ).all()
    if older:
        session.execute(delete(ConsoleUploadRow).where(ConsoleUploadRow.id.in_(older)))
    row = ConsoleUploadRow(
        console_session_id=console_session_id,
        kind=kind,
        filename=filename[:200],
        digest=hashlib.sha256(content).hexdigest(),
        content=content,
        created_at=now,
        expires_at=now + UPLOAD_LIFETIME,
    )
    session.add(row)
    session.flush()
    return row


def kept_upload(
    session: Session, *, console_session_id: int, upload: str, digest: str, now: datetime
) -> ConsoleUploadRow:
    """The file this session previewed as `upload` with `digest`; InvalidItemError when it
    is not kept (expired, published, previewed by another session or never)."""
    # A number no row can have (beyond a 64-bit id) names no kept file, as a word does.
    row = session.get(ConsoleUploadRow, int(upload)) if fits_an_id(upload) else None
    if (
        row is None
        or row.console_session_id != console_session_id
        or not hmac.compare_digest(row.digest.encode(), digest.encode())
        or now >= row.expires_at
    ):
        raise InvalidItemError(
            "the previewed file is no longer kept (published, expired or from another "
            "sign-in): upload it again",
            field="upload",
        )
    return row


def forget_upload(session: Session, upload_id: int) -> None:
    """Drop the kept file in the transaction that published it; InvalidItemError (so that
    transaction rolls back) when another request published it meanwhile: two clicks on
    Publish now both read the file before either imported it."""
    result = session.execute(delete(ConsoleUploadRow).where(ConsoleUploadRow.id == upload_id))
    if getattr(result, "rowcount", 1) != 1:
        raise InvalidItemError(
            "this preview was already published (a second click on Publish now): nothing "
            "was imported again",
            field="upload",
        )
