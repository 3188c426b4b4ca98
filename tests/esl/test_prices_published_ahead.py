"""A price change published ahead (effective next week) neither blocks the other price
changes of its SKU until its instant nor is beyond correction before it starts; and the
ledger keeps no entry for a price that will not be charged (SQLite, and PostgreSQL when
configured).

Before, the entries a publication ahead writes at its instant made every later
publication, promotion file or price file touching the SKU plan against a ledger that
already ran to that instant: each was refused with `ledger_order` ("would rewrite the
past") although every instant involved lay in the future, so a mistaken future price could
not be cancelled before it was charged and shown. docs/pipeline.md ("A change for now
keeps the changes ahead"), docs/api.md (`set_price` "ends the rule of that exact scope in
force at the effective instant ... and adds the new one from it") and the code's
`_end_rule_in_force` ("or drop one that has not started") promised both.

On day -90 CHS-1 costs 10.00; on day -10 a rise to 12.00 is published effective day -5.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, LedgerInstantRow, PlanningQueueRow
from esl.imports import import_prices, import_products, import_promotions
from esl.imports.stores import import_stores
from esl.planning_queue import queued_shelves
from esl.services.ledger_instants import record_due_instants
from esl.services.quotes import quote
from pricing import ResolvedPrice
from tests.support.database import PRODUCTS_CSV, START
from tests.support.pipeline import publish

T0 = START + timedelta(days=100)
STORES = ("S01", "S02", "S03")


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _set_price(amount: str, **more: object) -> dict[str, object]:
    return {"action": "set_price", "sku": "CHS-1", "amount": amount, **more}


def _price_published_ahead(seeded: Engine, amount: str = "12.00") -> int:
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00")], now=day(-90))
    # On day -10 the pricing team publishes `amount` effective on day -5.
    return publish(sessions, [_set_price(amount)], now=day(-10), effective_at=day(-5))


def _s01_brought_into_a_price_ahead(seeded: Engine, amount: str = "12.00") -> int:
    """S01 priced 10.00 of its own, so the national `amount` published on day -10 for day
    -5 leaves it out; on day -9 S01's own price is ended and it follows the nation from
    then on. The publication ahead."""
    publish(session_factory(seeded), [_set_price("10.00", store="S01")], now=day(-91))
    ahead = _price_published_ahead(seeded, amount)
    assert ("store", "S01") not in _entries_at(seeded, day(-5))
    publish(
        session_factory(seeded),
        [{"action": "end_price", "sku": "CHS-1", "store": "S01"}],
        now=day(-9),
    )
    return ahead


def _store_file_on_day_minus_9(seeded: Engine, line: str) -> None:
    """A store file of one line (`code,name,zone,time_zone`) imported on day -9."""
    with session_factory(seeded).begin() as session:
        import_stores(
            session,
            f"code,name,zone,time_zone\n{line}\n",
            imported_by="test",
            now=day(-9),
            currency="PLN",
        )


def _shelf_price(seeded: Engine, at: datetime, store: str = "S01") -> ResolvedPrice:
    with session_factory(seeded)() as session:
        return quote(
            session,
            sku="CHS-1",
            store=store,
            channel="store",
            at=at,
            now=at,
            locale="pl_PL",
            currency="PLN",
        )


def _entries_at(seeded: Engine, at: datetime) -> dict[tuple[str, str], Decimal | None]:
    """(channel, store) -> the amount CHS-1's ledger holds at exactly `at` (None: withdrawn)."""
    with session_factory(seeded)() as session:
        rows = session.scalars(
            select(LedgerEntryRow).where(
                LedgerEntryRow.sku == "CHS-1", LedgerEntryRow.effective_at == at
            )
        )
        return {(row.channel, row.store): row.amount for row in rows}


def _every_key(amount: Decimal | None) -> dict[tuple[str, str], Decimal | None]:
    return {(channel, store): amount for channel in ("store", "web", "app") for store in STORES}


def _arrives(seeded: Engine, at: datetime) -> int:
    """The controller's look just after `at`: the entries it records for due instants."""
    with session_factory(seeded).begin() as session:
        return record_due_instants(session, now=at + timedelta(minutes=1), currency="PLN")


