"""The bundled sample catalogue seeded into a real database prices exactly as in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.errors import ConflictError
from esl.sample import load_sample
from esl.sample.seeding import seed_sample_catalogue
from esl.services.quotes import quote
from pricing import Channel, PriceKey, resolve

ANCHOR = datetime(2026, 11, 23, tzinfo=UTC)


def test_every_sample_price_quoted_from_the_database_equals_the_engine_in_memory(
    engine: Engine,
) -> None:
    sample = load_sample(anchor=ANCHOR)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        summary = seed_sample_catalogue(session, sample, now=ANCHOR)
    assert summary.products == len(sample.catalogue.products)
    assert summary.ledger_entries > 0
    at = ANCHOR + timedelta(hours=12)
    compared = 0
    with sessions() as session:
        for sku in sample.catalogue.products:
            for store in sample.catalogue.stores:
                for channel in Channel:
                    expected = resolve(
                        sample.catalogue,
                        sku=sku,
                        channel=channel,
                        store=store,
                        at=at,
                        ledger=sample.ledger,
                        locale="pl_PL",
                    )
                    quoted = quote(
                        session,
                        sku=sku,
                        store=store,
                        channel=channel.value,
                        at=at,
                        now=at,
                        locale="pl_PL",
                        currency="PLN",
                    )
                    assert quoted.key == PriceKey(sku, channel, store)
                    # Rule ids differ (the database names rules by scope), labels do not.
                    assert quoted.fingerprint == expected.fingerprint, (sku, store, channel)
                    compared += 1
    assert compared == len(sample.catalogue.products) * len(sample.catalogue.stores) * len(Channel)


def test_seeding_a_database_that_already_holds_products_is_refused(engine: Engine) -> None:
    sample = load_sample(anchor=ANCHOR)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        seed_sample_catalogue(session, sample, now=ANCHOR)
    with sessions() as session, session.begin(), pytest.raises(ConflictError):
        seed_sample_catalogue(session, sample, now=ANCHOR)
