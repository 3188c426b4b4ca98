"""The data-access layer reads back exactly what was written, on SQLite and PostgreSQL.

Engine values go in through the row mappers and the bulk writer, and come out through
`esl.db.repositories`: catalogue slices (many SKUs, one SKU), stored promotions, the
ledger (one key, many SKUs, some channels or stores, up to an instant), when a store's
price started, and the driver-speed reads, across more SKUs than one IN list holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from esl.db import models
from esl.db.bulk import insert_rows
from esl.db.engine import session_factory
from esl.db.mapping import (
    ledger_entry_values,
    price_rule_values,
    product_values,
    promotion_target_values,
    promotion_values,
)
from esl.db.models import LedgerEntryRow, core_table
from esl.db.repositories import (
    CHUNK,
    ColumnReader,
    StorePriceRun,
    driver_rows,
    in_chunks,
    load_catalogue_slice,
    load_key_ledger,
    load_ledger_for_skus,
    load_promotions,
    load_sku_catalogue,
    raw,
    store_price_runs,
)
from esl.db.repositories.ledger import entries_at
from esl.errors import NotFoundError
from pricing.gtin import gtin_check_digit
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel, NetUnit, Product, Store
from pricing.promotions import Promotion, PromotionKind
from pricing.rules import PriceRule

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=3, hours=2, minutes=30)


def _product(n: int, sku: str, category: str) -> Product:
    payload = f"{590000000000 + n:012d}"
    return Product(
        sku=sku,
        name=f"Produkt {n} – żółty",
        brand="Łaciate",
        gtin=payload + str(gtin_check_digit(payload)),
        category=category,
        vat_rate=Decimal(5),
        net_content=Decimal("0.75"),
        net_unit=NetUnit.L,
        perishable=n % 2 == 0,
        on_sale_since=T0 - timedelta(days=400),
        web_url=f"https://shop.example/{sku}" if n == 2 else None,
    )


STORES = [Store("S01", "Gdańsk", "north"), Store("S02", "Kraków", "south")]
PRODUCTS = [
    _product(0, "MLK-1", "dairy"),
    _product(1, "CHS-1", "dairy"),
    _product(2, "CFE-1", "coffee"),
]
RULES = [
    PriceRule(id="MLK-1#n", sku="MLK-1", amount=Money.of("3.10", "PLN")),
    PriceRule(
        id="MLK-1#z",
        sku="MLK-1",
        amount=Money.of("2.99", "PLN"),
        channel=Channel.STORE,
        zone="north",
        valid_from=T0,
    ),
    PriceRule(
        id="CHS-1#s",
        sku="CHS-1",
        amount=Money.of("12.49", "PLN"),
        store="S02",
        valid_from=T0,
        valid_until=T1,
    ),
    PriceRule(id="CFE-1#n", sku="CFE-1", amount=Money.of("59.00", "PLN")),
]
BY_SKU = Promotion(
    id="P-SKU",
    name="Milk and coffee",
    kind=PromotionKind.PERCENT_OFF,
    skus=frozenset({"MLK-1", "CFE-1"}),
    channels=frozenset({Channel.STORE}),
    valid_from=T0,
    percent=Decimal("12.5"),
)
BY_CATEGORY = Promotion(
    id="P-CAT",
    name="Dairy north",
    kind=PromotionKind.AMOUNT_OFF,
    categories=frozenset({"dairy"}),
    zones=frozenset({"north"}),
    valid_from=T0,
    valid_until=T1,
    priority=2,
    exclusive=True,
    amount=Money.of("0.50", "PLN"),
)
PROMOTIONS = [BY_SKU, BY_CATEGORY]


def _entry(sku: str, channel: Channel, store: str, at: datetime, price: str) -> LedgerEntry:
    return LedgerEntry(
        key=PriceKey(sku, channel, store),
        effective_from=at,
        price=Money.of(price, "PLN"),
        regular_price=Money.of("3.10", "PLN"),
        promotion_id="P-SKU" if price != "3.10" else None,
    )


ENTRIES = [
    _entry("MLK-1", Channel.STORE, "S01", T0, "3.10"),
    _entry("MLK-1", Channel.STORE, "S01", T1, "2.71"),
    _entry("MLK-1", Channel.WEB, "S01", T0, "3.10"),
    _entry("MLK-1", Channel.STORE, "S02", T0 + timedelta(hours=1), "3.10"),
    _entry("CHS-1", Channel.STORE, "S01", T0 - timedelta(days=40), "3.10"),
    # What loyalty-card holders paid beside the price (migration 0043).
    dataclasses.replace(
        _entry("CFE-1", Channel.WEB, "S01", T0, "3.10"), card_price=Money.of("2.49", "PLN")
    ),
]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a database holding STORES, PRODUCTS, RULES, PROMOTIONS and ENTRIES,
    written the way imports and publications write them."""
    with session_factory(engine)() as session:
        with session.begin():
            _write(session, PRODUCTS, ENTRIES)
        yield session


