"""Price writes take turns: an import waits for a publication (or import) in progress."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.locks import lock_price_writes
from esl.imports import import_prices
from tests.support.database import START

PRICES = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n"


def test_a_second_price_writer_waits_for_the_first_to_commit(seeded: Engine) -> None:
    sessions = session_factory(seeded)
    finished = threading.Event()

    def second_writer() -> None:
        with sessions() as session, session.begin():
            import_prices(session, PRICES, currency="PLN", imported_by="second", now=START)
        finished.set()

    with sessions() as first, first.begin():
        lock_price_writes(first)
        worker = threading.Thread(target=second_writer)
        worker.start()
        # Unlocked, the import would finish in milliseconds.
        assert not finished.wait(timeout=0.5)
    assert finished.wait(timeout=10)
    worker.join(timeout=10)
