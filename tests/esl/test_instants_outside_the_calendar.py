"""An instant at the ends of the calendar, written with an offset that puts it outside it
in UTC, is a refused value (a bad line, a 422), never an OverflowError or a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import PriceRuleRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports import import_prices
from tests.support.api import Api
from tests.support.database import START

HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
# 9999-12-31T23:59:59-01:00 is 10000-01-01T00:59:59Z; 0001-01-01T00:00:00+01:00 is year 0.
EDGES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


def _count(engine: Engine, row: type) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


@pytest.mark.parametrize("instant", EDGES)
def test_a_price_file_with_an_instant_past_the_calendar_names_the_line(
    seeded: Engine, instant: str
) -> None:
    text = HEADER + "MLK-1,national,,,3.49,PLN,,\n" + f"CHS-1,national,,,8.49,PLN,{instant},\n"
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_prices(session, text, currency="PLN", imported_by="t", now=START)
    assert [p["line"] for p in caught.value.fields["problems"]] == [3]
    assert _count(seeded, PriceRuleRow) == 0


def test_a_price_file_over_http_with_such_an_instant_is_422_not_500(api: Api) -> None:
    text = HEADER + "MLK-1,national,,,3.49,PLN,,\n" + f"CHS-1,national,,,8.49,PLN,,{EDGES[0]}\n"
    response = api.client.post(
        "/api/v1/imports/prices",
        headers=api.headers("pricing"),
        files={"file": ("prices.csv", text.encode(), "text/csv")},
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert _count(api.engine, PriceRuleRow) == 0


def test_a_publication_valid_until_past_the_calendar_is_422_not_a_draft(api: Api) -> None:
    # It was stored (201) as a draft whose every /validate then was a 500.
    body = {
        "title": "far future",
        "items": [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.49", "valid_until": EDGES[0]}
        ],
    }
    response = api.client.post("/api/v1/publications", headers=api.headers("pricing"), json=body)
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert "outside years 1-9999" in response.text
    assert _count(api.engine, PublicationRow) == 0


def test_a_publication_effective_past_the_calendar_is_422_not_500(api: Api) -> None:
    body = {
        "title": "far future",
        "effective_at": EDGES[0],
        "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.49"}],
    }
    response = api.client.post("/api/v1/publications", headers=api.headers("pricing"), json=body)
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert _count(api.engine, PublicationRow) == 0


def test_a_quote_at_an_instant_before_the_calendar_is_422_not_500(api: Api) -> None:
    response = api.client.get(
        "/api/v1/quote",
        headers=api.headers("auditor"),
        params={"sku": "MLK-1", "store": "S01", "channel": "store", "at": EDGES[1]},
    )
    assert response.status_code == 422, (response.status_code, response.text[:300])
