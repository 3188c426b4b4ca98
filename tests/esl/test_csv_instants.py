"""Publishing a file at an instant: rows without a start of their own start then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from esl.errors import ImportRejectedError
from esl.ui.csv_instants import starting_at

AT = datetime(2026, 12, 24, 6, 0, tzinfo=UTC)


def test_rows_without_a_start_get_the_instant_and_the_others_keep_theirs() -> None:
    text = (
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\n"
        "CHS-1,national,,,8.99,PLN,2027-01-01T00:00:00+00:00,\n"
    )
    assert starting_at(text, AT).splitlines()[1:] == [
        "MLK-1,national,,,3.49,PLN,2026-12-24T06:00:00+00:00,",
        "CHS-1,national,,,8.99,PLN,2027-01-01T00:00:00+00:00,",
    ]


def test_a_semicolon_file_with_decimal_commas_and_no_start_column_keeps_its_shape() -> None:
    text = "sku;scope;price;currency\nMLK-1;national;3,49;PLN\n"
    assert starting_at(text, AT) == (
        "sku;scope;price;currency;valid_from\nMLK-1;national;3,49;PLN;2026-12-24T06:00:00+00:00\n"
    )


def test_an_instant_without_an_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        starting_at("sku\nMLK-1\n", datetime(2026, 12, 24))


def test_a_file_that_is_not_csv_is_refused_with_its_line() -> None:
    """A cell past the csv module's field limit (128 KiB): the importer refuses the file
    as not CSV, naming the line; so is it here, never an unexpected error."""
    text = (
        f'sku,scope,price,currency\nMLK-1,national,3.49,PLN\nCHS-1,national,"{"9" * 140_000}",PLN\n'
    )
    with pytest.raises(ImportRejectedError) as caught:
        starting_at(text, AT)
    assert caught.value.fields["problems"] == [
        {"line": 3, "reason": "field larger than field limit (131072)"}
    ]
