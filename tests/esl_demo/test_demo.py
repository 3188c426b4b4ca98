"""`esl demo` and the bundled sample catalogue it prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.sample import load_sample, sample_anchor, sample_document
from pricing import Channel, Money, PromotionKind, resolve
from pricing.replay import all_price_keys

ANCHOR = datetime(2026, 11, 23, tzinfo=UTC)


def run_demo(*args: str) -> str:
    result = CliRunner().invoke(app, ["sample-prices", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def row(output: str, store: str, sku: str) -> str:
    """The table row of `sku` under `store`'s first heading, spaces collapsed."""
    section = output.split(f"\n{store} ", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in section.splitlines() if line.startswith(sku))
    return " ".join(line.split())


def test_the_sample_is_a_polish_grocery_chain_with_every_promotion_kind() -> None:
    sample = load_sample(anchor=ANCHOR)
    catalogue = sample.catalogue
    assert catalogue.currency == "PLN"
    assert len(catalogue.products) >= 20
    assert len(catalogue.stores) == 3
    assert catalogue.zones == {"centrum", "poludnie"}
    assert {p.kind for p in catalogue.promotions.values()} == set(PromotionKind)
    scopes = {rule.scope for rule in catalogue.rules.values()}
    assert len(scopes) >= 5


def test_every_sample_key_has_a_price_at_the_anchor() -> None:
    sample = load_sample(anchor=ANCHOR)
    for key in all_price_keys(sample.catalogue):
        resolved = resolve(
            sample.catalogue,
            sku=key.sku,
            channel=key.channel,
            store=key.store,
            at=ANCHOR + timedelta(hours=12),
            ledger=sample.ledger,
            locale="pl_PL",
        )
        assert resolved.price <= resolved.regular_price


def test_the_sample_moves_with_its_anchor() -> None:
    later = ANCHOR + timedelta(days=100)
    for anchor in (ANCHOR, later):
        sample = load_sample(anchor=anchor)
        masło = resolve(
            sample.catalogue,
            sku="MSL-001",
            channel=Channel.STORE,
            store="WAW-01",
            at=anchor,
            ledger=sample.ledger,
            locale="pl_PL",
        )
        assert masło.price == Money.of("6.79", "PLN")
        assert masło.prior_price == Money.of("6.99", "PLN")


def test_the_demo_prints_reductions_with_their_thirty_day_low() -> None:
    output = run_demo("--at", "2026-11-23T12:00:00+00:00")
    assert "dzień 0 próbki = 2026-11-23" in output
    # Butter: raised from 6.99 to 7.99 on day -20, then -15 % off 7.99: the shop may only
    # announce the 2 % saved against the 30-day low of 6.99 (CJEU C-330/23).
    assert row(output, "WAW-01", "MSL-001").endswith(
        "7,99 zł 6,79 zł -2% 6,99 zł 0,20 zł (2%) 33,95 zł/1 kg"
    )
    # Coffee: the same promotion price ran 20 days ago, so nothing is saved and nothing
    # may be announced: no badge text, the price shown plainly.
    coffee = row(output, "WAW-01", "KAW-001")
    assert "19,99 zł 19,99 zł nie ogłaszać" in coffee
    assert "Promocja" not in coffee
    # Zone and store prices: eggs cheaper in the south, bread cheaper in Praga.
    assert "11,99 zł" in row(output, "KRK-01", "JAJ-001")
    assert "5,90 zł" in row(output, "WAW-02", "CHL-001")
    # The oil promotion is for the centrum zone only.
    assert "Taniej o 2 zł" in row(output, "WAW-02", "OLJ-001")
    assert "Taniej" not in row(output, "KRK-01", "OLJ-001")
    assert "4 za 7 zł = 1,75 zł/szt." in row(output, "KRK-01", "WOD-001")


def test_the_demo_prices_any_instant_and_channel() -> None:
    before = run_demo("--at", "2026-11-23T12:00", "--channel", "app")
    assert "kanał store" not in before
    # In the app the sweets category is 30 % off, which beats the chocolate's own offer.
    assert "5,49 zł 3,84 zł -30%" in row(before, "WAW-01", "CZE-001")
    assert "2+1 gratis = 4,99 zł/szt." in row(before, "WAW-01", "CHI-001")
    apples_week = run_demo("--at", "2026-11-25T12:00", "--anchor", "2026-11-23")
    assert "-25%" in row(apples_week, "KRK-01", "JAB-001")
    assert "-25%" not in row(apples_week, "WAW-01", "JAB-001")
    everything = run_demo("--at", "2026-11-23T12:00", "--channel", "all")
    assert everything.count("kanał ") == 9


@pytest.mark.parametrize(
    ("locale", "butter", "words"),
    [
        ("en_GB", "PLN 6.79 -2% PLN 6.99", ("Product", "30-day low", "channel store")),
        ("de_DE", "6,79 PLN -2% 6,99 PLN", ("Produkt", "30-Tage-Tief", "Kanal store")),
    ],
)
def test_the_sample_prices_print_in_every_documented_locale(
    locale: str, butter: str, words: tuple[str, ...]
) -> None:
    output = run_demo("--at", "2026-11-23T12:00:00+00:00", "--locale", locale)
    assert butter in row(output, "WAW-01", "MSL-001").replace("\xa0", " ")
    # The table speaks the locale's language, not Polish.
    assert all(word in output for word in words)
    for polish in ("Najniższa", "Oszczędność", "kanał", "strefa", "nie ogłaszać", "/szt."):
        assert polish not in output, polish


def test_a_locale_without_label_texts_is_refused_by_name() -> None:
    result = CliRunner().invoke(app, ["sample-prices", "--locale", "uk_UA"])
    assert result.exit_code == 1
    assert "no label texts for locale 'uk_UA'" in result.output


def test_the_demo_defaults_to_now() -> None:
    output = run_demo()
    today = sample_anchor(datetime.now(UTC)).date().isoformat()
    assert f"dzień 0 próbki = {today}" in output


@pytest.mark.parametrize("args", [["--at", "yesterday"], ["--channel", "fax"]])
def test_the_demo_refuses_bad_options(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["sample-prices", *args])
    assert result.exit_code == 2


def test_the_sample_document_is_plain_data_for_other_seeders() -> None:
    document = sample_document()
    assert {"stores", "products", "rules", "promotions", "currency"} <= document.keys()
    assert all(isinstance(rule["amount"], str) for rule in document["rules"])
