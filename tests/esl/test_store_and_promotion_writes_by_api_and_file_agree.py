"""A store sent by `PUT /stores/{code}` and by a store file, and a promotion or a price
sent in a publication and by a promotion or price file, are stored and drawn the same
(a price's and a promotion's amount, percent and currency too: blanks around them
trimmed, the currency in any case, another currency refused by both): a file trims the
blanks around its cells (`esl.blanks`), and the API trims its body's texts by the same
rule. Each change is made once through the API and once through a file into a second,
identical database on the same test clock; the stores, promotions, their versions, the
ledger, the labels handed to planning and a shelf's quote must then be the same (a label
would otherwise draw " Gdańsk Oliwa " or a promotion name with its spaces one way and
not the other, and sending it again the other way would be a change)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from esl.db.engine import session_factory
from esl.db.models import (
    LedgerEntryRow,
    PlanningQueueRow,
    PriceRuleRow,
    PromotionRow,
    PromotionTargetRow,
    PromotionVersionRow,
    StoreRow,
    StoreVersionRow,
)
from esl.imports import import_promotions
from esl.imports.prices import PRICE_COLUMNS, import_prices
from esl.imports.promotions import PROMOTION_COLUMNS
from esl.imports.stores import STORE_COLUMNS, import_stores
from esl.services.quotes import quote
from esl.text_lengths import PROMOTION_NAME_LENGTH, STORE_NAME_LENGTH
from pricing.errors import EslError
from pricing.resolved import ResolvedPrice
from tests.support.api import Api
from tests.support.api_and_file import (  # noqa: F401 - fixtures
    Rows,
    by_file_fixture,
    differences,
    file_line,
    price_three_products,
    rows_seen,
)

DAY = timedelta(days=1)
# Who wrote a row and how it is titled differ by path; a row's id is the database's own.
PATH_COLUMNS = {
    *("id", "title", "kind", "created_by", "published_by", "impact", "queued_at"),
    "source",  # a ledger entry's: "publication" or "import"
}
TABLES = (
    StoreRow,
    StoreVersionRow,
    PromotionRow,
    PromotionTargetRow,
    PromotionVersionRow,
    PriceRuleRow,
    LedgerEntryRow,
    # Not its shelves: a publication lists a promotion's SKUs per store, a file names
    # them for every store (`hand_published_change`'s `everywhere`), the same labels.
    PlanningQueueRow,
)


@dataclass(frozen=True)
class StoreChange:
    """One store as an admin writes it: the path's code and the body, or a file line."""

    code: str
    store: dict[str, Any]

    def by_api(self, api: Api) -> bool:
        answer = api.client.put(
            f"/api/v1/stores/{self.code}", json=self.store, headers=api.headers("admin")
        )
        assert answer.status_code in {200, 409, 422}, answer.text
        return answer.status_code == 200

    def by_file(self, session: Session, now: datetime) -> None:
        import_stores(
            session,
            file_line(STORE_COLUMNS, {**self.store, "code": self.code}),
            imported_by="t",
            now=now,
            currency="PLN",
        )


@dataclass(frozen=True)
class PromotionChange:
    """One promotion as the pricing team writes it: a publication's `upsert_promotion`
    item, or a promotion file's line."""

    promotion: dict[str, Any]

    def by_api(self, api: Api) -> bool:
        item = {"action": "upsert_promotion", **self.promotion}
        return bool(list(_publication_steps(api, item)))

    def by_file(self, session: Session, now: datetime) -> None:
        facts = {**self.promotion, "id": self.promotion["promotion_id"]}
        import_promotions(
            session, file_line(PROMOTION_COLUMNS, facts), imported_by="t", now=now, currency="PLN"
        )


def _publication_steps(api: Api, item: dict[str, Any]) -> Iterator[httpx.Response]:
    """`item` posted in a publication, then validated and published: each step's answer,
    as it comes (none when the publication is refused)."""
    pricing = api.headers("pricing")
    posted = api.client.post(
        "/api/v1/publications", json={"title": "t", "items": [item]}, headers=pricing
    )
    assert posted.status_code in {201, 422}, posted.text
    if posted.status_code != 201:
        return
    for step in ("validate", "publish"):
        answer = api.client.post(
            f"/api/v1/publications/{posted.json()['id']}/{step}", headers=pricing
        )
        assert answer.status_code == 200, answer.text
        yield answer


