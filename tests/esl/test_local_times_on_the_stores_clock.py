"""A local time written without its offset on a line that names one store (a store's
price, a promotion of one store, a history row, a store file's opening) is refused with
the offset it has on that store's clock, in the store's own `time_zone`: the clock the
person who wrote it was reading. A line naming no store, a zone or several stores is
told the installation's zone, as before; so is a store with no zone of its own.

Before, every line was told the installation's zone: in a Warsaw installation a New York
store's summer price starting "2027-07-01T00:00:00" was told to write +02:00, six hours
before midnight on that store's clock, and written as told it began at 18:00 on 30 June
in New York.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PriceRuleRow, PromotionRow, StoreRow
from tests.esl.test_cli import _write
from tests.esl.test_console_publishes_what_it_previewed import _console
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV

NEW_YORK_SUMMER = (
    "'2027-07-01T00:00:00' has no UTC offset: in America/New_York it is "
    "2027-07-01T00:00:00-04:00; write that, or the instant in UTC with Z"
)
NEW_YORK_WINTER = (
    "'2027-01-15T00:00:00' has no UTC offset: in America/New_York it is "
    "2027-01-15T00:00:00-05:00; write that, or the instant in UTC with Z"
)
WARSAW_SUMMER = (
    "'2027-07-01T00:00:00' has no UTC offset: in Europe/Warsaw it is "
    "2027-07-01T00:00:00+02:00; write that, or the instant in UTC with Z"
)
PROMOTION_HEADER = "id,name,kind,skus,zones,stores,percent,valid_from,valid_until\n"


@pytest.fixture
def new_york(api: Api) -> Api:
    """Store NY1 of zone north keeps New York's clock in this Warsaw installation
    (`Settings` of locale pl_PL, no ESL_TIME_ZONE); S01 keeps none of its own."""
    put = api.client.put(
        "/api/v1/stores/NY1",
        json={"name": "New York", "zone": "north", "time_zone": "America/New_York"},
        headers=api.headers("admin"),
    )
    assert put.status_code in (200, 201), put.text
    return api


def _count(engine: Engine, table: type) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _problems(answer: object) -> dict[int, str]:
    assert getattr(answer, "status_code", None) == 422, getattr(answer, "text", answer)
    problems = answer.json()["error"]["problems"]  # type: ignore[attr-defined]
    return {p["line"]: p["reason"] for p in problems}


def test_a_store_price_is_told_the_offset_on_that_stores_clock(new_york: Api) -> None:
    answer = new_york.import_csv(
        "prices",
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,store,,NY1,3.29,PLN,2027-07-01T00:00:00,\n"
        "CHS-1,store,,NY1,8.29,PLN,2027-01-15T00:00:00,\n"
        "CFE-1,store,,NY1,54.99,PLN,2027-03-14T02:30:00,\n"
        "MLK-1,store,,S01,3.29,PLN,2027-07-01T00:00:00,\n"
        "MLK-1,zone,,north,3.19,PLN,2027-07-01T00:00:00,\n"
        "MLK-1,national,,,3.39,PLN,2027-07-01T00:00:00,\n",
    )

    assert _problems(answer) == {
        2: f"valid_from {NEW_YORK_SUMMER}",
        3: f"valid_from {NEW_YORK_WINTER}",
        # New York's spring night, a fortnight before Warsaw's.
        4: "valid_from '2027-03-14T02:30:00' has no UTC offset, and no clock in "
        "America/New_York shows it: that night the clocks go from 02:00 (-05:00) to 03:00 "
        "(-04:00); write the instant meant with its offset, or in UTC with Z",
        5: f"valid_from {WARSAW_SUMMER}",
        6: f"valid_from {WARSAW_SUMMER}",
        7: f"valid_from {WARSAW_SUMMER}",
    }
    assert _count(new_york.engine, PriceRuleRow) == 0


def test_a_promotion_of_one_store_is_told_that_stores_clock(new_york: Api) -> None:
    answer = new_york.import_csv(
        "promotions",
        PROMOTION_HEADER + "NY-LATO,Lato,percent_off,MLK-1,,NY1,10,2027-07-01T00:00:00,\n"
        "NY-ZIMA,Zima,percent_off,MLK-1,,NY1,10,2026-12-01T00:00:00-05:00,2027-01-15T00:00:00\n"
        "BOTH,Oba,percent_off,MLK-1,,NY1|S01,10,2027-07-01T00:00:00,\n"
        "ZONE,Strefa,percent_off,MLK-1,north,NY1,10,2027-07-01T00:00:00,\n",
    )

    assert _problems(answer) == {
        2: f"valid_from {NEW_YORK_SUMMER}",
        3: f"valid_until {NEW_YORK_WINTER}",
        4: f"valid_from {WARSAW_SUMMER}",
        5: f"valid_from {WARSAW_SUMMER}",
    }
    assert _count(new_york.engine, PromotionRow) == 0


def test_the_consoles_upload_names_the_stores_clock_too(new_york: Api) -> None:
    client, csrf = _console(new_york)
    try:
        answer = client.post(
            "/ui/publications/preview",
            data={"kind": "promotions", "csrf": csrf, "effective_at": ""},
            files={
                "file": (
                    "promotions.csv",
                    PROMOTION_HEADER
                    + "NY-LATO,Lato,percent_off,MLK-1,,NY1,10,2027-07-01T00:00:00,\n",
                    "text/csv",
                )
            },
        )
    finally:
        client.close()
    assert answer.status_code == 422, answer.text[-2000:]
    assert "in America/New_York it is 2027-07-01T00:00:00-04:00" in answer.text
    assert _count(new_york.engine, PromotionRow) == 0


def test_a_history_row_is_told_its_stores_clock(new_york: Api) -> None:
    answer = new_york.import_csv(
        "history",
        "sku,channel,store,effective_at,price,currency\n"
        "MLK-1,store,NY1,2026-01-10T00:00:00,3.29,PLN\n"
        "MLK-1,store,S01,2026-01-10T00:00:00,3.29,PLN\n",
    )

    assert _problems(answer) == {
        2: "effective_at '2026-01-10T00:00:00' has no UTC offset: in America/New_York it is "
        "2026-01-10T00:00:00-05:00; write that, or the instant in UTC with Z",
        3: "effective_at '2026-01-10T00:00:00' has no UTC offset: in Europe/Warsaw it is "
        "2026-01-10T00:00:00+01:00; write that, or the instant in UTC with Z",
    }
    assert _count(new_york.engine, LedgerEntryRow) == 0


def test_a_stores_opening_is_told_its_own_clock(new_york: Api) -> None:
    """The zone the line gives the store, else the one it keeps."""
    answer = new_york.import_csv(
        "stores",
        "code,name,zone,time_zone,opened\n"
        "NY2,Brooklyn,north,America/New_York,2026-01-10T08:00:00\n"
        "S09,Sopot,north,,2026-01-10T08:00:00\n",
        role="admin",
    )
    kept = new_york.import_csv(
        "stores", "code,name,opened\nNY1,New York,2026-01-10T08:00:00\n", role="admin"
    )

    in_new_york = (
        "opened '2026-01-10T08:00:00' has no UTC offset: in America/New_York it is "
        "2026-01-10T08:00:00-05:00; write that, or the instant in UTC with Z"
    )
    assert _problems(answer) == {
        2: in_new_york,
        3: "opened '2026-01-10T08:00:00' has no UTC offset: in Europe/Warsaw it is "
        "2026-01-10T08:00:00+01:00; write that, or the instant in UTC with Z",
    }
    assert _problems(kept) == {2: in_new_york}
    assert _count(new_york.engine, StoreRow) == 4  # S01-S03 and NY1


def test_esl_import_prices_names_the_stores_clock(cli: CliRunner, tmp_path: Path) -> None:
    assert cli.invoke(app, ["zones", "put", "north", "--name", "North"]).exit_code == 0
    stores = _write(
        tmp_path, "stores.csv", "code,name,zone,time_zone\nNY1,New York,north,America/New_York\n"
    )
    assert cli.invoke(app, ["import", "stores", stores]).exit_code == 0
    products = _write(tmp_path, "products.csv", PRODUCTS_CSV)
    assert cli.invoke(app, ["import", "products", products]).exit_code == 0
    prices = _write(
        tmp_path,
        "prices.csv",
        "sku,scope,store_or_zone,price,currency,valid_from\n"
        "MLK-1,store,NY1,3.29,PLN,2027-07-01T00:00:00\n",
    )

    result = cli.invoke(app, ["import", "prices", prices, "--json"])

    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["problems"] == [
        {"line": 2, "reason": f"valid_from {NEW_YORK_SUMMER}"}
    ]
