"""An enumerated word (a sales channel, a promotion kind, a price file's scope, a net
content unit) is read by one rule through every door: blanks around it trimmed
(`esl.blanks`) and any case read as its one spelling, so " Store" and "STORE" are the
channel `store`. Anything else is refused with the words allowed.

The price file always read its channel so, the promotion file trimmed its channels but
took them only as spelled, and the API took exact values only: a channel or a kind
exported by a spreadsheet as "Store" was refused one way and stored the other. The
words are lower-case identifiers that differ in more than case, so reading them in any
case can mean only one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from esl.blanks import trim_blanks

__all__ = ["enumerated_word", "not_one_of"]


def enumerated_word(text: str, words: Iterable[str]) -> str | None:
    """The one of `words` that `text` spells, blanks around it and case aside; None when
    it spells none of them."""
    folded = trim_blanks(text).casefold()
    return next((word for word in words if word.casefold() == folded), None)


def not_one_of(field: str, text: str, words: Iterable[str]) -> str:
    """The refusal of `text` as `field`: `channel 'shop' is not one of app, store, web`."""
    return f"{field} {text!r} is not one of {', '.join(words)}"
