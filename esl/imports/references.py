"""The reference data an import file is checked against, read from the database once.

Each set is read the first time a file's rows ask for it, so a price file does not read
the categories a promotion file needs, and validation stays O(rows) with no query per row.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import ChannelRow, ProductRow, StoreRow, ZoneRow

__all__ = ["ImportReferences"]


class ImportReferences:
    """Known SKUs, categories, stores, zones and sales channels."""

    def __init__(self, session: Session) -> None:
        self._session = session

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
