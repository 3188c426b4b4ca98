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
from tests.rendering.label_samples import PROMOTION


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
