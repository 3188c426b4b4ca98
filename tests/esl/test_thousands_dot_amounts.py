"""A price file as a German retailer writes it: "1.000" is a thousand euros, not one.

In de_DE (and de_AT) the dot groups thousands. The import read "1.000" as 1.00 EUR and
"12.000" as 12.00 EUR and imported them, though docs/csv-formats.md says money has "no more
decimal places than the system currency's minor unit" (three here, for EUR's two): the
check counted the decimals of the normalised amount, which drops trailing zeros. A price a
thousand times too low reached the shelf and the audit called it a match. The label checker
already refuses the same text as ambiguous (docs/templates.md); the price file, the promotion
file and a publication's amount now do too, with the same question.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from esl.cli import app as cli_app
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV

AMBIGUOUS = "three digits after the decimal sign: one or a thousand?"


def _runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, currency: str, locale: str
) -> CliRunner:
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    monkeypatch.setenv("ESL_CURRENCY", currency)
    monkeypatch.setenv("ESL_LOCALE", locale)
    monkeypatch.delenv("ESL_TIME_ZONE", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS_CSV, encoding="utf-8")
    result = runner.invoke(cli_app, ["import", "products", str(path)])
    assert result.exit_code == 0, result.output
    return runner


@pytest.mark.parametrize(
    ("currency", "locale", "written"),
    [
        ("EUR", "de_DE", "1.000"),
        ("EUR", "de_DE", "12.000"),
        ("EUR", "de_DE", "2.500"),
        ("EUR", "de_AT", "1.000"),
        ("PLN", "pl_PL", "1.000"),
        ("PLN", "pl_PL", "1,000"),  # the decimal comma a Polish file may use, in en_GB a thousand
    ],
)
def test_a_thousands_dot_in_a_price_file_is_refused_not_read_as_a_decimal_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, currency: str, locale: str, written: str
) -> None:
    runner = _runner(tmp_path, monkeypatch, currency=currency, locale=locale)
    path = tmp_path / "preise.csv"
    path.write_text(
        "sku;scope;channel;store_or_zone;price;currency;valid_from;valid_until\r\n"
        f"MLK-1;national;;;{written};{currency};;\r\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli_app, ["import", "prices", str(path), "--json"])
    exported = runner.invoke(cli_app, ["export", "prices"]).stdout.splitlines()[1:]
    assert exported == [], "a price a thousand times too low was imported"
    assert result.exit_code != 0, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["line"] for p in problems] == [2]
    assert f"more decimals than {currency} allows" in problems[0]["reason"]
    assert AMBIGUOUS in problems[0]["reason"]
    # How to write either, the one with the decimal sign that groups nothing where the
    # one written does ("1.000" in de_DE: "1,0").
    one = f"{Decimal(written.replace(',', '.')).normalize():f}"
    one = (one if "." in one else one + ".0").replace(".", "," if "." in written else ".")
    thousand = written.replace(".", "").replace(",", "")
    assert problems[0]["reason"].endswith(f"(write {thousand} or {one})")


@pytest.mark.parametrize(
    ("currency", "locale", "rows", "taken"),
    [
        ("EUR", "de_DE", ["1000,00", "2,5", "12"], ["1000.00", "12.00", "2.50"]),
        # Zeros past the minor unit that cannot be a thousands group, as a spreadsheet
        # writes them: the amount meant is plain.
        ("EUR", "de_DE", ["2,5000", "3,49", "7,0"], ["2.50", "3.49", "7.00"]),
        ("HUF", "en_GB", ["1299.00", "899", "1500.0"], ["1299", "1500", "899"]),
        # Three decimals that no thousands group has (it has 1-3 digits, the first not 0).
        ("EUR", "de_DE", ["0,500", "1234,000", "7,0"], ["0.50", "1234.00", "7.00"]),
    ],
)
def test_plain_amounts_are_still_taken(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    currency: str,
    locale: str,
    rows: list[str],
    taken: list[str],
) -> None:
    runner = _runner(tmp_path, monkeypatch, currency=currency, locale=locale)
    path = tmp_path / "preise.csv"
    skus = ["MLK-1", "CHS-1", "CFE-1"]
    path.write_text(
        "sku;scope;channel;store_or_zone;price;currency;valid_from;valid_until\r\n"
        + "".join(
            f"{sku};national;;;{row};{currency};;\r\n" for sku, row in zip(skus, rows, strict=True)
        ),
        encoding="utf-8",
    )
    result = runner.invoke(cli_app, ["import", "prices", str(path)])
    assert result.exit_code == 0, result.output
    exported = runner.invoke(cli_app, ["export", "prices"]).stdout.splitlines()[1:]
    assert sorted(line.split(",")[4] for line in exported) == taken


@pytest.mark.parametrize(("amount", "currency"), [("1.000", None), ("2.500", "EUR")])
def test_a_publication_amount_with_three_decimals_is_refused(
    api: Api, amount: str, currency: str | None
) -> None:
    item: dict[str, Any] = {"action": "set_price", "sku": "MLK-1", "amount": amount}
    if currency:
        item["currency"] = currency
    response = api.client.post(
        "/api/v1/publications",
        json={"title": "t", "items": [item]},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 422, response.json()
    error = response.json()["error"]
    assert AMBIGUOUS in error["message"]
    assert error["minor_unit"] == 2
    listed = api.client.get("/api/v1/publications", headers=api.headers("pricing")).json()
    assert listed["total"] == 0
