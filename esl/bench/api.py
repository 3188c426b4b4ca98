"""`esl bench api`: price-file import speed and quote latency over real HTTP.

Builds a synthetic catalogue in a fresh SQLite file: `skus` products across 40
categories, `stores` stores in 5 zones, one national price per SKU (the price file
measured), zone prices for 1 SKU in 10, store prices for 1 in 50, 2,000 promotions
and a month of ledger history for the keys quoted. Then:

- `import_rows_per_s`: the 100,000-row price file through `import_prices` (validated
  whole, Core executemany, one transaction) as a bulk load (`--no-ledger`);
- `reimport_unchanged_rows_per_s`: the same file again, which must change nothing;
- `import_with_ledger_rows_per_s`: a price-change file of `change_rows` SKUs with
  ledger recording (each national change touches every store x channel of its SKU);
- `quote_p50_ms` / `quote_p99_ms`: `GET /api/v1/quote` for random keys through uvicorn
  on 127.0.0.1 and an httpx client, after a warm-up.
"""

from __future__ import annotations

import io
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from esl.api.app import create_app
from esl.api.server import ServerThread
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import PublicationRow, StoreRow, ZoneRow, core_table
from esl.imports import import_history, import_prices, import_products, import_promotions
from esl.services.keys import Role, create_key
from esl.settings import Settings
from pricing.gtin import gtin_with_check_digit

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS = (
    "skus",
    "stores",
    "price_rows",
    "import_rows_per_s",
    "import_with_ledger_rows_per_s",
    "quote_p50_ms",
    "quote_p99_ms",
    "quotes",
)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ZONES = ("north", "south", "east", "west", "centre")
CHANNELS = ("store", "web", "app")


def _products_csv(skus: int) -> str:
    out = io.StringIO()
    out.write(
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
    )
    for n in range(skus):
        unit, content = (("g", "500"), ("l", "1"), ("kg", "1"), ("pcs", "1"))[n % 4]
        gtin = gtin_with_check_digit(f"590{n:09d}")  # products with a wrong one are refused
        out.write(
            f"SKU{n:06d},Produkt {n},Marka {n % 300},{gtin},cat{n % 40},"
            f"{(5, 8, 23)[n % 3]},{content},{unit},{'yes' if n % 7 == 0 else 'no'},"
            "2025-01-01T00:00:00Z\n"
        )
    return out.getvalue()


def _price(n: int, shift: int = 0) -> str:
    return f"{1 + (n * 37 + shift) % 9000 / 100:.2f}"


def _prices_csv(skus: int, stores: int) -> tuple[str, int]:
    out = io.StringIO()
    out.write("sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n")
    rows = 0
    for n in range(skus):
        out.write(f"SKU{n:06d},national,,,{_price(n)},PLN,,\n")
        rows += 1
    return out.getvalue(), rows


def _overrides_csv(skus: int, stores: int) -> str:
    out = io.StringIO()
    out.write("sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n")
    for n in range(0, skus, 10):
        out.write(f"SKU{n:06d},zone,,{ZONES[n % 5]},{_price(n, -20)},PLN,,\n")
    for n in range(5, skus, 50):
        out.write(f"SKU{n:06d},store,store,S{n % stores:03d},{_price(n, -40)},PLN,,\n")
    return out.getvalue()


def _promotions_csv(skus: int, count: int) -> str:
    out = io.StringIO()
    out.write("id,name,kind,skus,categories,percent,amount,currency,quantity\n")
    for p in range(count):
        sku = f"SKU{(p * 97) % skus:06d}"
        if p % 3 == 0:
            out.write(f"PR{p},Rabat {p},percent_off,{sku},,{10 + p % 30},,,\n")
        elif p % 3 == 1:
            out.write(f"PR{p},Wielopak {p},multi_buy,{sku},,,1.00,PLN,3\n")
        else:
            out.write(f"PR{p},Karta {p},loyalty_price,{sku},,,0.50,PLN,\n")
    return out.getvalue()


def _history_csv(keys: list[tuple[str, str, str]]) -> str:
    out = io.StringIO()
    out.write("sku,channel,store,effective_at,price,currency\n")
    for sku, channel, store in keys:
        n = int(sku[3:])
        for days in (40, 20, 5):
            at = (NOW - timedelta(days=days)).isoformat()
            out.write(f"{sku},{channel},{store},{at},{_price(n, days)},PLN\n")
    return out.getvalue()