def test_a_promotion_for_now_is_accepted_beside_a_price_change_published_ahead(
    seeded: Engine,
) -> None:
    _price_published_ahead(seeded)
    sessions = session_factory(seeded)
    # Day -9: a two-day 10 % promotion, starting now and ending before the rise.
    publish(
        sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "FLASH",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CHS-1"],
                "valid_until": day(-7).isoformat(),
            }
        ],
        now=day(-9),
    )
    assert _shelf_price(seeded, day(-9) + timedelta(hours=1)).price.amount == Decimal("9.00")
    assert _entries_at(seeded, day(-9)) == _every_key(Decimal("9.00"))
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("12.00"))  # the rise, kept


def test_a_promotion_running_across_the_rise_is_recorded_off_the_new_price(
    seeded: Engine,
) -> None:
    _price_published_ahead(seeded)
    publish(
        session_factory(seeded),
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "LONG",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CHS-1"],
            }
        ],
        now=day(-9),
    )
    # The entries written ahead said 12.00; from day -5 the shelf charges 10 % off it.
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("10.80"))
    assert _shelf_price(seeded, day(-5)).price.amount == Decimal("10.80")
    assert _arrives(seeded, day(-5)) == 0  # what was written ahead is what applies


def test_a_store_price_for_now_is_accepted_beside_a_national_change_published_ahead(
    seeded: Engine,
) -> None:
    _price_published_ahead(seeded)
    publish(session_factory(seeded), [_set_price("9.50", store="S01")], now=day(-9))
    assert _shelf_price(seeded, day(-9) + timedelta(hours=1)).price.amount == Decimal("9.50")
    # S01 keeps its own 9.50 past the national rise: nothing changes there on day -5.
    assert _shelf_price(seeded, day(-5), "S01").price.amount == Decimal("9.50")
    assert _shelf_price(seeded, day(-5), "S02").price.amount == Decimal("12.00")
    ahead = _entries_at(seeded, day(-5))
    assert ahead == {k: v for k, v in _every_key(Decimal("12.00")).items() if k[1] != "S01"}
    assert _arrives(seeded, day(-5)) == 0


def test_a_price_published_ahead_can_be_corrected_before_it_starts(seeded: Engine) -> None:
    _price_published_ahead(seeded)
    # Day -9: the rise was a mistake; the price from day -5 is to be 11.00, not 12.00.
    publish(session_factory(seeded), [_set_price("11.00")], now=day(-9), effective_at=day(-5))
    assert _shelf_price(seeded, day(-5) + timedelta(hours=1)).price.amount == Decimal("11.00")
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("11.00"))
    assert _arrives(seeded, day(-5)) == 0
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("11.00"))


def test_a_cancelled_price_is_never_recorded_and_leaves_the_30_day_low_alone(
    seeded: Engine,
) -> None:
    """A drop to 8.00 published ahead and cancelled (10.00 again from its instant) before
    it starts: had its entries stayed, a 10 % promotion at 9.00 three days later would be
    compared with an 8.00 never charged, and not announced."""
    ahead = _price_published_ahead(seeded, "8.00")
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("8.00"))
    publish(session_factory(seeded), [_set_price("10.00")], now=day(-9), effective_at=day(-5))
    assert _entries_at(seeded, day(-5)) == {}
    # The instant arrives: nothing is recorded for it, by the look or the next writer.
    assert _arrives(seeded, day(-5)) == 0
    with session_factory(seeded)() as session:
        recorded = session.get(LedgerInstantRow, ahead)
        assert recorded is not None
        assert recorded.entries == 0
    _ten_percent_off_later(seeded, on=day(-2))
    assert _entries_at(seeded, day(-5)) == {}
    reduced = _shelf_price(seeded, day(-2) + timedelta(hours=1))
    assert reduced.price.amount == Decimal("9.00")
    assert reduced.prior_price is not None
    assert reduced.prior_price.amount == Decimal("10.00")
    assert reduced.announces_reduction


