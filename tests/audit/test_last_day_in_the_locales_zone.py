"""The audit dates the promotion's last day due on a label as planning does: in a store
naming no time zone, with `ESL_TIME_ZONE` unset, in the zone of the locale's country
(de_AT: Vienna), never in UTC. Found by a hunter: a de_AT label printing "bis 31.03." for
a promotion on until 00:30 on 1 April in Vienna was called `match` (both dated in UTC),
and one printing the true "bis 01.04." would have been called misdated."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from esl.audit.classify import ShownContent
from esl.audit.dating import LastDays
from pricing import Catalogue, PriceLedger, PriceRule, ResolvedPrice, Store
from rendering.content import LabelContent, content_to_dict
from tests.strategies import PRICING_EPOCH, pln, pricing_product
from tests.support.pricing import percent_off_sale, pln_catalogue, shelf_price

VIENNA = ZoneInfo("Europe/Vienna")
ENDS = datetime(2026, 4, 1, 0, 30, tzinfo=VIENNA)


def _on_sale_in_vienna() -> tuple[Catalogue, ResolvedPrice]:
    """A store naming no zone, and its price at 00:10 on 1 April in Vienna: -20 % until
    00:30."""
    spring = percent_off_sale(
        "p1", 20, name="Frühling", valid_from=PRICING_EPOCH + timedelta(days=10), valid_until=ENDS
    )
    catalogue = pln_catalogue(
        [PriceRule(id="base", sku="A", amount=pln(1000))],
        [spring],
        stores=[Store("S1", "Wien Mariahilf")],
    )
    ledger = PriceLedger()
    ledger.record(shelf_price(catalogue, at=PRICING_EPOCH + timedelta(days=1), ledger=ledger))
    due = shelf_price(catalogue, at=datetime(2026, 4, 1, 0, 10, tzinfo=VIENNA), ledger=ledger)
    return catalogue, due


def _shown(due: ResolvedPrice, last_day: date) -> tuple[ShownContent, dict[str, object]]:
    """A de_AT label showing `due`'s price, its badge printing `last_day`."""
    content = LabelContent.from_resolved(
        product=pricing_product("A"), price=due, locale="de_AT", timezone="Europe/Vienna"
    )
    content = replace(content, valid_until=last_day)
    shown = ShownContent(
        content_hash=content.fingerprint,
        sku="A",
        currency="PLN",
        price=content.price,
        regular_price=due.regular_price.amount,
        prior_price=content.prior_price,
        promotion_id="p1",
        price_fingerprint=due.fingerprint,
    )
    return shown, content_to_dict(content)


def test_the_audit_dates_the_due_last_day_in_the_locales_zone() -> None:
    catalogue, due = _on_sale_in_vienna()
    last_days = LastDays(catalogue, installation=None)
    in_utc = _shown(due, date(2026, 3, 31))
    in_vienna = _shown(due, date(2026, 4, 1))
    assert last_days.misdated(*in_utc, due, "S1") == (date(2026, 3, 31), date(2026, 4, 1)), (
        "a label printing 'bis 31.03.' while the promotion is on at 00:10 on 1 April in "
        "Vienna is called match"
    )
    assert last_days.misdated(*in_vienna, due, "S1") is None
