"""The quote API says what the label says: a reduction is announced only below the 30-day low.

CHS-1 is not perishable, so its prior price is the lowest of the 30 days before the reduction.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.api import Api
from tests.support.database import START

PRICES = "sku,scope,channel,store_or_zone,price,currency\nCHS-1,national,,,3.49,PLN\n"
PROMOTIONS = (
    "id,name,kind,skus,categories,stores,percent,amount,currency,quantity,valid_from,valid_until\n"
    "CHS-FIX,Ser taniej,fixed_price,CHS-1,,,,2.99,PLN,,,\n"
)


def _history(*rows: tuple[str, int, str]) -> str:
    lines = ["sku,channel,store,effective_at,price,regular_price,currency"]
    for store, days_ago, price in rows:
        at = (START - timedelta(days=days_ago)).isoformat()
        lines.append(f"CHS-1,store,{store},{at},{price},3.49,PLN")
    return "\n".join(lines) + "\n"


def _import(api: Api, *files: tuple[str, str]) -> None:
    """Each (kind, CSV text) through the import API, in order."""
    for kind, text in files:
        if kind == "promotions":
            # The ledger takes one entry per key and instant: the promotion's price is
            # recorded a minute after the price file's.
            api.clock.advance(timedelta(minutes=1))
        response = api.import_csv(kind, text)
        assert response.status_code == 200, response.text


def test_a_reduction_to_the_30_day_low_is_quoted_as_not_announced(api: Api) -> None:
    pricing = api.headers("pricing")
    # S01 sold at 2.99 ten days ago: the new 2.99 saves nothing against the 30-day low.
    # S02 sold at 3.49 for 40 days: 2.99 is a reduction of 0.50 (14 %) from that.
    history = _history(("S01", 40, "3.49"), ("S01", 10, "2.99"), ("S01", 6, "3.49"),
                       ("S02", 40, "3.49"))  # fmt: skip
    _import(api, ("prices", PRICES), ("history", history), ("promotions", PROMOTIONS))
    quotes = {
        store: api.client.get(
            "/api/v1/quote", params={"sku": "CHS-1", "store": store}, headers=pricing
        ).json()
        for store in ("S01", "S02")
    }
    quiet, loud = quotes["S01"], quotes["S02"]
    assert (quiet["price"], quiet["prior_price"]) == ("2.99", "2.99")
    assert quiet["announces_reduction"] is False
    assert quiet["promotion"]["text"] is None
    assert (loud["price"], loud["prior_price"], loud["saving_percent"]) == ("2.99", "3.49", "14")
    assert loud["announces_reduction"] is True
    assert loud["promotion"]["text"] == "Promocja"
    assert Decimal(loud["saving"]) == Decimal(loud["prior_price"]) - Decimal(loud["price"])


def test_the_quote_speaks_every_documented_locale_and_refuses_others_by_name(api: Api) -> None:
    pricing = api.headers("pricing")
    _import(api, ("prices", PRICES), ("promotions", PROMOTIONS))
    units = {}
    for locale in ("pl_PL", "en_GB", "de_DE"):
        quoted = api.client.get(
            "/api/v1/quote", params={"sku": "CHS-1", "store": "S01", "locale": locale},
            headers=pricing,
        )  # fmt: skip
        assert quoted.status_code == 200, (locale, quoted.text)
        units[locale] = quoted.json()["unit_label"]
    assert units == {"pl_PL": "1 kg", "en_GB": "1 kg", "de_DE": "1 kg"}
    refused = api.client.get(
        "/api/v1/quote", params={"sku": "CHS-1", "store": "S01", "locale": "uk_UA"},
        headers=pricing,
    )  # fmt: skip
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "unsupported_locale"
    assert "pl_PL, en_GB, de_DE" in error["message"]