def _published(api: Api, item: dict[str, Any]) -> bool:
    """`item` posted in a publication, validated and published, each step with no
    problem; False when refused."""
    published = False
    for answer in _publication_steps(api, item):
        assert answer.json()["problems"] == [], answer.text
        published = True
    return published


@dataclass(frozen=True)
class PriceChange:
    """One regular price as the pricing team writes it: a publication's `set_price` item
    (the currency left out is the system's), or a price file's line (which names it)."""

    price: dict[str, Any]

    def by_api(self, api: Api) -> bool:
        return _published(api, {"action": "set_price", **self.price})

    def by_file(self, session: Session, now: datetime) -> None:
        # The line names the scope the item names by its fields (a blank store still says
        # "a store": the file refuses the line's empty store, as the API its blank one).
        scope = "store" if "store" in self.price else "zone" if "zone" in self.price else "national"
        facts = {
            "sku": self.price["sku"],
            "scope": scope,
            "store_or_zone": self.price.get("store", self.price.get("zone")),
            "channel": self.price.get("channel"),
            "valid_until": self.price.get("valid_until"),
            "price": self.price["amount"],
            "currency": self.price.get("currency", "PLN"),
            # A publication's price starts at its effective instant, a file's when it says.
            "valid_from": now.isoformat(),
        }
        import_prices(
            session, file_line(PRICE_COLUMNS, facts), imported_by="t", now=now, currency="PLN"
        )


def _milk(**facts: Any) -> PriceChange:
    return PriceChange({"sku": "MLK-1", "store": "S01", "amount": "3.29", **facts})


Change = StoreChange | PromotionChange | PriceChange
BLACK_WEEK = {
    "promotion_id": "BW-15",
    "name": "Black Week -15 %",
    "kind": "percent_off",
    "percent": "15",
    "categories": ["dairy"],
    # A publication's promotion starts at its effective instant, a file's at none given.
    "valid_from": "2026-03-03T09:00:00+00:00",
}


def _black_week(**facts: Any) -> PromotionChange:
    return PromotionChange({**BLACK_WEEK, **facts})


def _oliwa(**facts: Any) -> StoreChange:
    return StoreChange("S01", {"name": "Gdańsk Oliwa", "zone": "north", **facts})