def test_ending_the_price_at_the_instant_it_was_to_start_records_a_withdrawal(
    seeded: Engine,
) -> None:
    """`end_price` at the rise's instant drops the rule that has not started; the national
    10.00 was ended there by the rise, so from day -5 CHS-1 has no price, not 12.00."""
    _price_published_ahead(seeded)
    publish(
        session_factory(seeded),
        [{"action": "end_price", "sku": "CHS-1"}],
        now=day(-9),
        effective_at=day(-5),
    )
    assert _entries_at(seeded, day(-5)) == _every_key(None)
    assert _arrives(seeded, day(-5)) == 0


def _promotion_file(seeded: Engine, rows: str, *, now: datetime) -> None:
    with session_factory(seeded).begin() as session:
        import_promotions(
            session,
            "id,name,kind,skus,percent,valid_from,valid_until\n" + rows,
            currency="PLN",
            imported_by="test",
            now=now,
        )


def test_a_promotion_file_is_accepted_beside_a_price_change_published_ahead(
    seeded: Engine,
) -> None:
    _price_published_ahead(seeded)
    _promotion_file(seeded, "F,Ser -10%,percent_off,CHS-1,10,,\n", now=day(-9))
    assert _entries_at(seeded, day(-9)) == _every_key(Decimal("9.00"))
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("10.80"))
    assert _arrives(seeded, day(-5)) == 0


def test_a_price_file_is_accepted_beside_a_price_change_published_ahead(
    seeded: Engine,
) -> None:
    _price_published_ahead(seeded)
    with session_factory(seeded).begin() as session:
        import_prices(
            session,
            "sku,scope,store_or_zone,price,currency\nCHS-1,store,S01,9.50,PLN\n",
            currency="PLN",
            imported_by="test",
            now=day(-9),
        )
    assert _shelf_price(seeded, day(-5), "S01").price.amount == Decimal("9.50")
    ahead = _entries_at(seeded, day(-5))
    assert ahead == {k: v for k, v in _every_key(Decimal("12.00")).items() if k[1] != "S01"}
    assert _arrives(seeded, day(-5)) == 0


def test_a_change_now_of_what_the_price_ahead_replaces_still_hands_over_at_its_instant(
    seeded: Engine,
) -> None:
    """Not every change beside a price ahead reaches it: a store price that ends before the
    rise leaves the rise's entries as they were written."""
    _price_published_ahead(seeded)
    until: dict[str, Any] = {"valid_until": day(-7).isoformat()}
    publish(session_factory(seeded), [_set_price("9.50", store="S01", **until)], now=day(-9))
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("12.00"))
    assert _shelf_price(seeded, day(-6), "S01").price.amount == Decimal("10.00")


def test_a_store_moved_to_a_zone_of_its_own_price_drops_the_national_rise_ahead(
    seeded: Engine,
) -> None:
    """S01 moves on day -9 from north to south, whose own 9.00 outlasts the national rise:
    the rise's entries written ahead for S01 go with the move, not at the instant."""
    publish(session_factory(seeded), [_set_price("9.00", zone="south")], now=day(-91))
    _price_published_ahead(seeded)
    assert _entries_at(seeded, day(-5)) == {
        k: v for k, v in _every_key(Decimal("12.00")).items() if k[1] != "S03"
    }
    _store_file_on_day_minus_9(seeded, "S01,Gdańsk Oliwa,south,")
    assert _entries_at(seeded, day(-9)) == {
        (channel, "S01"): Decimal("9.00") for channel in ("store", "web", "app")
    }
    assert _entries_at(seeded, day(-5)) == {
        (channel, "S02"): Decimal("12.00") for channel in ("store", "web", "app")
    }
    assert _shelf_price(seeded, day(-5), "S01").price.amount == Decimal("9.00")
    assert _arrives(seeded, day(-5)) == 0


# A key brought INTO a price change published ahead by a change that leaves its price now
# as it was (its own price ended, its store moved out of a zone at the same price, its
# product moved into a category): from the instant it charges the new price, so its
# ledger must say so there, written ahead with the change, and its shelf is queued for
# the instant. Before, nothing planned it: the change altered no ledger at its own
# instant, and the rise had written no entry for it.
def _ten_percent_off_later(seeded: Engine, on: datetime | None = None) -> None:
    """10 % off CHS-1 from `on` (day 40 by default) on."""
    publish(
        session_factory(seeded),
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "TEN",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CHS-1"],
            }
        ],
        now=day(40) if on is None else on,
    )


