"""`esl import history`: prices that applied before the system was installed, into the ledger.

With them the 30-day prior price is right from the first day. The ledger is append-only,
so a history row may only fill time before the system's own first record of that key,
and an instant already recorded must carry the same price. A store's shelf price imported
from before the store's recorded opening proves it sold then: its opening moves back to
its earliest one (`open_since_history`), so its reductions keep their 30-day low; a
product's price from before its `on_sale_since` moves that back the same way
(`on_sale_since_history`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import LedgerEntryRow, core_table
from esl.imports.csv_fields import (
    BadRowError,
    CsvFile,
    CsvRow,
    check_width,
    parse_currency,
    parse_instant,
    parse_money_amount,
    parse_word,
)
from esl.imports.references import ImportReferences
from esl.imports.report import ImportReport
from esl.planning_queue import record_published_change, shelves_in_store
from esl.services.ledger_instants import WriteClock, begin_price_write
from esl.services.products import on_sale_since_history
from esl.services.stores import open_since_history
from pricing.products import Channel

__all__ = ["HISTORY_COLUMNS", "import_history"]

HISTORY_COLUMNS = (
    "sku",
    "channel",
    "store",
    "effective_at",
    "price",
    "regular_price",
    "currency",
    "card_price",
)
REQUIRED = ("sku", "channel", "store", "effective_at", "price")
# A `price` of this word: the key was not sold from `effective_at` on (delisted, or its
# price ended without a successor), so the span until its next row charged nothing.
WITHDRAWN = "withdrawn"
HISTORY_FILE = CsvFile(
    "history",
    HISTORY_COLUMNS,
    REQUIRED,
    repeated="same sku, channel, store and instant as line {line}",
)
LedgerKey = tuple[str, str, str]
# A recorded entry's amount, regular amount and card amount.
_Held = tuple[Decimal | None, Decimal | None, Decimal | None]


def _parse(row: CsvRow, refs: ImportReferences, *, currency: str, now: datetime) -> dict[str, Any]:
    check_width(row)
    sku = row.require("sku")
    refs.refuse_unknown_on_line("sku", (sku,))
    channel = parse_word(row.require("channel"), "channel", sorted(refs.channels))
    store = row.require("store")
    refs.refuse_unknown_on_line("store", (store,))
    # Written on the store's clock: a time without an offset is told that one's.
    effective_at = parse_instant(
        row.require("effective_at"),
        "effective_at",
        time_zone=refs.clock_of((store,), otherwise=row.time_zone),
    )
    if effective_at >= now:
        raise BadRowError("effective_at is not in the past: history records what already applied")
    entry = {"sku": sku, "channel": channel, "store": store, "effective_at": effective_at}
    if row.require("price").strip().lower() == WITHDRAWN:
        if row.get("regular_price") or row.get("card_price"):
            raise BadRowError(
                "a withdrawn row has no regular_price and no card_price: nothing was sold"
            )
        if row.get("currency"):
            parse_currency(row, "currency", expected=currency)
        return {**entry, "amount": None, "regular_amount": None, "currency": None,
                "promotion_id": None, "card_amount": None}  # fmt: skip
    amount = parse_money_amount(row, "price", currency=currency)
    regular = (
        parse_money_amount(row, "regular_price", currency=currency)
        if row.get("regular_price")
        else amount
    )
    if regular < amount:
        raise BadRowError(f"regular_price {regular} is below price {amount}")
    # What loyalty-card holders paid, when less than `price`: their card price's 30-day low
    # counts it (docs/pricing.md, loyalty-card prices).
    card = (
        parse_money_amount(row, "card_price", currency=currency) if row.get("card_price") else None
    )
    if card is not None and card >= amount:
        raise BadRowError(
            f"card_price {card} is not below price {amount}: card holders paid the price"
        )
    return {
        **entry,
        "amount": amount,
        "regular_amount": regular,
        "currency": parse_currency(row, "currency", expected=currency),
        "promotion_id": None,
        "card_amount": card,
    }


def import_history(
    session: Session,
    source: IO[str] | str,
    *,
    currency: str,
    imported_by: str,
    now: WriteClock,
    title: str = "history file",
    time_zone: str | None = None,
) -> ImportReport:
    # A price writer like any other (`begin_price_write`): the instant is read once the
    # lock is held (a price recorded by the writer it waited for is past) and never before
    # the newest entry, and the instants already due are recorded first. A price that
    # began before this import, whose entry the controller has not recorded yet (stopped,
    # or between two polls), is then the system's own first record of its key: a history
    # row after it would rewrite what the shelf charged.
    now = begin_price_write(session, now=now, currency=currency)
    refs = ImportReferences(session)
    parsed = HISTORY_FILE.parse_rows(
        source,
        lambda row: _parse(row, refs, currency=currency, now=now),
        key=_entry_key,
        time_zone=time_zone,
    )
    problems = parsed.problems

    table = core_table(LedgerEntryRow)
    recorded: dict[tuple[LedgerKey, datetime], _Held] = {
        ((r.sku, r.channel, r.store), r.effective_at): (r.amount, r.regular_amount, r.card_amount)
        for r in session.execute(
            select(
                table.c.sku,
                table.c.channel,
                table.c.store,
                table.c.effective_at,
                table.c.amount,
                table.c.regular_amount,
                table.c.card_amount,
            )
        )
    }
    system_start: dict[LedgerKey, datetime] = {
        (r.sku, r.channel, r.store): r.first
        for r in session.execute(
            select(
                table.c.sku,
                table.c.channel,
                table.c.store,
                func.min(table.c.effective_at).label("first"),
            )
            .where(table.c.source != "history")
            .group_by(table.c.sku, table.c.channel, table.c.store)
        )
    }
    inserts: list[dict[str, Any]] = []
    for (ledger_key, instant), (line, entry) in parsed.by_key.items():
        stored = recorded.get((ledger_key, instant))
        if stored is not None:
            # The ledger is append-only: a corrected price or regular price (a reduction
            # that was in fact a new regular price) is refused, never reported unchanged.
            if stored != (entry["amount"], entry["regular_amount"], entry["card_amount"]):
                problems.add(line, f"the ledger already holds {_held(*stored)} at this instant")
            continue
        start = system_start.get(ledger_key)
        if start is not None and instant >= start:
            problems.add(
                line, f"the ledger's own records of this key begin {start.isoformat()}: too late"
            )
            continue
        inserts.append({**entry, "source": "history", "publication_id": None, "recorded_at": now})
    problems.raise_if_any()
    publication_id = None
    if inserts:
        # In the same transaction as the prices that prove it: a store opened after its
        # earliest imported shelf price was open since then.
        earliest: dict[str, datetime] = {}
        for entry in inserts:
            # A withdrawal charged nothing: a price proves the shop sold.
            if entry["channel"] == Channel.STORE and entry["amount"] is not None:
                store, at = entry["store"], entry["effective_at"]
                earliest[store] = min(at, earliest.get(store, at))
        opened_earlier = open_since_history(session, earliest, now=now)
        # Likewise a product put on sale after its earliest imported price (any store and
        # channel): the 30-day prior price counts the ledger from its on_sale_since.
        priced: dict[str, list[datetime]] = {}
        for entry in inserts:
            if entry["amount"] is not None:
                priced.setdefault(entry["sku"], []).append(entry["effective_at"])
        on_sale_earlier = on_sale_since_history(session, priced, now=now)
        # An older price can lower the 30-day prior price of a reduction running now, and
        # an earlier opening or on-sale date turn a "lowest since on sale" into a 30-day
        # low, so the labels of the shelves named, of the stores opened earlier and of the
        # products put on sale earlier (as a product change is) are planned again (only
        # changed ones are sent).
        publication_id = record_published_change(
            session,
            kind="import",
            title=title,
            by=imported_by,
            now=now,
            impact={
                "history_inserted": len(inserts),
                "stores_opened_earlier": opened_earlier,
                "products_on_sale_earlier": on_sale_earlier,
            },
            shelves={(e["sku"], e["store"]) for e in inserts if e["channel"] == Channel.STORE}
            | {shelf for code in opened_earlier for shelf in shelves_in_store(session, code)},
            everywhere=on_sale_earlier,
        )
        for entry in inserts:
            entry["publication_id"] = publication_id
    insert_rows(session, table, inserts)
    # Every entry not inserted was refused above or is already recorded as the file says.
    return parsed.report("history", inserted=len(inserts), updated=0, publication_id=publication_id)


def _held(amount: Decimal | None, regular: Decimal | None, card: Decimal | None) -> str:
    if amount is None:
        return "a withdrawal"
    return f"{amount} (regular {regular}{'' if card is None else f', card {card}'})"


def _entry_key(entry: dict[str, Any]) -> tuple[LedgerKey, datetime]:
    return (entry["sku"], entry["channel"], entry["store"]), entry["effective_at"]
