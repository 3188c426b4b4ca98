"""A reduction is judged on the amounts the label prints, rounded to the currency.

Found by the render2 hunt: content with amounts finer than the currency ("6.985" against a
prior "6.994" PLN) passed the announcement check, which compared the unrounded amounts, and
was drawn as a reduction from "6,99 zł" to "6,99 zł" with the badge and the 30-day line:
docs/templates.md says the price must be below the prior price, "otherwise nothing may be
announced".
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from rendering.content import LabelContent, content_from_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import ContentError, UnlawfulLabelError
from rendering.locale_texts import format_money
from rendering.render import render_checked

# Each: a price and a prior price that the label prints alike.
ALIKE_WHEN_PRINTED = [
    ("PLN", "6.985", "6.994"),
    ("HUF", "1299.50", "1300.40"),
    ("EUR", "9.995", "9.999"),
]


def _content_json(currency: str, price: str, prior: str) -> dict[str, object]:
    return {
        "locale": "pl_PL",
        "product": {"sku": "1", "name": "Masło ekstra", "gtin": "5900820000196"},
        "price": {
            "currency": currency,
            "price": price,
            "regular_price": prior,
            "prior_price": prior,
            "promotion": {"text": "Promocja", "kind": "percent_off", "valid_until": "2026-11-30"},
        },
    }


@pytest.mark.parametrize(("currency", "price", "prior"), ALIKE_WHEN_PRINTED)
def test_content_with_more_decimals_than_the_currency_is_refused(
    currency: str, price: str, prior: str
) -> None:
    with pytest.raises(ContentError) as refused:
        content_from_dict(_content_json(currency, price, prior))
    assert refused.value.field == "price.price"
    assert f"more decimals than {currency} allows" in refused.value.reason


@pytest.mark.parametrize(
    ("field", "amount"),
    [("regular_price", "6.994"), ("prior_price", "6.994"), ("unit_price", "29.951")],
)
def test_every_amount_of_the_content_is_held_to_the_currency(field: str, amount: str) -> None:
    data = _content_json("PLN", "5.99", "6.99")
    price = data["price"]
    assert isinstance(price, dict)
    price[field] = amount
    with pytest.raises(ContentError) as refused:
        content_from_dict(data)
    assert refused.value.field == f"price.{field}"
    assert "(its minor unit: 2 decimal place(s))" in refused.value.reason


def test_trailing_zeros_and_whole_amounts_are_amounts_of_the_currency() -> None:
    content = content_from_dict(_content_json("HUF", "1299.00", "1400"))
    assert (content.price, content.prior_price) == (Decimal("1299.00"), Decimal(1400))
    kwd = content_from_dict(_content_json("KWD", "1.105", "1.380"))
    assert kwd.price == Decimal("1.105")


def test_esl_render_refuses_the_content_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "label.json"
    path.write_text(json.dumps(_content_json("PLN", "6.985", "6.994")), encoding="utf-8")
    out = tmp_path / "label.png"
    result = CliRunner().invoke(app, ["render", "--content", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "price.price" in result.output
    assert "more decimals than PLN allows" in result.output
    assert not out.exists()


@pytest.mark.parametrize(("currency", "price", "prior"), ALIKE_WHEN_PRINTED)
@pytest.mark.parametrize("model_id", ["1.54-bwr", "2.9-bwr", "4.2-bwr"])
def test_content_built_in_code_is_judged_as_printed(
    currency: str, price: str, prior: str, model_id: str
) -> None:
    """Content built in code (not through content_from_dict) with amounts finer than the
    currency is checked on the amounts the label would print: no reduction, not drawn."""
    content = replace(
        content_from_dict(_content_json(currency, "1", "2")),
        price=Decimal(price),
        regular_price=Decimal(prior),
        prior_price=Decimal(prior),
    )
    # What the shopper would read: the same amount twice, no reduction at all.
    assert format_money(content.price, currency, "pl_PL") == format_money(
        Decimal(prior), currency, "pl_PL"
    )
    with pytest.raises(UnlawfulLabelError) as refused:
        render_checked(content, model=DISPLAY_MODELS[model_id])
    assert any("is not below the prior price" in p for p in refused.value.problems)
    assert any("as the label prints them" in p for p in refused.value.problems)


def test_a_reduction_still_visible_when_printed_is_drawn() -> None:
    content: LabelContent = content_from_dict(_content_json("PLN", "6.98", "6.99"))
    render_checked(content, model=DISPLAY_MODELS["2.9-bwr"])
