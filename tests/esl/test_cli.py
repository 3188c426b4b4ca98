"""The command line end to end on a SQLite file: db upgrade, keys, imports, publish, export."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from esl.cli import app
from tests.support.database import PRODUCTS_CSV


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _seed_stores(tmp_path: Path) -> None:
    from esl.db.engine import create_engine_for, session_factory
    from esl.db.models import StoreRow, ZoneRow

    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    with session_factory(engine)() as session, session.begin():
        session.add(ZoneRow(code="north", name="North"))
        session.flush()
        session.add(StoreRow(code="S01", name="Oliwa", zone="north"))
    engine.dispose()


def test_keys_are_created_listed_and_revoked(cli: CliRunner, tmp_path: Path) -> None:
    _seed_stores(tmp_path)
    created = cli.invoke(app, ["keys", "create", "oliwa", "--role", "store", "--store", "S01"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("esl_")
    assert len(token) > 40
    listed = cli.invoke(app, ["keys", "list"]).stdout
    assert "oliwa\tstore\tS01" in listed
    assert token not in listed
    assert cli.invoke(app, ["keys", "revoke", "oliwa"]).exit_code == 0
    assert "revoked" in cli.invoke(app, ["keys", "list"]).stdout
    refused = cli.invoke(app, ["keys", "create", "bad", "--role", "store"])
    assert refused.exit_code == 1
    assert "needs the store" in refused.stderr


def test_import_publish_and_export_from_the_command_line(cli: CliRunner, tmp_path: Path) -> None:
    _seed_stores(tmp_path)
    products = cli.invoke(app, ["import", "products", _write(tmp_path, "p.csv", PRODUCTS_CSV)])
    assert products.exit_code == 0, products.output
    prices = _write(
        tmp_path,
        "prices.csv",
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\nCFE-1,zone,,north,59.99,PLN,,\n",
    )
    first = cli.invoke(app, ["import", "prices", prices, "--json"])
    assert json.loads(first.stdout)["inserted"] == 2
    again = cli.invoke(app, ["import", "prices", prices, "--json"])
    assert json.loads(again.stdout)["unchanged"] == 2

    publication = _write(
        tmp_path,
        "pub.json",
        json.dumps(
            {
                "title": "coffee",
                "items": [
                    {"action": "set_price", "sku": "CFE-1", "zone": "north", "amount": "54.99"}
                ],
            }
        ),
    )
    published = cli.invoke(app, ["publish", publication])
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["impact"]["prices_changed"] == 3

    exported = cli.invoke(app, ["export", "prices", "--current"])
    assert exported.exit_code == 0
    assert "CFE-1,zone,,north,54.99,PLN," in exported.stdout


def test_a_bad_file_exits_1_and_lists_its_bad_lines(cli: CliRunner, tmp_path: Path) -> None:
    _seed_stores(tmp_path)
    cli.invoke(app, ["import", "products", _write(tmp_path, "p.csv", PRODUCTS_CSV)])
    bad = _write(
        tmp_path,
        "bad.csv",
        "sku,scope,price,currency\nMLK-1,national,3.49,PLN\nNOPE,national,1,PLN\nCFE-1,zone,2,PLN\n",
    )
    result = cli.invoke(app, ["import", "prices", bad])
    assert result.exit_code == 1
    assert "line 3: unknown sku(s): NOPE" in result.stderr
    assert "line 4: a zone price needs store_or_zone" in result.stderr
    exported = cli.invoke(app, ["export", "prices"]).stdout
    assert exported.strip().count("\n") == 0  # header only: nothing was imported


def test_a_publication_with_problems_is_not_published(cli: CliRunner, tmp_path: Path) -> None:
    _seed_stores(tmp_path)
    cli.invoke(app, ["import", "products", _write(tmp_path, "p.csv", PRODUCTS_CSV)])
    # No store price to end: validation refuses it (an unknown SKU, a promotion not stored
    # ended or a promotion of nothing is refused before anything is stored,
    # test_publish_command_refuses_what_post_refuses.py).
    body = {"title": "ghost", "items": [{"action": "end_price", "sku": "MLK-1", "store": "S01"}]}
    result = cli.invoke(app, ["publish", _write(tmp_path, "pub.json", json.dumps(body))])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "draft"
    assert report["problems"][0]["item"] == 0


def test_settings_come_from_the_env_file_named_by_esl_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "shop.sqlite"
    env_file = tmp_path / "esl.env"
    env_file.write_text(f"ESL_DATABASE_URL=sqlite:///{target}\n", encoding="utf-8")
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert target.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_esl_serve_answers_http_and_asks_for_a_key(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ESL_DATA_DIR": str(tmp_path / "data"),
        "ESL_API_PORT": str(free_port()),
    }
    env.pop("ESL_DATABASE_URL", None)
    esl = str(Path(sys.executable).parent / "esl")
    subprocess.run([esl, "db", "upgrade"], env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        [esl, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{env['ESL_API_PORT']}"
        deadline = time.monotonic() + 90  # a cold import on a loaded 2-core runner is slow
        while True:
            try:
                response = httpx.get(f"{url}/api/v1/zones", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "esl serve did not start"
                time.sleep(0.1)
        assert response.status_code == 401
        # The first OpenAPI document is built on request: slow on a loaded machine.
        assert httpx.get(f"{url}/openapi.json", timeout=30).json()["info"]["title"]
    finally:
        server.terminate()
        server.wait(timeout=10)
