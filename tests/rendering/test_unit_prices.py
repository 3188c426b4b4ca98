"""Unit prices (Directive 98/6/EC) on every label whose product has net content; multi-buy
and loyalty labels show the offer's unit price beside a single item's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from esl.sample import load_sample
from pricing import Channel, Money, Promotion, PromotionKind, resolve
from rendering.content import LabelContent
from rendering.display_models import DisplayModel
from rendering.layout import TextOp, layout_label
from rendering.locale_texts import format_money
from rendering.templates import Fill, default_template
from tests.rendering.every_model import each_model

ANCHOR = datetime(2026, 11, 23, tzinfo=UTC)
SAMPLE = load_sample(anchor=ANCHOR)


def _label(sku: str, store: str = "WAW-01") -> tuple[LabelContent, object]:
    resolved = resolve(SAMPLE.catalogue, sku=sku, channel=Channel.STORE, store=store,
                       at=ANCHOR + timedelta(hours=12), ledger=SAMPLE.ledger,
                       locale="pl_PL")  # fmt: skip
    content = LabelContent.from_resolved(
        product=SAMPLE.catalogue.products[sku], price=resolved,
        store=SAMPLE.catalogue.stores[store], locale="pl_PL",
    )  # fmt: skip
    return content, resolved


def _text(content: LabelContent, model: DisplayModel, fill: Fill) -> str:
    """The text drawn by the region of `fill` (layouts may have a variant per condition)."""
    template = default_template(model)
    fills = {region.name: region.fill for region in template.regions}
    for element in layout_label(content, model=model, template=template):
        if fills[element.region] is fill:
            return " ".join(op.text for op in element.ops if isinstance(op, TextOp))
    return ""


def test_a_multi_buy_gives_the_unit_price_of_the_offer_and_of_a_single_item() -> None:
    # Water 1.5 l at 2.49, "4 za 7 zł": 1.66 zł per litre alone, 1.17 zł per litre in fours.
    _, resolved = _label("WOD-001")
    assert resolved.unit_price == Money.of("1.66", "PLN")  # type: ignore[attr-defined]
    promotion = resolved.promotion  # type: ignore[attr-defined]
    assert promotion.kind is PromotionKind.MULTI_BUY
    assert promotion.effective_unit_price == Money.of("1.75", "PLN")
    assert promotion.offer_unit_price == Money.of("1.17", "PLN")


def test_a_one_kilo_pack_on_multi_buy_still_compares_both_unit_prices() -> None:
    # Sugar 1 kg: alone its unit price equals its price and is left off (98/6/EC art. 5),
    # but beside an offer the shopper compares 1 kg alone with 1 kg in the offer.
    offer = Promotion(
        id="CUK-2",
        name="Cukier 2 za 7",
        kind=PromotionKind.MULTI_BUY,
        skus=frozenset({"CUK-001"}),
        amount=Money.of("7", "PLN"),
        quantity=2,
    )
    key = {
        "sku": "CUK-001",
        "channel": Channel.STORE,
        "store": "WAW-01",
        "at": ANCHOR,
        "locale": "pl_PL",
    }
    plain = resolve(SAMPLE.catalogue, ledger=SAMPLE.ledger, **key)  # type: ignore[arg-type]
    on_offer = resolve(
        SAMPLE.catalogue.with_changes(promotions=[offer]),
        ledger=SAMPLE.ledger,
        **key,  # type: ignore[arg-type]
    )
    assert plain.unit_price is None
    assert on_offer.unit_price == on_offer.price
    assert on_offer.promotion is not None
    assert on_offer.promotion.offer_unit_price == Money.of("3.50", "PLN")


@each_model
def test_every_sample_label_with_net_content_shows_its_unit_prices(model: DisplayModel) -> None:
    checked = offers = 0
    for sku in SAMPLE.catalogue.products:
        for store in SAMPLE.catalogue.stores:
            content, _ = _label(sku, store)
            if content.unit_price is not None:
                expected = format_money(content.unit_price, "PLN", "pl_PL")
                assert expected in _text(content, model, Fill.UNIT_PRICE), (sku, store)
                checked += 1
            if content.offer_unit_price is not None:
                expected = format_money(content.offer_unit_price, "PLN", "pl_PL")
                line = _text(content, model, Fill.OFFER_UNIT_PRICE)
                assert "w promocji" in line, (sku, store)
                assert expected in line, (sku, store)
                offers += 1
    assert checked > 40
    assert offers >= 6  # water, crisps and beer in every store


def test_hand_written_content_carries_the_offer_unit_price() -> None:
    from rendering.content import content_from_dict, content_to_dict

    content, _ = _label("WOD-001")
    assert content.offer_unit_price == Decimal("1.17")
    assert content_from_dict(content_to_dict(content)) == content