SCENARIOS: dict[str, Change] = {
    "store renamed": _oliwa(name="Gdańsk  Oliwa Centrum"),
    "store re-put with blanks around its texts": _oliwa(
        name=" Gdańsk Oliwa\u00a0", zone="\tnorth", time_zone=" Europe/Warsaw "
    ),
    "new store with blanks around its name, inner ones kept": StoreChange(
        "S09", {"name": "  Sopot  Monte Cassino ", "zone": "south"}
    ),
    "store name too long only by its blanks": _oliwa(name=f" {'O' * STORE_NAME_LENGTH}\t"),
    "store name too long": _oliwa(name="O" * (STORE_NAME_LENGTH + 1)),
    "store name of blanks only": _oliwa(name=" \u00a0 "),
    "new promotion": _black_week(),
    "promotion with blanks around its texts": _black_week(
        name="\tBlack  Week -15 % ", categories=[" dairy\u00a0"]
    ),
    "promotion of one store's SKUs with blanks around them": _black_week(
        categories=[], skus=[" MLK-1", "CHS-1\u00a0"], stores=["\tS01 "]
    ),
    "promotion name too long only by its blanks": _black_week(
        name=f" {'B' * PROMOTION_NAME_LENGTH} "
    ),
    "promotion name too long": _black_week(name="B" * (PROMOTION_NAME_LENGTH + 1)),
    "promotion name of blanks only": _black_week(name="\u00a0  "),
    # The file refuses an empty name; the API named the promotion by its id (as it does
    # one sent without a name or with null).
    "promotion name empty": _black_week(name=""),
    "price": _milk(),
    "price in the system's currency, named": _milk(currency="PLN"),
    # A file trims its cells and reads a currency in any case (`parse_currency`).
    "price with blanks around its amount and currency": _milk(
        amount=" 3.29\u00a0", currency=" PLN"
    ),
    "price in a lower-case currency": _milk(currency="pln"),
    "price in another currency": _milk(currency="EUR"),
    "promotion amount with blanks, currency in lower case": _black_week(
        kind="amount_off", percent=None, amount=" 0.50 ", currency=" pln\t"
    ),
    "promotion percent with blanks": _black_week(percent="\t15 "),
    "promotion amount in another currency": _black_week(
        kind="amount_off", percent=None, amount="0.50", currency="EUR"
    ),
    # An empty or blank optional field is absent, as a file's empty cell is: the
    # installation's time zone, the opening kept (the API refused the blank time zone as
    # no IANA zone). Not a store's zone or an item's start or end: a blank there is
    # refused by the API (below), read as left out it would move what is priced or when.
    "store with an empty time zone and opening": _oliwa(time_zone="", opened=""),
    "store with a blank time zone and opening": _oliwa(time_zone="\t", opened="\u00a0"),
    # Where a price applies is never read from a blank: left out it is everywhere, so a
    # blank store or zone is refused by both (the file's line names its scope).
    "price for a blank store": _milk(store=" "),
    "price for an empty zone": PriceChange({"sku": "MLK-1", "zone": "", "amount": "3.29"}),
    "promotion with blank optional fields": _black_week(amount=" ", currency=""),
    # An enumerated word (a channel, a kind) is read trimmed and in any case, as the
    # price file read its channel; the promotion file took its channels and the API
    # both only as spelled.
    "price channel with blanks, in upper case": _milk(channel=" Store"),
    "promotion kind and channels in other cases": _black_week(
        kind=" Percent_Off", channels=["STORE ", "web"]
    ),
    "price in an unknown channel": _milk(channel="shop"),
    "promotion in an unknown channel": _black_week(channels=["shop"]),
    "promotion of an unknown kind": _black_week(kind="percent"),
}
REFUSED = {"store name too long", "store name of blanks only"} | {
    "price in an unknown channel",
    "promotion in an unknown channel",
    "promotion of an unknown kind",
    "promotion name too long",
    "promotion name of blanks only",
    "promotion name empty",
    "price for a blank store",
    "price for an empty zone",
    "price in another currency",
    "promotion amount in another currency",
}


def _history(engine: Engine, now: datetime) -> None:
    """The same past in either database: the three products priced at `now`."""
    price_three_products(session_factory(engine), now)


def _seen(engine: Engine) -> Rows:
    """Every row of the stores, promotions, their versions, the ledger and the labels
    handed to planning, without what differs by path."""
    return rows_seen(engine, TABLES, PATH_COLUMNS)


def _shelf(engine: Engine, now: datetime) -> ResolvedPrice:
    """What the milk's shelf label in S01 would draw now: its resolved price, promotion
    name and caption included."""
    with Session(engine) as session:
        resolved = quote(
            session,
            sku="MLK-1",
            store="S01",
            channel="store",
            at=now,
            now=now,
            locale="pl_PL",
            currency="PLN",
        )
    return resolved


def _import(engine: Engine, change: Change, now: datetime) -> bool:
    try:
        with session_factory(engine).begin() as session:
            change.by_file(session, now)
    except EslError:
        return False
    return True


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_store_or_promotion_change_by_api_and_by_file_leaves_the_same_rows(
    api: Api, by_file: Engine, scenario: str
) -> None:
    for engine in (api.engine, by_file):
        _history(engine, api.clock.now)
    api.clock.advance(DAY)
    now = api.clock.now
    change = SCENARIOS[scenario]
    before = _seen(api.engine)
    assert _seen(by_file) == before

    accepted = (change.by_api(api), _import(by_file, change, now))

    assert accepted == ((False, False) if scenario in REFUSED else (True, True))
    by_api_rows, by_file_rows = _seen(api.engine), _seen(by_file)
    assert differences(by_api_rows, by_file_rows) == {}
    assert _shelf(api.engine, now) == _shelf(by_file, now)
    if scenario in REFUSED:
        assert by_api_rows == before


