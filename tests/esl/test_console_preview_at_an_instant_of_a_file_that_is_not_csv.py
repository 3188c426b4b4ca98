"""docs/console.md, **Publish at**: a file previewed for an instant is refused as it is
without one. A price file holding a cell past the csv module's field limit (128 KiB) was
refused by the preview ("price file is not valid CSV", with its line) but, previewed for
an instant, answered 500 Internal Server Error: the rows were stamped with the instant
(`esl.ui.csv_instants.starting_at`) by a CSV reader nothing guarded. It is now the same
422 page naming the line, and nothing is kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from esl.db.console_models import ConsoleUploadRow
from esl.db.engine import session_factory
from tests.esl.test_console_publishes_what_it_previewed import _console
from tests.support.api import Api

# The third line's price cell is 140,000 characters long.
NOT_CSV = (
    f'sku,scope,price,currency\nMLK-1,national,3.49,PLN\nCHS-1,national,"{"9" * 140_000}",PLN\n'
)


@pytest.mark.parametrize("at", [None, timedelta(hours=1)], ids=["now", "at-an-instant"])
def test_a_file_that_is_not_csv_is_refused_with_its_line_now_or_at_an_instant(
    api: Api, at: timedelta | None
) -> None:
    client, csrf = _console(api)
    effective_at = "" if at is None else (api.clock.now + at).isoformat()
    try:
        answer = client.post(
            "/ui/publications/preview",
            data={"kind": "prices", "csrf": csrf, "effective_at": effective_at},
            files={"file": ("prices.csv", NOT_CSV, "text/csv")},
        )
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[-2000:]
    assert "not valid CSV" in answer.text
    assert re.search(r"\b3\b.*field larger than field limit", answer.text, re.S), answer.text
    with session_factory(api.engine)() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleUploadRow)) == 0