def _write(session: Session, products: list[Product], entries: list[LedgerEntry]) -> None:
    written: list[tuple[type[Any], Sequence[Mapping[str, Any]]]] = [
        (models.ZoneRow, [{"code": "north", "name": "North"}, {"code": "south", "name": "South"}]),
        (models.StoreRow, [{"code": s.code, "name": s.name, "zone": s.zone} for s in STORES]),
        (models.ProductRow, [product_values(p) for p in products]),
        (models.PriceRuleRow, [price_rule_values(r, None) for r in RULES]),
        (models.PromotionRow, [promotion_values(p, None) for p in PROMOTIONS]),
        (models.PromotionTargetRow, [t for p in PROMOTIONS for t in promotion_target_values(p)]),
        (
            LedgerEntryRow,
            [
                ledger_entry_values(e, source="history", publication_id=None, recorded_at=T0)
                for e in entries
            ],
        ),
    ]
    for model, rows in written:
        insert_rows(session, core_table(model), rows)


def test_a_slice_holds_its_skus_their_rules_the_promotions_naming_them_and_every_store(
    session: Session,
) -> None:
    catalogue = load_catalogue_slice(session, ["MLK-1", "CHS-1", "NO-SUCH"], currency="PLN")

    assert dict(catalogue.products) == {p.sku: p for p in PRODUCTS[:2]}
    assert dict(catalogue.stores) == {s.code: s for s in STORES}
    assert dict(catalogue.rules) == {r.id: r for r in RULES if r.sku != "CFE-1"}
    # The SKU promotion also names CFE-1, outside the slice: the slice keeps its own SKUs.
    assert dict(catalogue.promotions) == {
        "P-SKU": dataclasses.replace(BY_SKU, skus=frozenset({"MLK-1"})),
        "P-CAT": BY_CATEGORY,
    }


def test_one_skus_catalogue_is_the_same_as_its_slice_and_an_unknown_sku_is_not_found(
    session: Session,
) -> None:
    for sku in ("MLK-1", "CHS-1", "CFE-1"):
        one = load_sku_catalogue(session, sku, currency="PLN")
        sliced = load_catalogue_slice(session, [sku], currency="PLN")
        assert dict(one.products) == dict(sliced.products)
        assert dict(one.rules) == dict(sliced.rules)
        assert dict(one.promotions) == dict(sliced.promotions)
        assert dict(one.stores) == dict(sliced.stores)
    assert set(load_sku_catalogue(session, "CFE-1", currency="PLN").promotions) == {"P-SKU"}

    with pytest.raises(NotFoundError) as refused:
        load_sku_catalogue(session, "NO-SUCH", currency="PLN")
    assert refused.value.fields == {"entity": "product", "key": "NO-SUCH"}


def test_stored_promotions_come_back_whole_and_unknown_ids_are_left_out(
    session: Session,
) -> None:
    assert load_promotions(session, ["P-CAT", "P-SKU", "P-NONE"]) == {
        "P-SKU": BY_SKU,
        "P-CAT": BY_CATEGORY,
    }
    assert load_promotions(session, []) == {}


def test_one_keys_ledger_is_every_entry_of_that_key_in_time_order(session: Session) -> None:
    key = PriceKey("MLK-1", Channel.STORE, "S01")

    ledger = load_key_ledger(session, key)

    assert ledger.keys() == {key}
    assert ledger.entries(key) == (ENTRIES[0], ENTRIES[1])
    assert ledger.entries(key)[1].effective_from.tzinfo is not None
    assert load_key_ledger(session, PriceKey("MLK-1", Channel.APP, "S01")).keys() == frozenset()


def test_a_card_price_comes_back_with_its_entry_and_none_stays_none(session: Session) -> None:
    card = ENTRIES[5]
    assert load_key_ledger(session, card.key).entries(card.key) == (card,)
    assert card.card_price == Money.of("2.49", "PLN")
    assert load_key_ledger(session, ENTRIES[0].key).entries(ENTRIES[0].key)[0].card_price is None
    assert _entries_of(entries_at(session, ["CFE-1"], at=T0)) == {card}


