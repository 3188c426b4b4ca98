"""A label the renderer refuses to draw is one kind of error, whichever law it breaks.

A caller that reports refused labels (`esl render`, the planner) catches
`LabelNotDrawnError`, and each refusal keeps its own code, message and problems.
"""

from __future__ import annotations

import pytest

from rendering.errors import (
    IllegiblePriceError,
    LabelNotDrawnError,
    RenderingError,
    UnlawfulLabelError,
)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            UnlawfulLabelError(("no prior price", "saving from the regular price")),
            "unlawful_label",
            "label not drawn, it would announce a reduction unlawfully: "
            "no prior price; saving from the regular price",
        ),
        (
            IllegiblePriceError(("the price is drawn at 9 px",)),
            "illegible_price",
            "label not drawn, its price would not be legible: the price is drawn at 9 px",
        ),
    ],
)
def test_a_refused_label_says_why_and_is_caught_as_not_drawn(
    error: LabelNotDrawnError, code: str, message: str
) -> None:
    with pytest.raises(LabelNotDrawnError) as caught:
        raise error
    assert isinstance(caught.value, RenderingError)
    assert caught.value.code == code
    assert str(caught.value) == message
    assert caught.value.to_dict() == {
        "code": code,
        "message": message,
        "problems": list(error.problems),
    }
