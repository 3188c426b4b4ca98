"""`esl render`: a template designer's JSON in, a PNG preview or the label's bytes out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from esl.cli import app
from rendering.content import content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.encoding import content_hash, decode, planes_from_image
from rendering.render import render_label
from tests.rendering.label_samples import PLAIN, PROMOTION


def _content_file(tmp_path: Path) -> Path:
    path = tmp_path / "label.json"
    path.write_text(json.dumps(content_to_dict(PROMOTION), ensure_ascii=False), encoding="utf-8")
    return path


def test_render_writes_the_png_preview(tmp_path: Path) -> None:
    out = tmp_path / "label.png"
    args = [
        "render",
        "--content",
        str(_content_file(tmp_path)),
        "--model",
        "2.6-bwr",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    model = DISPLAY_MODELS["2.6-bwr"]
    with Image.open(out) as written:
        assert written.size == (296, 152)
        expected = np.asarray(render_label(PROMOTION, model=model))
        assert (np.asarray(written) == expected).all()


def test_render_bin_writes_bytes_that_decode_to_the_label(tmp_path: Path) -> None:
    out = tmp_path / "label.bin"
    args = ["render", "--content", str(_content_file(tmp_path)), "-o", str(out), "--format", "bin"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    model = DISPLAY_MODELS["2.9-bwr"]
    planes = decode(out.read_bytes(), width=296, height=128, has_accent=True)
    assert planes == planes_from_image(render_label(PROMOTION, model=model), has_accent=True)
    assert content_hash(planes).hex() in result.output


def test_bad_content_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    data = content_to_dict(PROMOTION)
    data["price"] = {"currency": "PLN", "price": 12.99}
    path.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["render", "--content", str(path), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "price.price" in result.output


def test_an_unknown_model_exits_2(tmp_path: Path) -> None:
    args = ["render", "--content", str(_content_file(tmp_path)), "--model", "9.9-x", "-o", "x.png"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "9.9-x" in result.output


def test_the_docs_example_content_renders_as_a_lawful_label(tmp_path: Path) -> None:
    docs = (Path(__file__).parents[2] / "docs" / "templates.md").read_text(encoding="utf-8")
    example = docs.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.json"
    path.write_text(example, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["render", "--content", str(path), "-o", str(tmp_path / "e.png")]
    )
    assert result.exit_code == 0, result.output
    assert "unlawful" not in result.output


def test_render_refuses_a_saving_not_measured_from_the_prior_price(tmp_path: Path) -> None:
    # The example the docs used to give: 5.99, struck 7.49, prior 6.99, "-20%".
    data = content_to_dict(PROMOTION)
    data["price"]["regular_price"] = "7.49"  # type: ignore[index]
    data["price"]["promotion"]["text"] = "-20%"  # type: ignore[index]
    path = tmp_path / "unlawful.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "unlawful.png"
    refused = CliRunner().invoke(app, ["render", "--content", str(path), "-o", str(out)])
    assert refused.exit_code == 2
    assert "struck-through price 7.49 is not the prior price 6.99" in refused.output
    assert "the saving against the prior price 6.99 is 14%" in refused.output
    assert (
        "error: not drawn: a reduction is announced only with the lowest price of the 30 days "
        "before it and a saving measured from that price (docs/templates.md); --allow-unlawful "
        "draws it anyway, with a warning"
    ) in refused.output
    assert not out.exists()
    allowed = CliRunner().invoke(
        app, ["render", "--content", str(path), "-o", str(out), "--allow-unlawful"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "warning: the struck-through price 7.49" in allowed.output
    assert out.exists()


def test_render_refuses_a_price_its_template_cannot_draw_legibly(tmp_path: Path) -> None:
    # 1 299,99 zł in a price region 15 % of a 2.9" label wide: under its 11 px minimum.
    narrow = {
        "id": "narrow",
        "version": 1,
        "size_class": "medium",
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
            {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.15, 0.7]},
        ],
    }
    template = tmp_path / "narrow.json"
    template.write_text(json.dumps(narrow), encoding="utf-8")
    data = content_to_dict(PLAIN)
    data["price"]["price"] = "1299.99"  # type: ignore[index]
    path = tmp_path / "long-price.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "long-price.png"
    args = ["render", "--content", str(path), "--template", str(template), "--model", "2.9-bwr"]
    refused = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert refused.exit_code == 2
    problems = [line for line in refused.output.splitlines() if line.startswith("error: ")]
    assert len(problems) == 2, refused.output
    assert problems[0] == (
        "error: the price 1299.99 does not fit template 'narrow' on 2.9-bwr at 11 px or more: "
        "enlarge its region"
    )
    assert problems[1] == (
        "error: not drawn: a price under the display's minimum text size is misread "
        "(docs/templates.md); --allow-unlawful draws it anyway, with a warning"
    )
    assert not out.exists()
    allowed = CliRunner().invoke(app, [*args, "-o", str(out), "--allow-unlawful"])
    assert allowed.exit_code == 0, allowed.output
    assert out.exists()


def test_render_says_why_a_barcode_is_missing(tmp_path: Path) -> None:
    data = content_to_dict(PROMOTION)
    data["product"]["gtin"] = ""  # type: ignore[index]
    path = tmp_path / "no-gtin.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    args = ["render", "--content", str(path), "--model", "4.2-bwr", "-o", str(tmp_path / "x.png")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning: barcode: the product has no GTIN" in result.output


def test_render_draws_a_sample_label_as_the_demo_prices_it(tmp_path: Path) -> None:
    """`--sample SKU --at ISO`: the bundled catalogue's butter, reduced, with its prior price
    in red; the milk on a plain label, its EAN-13 drawn (no "warning: barcode")."""
    at = ["--store", "WAW-01", "--at", "2026-11-23T12:00", "--model", "2.9-bwr"]
    butter, milk = tmp_path / "butter.png", tmp_path / "milk.png"
    for sku, out in (("MSL-001", butter), ("MLK-001", milk)):
        result = CliRunner().invoke(app, ["render", "--sample", sku, *at, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output, result.output
    with Image.open(butter) as image:
        assert image.size == (296, 128)
        assert 2 in np.asarray(image)  # the reduction is announced in red
    with Image.open(milk) as image:
        assert 2 not in np.asarray(image)  # a plain price is black on white


def test_render_sample_refuses_an_unknown_sku_and_a_missing_source(tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    unknown = CliRunner().invoke(app, ["render", "--sample", "NOPE-1", "-o", out])
    assert unknown.exit_code == 2
    assert "unknown SKU 'NOPE-1'" in unknown.output
    neither = CliRunner().invoke(app, ["render", "-o", out])
    assert neither.exit_code == 2
    assert "--content FILE or --sample SKU" in neither.output
