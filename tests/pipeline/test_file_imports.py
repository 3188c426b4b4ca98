"""A price, promotion or history file reaches the shelf like a publication through the API.

The real chain (tests/support/chain.py): SQLite, a real Mosquitto, simulated store
gateways and labels speaking the signed protocol, the controller the composition root
builds. The file is loaded by the same function `esl import promotions`, the API's
import route and the console's upload call. A shelf that does not show a promotion the
web shop charges, or keeps showing one that was taken back, is the worst failure this
system has: each step waits until every panel shows the render of what the quote
service says is due, and checks the price, the 30-day prior price and the controller's
record of each label.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import LabelStateRow
from esl.imports import import_history, import_prices, import_promotions
from esl.services.quotes import quote
from rendering.encoding import content_hash
from tests.fixtures.mosquitto import MosquittoProcess
from tests.pipeline.shared_clock_store import SharedClockStore, priced_store
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import expected_planes, publish_prices

pytestmark = pytest.mark.integration

SPEED = 10.0  # the shared clock's simulated seconds per wall-clock second
HEADER = "id,name,kind,skus,categories,percent,valid_from,valid_until\n"


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _import(sessions: sessionmaker[Session], rows: str) -> int | None:
    with sessions.begin() as session:
        report = import_promotions(
            session, HEADER + rows, currency="PLN", imported_by="test", now=wall_clock()
        )
    return report.publication_id


def _shelf_price(
    sessions: sessionmaker[Session], sku: str, at: datetime | None = None
) -> tuple[Decimal, Decimal | None]:
    """(price, prior price) the quote service says is due at `at` (None: now) on a shelf
    of S01."""
    instant = at or wall_clock()
    with sessions() as session:
        resolved = quote(
            session,
            sku=sku,
            store="S01",
            channel="store",
            at=instant,
            now=instant,
            locale="pl_PL",
            currency="PLN",
        )
    prior = resolved.prior_price.amount if resolved.prior_price is not None else None
    return resolved.price.amount, prior


async def _three_labels_converged(chain: Chain, start: datetime) -> None:
    publish_prices(chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=start)
    chain.add_store("S01", labels=3)
    await chain.start_gateway("S01")
    await chain.start_controller()
    await chain.wait_converged(wall_clock())


def _assert_panels_and_record(chain: Chain, at: datetime) -> None:
    """Every panel shows the reference render due at `at`, and the controller's record of
    each label is that image, confirmed."""
    site = chain.sites["S01"]
    with chain.sessions() as session:
        for label_id, label in site.gateway.labels.items():
            due = expected_planes(session, label_id=label_id, sku=chain.bindings[label_id], at=at)
            assert label.shown == due, label_id
            state = session.get(LabelStateRow, label_id)
            assert state is not None
            assert state.confirmed_hash == state.desired_hash == content_hash(due).hex()


async def test_an_imported_promotion_its_update_and_its_narrowing_reach_every_label(
    chain: Chain,
) -> None:
    start = wall_clock()
    # Twenty days ago cheese cost 7.99 on the shelf of S01: the prior price of any
    # reduction of it now is 7.99, not its regular 8.99.
    with chain.sessions.begin() as session:
        import_history(
            session,
            "sku,channel,store,effective_at,price,regular_price,currency\n"
            f"CHS-1,store,S01,{_instant(start - timedelta(days=20))},7.99,7.99,PLN\n"
            f"CFE-1,store,S01,{_instant(start - timedelta(days=20))},59.99,59.99,PLN\n",
            currency="PLN",
            imported_by="test",
            now=start,
        )
    publish_prices(chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=start)
    chain.add_store("S01", labels=6)
    await chain.start_gateway("S01")
    await chain.start_controller()
    await chain.wait_converged(wall_clock())
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("8.99"), None)
    before = {label: chain.sites["S01"].gateway.labels[label].shown for label in chain.bindings}

    # 20 % off cheese and coffee, from now for a week (its end is far beyond the
    # controller's lead: planned when it comes near).
    week = _instant(wall_clock() + timedelta(days=7))
    assert _import(chain.sessions, f"SPRING,Spring,percent_off,CHS-1|CFE-1,,20,,{week}\n")
    await chain.wait_converged(wall_clock())
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("7.19"), Decimal("7.99"))
    assert _shelf_price(chain.sessions, "CFE-1") == (Decimal("47.99"), Decimal("59.99"))
    assert _shelf_price(chain.sessions, "MLK-1") == (Decimal("3.49"), None)
    _assert_panels_and_record(chain, wall_clock())
    changed = {
        label
        for label, shown in before.items()
        if chain.sites["S01"].gateway.labels[label].shown != shown
    }
    assert {chain.bindings[label] for label in changed} == {"CHS-1", "CFE-1"}

    # The same promotion again: 30 % now, and coffee taken out of it.
    assert _import(chain.sessions, f"SPRING,Spring,percent_off,CHS-1,,30,,{week}\n")
    await chain.wait_converged(wall_clock())
    # A deeper reduction is a new one: its prior price is the 30-day low before it,
    # which is the 20 % price the import recorded in the ledger (no progressive option
    # in Poland).
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("6.29"), Decimal("7.19"))
    assert _shelf_price(chain.sessions, "CFE-1") == (Decimal("59.99"), None)
    _assert_panels_and_record(chain, wall_clock())
    for label, sku in chain.bindings.items():
        if sku == "CFE-1":  # back to the regular price, pixel for pixel
            assert chain.sites["S01"].gateway.labels[label].shown == before[label]

    # A promotion of a whole category, then narrowed to one of its products: the
    # labels of the product that dropped out go back to their price.
    assert _import(chain.sessions, f"DAIRY,Dairy week,percent_off,,dairy,10,,{week}\n")
    await chain.wait_converged(wall_clock())
    assert _shelf_price(chain.sessions, "MLK-1") == (Decimal("3.14"), Decimal("3.49"))
    assert _import(chain.sessions, f"DAIRY,Dairy week,percent_off,MLK-1,,10,,{week}\n")
    await chain.wait_converged(wall_clock())
    assert _shelf_price(chain.sessions, "MLK-1") == (Decimal("3.14"), Decimal("3.49"))
    # Cheese keeps the better of the two, SPRING's 30 %.
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("6.29"), Decimal("7.19"))
    _assert_panels_and_record(chain, wall_clock())


@pytest.fixture
async def store(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[SharedClockStore]:
    shelf = priced_store(
        engine, mosquitto, tmp_path / "sim", speed=SPEED, prices={"MLK-1": "3.49", "CHS-1": "8.99"}
    )
    try:
        yield shelf
    finally:
        await shelf.close()


async def _holds_the_flip_to(shelf: SharedClockStore, instant: datetime, sku: str) -> None:
    """Before `instant`: every label shows what is due now, and those of `sku` hold the
    image due at `instant`, timed for it (the labels flip on their own clock)."""
    instant_ms = int(instant.timestamp() * 1000)

    def not_ready() -> list[str]:
        due_now = shelf.due_planes(shelf.clock())
        return sorted(
            label_id
            for label_id, label in shelf.labels.items()
            if label.shown != due_now[label_id]
            or (
                shelf.bindings[label_id] == sku
                and (label.scheduled_page is None or label.scheduled_at_ms != instant_ms)
            )
        )

    await shelf.wait_until(
        lambda: not not_ready() and shelf.open_rows() == 0,
        timeout_s=(instant - shelf.clock()).total_seconds() / SPEED,
        what=lambda: f"before {instant}: {not_ready()} not ready, {shelf.open_rows()} open",
    )
    assert shelf.clock() < instant


async def test_an_imported_promotion_starts_and_ends_on_the_shelf_at_its_instants(
    store: SharedClockStore,
) -> None:
    store.install(4, skus=("MLK-1", "CHS-1"))
    await store.start_gateway()
    await store.start_controller()
    await store.wait_showing_due(timeout_s=60)
    starts = (store.clock() + timedelta(minutes=2)).replace(microsecond=0)
    ends = starts + timedelta(minutes=2)
    with store.sessions.begin() as session:
        import_promotions(
            session,
            f"{HEADER}WEEKEND,Weekend,percent_off,CHS-1,,20,{_instant(starts)},{_instant(ends)}\n",
            currency="PLN",
            imported_by="test",
            now=store.clock(),
        )

    await _holds_the_flip_to(store, starts, "CHS-1")
    await store.assert_shows_due_at(starts)
    assert _shelf_price(store.sessions, "CHS-1", starts) == (Decimal("7.19"), Decimal("8.99"))

    await _holds_the_flip_to(store, ends, "CHS-1")
    await store.assert_shows_due_at(ends)
    assert _shelf_price(store.sessions, "CHS-1", ends) == (Decimal("8.99"), None)


async def test_a_price_file_loaded_without_the_ledger_reaches_the_labels(chain: Chain) -> None:
    # `--no-ledger` (a bulk load) works out no changed keys: the labels still follow.
    await _three_labels_converged(chain, wall_clock())
    with chain.sessions.begin() as session:
        report = import_prices(
            session,
            "sku,scope,store_or_zone,price,currency\nMLK-1,store,S01,3.79,PLN\n",
            currency="PLN",
            imported_by="test",
            now=wall_clock(),
            record_ledger=False,
        )
    assert report.inserted == 1
    assert _shelf_price(chain.sessions, "MLK-1") == (Decimal("3.79"), None)
    await chain.wait_converged(wall_clock(), timeout_s=30)
    _assert_panels_and_record(chain, wall_clock())


async def test_history_loaded_during_a_reduction_ends_its_unlawful_announcement(
    chain: Chain,
) -> None:
    start = wall_clock()
    await _three_labels_converged(chain, start)
    week = _instant(wall_clock() + timedelta(days=7))
    assert _import(chain.sessions, f"SPRING,Spring,percent_off,CHS-1,,20,,{week}\n")
    await chain.wait_converged(wall_clock())
    # -20 % announced against 8.99, the only price the ledger knows.
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("7.19"), Decimal("8.99"))

    # The shop's history arrives: 20 days ago cheese cost 6.99 on the shelf of S01, so
    # 7.19 is no reduction against the 30-day low and the labels must stop announcing it.
    with chain.sessions.begin() as session:
        report = import_history(
            session,
            "sku,channel,store,effective_at,price,currency\n"
            f"CHS-1,store,S01,{_instant(start - timedelta(days=20))},6.99,PLN\n",
            currency="PLN",
            imported_by="test",
            now=wall_clock(),
        )
    assert report.publication_id is not None
    assert _shelf_price(chain.sessions, "CHS-1") == (Decimal("7.19"), Decimal("6.99"))
    await chain.wait_converged(wall_clock(), timeout_s=30)
    _assert_panels_and_record(chain, wall_clock())