def _seed(url: str, *, skus: int, stores: int, promotions: int) -> dict[str, float]:
    engine = create_engine_for(url)
    upgrade_database(engine)
    sessions = session_factory(engine)
    figures: dict[str, float] = {}
    with sessions() as session, session.begin():
        session.execute(insert(core_table(ZoneRow)), [{"code": z, "name": z} for z in ZONES])
        session.execute(
            insert(core_table(StoreRow)),
            [
                {"code": f"S{s:03d}", "name": f"Sklep {s}", "zone": ZONES[s % 5]}
                for s in range(stores)
            ],
        )
        import_products(session, _products_csv(skus), currency="PLN", imported_by="bench", now=NOW)
    prices, rows = _prices_csv(skus, stores)
    started = time.perf_counter()
    with sessions() as session, session.begin():
        import_prices(
            session, prices, currency="PLN", imported_by="bench", now=NOW, record_ledger=False
        )
    figures["import_s"] = time.perf_counter() - started
    figures["price_rows"] = rows
    started = time.perf_counter()
    with sessions() as session, session.begin():
        again = import_prices(
            session, prices, currency="PLN", imported_by="bench", now=NOW, record_ledger=False
        )
    assert again.unchanged == rows, "re-importing the same file must change nothing"
    figures["reimport_s"] = time.perf_counter() - started
    with sessions() as session, session.begin():
        import_prices(
            session,
            _overrides_csv(skus, stores),
            currency="PLN",
            imported_by="bench",
            now=NOW,
            record_ledger=False,
        )
        import_promotions(
            session, _promotions_csv(skus, promotions), currency="PLN", imported_by="bench", now=NOW
        )
    engine.dispose()
    return figures


def _change_file(skus: int, change_rows: int) -> str:
    out = io.StringIO()
    out.write("sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n")
    step = max(skus // change_rows, 1)
    for n in range(0, step * change_rows, step):
        out.write(f"SKU{n:06d},national,,,{_price(n, 3)},PLN,,\n")
    return out.getvalue()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(*, smoke: bool) -> dict[str, object]:
    skus, stores = (300, 5) if smoke else (100_000, 50)
    promotions = 30 if smoke else 2_000
    change_rows = 20 if smoke else 500
    quotes, warmup = (60, 10) if smoke else (2_000, 200)
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="esl-bench-api-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        figures = _seed(url, skus=skus, stores=stores, promotions=promotions)
        keys = [
            (f"SKU{rng.randrange(skus):06d}", rng.choice(CHANNELS), f"S{rng.randrange(stores):03d}")
            for _ in range(quotes + warmup)
        ]
        engine = create_engine_for(url)
        sessions = session_factory(engine)
        with sessions() as session, session.begin():
            import_history(
                session,
                _history_csv(sorted(set(keys))),
                currency="PLN",
                imported_by="bench",
                now=NOW,
            )
        started = time.perf_counter()
        with sessions() as session, session.begin():
            changed = import_prices(
                session,
                _change_file(skus, change_rows),
                currency="PLN",
                imported_by="bench",
                now=NOW + timedelta(hours=1),
            )
        ledger_s = time.perf_counter() - started
        with sessions() as session:
            publication = session.get(PublicationRow, changed.publication_id)
            ledger_entries = (
                publication.impact["ledger_entries"] if publication and publication.impact else 0
            )
        with sessions() as session, session.begin():
            _, token = create_key(session, name="bench", role=Role.AUDITOR, store=None, now=NOW)
        app = create_app(
            Settings(data_dir=Path(tmp), database_url=url), engine=engine, clock=lambda: NOW
        )
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        with (
            ServerThread(app) as server,
            httpx.Client(base_url=server.url, headers={"X-API-Key": token}, timeout=30) as client,
        ):
            for index, (sku, channel, store) in enumerate(keys):
                params = {"sku": sku, "store": store, "channel": channel}
                began = time.perf_counter()
                response = client.get("/api/v1/quote", params=params)
                elapsed = (time.perf_counter() - began) * 1000
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if index >= warmup:
                    latencies.append(elapsed)
        engine.dispose()
    result: dict[str, Any] = {
        "skus": skus,
        "stores": stores,
        "price_rows": int(figures["price_rows"]),
        "import_s": round(figures["import_s"], 3),
        "import_rows_per_s": round(figures["price_rows"] / figures["import_s"]),
        "reimport_unchanged_rows_per_s": round(figures["price_rows"] / figures["reimport_s"]),
        "import_with_ledger_rows": change_rows,
        "import_with_ledger_entries": ledger_entries,
        "import_with_ledger_rows_per_s": round(change_rows / ledger_s),
        "quotes": len(latencies),
        "quote_p50_ms": round(statistics.median(latencies), 3),
        "quote_p99_ms": round(_percentile(latencies, 0.99), 3),
        "quote_mean_ms": round(statistics.fmean(latencies), 3),
        "quote_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "database": "sqlite",
    }
    return result
