"""A label whose store names no time zone, with `ESL_TIME_ZONE` unset, dates a promotion's
last day in its locale's zone (docs/templates.md `timezone`): the zone of the locale's
country, for every locale of a country of one zone (de_AT, de_CH, en_IE), not only pl_PL,
en_GB and de_DE; a locale of no single zone (en_US) is refused, never dated in UTC.

Found by a hunter: a de_AT promotion until 00:30 on 1 April in Vienna printed "bis 31.03."
(its last day in UTC) while it still applied at 00:10 on 1 April."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pricing import PriceLedger, PriceRule, ResolvedPrice, Store
from rendering.content import LabelContent, content_from_dict, content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import ContentError
from rendering.locale_zones import locale_time_zone
from rendering.render import render_label
from tests.rendering.label_samples import PROMOTION
from tests.strategies import PRICING_EPOCH, pln, pricing_product
from tests.support.pricing import percent_off_sale, pln_catalogue, shelf_price

# The promotion runs through the first half hour of 1 April in Vienna (and Zurich): its
# last day, in the store's own time, is 1 April; in UTC it ended on 31 March.
VIENNA = ZoneInfo("Europe/Vienna")
ENDS = datetime(2026, 4, 1, 0, 30, tzinfo=VIENNA)
STILL_ON = datetime(2026, 4, 1, 0, 10, tzinfo=VIENNA)


def _designer_content(locale: str, **fields: str) -> dict[str, object]:
    """A template designer's content JSON in `locale`, its promotion until `ENDS`."""
    data = content_to_dict(PROMOTION)
    data["locale"] = locale
    data.update(fields)
    data["price"]["promotion"]["valid_until"] = ENDS.isoformat()  # type: ignore[index]
    return data


def _price_on_sale_in_vienna() -> tuple[Store, ResolvedPrice]:
    """A store naming no zone of its own, and its shelf price at 00:10 on 1 April in
    Vienna, a -20 % promotion on until 00:30."""
    store = Store("S1", "Wien Mariahilf")
    spring = percent_off_sale(
        "p1", 20, name="Frühling", valid_from=PRICING_EPOCH + timedelta(days=10), valid_until=ENDS
    )
    catalogue = pln_catalogue(
        [PriceRule(id="base", sku="A", amount=pln(1000))], [spring], stores=[store]
    )
    ledger = PriceLedger()
    ledger.record(shelf_price(catalogue, at=PRICING_EPOCH + timedelta(days=1), ledger=ledger))
    price = shelf_price(catalogue, at=STILL_ON, ledger=ledger)
    assert price.promotion is not None
    return store, price


@pytest.mark.parametrize("locale", ["de_AT", "de_CH"])
def test_a_designers_label_in_an_austrian_or_swiss_locale_dates_the_last_day_in_its_zone(
    locale: str,
) -> None:
    content = content_from_dict(_designer_content(locale))
    # On sale at 00:10 on 1 April in Vienna: "bis 01.04." is true; "bis 31.03." tells the
    # shopper it ended the day before.
    assert content.valid_until == date(2026, 4, 1), content.valid_until


def test_the_controllers_label_for_a_store_without_a_zone_in_de_at_dates_it_in_vienna() -> None:
    """The controller's path: `label_time_zone(store, None)` is None (store and
    ESL_TIME_ZONE name none), so `from_resolved` dates in the locale's zone."""
    store, price = _price_on_sale_in_vienna()
    content = LabelContent.from_resolved(
        product=pricing_product("A"), price=price, store=store, locale="de_AT"
    )
    render_label(content, model=DISPLAY_MODELS["2.9-bwr"])
    assert content.valid_until == date(2026, 4, 1), (
        f"the label says 'bis {content.valid_until:%d.%m.}' at 00:10 on 1 April in Vienna "
        "while the promotion still applies"
    )


@pytest.mark.parametrize(
    ("locale", "zone"),
    [
        ("pl_PL", "Europe/Warsaw"),
        ("en_GB", "Europe/London"),
        # Germany has a second zone in CLDR (Büsingen, an exclave): the table names Berlin.
        ("de_DE", "Europe/Berlin"),
        ("de_AT", "Europe/Vienna"),
        ("de_CH", "Europe/Zurich"),
        ("en_IE", "Europe/Dublin"),
        ("de_LU", "Europe/Luxembourg"),
        # Countries of several zones, and locales of no country: no zone is guessed.
        ("en_US", None),
        ("en_CA", None),
        ("de", None),
        ("en", None),
        ("xx_YY", None),
    ],
)
def test_a_locales_zone_is_its_countrys_only_one(locale: str, zone: str | None) -> None:
    assert locale_time_zone(locale) == zone


def test_a_locale_of_several_zones_is_refused_rather_than_dated_in_utc() -> None:
    # A designer's content: the instant cannot be dated without a zone...
    with pytest.raises(ContentError) as refused:
        content_from_dict(_designer_content("en_US"))
    assert refused.value.field == "timezone"
    assert "ESL_TIME_ZONE" in refused.value.reason
    # ...named, it is; and a last day given as a date needs none.
    named = content_from_dict(_designer_content("en_US", timezone="Europe/Vienna"))
    assert named.valid_until == date(2026, 4, 1)
    as_a_day = _designer_content("en_US")
    as_a_day["price"]["promotion"]["valid_until"] = "2026-04-01"  # type: ignore[index]
    assert content_from_dict(as_a_day).valid_until == date(2026, 4, 1)

    # The controller's content: refused with no zone, dated in the store's where named.
    store, price = _price_on_sale_in_vienna()
    with pytest.raises(ContentError, match="ESL_TIME_ZONE"):
        LabelContent.from_resolved(
            product=pricing_product("A"), price=price, store=store, locale="en_US"
        )
    content = LabelContent.from_resolved(
        product=pricing_product("A"),
        price=price,
        store=store,
        locale="en_US",
        timezone="Europe/Vienna",
    )
    assert content.valid_until == date(2026, 4, 1)
