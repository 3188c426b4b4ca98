"""The price file refuses a line naming a SKU, store or zone that nothing stored has, or a
zone no store belongs to, by the check a publication's items and the promotion file's
lines take (`ImportReferences.unknown`), with its reason: `unknown sku(s): NOPE-1`,
`unknown store(s): S99`, `unknown zone(s): east`, `zone(s) with no store: west`, each
bad line numbered, all of them at once, nothing stored, through `POST /imports/prices`
and `esl import prices` alike.

Before, only its zone line took that check: an unknown SKU or store was worded the price
file's own way, `unknown sku 'NOPE-1'`, `unknown store 'S99'`, while `POST /publications`
refused the same `set_price` with `unknown sku(s): NOPE-1`.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from esl.cli import app
from tests.esl.test_cli import _seed_stores, _write
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV
from tests.support.publication_rows import publication_row_counts

HEADER = "sku,scope,channel,store_or_zone,price,currency\n"
BAD_LINES = (
    "MLK-1,national,,,3.49,PLN\n"  # line 2: good
    "NOPE-1,national,,,3.29,PLN\n"  # line 3
    "MLK-1,store,,S99,3.29,PLN\n"  # line 4
    "MLK-1,zone,,east,3.29,PLN\n"  # line 5
    "CHS-1,zone,,west,8.29,PLN\n"  # line 6
)


def _posted_reason(api: Api, item: dict[str, str]) -> str:
    """The message `POST /publications` refuses `item` with."""
    body = {"title": "x", "items": [item]}
    answer = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert answer.status_code == 422, answer.text
    return str(answer.json()["error"]["message"])


def test_the_price_file_words_unknown_references_as_a_publication_does(api: Api) -> None:
    defined = api.client.put(
        "/api/v1/zones/west", json={"name": "West"}, headers=api.headers("admin")
    )
    assert defined.status_code in (200, 201), defined.text
    before = publication_row_counts(api.engine)

    answer = api.import_csv("prices", HEADER + BAD_LINES)

    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"] == "price file rejected: 4 bad row(s), nothing was changed"
    assert error["problems"] == [
        {"line": 3, "reason": "unknown sku(s): NOPE-1"},
        {"line": 4, "reason": "unknown store(s): S99"},
        {"line": 5, "reason": "unknown zone(s): east"},
        {"line": 6, "reason": "zone(s) with no store: west"},
    ]
    # One wording through either door: the same names posted as items.
    reasons = [problem["reason"] for problem in error["problems"]]
    assert reasons == [
        _posted_reason(api, {"action": "set_price", "sku": "NOPE-1", "amount": "3.29"}),
        _posted_reason(
            api, {"action": "set_price", "sku": "MLK-1", "store": "S99", "amount": "3.29"}
        ),
        _posted_reason(
            api, {"action": "set_price", "sku": "MLK-1", "zone": "east", "amount": "3.29"}
        ),
        _posted_reason(
            api, {"action": "set_price", "sku": "CHS-1", "zone": "west", "amount": "8.29"}
        ),
    ]
    assert publication_row_counts(api.engine) == before


def test_esl_import_prices_exits_1_listing_every_unknown_reference(
    cli: CliRunner, tmp_path: Path
) -> None:
    _seed_stores(tmp_path)
    products = cli.invoke(app, ["import", "products", _write(tmp_path, "p.csv", PRODUCTS_CSV)])
    assert products.exit_code == 0, products.output
    assert cli.invoke(app, ["zones", "put", "west", "--name", "West"]).exit_code == 0
    bad = _write(tmp_path, "prices.csv", HEADER + BAD_LINES)

    printed = cli.invoke(app, ["import", "prices", bad])
    as_json = cli.invoke(app, ["import", "prices", bad, "--json"])

    assert printed.exit_code == 1, printed.output
    for line in (
        "line 3: unknown sku(s): NOPE-1",
        "line 4: unknown store(s): S99",
        "line 5: unknown zone(s): east",
        "line 6: zone(s) with no store: west",
    ):
        assert line in printed.stderr, printed.stderr
    assert as_json.exit_code == 1, as_json.output
    assert [p["reason"] for p in json.loads(as_json.stdout)["problems"]] == [
        "unknown sku(s): NOPE-1",
        "unknown store(s): S99",
        "unknown zone(s): east",
        "zone(s) with no store: west",
    ]
    exported = cli.invoke(app, ["export", "prices"]).stdout
    assert exported.strip().count("\n") == 0  # the header alone: nothing was imported


def test_the_history_file_words_them_so_too(api: Api) -> None:
    """The history file's lines name a SKU and a store: the same check, the same words."""
    before = publication_row_counts(api.engine)

    answer = api.import_csv(
        "history",
        "sku,channel,store,effective_at,price,currency\n"
        "NOPE-1,store,S01,2026-01-10T00:00:00+01:00,3.29,PLN\n"
        "MLK-1,store,S99,2026-01-10T00:00:00+01:00,3.29,PLN\n",
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["problems"] == [
        {"line": 2, "reason": "unknown sku(s): NOPE-1"},
        {"line": 3, "reason": "unknown store(s): S99"},
    ]
    assert publication_row_counts(api.engine) == before
