"""Review (failing): a history file is checked against the ledger as it stands, without
first recording the instants already due (every other price writer records them,
`begin_price_write`). A price that began before the import, whose entry the controller
had not yet recorded (stopped, or between two polls), is not seen as the system's own
first record of its key: a history row after it is taken, and once the due instant is
recorded the ledger says the shelf charged the history's price after the system's own
(docs/csv-formats.md, History: "history never rewrites what the system recorded")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from esl.db.models import ProductRow
from tests.support.api import Api
from tests.support.database import START

PRODUCT = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
    f"NEW-1,Paluszki 200 g,Lajkonik,,snacks,5,200,g,no,{START.isoformat()},\n"
)
HISTORY_HEADER = "sku,channel,store,effective_at,price,regular_price,currency\n"


def test_history_after_a_price_already_due_but_not_yet_recorded_is_refused(api: Api) -> None:
    assert api.import_csv("products", PRODUCT).status_code == 200
    launch = START + timedelta(days=1)
    prices = f"sku,scope,price,currency,valid_from\nNEW-1,national,5.99,PLN,{launch.isoformat()}\n"
    assert api.import_csv("prices", prices).status_code == 200
    # Two days on, no controller has run since: the launch price is due, not yet recorded.
    api.clock.advance(timedelta(days=2))
    after_launch = launch + timedelta(hours=12)
    history = HISTORY_HEADER + f"NEW-1,store,S01,{after_launch.isoformat()},4.99,,PLN\n"
    answer = api.import_csv("history", history)
    # The shelf has charged 5.99 since the launch, as the system published it: a history
    # row claiming 4.99 twelve hours after it rewrites the system's record.
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["problems"][0]["line"] == 2
    ledger = api.client.get(
        "/api/v1/ledger",
        params={"sku": "NEW-1", "store": "S01", "channel": "store"},
        headers=api.headers("auditor"),
    )
    assert ledger.status_code == 200, ledger.text
    assert "history" not in {entry["source"] for entry in ledger.json()["items"]}


def test_a_launch_moved_past_a_price_already_due_but_not_yet_recorded_is_refused(
    api: Api,
) -> None:
    """The same for `PUT /products/{sku}`: `on_sale_since` may be moved later only up to
    the first price the ledger shows, read before the due instants are recorded (the
    write records them once it holds the lock, but checks again only when another writer
    changed the product). A launch moved past the price sold since is taken, and the
    30-day prior price then drops what the shelf charged before the new date."""
    assert api.import_csv("products", PRODUCT).status_code == 200
    launch = START + timedelta(days=1)
    prices = f"sku,scope,price,currency,valid_from\nNEW-1,national,5.99,PLN,{launch.isoformat()}\n"
    assert api.import_csv("prices", prices).status_code == 200
    api.clock.advance(timedelta(days=3))
    body = {
        "name": "Paluszki 200 g",
        "brand": "Lajkonik",
        "category": "snacks",
        "vat_rate": "5",
        "net_content": "200",
        "net_unit": "g",
        "on_sale_since": (launch + timedelta(days=1)).isoformat(),
    }
    answer = api.client.put("/api/v1/products/NEW-1", json=body, headers=api.headers("pricing"))
    # The shelf has charged 5.99 since the launch: a later on_sale_since is refused, as it
    # is once the controller has recorded that price.
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "on_sale_since"


def test_a_product_file_moving_launches_past_prices_already_due_lists_every_line(
    api: Api,
) -> None:
    """The product file, checked again under the lock once the due instants are recorded:
    every product moved past a price sold since is a bad line, told with its number."""
    second = PRODUCT + f"NEW-2,Precelki 200 g,Lajkonik,,snacks,5,200,g,no,{START.isoformat()},\n"
    assert api.import_csv("products", second).status_code == 200
    launch = START + timedelta(days=1)
    prices = "sku,scope,price,currency,valid_from\n"
    prices += f"NEW-1,national,5.99,PLN,{launch.isoformat()}\n"
    prices += f"NEW-2,national,4.49,PLN,{launch.isoformat()}\n"
    assert api.import_csv("prices", prices).status_code == 200
    api.clock.advance(timedelta(days=3))
    later = (launch + timedelta(days=1)).isoformat()
    moved = second.replace(START.isoformat(), later)
    answer = api.import_csv("products", moved)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "import_rejected", error
    assert [problem["line"] for problem in error["problems"]] == [2, 3]


def test_a_sku_re_used_after_a_price_already_due_but_not_yet_recorded_starts_its_ledger_then(
    api: Api,
) -> None:
    """A re-used SKU is told from a postponed launch by the ledger (`sku_reuses`): read
    with the due instants recorded, a new GTIN going on sale after the old product's
    launch price came is another product, whose ledger starts at its own launch."""
    old = PRODUCT.replace("Lajkonik,,snacks", "Lajkonik,5901234123464,snacks")
    assert api.import_csv("products", old).status_code == 200
    launch = START + timedelta(days=1)
    prices = f"sku,scope,price,currency,valid_from\nNEW-1,national,5.99,PLN,{launch.isoformat()}\n"
    assert api.import_csv("prices", prices).status_code == 200
    api.clock.advance(timedelta(days=3))
    relaunch = launch + timedelta(days=1)
    body = {
        "name": "Precelki 200 g",
        "brand": "Lajkonik",
        "gtin": "5901234123471",
        "category": "snacks",
        "vat_rate": "5",
        "net_content": "200",
        "net_unit": "g",
        "on_sale_since": relaunch.isoformat(),
    }
    answer = api.client.put("/api/v1/products/NEW-1", json=body, headers=api.headers("pricing"))
    assert answer.status_code == 200, answer.text
    with api.engine.connect() as connection:
        ledger_since = connection.scalar(
            select(ProductRow.ledger_since).where(ProductRow.sku == "NEW-1")
        )
    assert ledger_since == relaunch
