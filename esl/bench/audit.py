"""`esl bench audit`: gather and classify every label of a chain, as `esl audit` does.

Full size: 100,000 labels across 50 stores (2,000 products, each on one label per store),
in a SQLite file in a temporary directory, seeded with Core bulk inserts: products, a
national rule per product, zone prices for a tenth of them (5 zones), store-only
promotions for a twentieth, a ledger entry per (product, channel, store) for the store
and web channels, label states and recorded contents as the pipeline leaves them. The mix
of labels: 2 % stale (an open frame, the old content shown), 1 % offline, 1 % low
battery, 0.5 % unconfirmed, 0.2 % showing an unknown image, the rest matching.

`labels_audited_per_s` = labels / `seconds`, where `seconds` is one `gather_audit` over
every store in a fresh session: its queries, loading the catalogue and ledger, resolving
store and web prices, classifying, the prior-price check and the store summaries.

Then the history a past audit reads is added (`_seed_history`, after the live audit so
its figure stays comparable with earlier runs): per label `HISTORY_FRAMES` frames sent
and acknowledged since START (8 at full size: 800,000 outbox rows), each followed by a
check-in, the newest of a fiftieth of them timed to flip by itself before `PAST`, and a
frame sent unanswered at `PAST` to another fiftieth. `past_audit_store_s` is one
`gather_audit` of one store (2,000 labels) at `PAST`, `past_audit_chain_s` of every store:
a one-store past audit should cost its store's share, whatever the chain and its history.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.audit.gather import gather_audit
from esl.db.audit_models import LabelContentRow
from esl.db.bulk import insert_rows
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.mapping import (
    ledger_entry_values,
    price_rule_values,
    product_values,
    promotion_target_values,
    promotion_values,
)
from esl.db.models import (
    GatewayRow,
    LabelAcknowledgementRow,
    LabelBindingRow,
    LabelModelRow,
    LabelRow,
    LabelStateRow,
    LedgerEntryRow,
    OutboxRow,
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    StoreRow,
    ZoneRow,
    core_table,
)
from esl.services.rule_versions import record_promotion_versions, record_rule_versions
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
    ResolvedPrice,
    Store,
    card_price_of,
    resolve_key,
)
from pricing.gtin import gtin_with_check_digit

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = (
    "labels",
    "stores",
    "labels_audited_per_s",
    "past_audit_store_s",
    "past_audit_chain_s",
)

START = datetime(2026, 1, 1, tzinfo=UTC)
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PAST = AT - timedelta(days=1)  # the past audits' instant, inside the seeded history
LOCALE = "pl_PL"  # a Polish chain: its prices are in PLN
ZONES = 5
HISTORY_FRAMES = 8  # per label, in the past audits' history


def _hash(*parts: object) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def _catalogue(skus: int, stores: int) -> Catalogue:
    zones = min(ZONES, stores)
    products = [
        Product(
            sku=f"P{n:06d}",
            name=f"Product {n}",
            brand="Bench",
            gtin=gtin_with_check_digit(f"590{n:09d}"),
            category=f"cat{n % 40}",
            vat_rate=Decimal(23),
            net_content=Decimal(500),
            net_unit=NetUnit.G,
            perishable=n % 17 == 0,
            on_sale_since=START,
            web_url=None,
        )
        for n in range(skus)
    ]
    store_list = [
        Store(code=f"S{n:03d}", name=f"Store {n}", zone=f"Z{n % zones}") for n in range(stores)
    ]
    rules = [
        PriceRule(
            id=f"{p.sku}#base",
            sku=p.sku,
            amount=Money.of(f"{3 + (n % 97)}.99", "PLN"),
            valid_from=START,
        )
        for n, p in enumerate(products)
    ]
    rules += [
        PriceRule(
            id=f"{p.sku}#zone{z}",
            sku=p.sku,
            amount=Money.of(f"{3 + (n % 97)}.49", "PLN"),
            zone=f"Z{z}",
            channel=Channel.STORE,
            valid_from=START,
        )
        for n, p in enumerate(products)
        if n % 10 == 0
        for z in range(zones)
    ]
    promotions = [
        Promotion(
            id=f"PROMO{n}",
            name=f"Promo {n}",
            kind=PromotionKind.PERCENT_OFF,
            skus=frozenset({p.sku}),
            channels=frozenset({Channel.STORE}),
            valid_from=AT - timedelta(days=2),
            percent=Decimal(15),
        )
        for n, p in enumerate(products)
        if n % 20 == 7
    ]
    return Catalogue(
        products=products, stores=store_list, rules=rules, promotions=promotions, currency="PLN"
    )


def _seed(session: Session, *, skus: int, stores: int) -> int:
    catalogue = _catalogue(skus, stores)
    insert_rows(
        session,
        core_table(ZoneRow),
        [{"code": f"Z{z}", "name": f"Zone {z}"} for z in range(min(ZONES, stores))],
    )
    insert_rows(
        session,
        core_table(StoreRow),
        [{"code": s.code, "name": s.name, "zone": s.zone} for s in catalogue.stores.values()],
    )
    insert_rows(
        session,
        core_table(ProductRow),
        [product_values(p) for p in catalogue.products.values()],
    )
    rules = [price_rule_values(r, None) for r in catalogue.rules.values()]
    insert_rows(session, core_table(PriceRuleRow), rules)
    promotions = list(catalogue.promotions.values())
    insert_rows(session, core_table(PromotionRow), [promotion_values(p, None) for p in promotions])
    insert_rows(
        session,
        core_table(PromotionTargetRow),
        [t for p in promotions for t in promotion_target_values(p)],
    )
    # As publications leave them: recorded since START (a past audit prices with them).
    record_rule_versions(session, rules, recorded_at=START)
    record_promotion_versions(session, promotions, recorded_at=START)

    # The ledger as publications leave it: regular prices since START, reductions since
    # their promotion started; resolved with the engine so prior prices are right.
    ledger = PriceLedger()
    ledger_rows: list[dict[str, Any]] = []
    due: dict[PriceKey, ResolvedPrice] = {}
    promoted = {sku for p in promotions for sku in p.skus}
    for store in catalogue.stores:
        for sku in catalogue.products:
            for channel in (Channel.STORE, Channel.WEB):
                key = PriceKey(sku, channel, store)
                instants = [START]
                if sku in promoted and channel is Channel.STORE:
                    instants.append(AT - timedelta(days=2))
                for instant in instants:
                    resolved = resolve_key(catalogue, key, at=instant, ledger=ledger, locale=LOCALE)
                    entry = LedgerEntry(
                        key=key,
                        effective_from=instant,
                        price=resolved.price,
                        regular_price=resolved.regular_price,
                        promotion_id=resolved.promotion.id
                        if resolved.promotion is not None and resolved.is_reduced
                        else None,
                        card_price=card_price_of(resolved),
                    )
                    ledger.append(entry)
                    ledger_rows.append(
                        ledger_entry_values(
                            entry, source="history", publication_id=None, recorded_at=instant
                        )
                    )
                if channel is Channel.STORE:
                    due[key] = resolve_key(catalogue, key, at=AT, ledger=ledger, locale=LOCALE)
    insert_rows(session, core_table(LedgerEntryRow), ledger_rows)

    # One content per distinct shelf price (images are shared between stores), plus the
    # old price each stale label still shows.
    contents: dict[str, dict[str, Any]] = {}

    def content_of(resolved: ResolvedPrice, *, old: bool = False) -> str:
        # The old image: the regular price before a rise of 0.50, no reduction announced.
        price = resolved.regular_price.amount - Decimal("0.50") if old else resolved.price.amount
        fingerprint = resolved.fingerprint if not old else _hash("old", resolved.fingerprint)
        digest = _hash(resolved.sku, fingerprint)
        if digest not in contents:
            contents[digest] = {
                "content_hash": digest,
                # What the audit reads of the JSON: the product, and the rule its prior-price
                # line names (a perishable product's is the price before its first reduction).
                "content": {
                    "product": {"sku": resolved.sku},
                    "price": {
                        "prior_price_basis": resolved.prior_price_basis.value
                        if resolved.prior_price_basis and not old
                        else None
                    },
                },
                "sku": resolved.sku,
                "store": resolved.store,
                "currency": "PLN",
                "price": price,
                "regular_price": price if old else resolved.regular_price.amount,
                "prior_price": resolved.prior_price.amount
                if resolved.prior_price and not old
                else None,
                "promotion_id": resolved.promotion.id if resolved.promotion else None,
                "promotion_kind": resolved.promotion.kind.value if resolved.promotion else None,
                "price_rule_id": resolved.price_rule_id,
                "price_scope": resolved.price_scope.value,
                "price_fingerprint": fingerprint,
                "resolved_at": AT,
                "recorded_at": AT,
            }
        return digest

    insert_rows(
        session,
        core_table(LabelModelRow),
        [{"id": "2.9-bwr", "width": 296, "height": 128, "accent_colour": "red"}],
    )
    insert_rows(
        session,
        core_table(GatewayRow),
        [{"id": f"gw-{s}", "store": s, "transport": "mqtt", "name": s} for s in catalogue.stores],
    )
    labels: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    for key, resolved in due.items():
        n = len(labels)
        label_id = f"{key.store}-{key.sku}"
        labels.append(
            {
                "id": label_id,
                "store": key.store,
                "model": "2.9-bwr",
                "gateway": f"gw-{key.store}",
                "secret_key": bytes(16),
                "registered_at": START,
            }
        )
        bindings.append(
            {
                "label_id": label_id,
                "sku": key.sku,
                "template": "standard",
                "bound_at": START,
                "bound_by": "bench",
                "unbound_at": None,
            }
        )
        current = content_of(resolved)
        shown: str | None = current
        seen: datetime | None = AT - timedelta(minutes=3)
        battery = 2_900
        slot = n % 1000
        if slot < 20:  # stale: the old image, a frame still open
            shown = content_of(resolved, old=True)
            outbox.append(
                {
                    "label_id": label_id,
                    "store": key.store,
                    "gateway": f"gw-{key.store}",
                    "sequence": 2,
                    "content_hash": current,
                    "base_hash": None,
                    "display_at": None,
                    "payload": b"x",
                    "status": "sent",
                    "attempts": 2,
                    "not_before": AT - timedelta(hours=1),
                    "sent_at": AT - timedelta(minutes=10),
                    "parked_reason": None,
                    "created_at": AT - timedelta(hours=1),
                    "settled_at": None,
                }
            )
        elif slot < 30:
            seen = AT - timedelta(hours=5)
        elif slot < 40:
            battery = 2_250
        elif slot < 45:
            shown, seen = None, None
        elif slot < 47:
            shown = _hash("forged", label_id)
        states.append(
            {
                "label_id": label_id,
                "last_sequence": 2,
                # The newest sequence it answered: the stale ones' frame 2 is unanswered,
                # the others took it (the audit weighs frames signed after this one).
                "claim_sequence": 1 if slot < 20 else (0 if seen is None else 2),
                "binding_id": None,
                "desired_key": None,
                "desired_hash": current,
                "desired_display_at": None,
                "confirmed_hash": shown,
                "displayed_hash": shown,
                "can_schedule": True,
                "battery_mv": battery,
                "rssi_dbm": -60,
                "temperature_tenths_c": 210,
                "firmware": "1.0",
                "state": 2,
                "last_seen": seen,
            }
        )
    insert_rows(session, core_table(LabelRow), labels)
    insert_rows(session, core_table(LabelBindingRow), bindings)
    insert_rows(session, core_table(LabelStateRow), states)
    insert_rows(session, core_table(OutboxRow), outbox)
    insert_rows(session, core_table(LabelContentRow), list(contents.values()))
    return len(labels)


def _seed_history(session: Session, *, frames: int) -> int:
    """What the pipeline keeps of each label's past: `frames` image frames sent and
    acknowledged between START and 90 minutes before `PAST` (the newest one is the image
    it shows now), each but the newest followed by a check-in an hour later, and a
    check-in 10 minutes before `PAST`. For one label in 50 the newest frame was timed to
    an hour before `PAST` (acknowledged ahead, flipped by itself), and one label in 50 was
    sent a frame 20 minutes before `PAST`, unanswered then (superseded since).
    Seeded after the live audit (its sequences are not the live state's). Returns the
    outbox rows added."""
    states = session.execute(
        select(LabelRow.id, LabelRow.store, LabelRow.gateway, LabelStateRow.desired_hash)
        .join(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
        .order_by(LabelRow.id)
    ).all()
    step = (PAST - timedelta(minutes=90) - START) / frames
    outbox: list[dict[str, Any]] = []
    acks: list[dict[str, Any]] = []

    def frame(
        label_id: str,
        store: str,
        gateway: str,
        sequence: int,
        digest: str,
        sent: datetime,
        *,
        settled: datetime,
        status: str = "acked",
        display_at: datetime | None = None,
    ) -> None:
        outbox.append(
            {
                "label_id": label_id,
                "store": store,
                "gateway": gateway,
                "sequence": sequence,
                "content_hash": digest,
                "base_hash": None,
                "display_at": display_at,
                "payload": b"x",
                "status": status,
                "attempts": 1,
                "not_before": sent,
                "sent_at": sent,
                "first_sent_at": sent,
                "parked_reason": None,
                "created_at": sent,
                "settled_at": settled,
            }
        )

    def word(label_id: str, sequence: int, shown: str, at: datetime, acked: str | None) -> None:
        acks.append(
            {
                "label_id": label_id,
                "sequence": sequence,
                "reason": "SUCCESS",
                "displayed_hash": shown,
                "acked_hash": acked,
                "at": at,
                "panel": "reported",
                "heard": True,
            }
        )

    for n, (label_id, store, gateway, current) in enumerate(states):
        # Every seeded label has a gateway and an image planned.
        assert gateway is not None
        assert current is not None
        shown = _hash("first", label_id)
        for sequence in range(1, frames + 1):
            sent = START + step * sequence
            if sequence < frames:
                digest = _hash("history", label_id, sequence)
                frame(label_id, store, gateway, sequence, digest, sent, settled=sent)
                word(label_id, sequence, digest, sent + timedelta(seconds=5), digest)
                word(label_id, sequence, digest, sent + timedelta(hours=1), None)
                shown = digest
            elif n % 50 == 0:
                # Timed: acknowledged ahead, flipped at its instant, reported since.
                flips = PAST - timedelta(hours=1)
                frame(
                    label_id,
                    store,
                    gateway,
                    sequence,
                    current,
                    sent,
                    settled=sent,
                    display_at=flips,
                )
                word(label_id, sequence, shown, sent + timedelta(seconds=5), current)
            else:
                frame(label_id, store, gateway, sequence, current, sent, settled=sent)
                word(label_id, sequence, current, sent + timedelta(seconds=5), current)
        # Its last check-in, 10 minutes before the instant: heard, showing the image.
        word(label_id, frames, current, PAST - timedelta(minutes=10), None)
        if n % 50 == 1:
            # Sent 20 minutes before the instant, unanswered then, superseded since.
            frame(
                label_id,
                store,
                gateway,
                frames + 1,
                _hash("unanswered", label_id),
                PAST - timedelta(minutes=20),
                settled=AT - timedelta(hours=3),
                status="superseded",
            )
    insert_rows(session, core_table(OutboxRow), outbox)
    insert_rows(session, core_table(LabelAcknowledgementRow), acks)
    return len(outbox)


def run(*, smoke: bool) -> dict[str, object]:
    # 200 SKUs: the first promoted perishable product (the price before its first
    # reduction, captioned as such) is the 188th.
    skus, stores = (200, 3) if smoke else (2_000, 50)
    frames = 2 if smoke else HISTORY_FRAMES
    with tempfile.TemporaryDirectory(prefix="esl-bench-audit-") as directory:
        engine = create_engine_for(f"sqlite:///{Path(directory) / 'esl.sqlite'}")
        try:
            upgrade_database(engine)
            sessions = session_factory(engine)
            started = time.perf_counter()
            with sessions.begin() as session:
                labels = _seed(session, skus=skus, stores=stores)
            seed_seconds = time.perf_counter() - started

            with sessions() as session:
                started = time.perf_counter()
                gathered = gather_audit(session, at=AT, now=AT, currency="PLN", locale=LOCALE)
                seconds = time.perf_counter() - started

            with sessions.begin() as session:
                history_rows = _seed_history(session, frames=frames)
            past: dict[str, float] = {}
            past_classes: dict[str, Counter[str]] = {}
            for name, audited in (("store", ["S000"]), ("chain", None)):
                with sessions() as session:
                    started = time.perf_counter()
                    report_then = gather_audit(
                        session, at=PAST, now=AT, currency="PLN", locale=LOCALE, stores=audited
                    ).report
                    past[name] = time.perf_counter() - started
                past_classes[name] = Counter(v.audit_class.value for v in report_then.labels)
        finally:
            engine.dispose()
    report = gathered.report
    counts = Counter(v.audit_class.value for v in report.labels)

    return {
        "labels": labels,
        "stores": stores,
        "products": skus,
        "seconds": round(seconds, 3),
        "labels_audited_per_s": round(labels / seconds),
        "classes": dict(sorted(counts.items())),
        "prior_price_problems": len(report.prior_price_problems),
        "seed_seconds": round(seed_seconds, 2),
        "history_outbox_rows": history_rows,
        "past_audit_store_s": round(past["store"], 3),
        "past_audit_chain_s": round(past["chain"], 3),
        "past_classes_store": dict(sorted(past_classes["store"].items())),
        "past_classes_chain": dict(sorted(past_classes["chain"].items())),
        "target_per_s": 50_000,
    }
