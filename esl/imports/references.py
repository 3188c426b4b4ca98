"""The reference data an import file is checked against, read from the database once.

Each set is read the first time a file's rows ask for it, so a price file does not read
the categories a promotion file needs, and validation stays O(rows) with no query per row.

`unknown` is the one check of a promotion's targets against them, with its reason
("unknown category(s): ..."): the promotion file asks it for each line, and a
publication's `upsert_promotion` items (`esl.services.publication`) for their categories,
so a promotion of a category no product has is refused through either door.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import ChannelRow, ProductRow, StoreRow, ZoneRow

__all__ = ["ImportReferences", "ReferenceKind", "UnknownReferences"]

ReferenceKind = Literal["sku", "category", "channel", "zone", "store"]
# The names a refusal lists; how many there are is in `UnknownReferences.names`.
LISTED_NAMES = 5


@dataclass(frozen=True, slots=True)
class UnknownReferences:
    """Names of `kind` that nothing stored has, sorted."""

    kind: ReferenceKind
    names: list[str]

    @property
    def reason(self) -> str:
        """`unknown category(s): bakery, dary`, the first few."""
        return f"unknown {self.kind}(s): {', '.join(self.names[:LISTED_NAMES])}"


class ImportReferences:
    """Known SKUs, categories, stores, zones and sales channels."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def known(self, kind: ReferenceKind) -> set[str]:
        """The stored names of `kind` (a category: one some product has)."""
        sets = {
            "sku": lambda: self.skus,
            "category": lambda: self.categories,
            "channel": lambda: self.channels,
            "zone": lambda: self.zones,
            "store": lambda: self.stores,
        }
        return sets[kind]()

    def unknown(self, kind: ReferenceKind, names: Iterable[str]) -> UnknownReferences | None:
        """Those of `names` that name nothing stored of `kind`, or None when all do (none
        given: nothing is read)."""
        given = set(names)
        if not given:
            return None
        missing = sorted(given - self.known(kind))
        return UnknownReferences(kind, missing) if missing else None

    @cached_property
    def skus(self) -> set[str]:
        return set(self._session.scalars(select(ProductRow.sku)))

    @cached_property
    def categories(self) -> set[str]:
        return set(self._session.scalars(select(ProductRow.category).distinct()))

    @cached_property
    def stores(self) -> set[str]:
        return set(self._session.scalars(select(StoreRow.code)))

    @cached_property
    def zones(self) -> set[str]:
        return set(self._session.scalars(select(ZoneRow.code)))

    @cached_property
    def zones_with_stores(self) -> set[str]:
        """Zones some store belongs to: the engine refuses a price for any other zone."""
        return set(
            self._session.scalars(
                select(StoreRow.zone).where(StoreRow.zone.is_not(None)).distinct()
            )
        )

    @cached_property
    def channels(self) -> set[str]:
        return set(self._session.scalars(select(ChannelRow.code)))
