"""A German label's Grundpreis (unit price) is per 1 kg / 1 l (PAngV § 5 (1)).

Since the PAngV of 12 Nov 2021 (in force 28 May 2022) the Grundpreis is per 1 kg, 1 l,
1 m, 1 m², 1 m³: the former "per 100 g / 100 ml" option for small packs was dropped.
A chain that sets `unit_price_per_100` for its chocolate and crisps (as the sample
catalogue does, as Polish practice allows) got German labels reading
"Grundpreis 100 g = ..." and, for a 100 g bar, no Grundpreis at all (per 100 g it
"equals the price", so it was omitted): both unlawful in Germany. The flag is now followed
only where the label's country allows it (pricing.unit_price.PER_HUNDRED_TERRITORIES).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from esl.cli import app
from pricing import Catalogue, Money, NetUnit, PriceRule, Product
from tests.strategies import PRICING_EPOCH, PRICING_STORES
from tests.support.pricing import shelf_price

T0 = PRICING_EPOCH


def _chocolate(content: str, unit: NetUnit) -> Product:
    return Product(
        sku="C",
        name="Vollmilchschokolade Haselnuss",
        brand="Kakaogarten",
        gtin="",
        category="Süßwaren",
        vat_rate=Decimal(7),
        net_content=Decimal(content),
        net_unit=unit,
        perishable=False,
        on_sale_since=T0 - timedelta(days=100),
        unit_price_per_100=True,
    )


def _shown(content: str, unit: NetUnit, price: str, locale: str) -> tuple[str, str | None] | None:
    catalogue = Catalogue(
        products=[_chocolate(content, unit)],
        stores=list(PRICING_STORES[:1]),
        rules=[PriceRule(id="r", sku="C", amount=Money.of(price, "EUR"))],
        currency="EUR",
    )
    resolved = shelf_price(catalogue, at=T0, ledger=None, sku="C", store="S1", locale=locale)
    if resolved.unit_price is None:
        return None
    return str(resolved.unit_price.amount), resolved.unit_label


@pytest.mark.parametrize("locale", ["de_DE", "de", "de_AT"])
@pytest.mark.parametrize(
    ("content", "unit", "price", "expected_amount", "expected_label"),
    [
        ("100", NetUnit.G, "1.49", "14.90", "1 kg"),  # a 100 g bar: Grundpreis 1 kg = 14,90 €
        ("140", NetUnit.G, "2.29", "16.36", "1 kg"),  # crisps 140 g
        ("250", NetUnit.ML, "1.99", "7.96", "1 Liter"),
    ],
)
def test_a_german_label_states_the_grundpreis_per_kilogram_or_litre(
    locale: str,
    content: str,
    unit: NetUnit,
    price: str,
    expected_amount: str,
    expected_label: str,
) -> None:
    assert _shown(content, unit, price, locale) == (expected_amount, expected_label)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("pl_PL", ("1.64", "100 g")), ("en_GB", ("1.64", "100 g")), ("en_IE", ("16.36", "1 kg"))],
)
def test_the_per_100_option_stays_where_the_country_allows_it(
    locale: str, expected: tuple[str, str]
) -> None:
    # The same product flag, the same crisps: per 100 g in Poland and the UK, per kg in a
    # country the project has not checked (per kg is lawful everywhere).
    assert _shown("140", NetUnit.G, "2.29", locale) == expected


def test_the_sample_prices_in_german_state_the_chocolate_per_kilogram() -> None:
    # The sample's chocolate (100 g at 2,99 zł in WAW-01) and crisps are flagged per 100 g.
    def unit_of(locale: str, sku: str) -> str:
        result = CliRunner().invoke(
            app, ["sample-prices", "--at", "2026-11-23T12:00:00+00:00", "--locale", locale]
        )
        assert result.exit_code == 0, result.output
        section = result.stdout.split("\nWAW-01 ", 1)[1].split("\n\n", 1)[0]
        line = next(line for line in section.splitlines() if line.startswith(sku))
        unit = re.search(r"/(1 kg|100 g)$", " ".join(line.replace("\xa0", " ").split()))
        return "" if unit is None else unit.group(1)

    # Polish: the chocolate, 3,99 zł per 100 g bar, has none (it equals the price).
    assert (unit_of("pl_PL", "CZE-001"), unit_of("pl_PL", "CHI-001")) == ("", "100 g")
    assert (unit_of("de_DE", "CZE-001"), unit_of("de_DE", "CHI-001")) == ("1 kg", "1 kg")
