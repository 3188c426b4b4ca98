"""The ledger at the instants that arrive by themselves: a promotion or price rule that
starts or ends later than the publication (or import) that wrote it.

Such an instant is queued as a publication of kind `scheduled` (`esl.planning_queue`),
naming the SKUs whose prices it may change. When it arrives, the prices that apply then
are recorded with `effective_at` = the instant, not the moment somebody noticed: the
controller looks for them every 5 s, and every price writer (publication, price,
promotion or history file, store or product move) records the instants already due
before it writes, so the catalogue an instant is resolved in is the one that stood at
that instant.

Exactly once: an instant's entries and its `ledger_instants` row are written in one
transaction, under the price writers' lock, and an instant with a row is never recorded
again (several workers, a controller catching up after being down).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from esl.db.locks import lock_price_writes
from esl.db.models import (
    LedgerEntryRow,
    LedgerInstantRow,
    PlanningQueueRow,
    PriceRuleVersionRow,
    PromotionVersionRow,
    PublicationRow,
)
from esl.db.repositories.catalogue import load_catalogue_slice
from esl.planning_queue import queued_shelves
from esl.services.ledger_recording import record_applied_prices
from pricing.ledger import PriceKey
from pricing.products import Channel

__all__ = [
    "WriteClock",
    "begin_price_write",
    "due_instants",
    "read_instant",
    "record_due_instants",
    "wall_clock",
]

# What a price writer is given to tell the instant of its write: a clock, read once the
# price writers' lock is held, or a fixed instant (a test, a replay of a file).
WriteClock = Callable[[], datetime] | datetime

SCHEDULED_SOURCE = "scheduled"


def due_instants(
    session: Session, *, now: datetime, including_now: bool = True
) -> list[tuple[int, datetime]]:
    """Scheduled publications, and publications published ahead of their instant, whose
    instant is at or before `now` (strictly before without `including_now`) and whose
    prices the ledger has not recorded yet, earliest first.

    A publication published ahead wrote its entries then, with the catalogue of then; a
    promotion published since and starting earlier changes what applies at its instant
    (20 % off the new list price, not the list price), so its instant is recorded again
    when it arrives and `record_applied_prices` corrects what was written ahead."""
    return [
        (publication_id, at)
        for publication_id, at in session.execute(
            select(PlanningQueueRow.publication_id, PlanningQueueRow.effective_at)
            .join(PublicationRow, PublicationRow.id == PlanningQueueRow.publication_id)
            .outerjoin(
                LedgerInstantRow,
                LedgerInstantRow.publication_id == PlanningQueueRow.publication_id,
            )
            .where(
                or_(
                    PublicationRow.kind == "scheduled",
                    PlanningQueueRow.effective_at > PublicationRow.published_at,
                ),
                PlanningQueueRow.effective_at <= now
                if including_now
                else PlanningQueueRow.effective_at < now,
                LedgerInstantRow.publication_id.is_(None),
            )
            .order_by(PlanningQueueRow.effective_at, PlanningQueueRow.publication_id)
        )
    ]


def record_due_instants(
    session: Session, *, now: datetime, currency: str, including_now: bool = True
) -> int:
    """Record the applied prices of every due instant, in the caller's transaction; the
    number of entries written. Takes the price writers' lock only when one is due.

    A price writer passes `including_now=False`: an instant at its very own instant is
    left to the controller, which finds the writer's entries there and agrees with them
    (a key the writer changed resolves alike in the catalogue it leaves), where recording
    it first would make the writer's change a second entry at one instant, refused."""
    if not due_instants(session, now=now, including_now=including_now):
        return 0
    lock_price_writes(session)
    written = 0
    # Read again under the lock: another worker may have recorded them meanwhile.
    for publication_id, at in due_instants(session, now=now, including_now=including_now):
        written += _record_instant(session, publication_id, at=at, now=now, currency=currency)
    return written


def begin_price_write(session: Session, *, now: WriteClock, currency: str) -> datetime:
    """What every price writer (publication, price, promotion or history file, store or
    product move) does first, in its own transaction: take the price writers' lock, read
    the instant of its write, and record the instants already due with the prices that
    stood then, before its change rewrites them; the instant, which the whole write uses
    (validation, the ledger, `published_at`).

    Read after the lock, not before: a writer that waited for another must not write
    before it. At an instant read before waiting, the other writer's entries (from a later
    instant) would look written ahead of this change, be planned again and deleted: a
    price that applied would vanish from the ledger. And never before the newest entry
    recorded (a clock behind another worker's, a fixed instant): such an instant is
    lifted to it, where a second entry of a key at one instant is refused as ever. Nor
    before the newest rule or promotion version: a price file whose rows all start later
    records versions and no entry, and a version recorded before it would be read as
    superseded by it at every past instant after both (`rules_as_at`)."""
    lock_price_writes(session)
    instant = read_instant(now)
    for recorded_at in (
        LedgerEntryRow.recorded_at,
        PriceRuleVersionRow.recorded_at,
        PromotionVersionRow.recorded_at,
    ):
        newest = session.scalar(select(func.max(recorded_at)))
        if newest is not None and instant < newest:
            instant = newest
    record_due_instants(session, now=instant, currency=currency, including_now=False)
    return instant


def wall_clock() -> datetime:
    """The price writers' clock outside tests (the command line's)."""
    return datetime.now(UTC)


def read_instant(now: WriteClock) -> datetime:
    """The instant `now` tells: a clock read at this call, or the fixed instant given."""
    return now if isinstance(now, datetime) else now()


def _record_instant(
    session: Session, publication_id: int, *, at: datetime, now: datetime, currency: str
) -> int:
    shelves, everywhere = queued_shelves(session, publication_id)
    catalogue = load_catalogue_slice(
        session, {sku for sku, _ in shelves} | everywhere, currency=currency
    )
    # Every channel: the web and app listings have a price history too.
    keys = [
        PriceKey(sku, channel, store)
        for sku in everywhere
        for store in catalogue.stores
        for channel in Channel
    ]
    keys += [
        PriceKey(sku, channel, store)
        for sku, store in shelves
        if sku not in everywhere
        for channel in Channel
    ]
    entries = record_applied_prices(
        session,
        catalogue,
        keys,
        at=at,
        source=SCHEDULED_SOURCE,
        publication_id=publication_id,
        now=now,
    )
    session.add(
        LedgerInstantRow(
            publication_id=publication_id, effective_at=at, recorded_at=now, entries=len(entries)
        )
    )
    session.flush()
    return len(entries)