def test_the_ledger_of_many_skus_is_cut_by_channel_store_and_instant(session: Session) -> None:
    everything = load_ledger_for_skus(session, ["MLK-1", "CHS-1"])
    assert _entries_of(everything) == {e for e in ENTRIES if e.key.sku != "CFE-1"}

    cut = load_ledger_for_skus(
        session, ["MLK-1", "CHS-1"], channels=[Channel.STORE], stores=["S01"], up_to=T0
    )
    assert _entries_of(cut) == {ENTRIES[0], ENTRIES[4]}

    # An instant between two entries of one key keeps the earlier one only.
    before_the_reduction = load_ledger_for_skus(session, ["MLK-1"], up_to=T1 - timedelta(0, 1))
    assert before_the_reduction.entries(ENTRIES[1].key) == (ENTRIES[0],)

    into = PriceLedger([ENTRIES[4]])
    assert load_ledger_for_skus(session, ["MLK-1"], channels=[Channel.WEB], into=into) is into
    assert into.keys() == {ENTRIES[4].key, ENTRIES[2].key}


def test_a_stores_price_is_dated_from_its_entry_and_from_its_amount(session: Session) -> None:
    # A card price written beside S02's unchanged 3.10 begins an entry, not an amount.
    beside = dataclasses.replace(
        _entry("MLK-1", Channel.STORE, "S02", T1, "3.10"), card_price=Money.of("2.49", "PLN")
    )
    with session.begin():
        insert_rows(
            session,
            core_table(LedgerEntryRow),
            [ledger_entry_values(beside, source="history", publication_id=None, recorded_at=T1)],
        )
    asked = {("MLK-1", "S01"), ("MLK-1", "S02"), ("CHS-1", "S01"), ("CFE-1", "S01")}

    assert store_price_runs(session, asked, at=T1) == {
        ("MLK-1", "S01"): StorePriceRun(T1, T1, Money.of("2.71", "PLN")),
        ("MLK-1", "S02"): StorePriceRun(T1, T0 + timedelta(hours=1), Money.of("3.10", "PLN")),
        ("CHS-1", "S01"): StorePriceRun(
            T0 - timedelta(days=40), T0 - timedelta(days=40), Money.of("3.10", "PLN")
        ),
    }
    earlier = store_price_runs(session, asked, at=T1 - timedelta(seconds=1))
    assert earlier[("MLK-1", "S01")] == StorePriceRun(T0, T0, Money.of("3.10", "PLN"))
    assert earlier[("MLK-1", "S02")].started == T0 + timedelta(hours=1)
    assert store_price_runs(session, set(), at=T1) == {}


def test_driver_reads_convert_like_the_typed_columns(session: Session) -> None:
    table = core_table(LedgerEntryRow)
    ordered = (table.c.sku, table.c.channel, table.c.store, table.c.effective_at)
    typed = session.execute(select(table.c.effective_at, table.c.amount).order_by(*ordered)).all()

    rows = driver_rows(
        session, select(raw(table.c.effective_at), raw(table.c.amount)).order_by(*ordered)
    )
    instant = ColumnReader(session, table.c.effective_at)
    amount = ColumnReader(session, table.c.amount)

    assert [(instant(at), amount(price)) for at, price in rows] == [tuple(r) for r in typed]
    assert all(instant(at).tzinfo is not None for at, _ in rows)
    assert [str(amount(price)) for _, price in rows].count("2.71") == 1


def test_reads_span_more_skus_than_one_in_list_holds(engine: Engine) -> None:
    many = [_product(n, f"SKU-{n:05d}", "dairy") for n in range(3, 3 + 2 * CHUNK + 1)]
    entries = [_entry(p.sku, Channel.STORE, "S01", T0, "3.10") for p in many]
    with session_factory(engine)() as session:
        with session.begin():
            _write(session, PRODUCTS + many, ENTRIES + entries)
        skus = [p.sku for p in many]

        catalogue = load_catalogue_slice(session, skus, currency="PLN")
        ledger = load_ledger_for_skus(session, skus)

    assert dict(catalogue.products) == {p.sku: p for p in many}
    # Every one of them is dairy, so the category promotion is in the slice.
    assert set(catalogue.promotions) == {"P-CAT"}
    assert _entries_of(ledger) == set(entries)


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (CHUNK, [CHUNK]), (CHUNK + 1, [CHUNK, 1]), (2 * CHUNK, [CHUNK, CHUNK])],
)
def test_in_chunks_keeps_every_value_in_order_in_bounded_pieces(
    count: int, sizes: list[int]
) -> None:
    values = [f"v{n}" for n in range(count)]

    chunks = list(in_chunks(iter(values)))

    assert [len(c) for c in chunks] == sizes
    assert [v for c in chunks for v in c] == values


def test_in_chunks_refuses_an_empty_piece() -> None:
    with pytest.raises(ValueError, match="at least one"):
        list(in_chunks([1, 2], size=0))


def _entries_of(ledger: PriceLedger) -> set[LedgerEntry]:
    keys = ledger.keys()
    return {entry for key in keys for entry in ledger.entries(key)}
