"""The reference data an import file is checked against, read from the database once.

Each set is read the first time a file's rows ask for it, so a price file does not read
the categories a promotion file needs, and validation stays O(rows) with no query per row.
A publication's items, which name a few of a chain's 100,000 SKUs, read only the names
they give (`among`).

`unknown` is the one check of what a promotion or a price names against them, with its
reason ("unknown category(s): ..."): the promotion file asks it for each line, and a
publication's items (`esl.services.publication.refuse_unknown_references`) for their
SKUs, categories, zones and stores when posted, so a promotion of a category no product
has, or a price of a store that does not exist, is refused through either door.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from esl.db.models import ChannelRow, ProductRow, StoreRow, ZoneRow
from esl.db.repositories.chunks import in_chunks

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
    """Known SKUs, categories, stores, zones and sales channels; with `among`, of each
    kind only those of the names given that are stored (none of a kind not given)."""

    def __init__(
        self, session: Session, *, among: Mapping[ReferenceKind, Iterable[str]] | None = None
    ) -> None:
        self._session = session
        self._among = None if among is None else {k: sorted(set(v)) for k, v in among.items()}

    def _read(
        self, kind: ReferenceKind, statement: Select[Any], column: InstrumentedAttribute[str]
    ) -> set[str]:
        """The names `statement` reads; with `among`, only those of them given for `kind`
        (the set difference `unknown` takes is Python's either way)."""
        if self._among is None:
            return set(self._session.scalars(statement))
        found: set[str] = set()
        for chunk in in_chunks(self._among.get(kind, ())):
            found.update(self._session.scalars(statement.where(column.in_(chunk))))
        return found

    def known(self, kind: ReferenceKind) -> set[str]:
        """The stored names of `kind` (a category: one some product has; with `among`,
        those of the names given)."""
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
        return self._read("sku", select(ProductRow.sku), ProductRow.sku)

    @cached_property
    def categories(self) -> set[str]:
        column = ProductRow.category
        return self._read("category", select(column).distinct(), column)

    @cached_property
    def stores(self) -> set[str]:
        return self._read("store", select(StoreRow.code), StoreRow.code)

    @cached_property
    def zones(self) -> set[str]:
        return self._read("zone", select(ZoneRow.code), ZoneRow.code)

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
        return self._read("channel", select(ChannelRow.code), ChannelRow.code)