def _store_keys(amount: Decimal | None, *stores: str) -> dict[tuple[str, str], Decimal | None]:
    return {k: v for k, v in _every_key(amount).items() if k[1] in stores}


def _assert_store_follows_the_rise(seeded: Engine, store: str) -> None:
    # The shelf charges the rise from day -5 ...
    assert _shelf_price(seeded, day(-5) + timedelta(hours=1), store).price.amount == Decimal(
        "12.00"
    )
    # ... so its ledger says so at day -5, written ahead with the change that brought it
    # in, in every channel ...
    assert _store_keys(Decimal("12.00"), store).items() <= _entries_at(seeded, day(-5)).items(), (
        f"{store} charges 12.00 from day -5 but its ledger has no entry there"
    )
    # ... and the controller's look when the instant arrives agrees with it.
    assert _arrives(seeded, day(-5)) == 0
    assert _entries_at(seeded, day(-5)).get(("store", store)) == Decimal("12.00")


def test_a_store_moved_out_of_a_zone_at_the_same_price_takes_the_national_rise_ahead(
    seeded: Engine,
) -> None:
    # North's own price equals the national one, so S01 and S02 take no part in the rise.
    publish(session_factory(seeded), [_set_price("10.00", zone="north")], now=day(-91))
    _price_published_ahead(seeded)
    assert ("store", "S02") not in _entries_at(seeded, day(-5))
    # Day -9: S02 moves to south (national prices); 10.00 today either way, from day -5 12.00.
    _store_file_on_day_minus_9(seeded, "S02,Gdynia,south,")
    _assert_store_follows_the_rise(seeded, "S02")


def test_a_store_price_ended_now_at_the_same_price_takes_the_national_rise_ahead(
    seeded: Engine,
) -> None:
    _s01_brought_into_a_price_ahead(seeded)
    _assert_store_follows_the_rise(seeded, "S01")


def test_the_shelf_brought_into_the_rise_is_queued_for_planning(seeded: Engine) -> None:
    """docs/pricing.md: "A change reaches the shelf because whoever makes it hands it to
    planning in the same transaction ... the periodic re-plan is a safety net, never the
    way a change is meant to arrive". S01's label must flip to 12.00 on day -5: the rise
    names its shelf, so its instant is recorded for it when it arrives and its labels
    get the timed image with the image of now."""
    rise = _s01_brought_into_a_price_ahead(seeded)
    with session_factory(seeded)() as session:
        queued = set()
        for (publication_id,) in session.execute(
            select(PlanningQueueRow.publication_id).where(PlanningQueueRow.effective_at >= day(-10))
        ):
            shelves, everywhere = queued_shelves(session, publication_id)
            queued |= {store for sku, store in shelves if sku == "CHS-1"}
            if "CHS-1" in everywhere:
                queued |= {"S01", "S02", "S03"}
    assert "S01" in queued, f"shelves of CHS-1 queued since day -10: {sorted(queued)}"
    with session_factory(seeded)() as session:
        assert ("CHS-1", "S01") in queued_shelves(session, rise)[0]


@pytest.mark.parametrize(
    ("ahead", "on_day_40"),
    [("12.00", "10.80"), ("8.00", "7.20")],
    ids=["rise: the 30-day low understated", "drop: the 30-day low inflated"],
)
def test_a_shelf_brought_into_a_price_ahead_has_its_30_day_prior_price_right(
    seeded: Engine, ahead: str, on_day_40: str
) -> None:
    """S01 charges `ahead` from day -5 like S02. With that price missing from its ledger,
    a 10 % promotion on day 40 was announced against S01's old 10.00, which it last
    charged 45 days before (a drop to 8.00: an inflated prior price)."""
    _s01_brought_into_a_price_ahead(seeded, ahead)
    _arrives(seeded, day(-5))
    _ten_percent_off_later(seeded)
    s02 = _shelf_price(seeded, day(40) + timedelta(hours=1), "S02")
    s01 = _shelf_price(seeded, day(40) + timedelta(hours=1), "S01")
    assert s02.price.amount == s01.price.amount == Decimal(on_day_40)
    assert s02.prior_price is not None
    assert s02.prior_price.amount == Decimal(ahead)
    assert s01.prior_price is not None
    assert s01.prior_price.amount == Decimal(ahead), (
        f"S01 label: {on_day_40}, 30-day low {s01.prior_price.amount} (S02: {ahead})"
    )


