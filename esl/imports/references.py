"""The reference data an import file is checked against, read from the database once.

Each set is read the first time a file's rows ask for it, so a price file does not read
the categories a promotion file needs, and validation stays O(rows) with no query per row.
A publication's items, which name a few of a chain's 100,000 SKUs, read only the names
they give (`among`).

`unknown` is the one check of what a promotion or a price names against them, with its
reason ("unknown category(s): ..."): the price, promotion and history files ask it for
the SKUs, stores, zones and categories of each line (`refuse_unknown_on_line`, a bad line
with that reason), and a publication's items
(`esl.services.publication.refuse_unknown_references`) for their SKUs, categories,
zones, stores and the promotions they end when posted, so a
promotion of a category no product has, a price of a store that does not exist or in a
zone no store belongs to, is refused through either door with one reason.

A zone is priced through its stores: one defined (`esl zones put`, PUT /zones) before
any store joins it is stored, but the engine prices no zone without a store (and a store
may not leave a zone its prices would be left in), so a price or promotion naming it is
refused as well ("zone(s) with no store: west") until a store belongs to it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from esl.db.models import ChannelRow, ProductRow, PromotionRow, StoreRow, ZoneRow
from esl.db.repositories.chunks import in_chunks
from esl.imports.csv_fields import BadRowError

__all__ = ["ImportReferences", "ReferenceKind", "UnknownReferences"]

ReferenceKind = Literal["sku", "category", "channel", "zone", "store", "promotion"]
# The names a refusal lists; how many there are is in `UnknownReferences.names`.
LISTED_NAMES = 5
# The attribute holding the stored names of each kind.
_NAMES_OF: dict[ReferenceKind, str] = {
    "sku": "skus",
    "category": "categories",
    "channel": "channels",
    "zone": "zones",
    "store": "stores",
    "promotion": "promotions",
}


@dataclass(frozen=True, slots=True)
class UnknownReferences:
    """Names of `kind` that nothing stored has, sorted; `without_store`: zones that are
    stored but no store belongs to, which nothing can be priced in."""

    kind: ReferenceKind
    names: list[str]
    without_store: bool = False

    @property
    def reason(self) -> str:
        """`unknown category(s): bakery, dary` (`zone(s) with no store: west`), the first
        few."""
        listed = ", ".join(self.names[:LISTED_NAMES])
        if self.without_store:
            return f"{self.kind}(s) with no store: {listed}"
        return f"unknown {self.kind}(s): {listed}"


class ImportReferences:
    """Known SKUs, categories, stores, zones, sales channels and promotions; with `among`,
    of each kind only those of the names given that are stored (none of a kind not
    given)."""

    def __init__(
        self, session: Session, *, among: Mapping[ReferenceKind, Iterable[str]] | None = None
    ) -> None:
        self._session = session
        self._among = None if among is None else {k: sorted(set(v)) for k, v in among.items()}

    def _read(
        self,
        kind: ReferenceKind,
        statement: Select[Any],
        column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
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
        known: set[str] = getattr(self, _NAMES_OF[kind])
        return known

    def unknown(self, kind: ReferenceKind, names: Iterable[str]) -> UnknownReferences | None:
        """Those of `names` that name nothing stored of `kind`, or None when all do (none
        given: nothing is read); of zones all stored, those no store belongs to
        (`without_store`), which a price or promotion cannot name. Asked once for each
        line of a file of 100,000, so the usual answer, all known, is a subset test."""
        given = set(names)
        if not given:
            return None
        known = self.known(kind)
        if not given <= known:
            return UnknownReferences(kind, sorted(given - known))
        if kind == "zone" and not given <= self.zones_with_stores:
            storeless = sorted(given - self.zones_with_stores)
            return UnknownReferences(kind, storeless, without_store=True)
        return None

    def refuse_unknown_on_line(self, kind: ReferenceKind, names: Iterable[str]) -> None:
        """A file's line naming what `unknown` finds is a bad line (`BadRowError`) with
        its reason, the one a publication's item naming it is refused with."""
        if unknown := self.unknown(kind, names):
            raise BadRowError(unknown.reason)

    def clock_of(self, stores: Collection[str], *, otherwise: str | None) -> str | None:
        """The IANA zone of the clock a line naming `stores` was written on, whose offset
        a time written there without one is told (`esl.local_times`): the store's own
        `time_zone` where it names one store keeping one (a New York store's price in a
        Warsaw chain is read on a New York clock), else `otherwise`, the installation's
        (no store, several, or one dating its labels in the installation's zone)."""
        if len(stores) != 1:
            return otherwise
        (store,) = stores
        return self.store_time_zones.get(store) or otherwise

    @cached_property
    def store_time_zones(self) -> dict[str, str]:
        """The stores keeping a time zone of their own, with it (the others date their
        labels in the installation's)."""
        column = StoreRow.time_zone
        rows = self._session.execute(select(StoreRow.code, column).where(column.is_not(None)))
        return {code: zone for code, zone in rows if zone is not None}

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
        column = StoreRow.zone
        statement = select(column).where(column.is_not(None)).distinct()
        return self._read("zone", statement, column)

    @cached_property
    def channels(self) -> set[str]:
        return self._read("channel", select(ChannelRow.code), ChannelRow.code)

    @cached_property
    def promotions(self) -> set[str]:
        """Ids of stored promotions (running, ahead or ended)."""
        return self._read("promotion", select(PromotionRow.id), PromotionRow.id)
