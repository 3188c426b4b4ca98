"""What a promotion id may be: one line of text with nothing blank around it.

A promotion is named by its id wherever it is created or replaced: a publication's
`upsert_promotion` item, the promotion file (the console's upload is that file). The file
trims its cells, so an id made through the API as "LATO " (a space pasted in) could never
be named by a file: its "replacement" of LATO was a second promotion running beside the
first, and the shelf kept the better price. A line break or a tab in an id ("P\\n1") cannot
be written in a file cell either without quoting, nor read on the console. One rule, held
where a promotion is created, so an id is the same through every door: no whitespace
before or after it (a space inside, "LATO 2026", is fine), no control character, line
break or direction control (`esl.one_line_text`).

Where a promotion is only referred to (`end_promotion`, `GET /promotions/{id}`) any
stored id is taken: those stored before this rule (no migration renamed them) can still
be read and ended; one that names no promotion is refused as unknown.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from esl.one_line_text import one_line_problem
from esl.text_lengths import PROMOTION_ID_LENGTH

__all__ = ["NewPromotionId", "promotion_id_problem", "require_promotion_id"]


def promotion_id_problem(text: str) -> str | None:
    """Why `text` may not name a new promotion, or None."""
    if text != text.strip():
        return (
            f"{text!r} begins or ends with whitespace: a file trims its cells, so it "
            f"could never name this promotion (write {text.strip()!r})"
        )
    return one_line_problem(text)


def require_promotion_id(text: str) -> str:
    """`text`, or `ValueError` saying why it may not name a new promotion."""
    problem = promotion_id_problem(text)
    if problem:
        raise ValueError(problem)
    return text


# The API's id of a promotion created or replaced (`upsert_promotion`).
NewPromotionId = Annotated[
    str,
    AfterValidator(require_promotion_id),
    Field(
        min_length=1,
        max_length=PROMOTION_ID_LENGTH,
        description="One line, nothing blank before or after it (a file trims its cells), "
        "no control character, line break or direction control (422).",
    ),
]
