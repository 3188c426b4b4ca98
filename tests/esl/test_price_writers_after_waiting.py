"""A price writer that waited for another writes after it: the instant of a write is read
once the price writers' lock is held, and never lies before the newest ledger entry.

POST /publications/{id}/publish and POST /imports/prices read the clock before their
transaction took the lock. On PostgreSQL two price writers serialize on it: request A read
t1 and waited; writer B (a price file) recorded its prices at t2 > t1 and committed; A then
planned at t1, took B's entry at t2 for one written ahead, planned it again and deleted it.
The ledger must never lose the entry of a price that applied (docs/pricing.md). Found by a
reviewer (the two tests on PostgreSQL); the last two, on either database, give a writer a
fixed instant behind the newest entry, as a clock behind another worker's would.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

from esl.db.engine import session_factory
from esl.db.locks import lock_price_writes
from esl.db.models import LedgerEntryRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports.by_kind import import_file
from tests.esl.test_publications import PRICES
from tests.support.api import Api
from tests.support.database import ON_POSTGRESQL, START

MILK = {"action": "set_price", "sku": "MLK-1", "amount": "3.19"}
UPLOAD = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n" + (
    "MLK-1,national,,,3.29,PLN,,\n"
)


def _waiting_for_the_lock(api: Api) -> bool:
    with api.engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


def _shelf(api: Api) -> list[tuple[Any, Decimal | None, str]]:
    return _shelf_of(api.engine)


def _shelf_of(engine: Engine) -> list[tuple[Any, Decimal | None, str]]:
    with session_factory(engine)() as session:
        return [
            (row.effective_at, row.amount, row.source)
            for row in session.scalars(
                select(LedgerEntryRow)
                .where(
                    LedgerEntryRow.sku == "MLK-1",
                    LedgerEntryRow.channel == "store",
                    LedgerEntryRow.store == "S01",
                )
                .order_by(LedgerEntryRow.effective_at)
            )
        ]


@ON_POSTGRESQL
def test_a_price_file_recorded_while_a_publish_request_waits_keeps_its_entry(api: Api) -> None:
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    created = api.client.post(
        "/api/v1/publications",
        json={"title": "milk", "items": [MILK]},
        headers=api.headers("pricing"),
    )
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    )
    assert validated.json()["status"] == "validated", validated.text

    answers: list[httpx.Response] = []
    sessions = session_factory(api.engine)
    with sessions() as writer, writer.begin():
        # Writer B is writing prices: it holds the price writers' lock.
        lock_price_writes(writer)
        # Request A arrives now (t1) and waits for the lock.
        publisher = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{api.client.base_url}/api/v1/publications/{number}/publish",
                    headers=api.headers("pricing"),
                    timeout=30,
                )
            )
        )
        publisher.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_the_lock(api):
            assert time.monotonic() < deadline, "the publish request never waited"
            time.sleep(0.02)
        t1 = api.clock()
        # B records its price file 30 s later, and commits.
        api.clock.advance(timedelta(seconds=30))
        t2 = api.clock()
        import_file(
            writer,
            "prices",
            UPLOAD,
            currency="PLN",
            imported_by="pos",
            now=t2,
            title="upload.csv",
        )
        # B commits a moment later (the test clock stands still unless moved).
        api.clock.advance(timedelta(seconds=1))
    publisher.join(timeout=30)
    assert answers, "no answer"
    assert answers[0].status_code == 200, answers[0].text

    shelf = _shelf(api)
    with session_factory(api.engine)() as session:
        published = session.get(PublicationRow, number)
        assert published is not None
        published_at = published.published_at
    # The shelf charged 3.49, then the upload's 3.29 (from t2), then the publication's 3.19.
    assert [amount for _, amount, _ in shelf] == [
        Decimal("3.49"),
        Decimal("3.29"),
        Decimal("3.19"),
    ], f"t1={t1} t2={t2} published_at={published_at} shelf={shelf}"
    assert published_at is not None
    assert published_at >= t2


@ON_POSTGRESQL
def test_a_price_file_recorded_while_an_upload_waits_keeps_its_entry(api: Api) -> None:
    """The same through POST /imports/prices: it reads the clock before its transaction
    takes the lock, and another price file (B) records the SKU meanwhile."""
    assert api.import_csv("prices", PRICES).status_code == 200
    api.clock.advance(timedelta(minutes=1))
    answers: list[httpx.Response] = []
    later = UPLOAD.replace("3.29", "3.09")
    sessions = session_factory(api.engine)
    with sessions() as writer, writer.begin():
        lock_price_writes(writer)
        uploader = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{api.client.base_url}/api/v1/imports/prices",
                    files={"file": ("later.csv", later, "text/csv")},
                    headers=api.headers("pricing"),
                    timeout=30,
                )
            )
        )
        uploader.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_the_lock(api):
            assert time.monotonic() < deadline, "the upload never waited"
            time.sleep(0.02)
        t1 = api.clock()
        api.clock.advance(timedelta(seconds=30))
        t2 = api.clock()
        import_file(
            writer, "prices", UPLOAD, currency="PLN", imported_by="pos", now=t2, title="upload.csv"
        )
        api.clock.advance(timedelta(seconds=1))
    uploader.join(timeout=30)
    assert answers, "no answer"
    assert answers[0].status_code == 200, answers[0].text
    shelf = _shelf(api)
    # 3.49, then B's 3.29 from t2 (it applied), then the later upload's 3.09, not before t2.
    assert [amount for _, amount, _ in shelf] == [
        Decimal("3.49"),
        Decimal("3.29"),
        Decimal("3.09"),
    ], f"t1={t1} t2={t2} shelf={shelf}"
    assert shelf[-1][0] > t2


def test_a_price_file_at_an_instant_behind_the_newest_entry_is_written_at_that_entry(
    seeded: Engine,
) -> None:
    """A fixed instant (or a clock behind another worker's) before the newest recorded
    entry is lifted to it: the entry of another SKU lands there, not in the past."""
    sessions = session_factory(seeded)
    with sessions() as session, session.begin():
        import_file(session, "prices", PRICES, currency="PLN", imported_by="pos", now=START)
    later = START + timedelta(minutes=5)
    with sessions() as session, session.begin():
        import_file(session, "prices", UPLOAD, currency="PLN", imported_by="pos", now=later)
    with sessions() as session, session.begin():
        import_file(
            session,
            "prices",
            UPLOAD.replace("MLK-1", "CHS-1").replace("3.29", "8.29"),
            currency="PLN",
            imported_by="behind",
            now=START + timedelta(minutes=1),
        )
    with sessions() as session:
        cheese = session.scalars(
            select(LedgerEntryRow.effective_at).where(
                LedgerEntryRow.sku == "CHS-1", LedgerEntryRow.amount == Decimal("8.29")
            )
        ).all()
    assert cheese
    assert set(cheese) == {later}
    assert [amount for _, amount, _ in _shelf_of(seeded)] == [Decimal("3.49"), Decimal("3.29")]


def test_a_price_file_behind_the_newest_entry_of_its_sku_is_refused_and_keeps_it(
    seeded: Engine,
) -> None:
    """The same SKU: lifted to the instant of the newest entry, which the ledger holds
    already, the file is refused (one entry per key and instant), and the entry stays."""
    sessions = session_factory(seeded)
    with sessions() as session, session.begin():
        import_file(session, "prices", PRICES, currency="PLN", imported_by="pos", now=START)
    with sessions() as session, session.begin():
        import_file(
            session,
            "prices",
            UPLOAD,
            currency="PLN",
            imported_by="pos",
            now=START + timedelta(minutes=5),
        )
    with pytest.raises(ImportRejectedError) as refused, sessions() as session, session.begin():
        import_file(
            session,
            "prices",
            UPLOAD.replace("3.29", "3.09"),
            currency="PLN",
            imported_by="behind",
            now=START + timedelta(minutes=1),
        )
    assert "MLK-1" in str(refused.value.to_dict())
    # Before: written at the minute, the file took the 3.29 for a price written ahead
    # and deleted it.
    assert [amount for _, amount, _ in _shelf_of(seeded)] == [Decimal("3.49"), Decimal("3.29")]
