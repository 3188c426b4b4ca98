"""Export of the stored prices in the import format: export, re-import, nothing changes."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from io import StringIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import PriceRuleRow
from esl.imports.prices import PRICE_COLUMNS

__all__ = ["export_prices"]

BATCH = 5_000


def _instant(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def export_prices(
    session: Session, *, current_at: datetime | None = None, sku: str | None = None
) -> Iterator[str]:
    """CSV text in chunks: the header, then every rule (or those in force at `current_at`)."""
    buffer = StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PRICE_COLUMNS)
    statement = select(PriceRuleRow).order_by(PriceRuleRow.sku, PriceRuleRow.id)
    if sku is not None:
        statement = statement.where(PriceRuleRow.sku == sku)
    if current_at is not None:
        statement = statement.where(
            (PriceRuleRow.valid_from.is_(None)) | (PriceRuleRow.valid_from <= current_at),
            (PriceRuleRow.valid_until.is_(None)) | (PriceRuleRow.valid_until > current_at),
        )
    for count, rule in enumerate(
        session.scalars(statement.execution_options(yield_per=BATCH)), start=1
    ):
        scope = "store" if rule.store else "zone" if rule.zone else "national"
        writer.writerow(
            (
                rule.sku,
                scope,
                rule.channel or "",
                rule.store or rule.zone or "",
                f"{rule.amount}",
                rule.currency,
                _instant(rule.valid_from),
                _instant(rule.valid_until),
            )
        )
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
