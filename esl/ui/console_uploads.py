"""Previewed files kept on the server until they are published.

"Publish now" names the previewed file by id and SHA-256 digest instead of sending it back
in the form (Starlette's form parser cuts a field at 1 MiB, and a chain's price file is
larger): what is published is byte for byte what was previewed. A kept file belongs to the
console session that previewed it and expires; the store stays small because each preview
drops the expired files and its session's older ones.

The digest guarantees the file, not the prices it is applied to: a kept file remembers
the prices its preview was drawn with (`PricesSeen`: the newest price rule and promotion
versions then, which every writer of rules and promotions records), and the publish,
under the price writers' lock, refuses it when another writer changed them since
(`check_prices_unchanged`): the labels would show what nobody previewed. Other writers
change what a file does to a shelf without a rule or promotion: a store moved to another
zone, a product to another category, a history file (the 30-day prior price). So the kept
file also remembers what its preview showed the file doing to the shelves
(`shelves_seen`: per store, a digest of the label contents it makes due), and the publish,
after importing it in its own transaction, refuses it when a store's differs
(`check_shelves_unchanged`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from esl.db.console_models import ConsoleUploadRow
from esl.db.models import PriceRuleVersionRow, PromotionVersionRow, PublicationRow
from esl.errors import InvalidItemError
from esl.ui.console_values import fits_an_id

__all__ = [
    "KEPT_PER_SESSION",
    "UPLOAD_LIFETIME",
    "PricesSeen",
    "check_prices_unchanged",
    "check_shelves_unchanged",
    "forget_upload",
    "keep_upload",
    "kept_upload",
    "prices_seen",
    "seen_at_preview",
    "shelves_seen",
]

UPLOAD_LIFETIME = timedelta(hours=1)  # time enough to read a preview, not a shift
KEPT_PER_SESSION = 3  # previews in other tabs stay publishable
SHELVES_NAMED = 5  # stores a refusal names; the rest are counted


@dataclass(frozen=True, slots=True)
class PricesSeen:
    """The newest price rule and promotion versions (ids; 0 when none) at an instant: a
    newer one is another writer's change. Ids, not instants: two writes may share one
    reading of the clock."""

    rule_version: int
    promotion_version: int


def prices_seen(session: Session) -> PricesSeen:
    """The prices as they stand for `session`; read under the price writers' lock, which
    every writer of rules and promotions holds until it commits."""
    return PricesSeen(
        rule_version=session.scalar(select(func.max(PriceRuleVersionRow.id))) or 0,
        promotion_version=session.scalar(select(func.max(PromotionVersionRow.id))) or 0,
    )


def seen_at_preview(row: ConsoleUploadRow) -> PricesSeen | None:
    """The prices the kept file's preview was drawn with; None for a file kept before
    they were (migration 0044)."""
    if row.rule_version_seen is None or row.promotion_version_seen is None:
        return None
    return PricesSeen(row.rule_version_seen, row.promotion_version_seen)


def check_prices_unchanged(session: Session, kept: PricesSeen | None) -> None:
    """InvalidItemError when the prices changed since the preview (`kept`: the prices it
    was drawn with): another writer published meanwhile, and the labels would show what
    was not previewed, or the file would silently overwrite that writer's prices. None
    (kept before migration 0044) is refused alike, not guessed at. Called under the price
    writers' lock, in the publish's transaction, which the error rolls back."""
    if kept is None:
        raise InvalidItemError(
            "this preview does not tell which prices it was drawn with (it was kept before "
            "an upgrade): preview the file again",
            field="upload",
        )
    now = prices_seen(session)
    if now.rule_version <= kept.rule_version and now.promotion_version <= kept.promotion_version:
        return
    publication = _publication_of_newest_change(session, kept, now)
    named = f" (publication #{publication})" if publication is not None else ""
    raise InvalidItemError(
        f"prices changed since your preview{named}: preview the file again",
        field="upload",
    )


def _publication_of_newest_change(
    session: Session, kept: PricesSeen, now: PricesSeen
) -> int | None:
    """The publication that wrote the newest version since `kept`: published at that
    version's instant (a writer records its versions at its write's instant)."""
    instants = []
    for versions, before, newest_id in (
        (PriceRuleVersionRow, kept.rule_version, now.rule_version),
        (PromotionVersionRow, kept.promotion_version, now.promotion_version),
    ):
        if newest_id > before:
            instants.append(
                session.scalar(select(versions.recorded_at).where(versions.id == newest_id))
            )
    newest = max((at for at in instants if at is not None), default=None)
    if newest is None:
        return None
    return session.scalar(
        select(func.max(PublicationRow.id)).where(
            PublicationRow.status == "published",
            PublicationRow.published_at == newest,
            PublicationRow.kind != "scheduled",
        )
    )


def shelves_seen(due: Mapping[str, Set[tuple[str, ...]]]) -> dict[str, str]:
    """Per store, a digest of what the labels a file reaches there will show
    (`esl.pipeline.planning.contents_due`): equal digests, equal shelves."""
    return {
        store: hashlib.sha256(
            "\n".join(sorted("|".join(keys) for keys in due[store])).encode()
        ).hexdigest()
        for store in sorted(due)
    }


def check_shelves_unchanged(kept: Mapping[str, str] | None, now: Mapping[str, str]) -> None:
    """InvalidItemError when what the file does to the shelves (`now`, computed in the
    publish's transaction) differs from its preview's (`kept`): a store moved to another
    zone, a product to another category or history imported since would put on a shelf
    what nobody previewed. None (kept before migration 0045) is refused alike."""
    if kept is None:
        raise InvalidItemError(
            "this preview does not tell what it showed on the shelves (it was kept before "
            "an upgrade): preview the file again",
            field="upload",
        )
    stores = sorted(
        store for store in kept.keys() | now.keys() if kept.get(store) != now.get(store)
    )
    if not stores:
        return
    named = ", ".join(stores[:SHELVES_NAMED])
    more = f" and {len(stores) - SHELVES_NAMED} more" if len(stores) > SHELVES_NAMED else ""
    raise InvalidItemError(
        f"what this file puts on the shelves of {named}{more} changed since your preview (a "
        "store moved to another zone, a product to another category, or price history was "
        "imported): preview the file again",
        field="upload",
    )


def keep_upload(
    session: Session,
    *,
    console_session_id: int,
    kind: str,
    filename: str,
    content: bytes,
    seen: PricesSeen,
    shelves: Mapping[str, str],
    now: datetime,
) -> ConsoleUploadRow:
    """Store a previewed file, with the prices its preview was drawn with and what it
    showed the file doing to the shelves (`shelves_seen`); it names itself by `id` and
    `digest`."""
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
        rule_version_seen=seen.rule_version,
        promotion_version_seen=seen.promotion_version,
        shelves_seen=dict(shelves),
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
