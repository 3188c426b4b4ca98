"""An answer of S01's label replayed on S02's `up` topic (S02's gateway login relays what
it captured of S01's traffic) is a security event of both stores, told to each what is
its own. docs/api.md: a store key reads in its own store only (another store's label is
403); docs/pipeline.md: security events are, for a store key, its own store's.

Before, the event was recorded under S02 (the topic's store) with S01's label id, its
sequence and "a label of store S01" in the detail: S02's key read all of it, although the
label itself is 403 for it, and S01's key, whose label's traffic was replayed, read
nothing. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.pipeline.small_world import World
from tests.support.two_gateways import add_gateway

REDACTED = "a label of another store"


async def _events(app: Any, key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://esl"
    ) as client:
        found = await client.get("/api/v1/health/security", headers={"X-API-Key": key})
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body


async def _label_of(app: Any, key: str, label_id: str) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://esl"
    ) as client:
        return (
            await client.get(f"/api/v1/labels/{label_id}", headers={"X-API-Key": key})
        ).status_code


async def test_a_replayed_answer_is_told_in_full_to_the_labels_store_and_without_it_to_the_topics(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    add_gateway(world, "S02-gw1", store="S02")
    label_id = sorted(world.labels)[0]  # a label of S01
    world.clock.advance(timedelta(minutes=5))
    check_in = world.check_in(label_id)
    world.dispatcher.settle([replace(check_in, store="S02", gateway="S02-gw1")])
    keys: dict[str, str] = {}
    with world.sessions.begin() as session:
        for name, role, store in (
            ("oliwa", Role.STORE, "S01"),
            ("krakow", Role.STORE, "S02"),
            ("auditor", Role.AUDITOR, None),
        ):
            _, keys[name] = create_key(
                session, name=name, role=role, store=store, now=world.clock.now
            )
    app = create_app(Settings(currency="PLN"), engine=engine, clock=world.clock)

    # The topic's store: that its login relayed a label of another store, not which.
    assert await _label_of(app, keys["krakow"], label_id) == 403
    krakow = await _events(app, keys["krakow"])
    assert label_id not in str(krakow), krakow
    assert "S01" not in str(krakow), krakow
    (told,) = krakow["events"]
    assert (told["kind"], told["store"], told["gateway"]) == (
        "answer via another store",
        "S02",
        "S02-gw1",
    )
    assert (told["label_id"], told["label_store"], told["sequence"], told["last_sequence"]) == (
        None,
        None,
        None,
        None,
    )
    assert (told["detail"], told["last_detail"]) == (REDACTED, REDACTED)

    # The label's store: all of it, its label's traffic was replayed elsewhere.
    oliwa = await _events(app, keys["oliwa"])
    (full,) = oliwa["events"]
    assert (full["store"], full["gateway"], full["label_id"], full["label_store"]) == (
        "S02",
        "S02-gw1",
        label_id,
        "S01",
    )
    assert full["sequence"] is not None
    assert full["detail"] == "an answer of a label of store S01 on store S02's topic"
    assert oliwa["stores"] == [
        {
            "store": "S02",
            "events": 1,
            "kinds": {"answer via another store": 1},
            "last_at": oliwa["stores"][0]["last_at"],
        }
    ]

    # An auditor reads everything, as the label's store does.
    (audited,) = (await _events(app, keys["auditor"]))["events"]
    assert audited == full
