"""CSV files as Polish users save them: Excel pl_PL writes `;` separators, decimal commas
and Windows-1250; "CSV UTF-8" adds a BOM. Each is imported correctly or refused with the
encoding found and the option that reads it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from esl.cli import app
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV

EXCEL_PL_PRICES = (
    "sku;scope;channel;store_or_zone;price;currency;valid_from;valid_until\r\n"
    "MLK-1;national;;;3,49;PLN;;\r\n"
    "CHS-1;national;;;8,99;PLN;;\r\n"
)


def _exported(cli: CliRunner) -> list[str]:
    result = cli.invoke(app, ["export", "prices"])
    assert result.exit_code == 0, result.output
    return sorted(result.stdout.splitlines()[1:])


def _products(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS_CSV, encoding="utf-8")
    assert cli.invoke(app, ["import", "products", str(path)]).exit_code == 0


def test_semicolons_decimal_commas_and_a_bom_are_read_as_meant(
    cli: CliRunner, tmp_path: Path
) -> None:
    _products(cli, tmp_path)
    path = tmp_path / "ceny.csv"
    path.write_bytes(b"\xef\xbb\xbf" + EXCEL_PL_PRICES.encode("utf-8"))
    result = cli.invoke(app, ["import", "prices", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["inserted"] == 2
    assert [line.split(",")[:5] for line in _exported(cli)] == [
        ["CHS-1", "national", "", "", "8.99"],
        ["MLK-1", "national", "", "", "3.49"],
    ]


def test_windows_1250_is_refused_with_the_line_and_the_option_then_read_with_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "produkty.csv"
    path.write_bytes(PRODUCTS_CSV.replace(",", ";").encode("cp1250"))
    refused = cli.invoke(app, ["import", "products", str(path)])
    assert refused.exit_code == 1
    # "Łaciate" is on line 2: its Ł is byte 0xA3 in Windows-1250.
    assert "line 2: byte 0xA3 is not utf-8 text" in refused.stderr
    assert "looks like Windows-1250" in refused.stderr
    assert "--encoding cp1250" in refused.stderr

    read = cli.invoke(app, ["import", "products", str(path), "--encoding", "cp1250", "--json"])
    assert read.exit_code == 0, read.output
    assert json.loads(read.stdout)["inserted"] == 3
    again_as_utf8 = tmp_path / "products.csv"
    again_as_utf8.write_text(PRODUCTS_CSV, encoding="utf-8")
    same = cli.invoke(app, ["import", "products", str(again_as_utf8), "--json"])
    assert json.loads(same.stdout)["unchanged"] == 3  # the same names: Łaciate, not £aciate


def test_an_undecodable_byte_over_http_names_its_line(api: Api) -> None:
    pricing = api.headers("pricing")
    body = (
        b"sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        b"MLK-1,national,,,3.49,PLN,,\n"
    ) + "CHS-1,national,,,8.99,PLN,,\n# Żółć\n".encode("cp1250")
    response = api.client.post(
        "/api/v1/imports/prices", files={"file": ("p.csv", body, "text/csv")}, headers=pricing
    )
    assert response.status_code == 422
    problem = response.json()["error"]["problems"][0]
    assert problem["line"] == 4
    assert "--encoding cp1250" in problem["reason"]
    assert "?encoding=cp1250" in problem["reason"]


def test_windows_1250_over_http_with_the_encoding_named(api: Api) -> None:
    # MSL-1 a new product: its own GTIN (one GTIN names one product).
    renamed = PRODUCTS_CSV.replace("MLK-1", "MSL-1").replace("5900820000011", "5901234000987")
    body = renamed.replace(",", ";").encode("cp1250")
    response = api.client.post(
        "/api/v1/imports/products",
        params={"encoding": "cp1250"},
        files={"file": ("produkty.csv", body, "text/csv")},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 200, response.text
    product = api.client.get("/api/v1/products/MSL-1", headers=api.headers("pricing")).json()
    assert product["brand"] == "Łaciate"
