"""Small label images for simulator tests: a price in black on a red promotion bar."""

from __future__ import annotations

from PIL import Image, ImageDraw

from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image


def price_label(price: str, *, model_id: str = "2.9-bwr") -> Planes:
    model = get_display_model(model_id)
    image = Image.new("P", (model.width, model.height), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 40, model.width - 8, 100), fill=2 if model.has_accent else 1)
    draw.text((16, 8), "Mleko 3,2% 1 l", fill=1)
    draw.text((16, 60), price, fill=1)
    return planes_from_image(image, has_accent=model.has_accent)
