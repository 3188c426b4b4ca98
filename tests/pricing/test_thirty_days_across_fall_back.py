"""The 30 days before a reduction that span Warsaw's October fall-back are 721 hours.

Directive 98/6/EC art. 6a: the prior price is the lowest price applied "during a period
of time not shorter than 30 days" before the reduction. A reduction starting at local
midnight on 10.11.2026 in a Warsaw store: the 30 days before it begin at local midnight
on 11.10.2026 (CEST), 721 hours earlier (25.10 has 25 hours). A price charged on the
shelf from 00:00 to 00:30 on 11.10 was charged within those 30 days; the engine's window
(720 elapsed hours) opens at 01:00 CEST on 11.10 and leaves it out, so the label
announces the reduction against a higher "lowest price of the 30 days".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pricing import Channel, LedgerEntry, PriceKey, PriceLedger, PriceRule, Store, resolve
from rendering.content import LabelContent
from tests.strategies import pln, pricing_product
from tests.support.pricing import fixed_price_sale, pln_catalogue

CEST = timezone(timedelta(hours=2))
CET = timezone(timedelta(hours=1))
KEY = PriceKey("A", Channel.STORE, "S1")
WARSAW_STORE = Store("S1", "Gdańsk", None, time_zone="Europe/Warsaw")


def test_a_price_charged_on_the_first_of_the_thirty_days_counts_across_fall_back() -> None:
    ledger = PriceLedger(
        [
            LedgerEntry(KEY, datetime(2026, 8, 1, tzinfo=CEST), pln(349), pln(349)),
            # A one-night offer: 2.99 from 10.10 20:00 until 11.10 00:30 local.
            LedgerEntry(KEY, datetime(2026, 10, 10, 20, 0, tzinfo=CEST), pln(299), pln(349)),
            LedgerEntry(KEY, datetime(2026, 10, 11, 0, 30, tzinfo=CEST), pln(349), pln(349)),
        ]
    )
    starts = datetime(2026, 11, 10, 0, 0, tzinfo=CET)  # local midnight, 30 days after 11.10
    catalogue = pln_catalogue(
        [PriceRule(id="r", sku="A", amount=pln(349))],
        [fixed_price_sale("sale", pln(279), valid_from=starts)],
        stores=(WARSAW_STORE,),
        products=(pricing_product("A"),),
    )
    resolved = resolve(
        catalogue,
        sku="A",
        channel=Channel.STORE,
        store="S1",
        at=starts,
        ledger=ledger,
        locale="pl_PL",
    )
    label = LabelContent.from_resolved(
        product=catalogue.products["A"],
        price=resolved,
        locale="pl_PL",
        timezone="Europe/Warsaw",
    )
    # 2.99 was charged on 11.10 00:00-00:30, the first of the 30 days before 10.11.
    assert (label.price, label.prior_price) == (pln(279).amount, pln(299).amount), (
        f"label shows {label.price} with 'najniższa cena z 30 dni' {label.prior_price}"
    )
