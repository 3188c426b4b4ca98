"""The bundled sample catalogue: a small Polish grocery chain, kept as data in catalogue.json.

Instants in the file are offsets from an anchor (day 0, midnight UTC) so the sample is
"current" whenever it is loaded: `load_sample(anchor=...)` places day 0 on the given
date. The ledger is not stored but replayed from the catalogue's own past (60 days), so
prior prices shown next to reductions are computed exactly as in production.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from pricing import (
    Catalogue,
    Channel,
    Money,
    NetUnit,
    PriceLedger,
    PriceRule,
    Product,
    Promotion,
    PromotionKind,
    Store,
)
from pricing.replay import replay_history

__all__ = ["SampleCatalogue", "load_sample", "sample_anchor", "sample_document"]

_OFFSET = re.compile(
    r"^(?P<sign>-)?P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$"
)


@dataclass(frozen=True, slots=True)
class SampleCatalogue:
    catalogue: Catalogue
    ledger: PriceLedger
    anchor: datetime


def sample_anchor(at: datetime) -> datetime:
    """Midnight UTC of `at`'s day: where the sample's day 0 goes by default."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def sample_document() -> dict[str, Any]:
    """The raw JSON document (for seeders that map it themselves)."""
    text = resources.files(__name__).joinpath("catalogue.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _instant(offset: str, anchor: datetime) -> datetime:
    match = _OFFSET.match(offset)
    if match is None or offset in ("P", "-P"):
        raise ValueError(f"not an offset like '-P20D' or 'P4DT6H': {offset!r}")
    delta = timedelta(
        days=int(match["days"] or 0),
        hours=int(match["hours"] or 0),
        minutes=int(match["minutes"] or 0),
    )
    return anchor - delta if match["sign"] else anchor + delta


def _optional_instant(value: str | None, anchor: datetime) -> datetime | None:
    return None if value is None else _instant(value, anchor)


def load_sample(*, anchor: datetime, history_until: datetime | None = None) -> SampleCatalogue:
    """The sample catalogue with day 0 at `anchor`, and its replayed ledger.

    The ledger holds what applied from 60 days before the anchor up to `history_until`
    (default: the anchor), as if every label had been updated on time.
    """
    document = sample_document()
    currency = document["currency"]
    stores = [Store(s["code"], s["name"], s.get("zone")) for s in document["stores"]]
    products = [
        Product(
            sku=p["sku"],
            name=p["name"],
            brand=p["brand"],
            gtin=p["gtin"],
            category=p["category"],
            vat_rate=Decimal(p["vat_rate"]),
            net_content=Decimal(p["net_content"]),
            net_unit=NetUnit.parse(p["net_unit"]),
            perishable=p["perishable"],
            on_sale_since=_instant(p["on_sale_since"], anchor),
            web_url=p.get("web_url"),
            unit_price_per_100=p.get("unit_price_per_100", False),
        )
        for p in document["products"]
    ]
    rules = [
        PriceRule(
            id=r["id"],
            sku=r["sku"],
            amount=Money.of(r["amount"], currency),
            channel=Channel(r["channel"]) if "channel" in r else None,
            zone=r.get("zone"),
            store=r.get("store"),
            valid_from=_optional_instant(r.get("valid_from"), anchor),
            valid_until=_optional_instant(r.get("valid_until"), anchor),
        )
        for r in document["rules"]
    ]
    promotions = [
        Promotion(
            id=p["id"],
            name=p["name"],
            kind=PromotionKind(p["kind"]),
            skus=frozenset(p.get("skus", ())),
            categories=frozenset(p.get("categories", ())),
            channels=frozenset(Channel(c) for c in p.get("channels", ())),
            zones=frozenset(p.get("zones", ())),
            stores=frozenset(p.get("stores", ())),
            valid_from=_optional_instant(p.get("valid_from"), anchor),
            valid_until=_optional_instant(p.get("valid_until"), anchor),
            priority=p.get("priority", 0),
            exclusive=p.get("exclusive", False),
            percent=Decimal(p["percent"]) if "percent" in p else None,
            amount=Money.of(p["amount"], currency) if "amount" in p else None,
            quantity=p.get("quantity"),
            free_quantity=p.get("free_quantity"),
        )
        for p in document["promotions"]
    ]
    catalogue = Catalogue(
        products=products, stores=stores, rules=rules, promotions=promotions, currency=currency
    )
    ledger = PriceLedger()
    replay_history(
        catalogue,
        ledger=ledger,
        since=_instant(document["history_from"], anchor),
        until=history_until or anchor,
        locale=document["locale"],
    )
    return SampleCatalogue(catalogue=catalogue, ledger=ledger, anchor=anchor)
