"""`esl bench pricing`: resolution throughput and change-impact latency of the engine.

Builds a synthetic catalogue shaped like a large grocery chain (by default 100,000 SKUs,
50 stores in 5 price zones, 3 channels, 5 % of SKUs on promotion, channel/zone/store
price overrides and scheduled price changes), a ledger with 40 days of history for every
promoted key, then measures:

- `resolutions_per_s`: single `resolve()` calls per second on one core, over a random
  mix of (SKU, channel, store) keys drawn afresh for the measured pass (not one key
  repeated), best of three passes after one warm-up pass over a different random sample
  (the warm-up's own rate is `cold_resolutions_per_s`), per CPU second of this process
  because the machine may be shared (`resolutions_per_s_wall_clock` beside it);
- `impact_ms`: `change_impact()` for 1,000 changed prices (random existing rules of any
  scope, re-priced) across the 50 stores, with the size of the exact affected set; best
  of three runs, CPU milliseconds (`impact_ms_wall_clock` beside it).
"""

from __future__ import annotations

import gc
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    Money,
    NetUnit,
    PriceKey,
    PriceLedger,
    PriceRule,
    Product,
    Promotion,
    PromotionKind,
    Store,
    change_impact,
    resolve,
)
from pricing.gtin import gtin_with_check_digit

__all__ = ["REQUIRED_KEYS", "SyntheticChain", "build_synthetic_chain", "run"]

REQUIRED_KEYS = (
    "resolutions_per_s",
    "impact_ms",
    "skus",
    "stores",
    "channels",
    "promoted_share",
)

AT = datetime(2026, 6, 15, 12, tzinfo=UTC)
LOCALE = "pl_PL"  # a Polish chain: its prices are in PLN
CHANNELS = tuple(Channel)
ZONES = ("north", "south", "east", "west", "centre")


class SyntheticChain:
    __slots__ = ("catalogue", "ledger", "skus", "stores")

    def __init__(
        self, *, catalogue: Catalogue, ledger: PriceLedger, skus: list[str], stores: list[str]
    ) -> None:
        self.catalogue = catalogue
        self.ledger = ledger
        self.skus = skus
        self.stores = stores


def _pln(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2), "PLN")


def build_synthetic_chain(
    *, skus: int, stores: int, promoted_share: float, seed: int = 7
) -> SyntheticChain:
    """A deterministic chain: same arguments, same catalogue and ledger."""
    rng = random.Random(seed)
    store_list = [Store(f"S{i:03d}", f"Sklep {i}", ZONES[i % len(ZONES)]) for i in range(stores)]
    store_codes = [s.code for s in store_list]
    since = AT - timedelta(days=400)
    units = (NetUnit.G, NetUnit.KG, NetUnit.ML, NetUnit.L, NetUnit.PCS)
    products = []
    rules = []
    promotions = []
    change_at = AT - timedelta(days=3)
    for n in range(skus):
        sku = f"{n:07d}"
        unit = units[n % len(units)]
        products.append(
            Product(
                sku=sku,
                name=f"Produkt {n}",
                brand="Marka",
                gtin=gtin_with_check_digit(f"590{n:09d}"),
                category=f"cat{n % 200}",
                vat_rate=Decimal(5),
                net_content=Decimal(500) if unit in (NetUnit.G, NetUnit.ML) else Decimal(1),
                net_unit=unit,
                perishable=n % 10 == 0,
                on_sale_since=since,
            )
        )
        base = rng.randint(199, 4999)
        if rng.random() < 0.1:  # a scheduled price change: two windows in one scope
            rules.append(
                PriceRule(id=f"{sku}-b0", sku=sku, amount=_pln(base + 50), valid_until=change_at)
            )
            rules.append(
                PriceRule(id=f"{sku}-b1", sku=sku, amount=_pln(base), valid_from=change_at)
            )
        else:
            rules.append(PriceRule(id=f"{sku}-b", sku=sku, amount=_pln(base)))
        if rng.random() < 0.2:
            rules.append(
                PriceRule(id=f"{sku}-w", sku=sku, amount=_pln(base - 10), channel=Channel.WEB)
            )
        if rng.random() < 0.1:
            rules.append(
                PriceRule(id=f"{sku}-a", sku=sku, amount=_pln(base - 20), channel=Channel.APP)
            )
        if rng.random() < 0.05:
            rules.append(
                PriceRule(id=f"{sku}-z", sku=sku, amount=_pln(base + 30), zone=rng.choice(ZONES))
            )
        if rng.random() < 0.02:
            rules.append(
                PriceRule(
                    id=f"{sku}-s", sku=sku, amount=_pln(base + 40), store=rng.choice(store_codes)
                )
            )
        if rng.random() < promoted_share:
            promotions.append(_promotion(rng, sku, n, base, store_codes))
    catalogue = Catalogue(
        products=products, stores=store_list, rules=rules, promotions=promotions, currency="PLN"
    )
    ledger = PriceLedger()
    history_from = AT - timedelta(days=40)
    for promotion in promotions:
        for sku in promotion.skus:
            for channel in CHANNELS:
                for store in store_codes:
                    regular = catalogue.rules_for_channel(sku, channel)[-1].amount
                    ledger.append(
                        LedgerEntry(
                            key=PriceKey(sku, channel, store),
                            effective_from=history_from,
                            price=regular,
                            regular_price=regular,
                        )
                    )
    return SyntheticChain(
        catalogue=catalogue, ledger=ledger, skus=[p.sku for p in products], stores=store_codes
    )