def test_a_rise_ahead_that_no_store_took_is_recorded_for_the_stores_brought_into_it(
    seeded: Engine,
) -> None:
    """Both zones price CHS-1 at 10.00 of their own, so the national rise writes no entry at
    all; north's price ended on day -9 brings S01 and S02 into it."""
    for zone in ("north", "south"):
        publish(session_factory(seeded), [_set_price("10.00", zone=zone)], now=day(-91))
    _price_published_ahead(seeded)
    assert _entries_at(seeded, day(-5)) == {}
    publish(
        session_factory(seeded),
        [{"action": "end_price", "sku": "CHS-1", "zone": "north"}],
        now=day(-9),
    )
    assert _entries_at(seeded, day(-5)) == _store_keys(Decimal("12.00"), "S01", "S02")
    assert _arrives(seeded, day(-5)) == 0
    assert _shelf_price(seeded, day(-5), "S03").price.amount == Decimal("10.00")


def test_a_product_moved_into_a_category_takes_its_promotion_published_ahead(
    seeded: Engine,
) -> None:
    """10 % off coffee is published on day -10 for day -5; on day -9 CHS-1 moves from dairy
    to coffee, at 10.00 until then: from day -5 it is sold at 9.00 in every store."""
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00")], now=day(-90))
    promotion = {
        "action": "upsert_promotion",
        "promotion_id": "COFFEE",
        "kind": "percent_off",
        "percent": "10",
        "categories": ["coffee"],
    }
    publish(sessions, [promotion], now=day(-10), effective_at=day(-5))
    header, *rows = PRODUCTS_CSV.splitlines()
    cheese = next(row for row in rows if row.startswith("CHS-1,"))
    with sessions.begin() as session:
        import_products(
            session,
            f"{header}\n{cheese.replace(',dairy,', ',coffee,')}\n",
            currency="PLN",
            imported_by="test",
            now=day(-9),
        )
    assert _entries_at(seeded, day(-9)) == {}
    assert _entries_at(seeded, day(-5)) == _every_key(Decimal("9.00"))
    assert _shelf_price(seeded, day(-5)).price.amount == Decimal("9.00")
    assert _arrives(seeded, day(-5)) == 0


def _web_ledger(seeded: Engine, store: str) -> list[tuple[datetime, Decimal | None]]:
    with session_factory(seeded)() as session:
        rows = session.scalars(
            select(LedgerEntryRow)
            .where(
                LedgerEntryRow.sku == "CHS-1",
                LedgerEntryRow.channel == "web",
                LedgerEntryRow.store == store,
            )
            .order_by(LedgerEntryRow.effective_at)
        )
        return [(row.effective_at.replace(tzinfo=None), row.amount) for row in rows]


def test_a_web_price_scheduled_before_a_change_ahead_is_one_entry_in_every_store(
    seeded: Engine,
) -> None:
    """docs/pricing.md: one entry per change. On day -10 south's own 8.00 is published for
    day -5; on day -9 a price file sets the nation's web price to 8.00 from day -7. Every
    store's web listing reads 10.00, then 8.00 from day -7: not 8.00 again on day -5 in the
    north, whose shelves the price ahead does not name (the file planned day -5 before day
    -7 was recorded, and the instant's recording never looked at those web keys again)."""
    publish(session_factory(seeded), [_set_price("10.00")], now=day(-90))
    publish(
        session_factory(seeded),
        [_set_price("8.00", zone="south")],
        now=day(-10),
        effective_at=day(-5),
    )
    with session_factory(seeded).begin() as session:
        import_prices(
            session,
            "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
            f"CHS-1,national,web,,8.00,PLN,{day(-7).isoformat()},\n",
            currency="PLN",
            imported_by="test",
            now=day(-9),
        )
    _arrives(seeded, day(0))
    changes = [(day(-90).replace(tzinfo=None), Decimal("10.00"))]
    changes.append((day(-7).replace(tzinfo=None), Decimal("8.00")))
    assert {store: _web_ledger(seeded, store) for store in STORES} == dict.fromkeys(STORES, changes)
