"""The display model catalogue holds the sizes and colour sets the issue names."""

from __future__ import annotations

import pytest

from rendering.display_models import DISPLAY_MODELS, get_display_model
from rendering.errors import EslError, UnknownDisplayModelError


@pytest.mark.parametrize(
    ("diagonal", "size"),
    [(1.54, (152, 152)), (2.13, (250, 122)), (2.6, (296, 152)), (2.9, (296, 128)),
     (4.2, (400, 300)), (7.5, (800, 480))],
)  # fmt: skip
def test_each_required_size_is_in_the_catalogue(diagonal: float, size: tuple[int, int]) -> None:
    matching = [m for m in DISPLAY_MODELS.values() if m.diagonal_inches == diagonal]
    assert matching
    assert {(m.width, m.height) for m in matching} == {size}


def test_all_three_colour_sets_exist_and_the_accent_is_the_third_colour() -> None:
    colour_sets = {m.colours for m in DISPLAY_MODELS.values()}
    assert colour_sets == {
        ("white", "black"),
        ("white", "black", "red"),
        ("white", "black", "yellow"),
    }
    assert get_display_model("2.9-bwr").accent == "red"
    assert get_display_model("2.9-bw").accent is None


def test_an_unknown_model_is_an_esl_error_naming_it() -> None:
    with pytest.raises(UnknownDisplayModelError) as caught:
        get_display_model("9.7-rainbow")
    assert isinstance(caught.value, EslError)
    assert caught.value.to_dict()["model_id"] == "9.7-rainbow"
