"""A SKU or a store code is one key whatever its case: a new one differing from a stored
one (or from another line of the same file) only in case is refused, naming that one.

Another system's product file writes 'mlk-1' for MLK-1. Taken as a new product it
stood beside MLK-1 ("1 new"), MLK-1's label kept what the file meant to correct, and the
price, history and promotion files refused 'mlk-1' as unknown: a product no one could
price. A store code 's01' beside 'S01' was the same dead end. Held where a key is
created (the product and store files, `PUT /products/{sku}`, `PUT /stores/{code}`): a
stored key, as written, is updated, so keys stored before this rule (two differing only
in case included) are untouched. Folded with `str.lower`, as SQL's `lower()`: new keys
are ASCII (`esl.skus`, the store code's spelling).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

__all__ = ["CaseTwins", "stored_case_twin", "twin_refusal"]


def twin_refusal(key: str, twin: str, noun: str, line: int | None = None) -> str:
    """The words refusing `key` for `twin` (a stored one, or that of file line `line`)."""
    whose = f"the stored {noun} {twin}" if line is None else f"the {noun} {twin} of line {line}"
    return f"{key}: differs from {whose} only in case; write {twin}"


class CaseTwins:
    """The keys of one file checked against the stored ones and the file's earlier lines.

    `noun`: what a key is, in the refusal ("SKU", "store code")."""

    def __init__(self, stored: Iterable[str], noun: str) -> None:
        self._noun = noun
        self._stored = set(stored)
        # Sorted: of stored keys differing only in case, the refusal names one, always it.
        self._folded = {key.lower(): key for key in sorted(self._stored, reverse=True)}
        self._new: dict[str, tuple[str, int]] = {}

    def refusal(self, key: str, line: int) -> str | None:
        """Why `key` (on file line `line`) may not be created, or None: a stored key is
        not created but updated."""
        if key in self._stored:
            return None
        folded = key.lower()
        twin = self._folded.get(folded)
        if twin is not None:
            return twin_refusal(key, twin, self._noun)
        earlier = self._new.setdefault(folded, (key, line))
        if earlier[0] != key:
            return twin_refusal(key, earlier[0], self._noun, earlier[1])
        return None


def stored_case_twin(session: Session, column: InstrumentedAttribute[str], key: str) -> str | None:
    """A stored key of `column` differing from `key`, not stored itself, only in case."""
    return session.scalars(
        select(column).where(func.lower(column) == key.lower()).order_by(column).limit(1)
    ).first()