def _promotion(
    rng: random.Random, sku: str, n: int, base: int, store_codes: list[str]
) -> Promotion:
    # Promotional prices sit below the SKU's cheapest rule (app: base - 0.20).
    window = {"valid_from": AT - timedelta(days=2), "valid_until": AT + timedelta(days=5)}
    kind = (
        PromotionKind.PERCENT_OFF,
        PromotionKind.AMOUNT_OFF,
        PromotionKind.MULTI_BUY,
        PromotionKind.BUY_N_GET_M,
        PromotionKind.LOYALTY_PRICE,
    )[n % 5]
    scope: dict[str, frozenset[str]] = {}
    if rng.random() < 0.2:
        scope["zones"] = frozenset({rng.choice(ZONES)})
    elif rng.random() < 0.1:
        scope["stores"] = frozenset(rng.sample(store_codes, 3))
    common: dict[str, Any] = {
        "id": f"P{sku}",
        "name": f"Promocja {n}",
        "skus": frozenset({sku}),
        **window,
        **scope,
    }
    if kind is PromotionKind.PERCENT_OFF:
        return Promotion(kind=kind, percent=Decimal(rng.choice((10, 15, 20, 25, 30))), **common)
    if kind is PromotionKind.AMOUNT_OFF:
        return Promotion(kind=kind, amount=_pln(100), **common)
    if kind is PromotionKind.MULTI_BUY:
        return Promotion(kind=kind, amount=_pln(2 * (base - 30)), quantity=2, **common)
    if kind is PromotionKind.BUY_N_GET_M:
        return Promotion(kind=kind, quantity=2, free_quantity=1, **common)
    return Promotion(kind=kind, amount=_pln(base - 25), **common)


def _random_keys(chain: SyntheticChain, count: int, seed: int) -> list[tuple[str, Channel, str]]:
    rng = random.Random(seed)
    return [
        (rng.choice(chain.skus), rng.choice(CHANNELS), rng.choice(chain.stores))
        for _ in range(count)
    ]


def _resolutions_per_s(
    chain: SyntheticChain, keys: list[tuple[str, Channel, str]]
) -> tuple[float, float]:
    """(per CPU second of this process, per wall-clock second)."""
    catalogue, ledger, at = chain.catalogue, chain.ledger, AT
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for sku, channel, store in keys:
        resolve(
            catalogue, sku=sku, channel=channel, store=store, at=at, ledger=ledger, locale=LOCALE
        )
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
    return len(keys) / cpu, len(keys) / wall


def _repriced(chain: SyntheticChain, count: int) -> list[PriceRule]:
    """`count` existing rules of any scope, each 10 grosz dearer.

    A rise keeps every promotion below its regular price, so the change is always valid.
    """
    rng = random.Random(11)
    rules = sorted(chain.catalogue.rules.values(), key=lambda r: r.id)
    return [
        PriceRule(
            id=rule.id,
            sku=rule.sku,
            amount=Money(rule.amount.amount + Decimal("0.10"), "PLN"),
            channel=rule.channel,
            zone=rule.zone,
            store=rule.store,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
        )
        for rule in rng.sample(rules, count)
    ]


def run(*, smoke: bool) -> dict[str, object]:
    skus = 2_000 if smoke else 100_000
    stores = 50
    promoted_share = 0.05
    samples = 5_000 if smoke else 500_000
    changes = 100 if smoke else 1_000
    started = time.perf_counter()
    chain = build_synthetic_chain(skus=skus, stores=stores, promoted_share=promoted_share)
    build_s = time.perf_counter() - started

    cold = _resolutions_per_s(chain, _random_keys(chain, samples, seed=1))
    # The catalogue lives as long as the process: take its millions of objects out of
    # the cyclic GC's sight, as a long-running controller does after loading one.
    gc.freeze()
    try:
        passes = [
            _resolutions_per_s(chain, _random_keys(chain, samples, seed=s)) for s in (2, 3, 4)
        ]
        warm = max(passes, key=lambda rates: rates[0])
        changed = _repriced(chain, changes)
        started = time.perf_counter()
        after = chain.catalogue.with_changes(rules=changed)
        apply_ms = (time.perf_counter() - started) * 1000
        impact_runs = []  # (CPU ms, wall-clock ms)
        for _ in range(3):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            affected = change_impact(
                chain.catalogue, after, at=AT, ledger=chain.ledger, locale=LOCALE
            )
            impact_runs.append(
                (
                    (time.process_time() - cpu_started) * 1000,
                    (time.perf_counter() - wall_started) * 1000,
                )
            )
    finally:
        gc.unfreeze()
    unfrozen = _resolutions_per_s(chain, _random_keys(chain, samples, seed=4))
    return {
        "resolutions_per_s": round(warm[0]),
        "resolutions_per_s_wall_clock": round(warm[1]),
        "resolutions_per_s_passes": [round(cpu) for cpu, _ in passes],
        "cold_resolutions_per_s": round(cold[0]),
        "resolutions_per_s_without_gc_freeze": round(unfrozen[0]),
        "impact_ms": round(min(cpu for cpu, _ in impact_runs), 1),
        "impact_ms_runs": [round(cpu, 1) for cpu, _ in impact_runs],
        "impact_ms_wall_clock": round(min(wall for _, wall in impact_runs), 1),
        "impact_changed_prices": len(changed),
        "impact_affected_keys": len(affected),
        "apply_changes_ms": round(apply_ms, 1),
        "build_s": round(build_s, 2),
        "skus": skus,
        "stores": stores,
        "channels": len(CHANNELS),
        "promoted_share": promoted_share,
        "rules": len(chain.catalogue.rules),
        "ledger_entries": len(chain.ledger),
        "resolution_samples": samples,
        "target_resolutions_per_s": 200_000,
        "target_impact_ms": 200,
    }
