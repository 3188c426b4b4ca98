"""What a console preview remembers of the shelves (`shelves_seen`) and how a publish
that finds them changed says so: the stores whose shelves differ, by code, five at the
most and the rest counted; a store the file newly reaches, or no longer reaches, counts."""

from __future__ import annotations

import pytest

from esl.errors import InvalidItemError
from esl.ui.console_uploads import check_shelves_unchanged, shelves_seen


def test_equal_contents_give_equal_digests_whatever_their_order() -> None:
    one = shelves_seen({"S01": {("a|1", "a|2"), ("b|1",)}, "S02": {("c",)}})
    other = shelves_seen({"S02": {("c",)}, "S01": {("b|1",), ("a|1", "a|2")}})
    assert one == other
    check_shelves_unchanged(one, other)


def test_a_label_showing_another_content_or_order_changes_its_store_only() -> None:
    before = shelves_seen({"S01": {("a", "b")}, "S02": {("c",)}})
    after = shelves_seen({"S01": {("b", "a")}, "S02": {("c",)}})
    with pytest.raises(InvalidItemError, match=r"shelves of S01 changed since your preview"):
        check_shelves_unchanged(before, after)


def test_stores_newly_reached_or_no_longer_reached_are_named_five_then_counted() -> None:
    before = shelves_seen({f"S0{n}": {("x",)} for n in range(1, 5)})
    after = shelves_seen({f"S0{n}": {("x",)} for n in range(3, 10)})
    with pytest.raises(InvalidItemError) as refused:
        check_shelves_unchanged(before, after)
    assert "shelves of S01, S02, S05, S06, S07 and 2 more changed" in refused.value.message