def test_a_price_item_names_its_sku_and_store_as_a_price_file_line_does(api: Api) -> None:
    """A price file trims its `sku` and `store_or_zone` cells, so " MLK-1 " prices MLK-1;
    a publication's set_price refused the same SKU as unknown (and its title of blanks
    only was stored as a draft's title)."""
    pricing = api.headers("pricing")
    item = {"action": "set_price", "sku": " MLK-1\u00a0", "store": "\tS01 ", "amount": "3.29"}
    plain = {**item, "sku": "MLK-1", "store": "S01"}
    blank = api.client.post(
        "/api/v1/publications", json={"title": " \u00a0", "items": [plain]}, headers=pricing
    )
    assert blank.status_code == 422, blank.text
    assert blank.json()["error"]["problems"][0]["location"] == ["body", "title"]

    posted = api.client.post(
        "/api/v1/publications", json={"title": " Milk ", "items": [item]}, headers=pricing
    )

    assert posted.status_code == 201, posted.text
    assert posted.json()["title"] == "Milk"
    assert posted.json()["items"] == [
        {"position": 0, "action": "set_price", "sku": "MLK-1", "store": "S01", "amount": "3.29"}
    ]
    for step in ("validate", "publish"):
        answer = api.client.post(
            f"/api/v1/publications/{posted.json()['id']}/{step}", headers=pricing
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["problems"] == [], answer.text
    prices = api.client.get(
        "/api/v1/prices", params={"sku": "MLK-1", "store": "S01"}, headers=pricing
    )
    assert [rule["amount"] for rule in prices.json()["items"]] == ["3.29"]


@pytest.mark.parametrize(
    "item",
    [
        {"action": "set_price", "sku": "MLK-1", "store": "S01", "channel": "\t", "amount": "3.29"},
        {"action": "set_price", "sku": "MLK-1", "store": " ", "amount": "3.29"},
        {**BLACK_WEEK, "action": "upsert_promotion", "stores": ["\u00a0"]},
        {**BLACK_WEEK, "action": "upsert_promotion", "stores": ["S01", " "]},
        {**BLACK_WEEK, "action": "upsert_promotion", "channels": [" "]},
        {**BLACK_WEEK, "action": "upsert_promotion", "zones": [""]},
        {"action": "set_price", "sku": "MLK-1", "amount": "3.29", "valid_until": " "},
        {**BLACK_WEEK, "action": "upsert_promotion", "valid_from": ""},
        {**BLACK_WEEK, "action": "upsert_promotion", "valid_until": "\t"},
    ],
    ids=[
        "blank channel",
        "blank store",
        "blank store only",
        "a blank store",
        "blank channel item",
        "empty zone item",
        "blank price end",
        "empty promotion start",
        "blank promotion end",
    ],
)
def test_a_blank_where_a_price_or_promotion_applies_is_refused_not_read_as_everywhere(
    api: Api, item: dict[str, Any]
) -> None:
    """Left out, a channel, zone or store (or a promotion's list) is everywhere; a blank
    one read as left out would widen a one-store price or promotion to the chain, so it
    is refused and nothing is stored (a file, which cannot leave a cell out, reads its
    empty cell as everywhere: docs/api.md). So is a blank start or end: left out, a
    price or promotion never ends and a promotion starts at the publication's instant,
    so a date the client lost on its way would keep a week's offer for good, or start it
    early."""
    pricing = api.headers("pricing")
    before = api.client.get("/api/v1/publications", headers=pricing).json()

    answer = api.client.post(
        "/api/v1/publications", json={"title": "Blank", "items": [item]}, headers=pricing
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["problems"][0]["location"][:3] == ["body", "items", "0"]
    assert api.client.get("/api/v1/publications", headers=pricing).json() == before


@pytest.mark.parametrize("zone", ["", " \t"])
def test_a_stores_blank_zone_is_refused_not_read_as_national_prices(api: Api, zone: str) -> None:
    """Left out or null, a store has no zone and its shelves take the national prices; a
    blank zone, a client's bug, read as none would reprice every label of the store (a
    store file's empty zone cell, which cannot be left out, is none: docs/api.md)."""
    admin = api.headers("admin")
    before = api.client.get("/api/v1/stores/S01", headers=admin).json()
    assert before["zone"] == "north"

    answer = api.client.put(
        "/api/v1/stores/S01", json={"name": before["name"], "zone": zone}, headers=admin
    )

    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["error"]["problems"]
    assert problem["location"] == ["body", "zone"]
    assert "zone is empty or blank" in problem["reason"], problem
    assert api.client.get("/api/v1/stores/S01", headers=admin).json() == before
