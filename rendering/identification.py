"""The identification screen: what a label shows while it is bound to no product.

A label just registered (associated), or unbound from its product, must never show a
blank panel (nothing tells a clerk which label it is) nor the price of a product that is
no longer there. It shows a caption, its label id, its store and a QR code of its id:
a clerk pairing labels scans the label, then the product.

Drawn by the ordinary renderer: the screen is a `LabelContent` whose fields carry the
label's identity (table below) and a template per size class, kept as data in
`rendering/identification_templates/*.json`, so every display model has one and a
retailer can change it without code.

| template fill  | content field | holds                               |
|----------------|---------------|-------------------------------------|
| `product_name` | `name`        | the caption ("Etykieta bez produktu") |
| `sku`          | `sku`         | the label id                        |
| `qr`           | `web_url`     | the label id, as a QR code          |
| `store_footer` | `store_name`  | store code and name                 |
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType

from rendering.content import LabelContent
from rendering.display_models import DisplayModel, SizeClass
from rendering.locale_texts import require_locale
from rendering.templates import Template, template_from_json

__all__ = ["IDENTIFICATION_CAPTIONS", "identification_content", "identification_template"]

# The caption per language; English when a language has no row yet.
IDENTIFICATION_CAPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "pl": "Etykieta bez produktu",
        "en": "Label not assigned",
        "de": "Etikett ohne Artikel",
    }
)


def identification_content(
    *, label_id: str, store: str, store_name: str | None, locale: str, currency: str
) -> LabelContent:
    """The identification screen of `label_id` in `store`, as content for a template.

    `currency` only fills a required field: the screen draws no price.
    """
    require_locale(locale)
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    where = f"{store} · {store_name}" if store_name else store
    return LabelContent(
        sku=label_id,
        name=IDENTIFICATION_CAPTIONS.get(language, IDENTIFICATION_CAPTIONS["en"]),
        currency=currency,
        price=Decimal(0),
        web_url=label_id,
        store_name=where,
        locale=locale,
    )


def identification_template(model: DisplayModel) -> Template:
    """The identification screen's template for the model's size class."""
    return _builtin(model.size_class)


@cache
def _builtin(size_class: SizeClass) -> Template:
    text = resources.files("rendering.identification_templates").joinpath(
        f"{size_class.value}.json"
    )
    return template_from_json(text.read_text(encoding="utf-8"))
