"""`import_file`: one CSV file of a named kind, as `esl import KIND` and POST /imports/KIND
both load it."""

from __future__ import annotations

from functools import partial
from typing import IO, Literal, Protocol

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


class _Importer(Protocol):
    """What every kind's importer takes (`import_prices` takes `record_ledger` besides)."""

    def __call__(
        self,
        session: Session,
        source: IO[str] | str,
        *,
        currency: str,
        imported_by: str,
        now: WriteClock,
        title: str,
        time_zone: str | None,
    ) -> ImportReport: ...


# Each kind's importer, and the title of the publication its file records when the caller
# names none.
_IMPORTERS: dict[ImportKind, tuple[_Importer, str]] = {
    "prices": (import_prices, "price file"),
    "promotions": (import_promotions, "promotion file"),
    "products": (import_products, "product file"),
    "stores": (import_stores, "store file"),
    "history": (import_history, "history file"),
}


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
    when it changes something (None: the kind's, "price file" and so on),
    `record_ledger` applies to prices. `time_zone` is the chain's
    (`Settings.installation_time_zone`): a time written without its offset is refused
    with the offset it has there."""
    importer, default_title = _IMPORTERS[kind]
    if kind == "prices":
        importer = partial(import_prices, record_ledger=record_ledger)
    return importer(
        session,
        source,
        currency=currency,
        imported_by=imported_by,
        now=now,
        title=title or default_title,
        time_zone=time_zone,
    )
