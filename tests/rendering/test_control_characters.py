"""A tab, a line break or another control character in a drawn text (a product name
typed in a PIM, stored before the API and the CSV imports refused it) is a
`ContentError` naming the field: never a box on the shelf ("Masło□ekstra", the name
shrunk for it), never a crash of the layout ("\\n" and "\\r" failed HarfBuzz with
RuntimeError: raqm_layout() failed, and `esl render` said "unexpected RuntimeError").
docs/templates.md, Locales (the text a render checks)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from rendering.content import content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import ContentError
from rendering.render import render_label
from tests.rendering.label_samples import PLAIN, PROMOTION

MODEL = DISPLAY_MODELS["2.9-bwr"]
# A tab and the other C0 controls, NEL (a C1 control), the Unicode line and paragraph
# separators, and the line breaks of every operating system.
CONTROLS = ["\t", "\x0b", "\x0c", "\x1f", "\x85", "\u2028", "\u2029", "\n", "\r", "\r\n", "\x00"]
# The bidirectional embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069):
# invisible, they reorder the text after them.
DIRECTION_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_a_control_character_in_the_name_is_a_content_error_naming_the_field(
    control: str,
) -> None:
    name = PLAIN.name.replace(" ", control, 1)
    with pytest.raises(ContentError) as refused:
        render_label(replace(PLAIN, name=name), model=MODEL)
    assert refused.value.field == "product.name"
    assert f"(U+{ord(control[0]):04X})" in refused.value.reason


@pytest.mark.parametrize("control", DIRECTION_CONTROLS, ids=repr)
def test_a_direction_control_in_the_name_is_a_content_error_naming_the_field(
    control: str,
) -> None:
    # Drawn before: U+202E (right-to-left override) showed "Mleko 99,2" as "Mleko 2,99".
    with pytest.raises(ContentError) as refused:
        render_label(replace(PLAIN, name=f"Mleko {control}99,2"), model=MODEL)
    assert refused.value.field == "product.name"
    assert f"(U+{ord(control):04X})" in refused.value.reason


@pytest.mark.parametrize(
    ("field", "attribute"),
    [
        ("product.brand", "brand"),
        ("price.unit_label", "unit_label"),
        ("price.promotion.text", "promotion_text"),
        ("store.name", "store_name"),
    ],
)
def test_every_drawn_text_refuses_a_tab_naming_its_field(field: str, attribute: str) -> None:
    text = str(getattr(PROMOTION, attribute)).replace(" ", "\t", 1) + "\t"
    with pytest.raises(ContentError) as refused:
        render_label(replace(PROMOTION, **{attribute: text}), model=MODEL)
    assert refused.value.field == field
    assert "'\\t' (U+0009)" in refused.value.reason


@pytest.mark.parametrize("space", ["\xa0", "\u202f", "\u2009"], ids=repr)
def test_the_spaces_money_and_quantities_are_written_with_are_drawn(space: str) -> None:
    # Babel writes "1 234,56 zł" with U+00A0 (pl) or U+202F (fr); "1 kg" is kept whole
    # with U+00A0; a PIM may write a thin space in "3,2 %".
    spaced = replace(PLAIN, name=PLAIN.name.replace(" ", space), unit_label=f"1{space}kg")
    assert render_label(spaced, model=MODEL).size == (MODEL.width, MODEL.height)


def test_esl_render_exits_2_naming_the_field_of_a_name_with_a_line_break(
    tmp_path: Path,
) -> None:
    data = content_to_dict(replace(PLAIN, name="Mleko UHT\n3,2% 1 l"))
    path = tmp_path / "label.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["render", "--content", str(path), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert "product.name" in result.output
    assert "U+000A" in result.output
    assert "RuntimeError" not in result.output
