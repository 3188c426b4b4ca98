"""`import_file`: one CSV file of a named kind, as `esl import KIND` and POST /imports/KIND
both load it."""

from __future__ import annotations

from typing import IO, Literal

from sqlalchemy.orm import Session

from esl.imports.history import import_history
from esl.imports.prices import import_prices
from esl.imports.products import import_products
from esl.imports.promotions import import_promotions
from esl.imports.report import ImportReport
from esl.imports.stores import import_stores
from esl.services.ledger_instants import WriteClock

__all__ = ["ADMIN_ONLY_KINDS", "ImportKind", "import_file"]

ImportKind = Literal["prices", "promotions", "products", "history", "stores"]
# Stores are reference data an administrator keeps (PUT /stores/{code} is admin's too).
ADMIN_ONLY_KINDS: frozenset[ImportKind] = frozenset({"stores"})


def import_file(
    session: Session,
    kind: ImportKind,
    source: IO[str] | str,
    *,
    currency: str,
    imported_by: str,
    now: WriteClock,
    title: str | None = None,
    record_ledger: bool = True,
    time_zone: str | None = None,
) -> ImportReport:
    """Load `source` as a `kind` file; `title` names the publication the file records
    when it changes something (None: the importer's own default, "price file" and so
    on), `record_ledger` applies to prices. `time_zone` is the chain's
    (`Settings.installation_time_zone`): a time written without its offset is refused
    with the offset it has there."""
    if kind == "prices":
        return import_prices(
            session,
            source,
            currency=currency,
            imported_by=imported_by,
            now=now,
            title=title or "price file",
            record_ledger=record_ledger,
            time_zone=time_zone,
        )
    if kind == "promotions":
        return import_promotions(
            session,
            source,
            currency=currency,
            imported_by=imported_by,
            now=now,
            title=title or "promotion file",
            time_zone=time_zone,
        )
    if kind == "products":
        return import_products(
            session,
            source,
            currency=currency,
            imported_by=imported_by,
            now=now,
            title=title or "product file",
            time_zone=time_zone,
        )
    if kind == "stores":
        return import_stores(
            session,
            source,
            currency=currency,
            imported_by=imported_by,
            now=now,
            title=title or "store file",
            time_zone=time_zone,
        )
    return import_history(
        session,
        source,
        currency=currency,
        imported_by=imported_by,
        now=now,
        title=title or "history file",
        time_zone=time_zone,
    )
