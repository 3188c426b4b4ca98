"""The 30-day prior-price caption of a 1.54" label is read exactly, digits included.

Found by the render2 hunt: on 1.54" German and Austrian labels the full caption
"Niedrigster Preis der letzten 30 Tage vor der Reduzierung: ..." is drawn at the model's
10 px minimum, and the project's legibility reader (`esl.label_legibility.read_fields`,
tesseract) read its "30" as "39".
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from esl.label_legibility import ContentKind, LabelCase, label_content, read_fields
from rendering.display_models import DISPLAY_MODELS
from rendering.templates import Fill


@pytest.mark.xdist_group("tesseract")
def test_the_30_day_caption_of_a_small_label_is_read_exactly() -> None:
    """The ordinary 30-day prior-price line of a 1.54" reduction in German and Austrian
    German (English, drawn at 12 px, read exactly before too, is the control): its letters
    and digits must read back exactly. test_prior_price_captions.py reads the two other
    captions on 1.54", test_small_prior_price.py only prices of 100 EUR and more."""
    cases = [
        LabelCase(
            DISPLAY_MODELS[model],
            ContentKind.REDUCTION,
            source,  # the reader's language (de_AT is read as German)
            replace(label_content(ContentKind.REDUCTION, source, 0), locale=locale),
        )
        for model in ("1.54-bw", "1.54-bwr")
        for locale, source in (("de_DE", "de_DE"), ("de_AT", "de_DE"), ("en_GB", "en_GB"))
    ]
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    assert [(r.case, r.expected, r.read) for r in readings if not r.exact] == []
