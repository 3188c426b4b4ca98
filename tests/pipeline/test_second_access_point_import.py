"""OpenEPaperLink: a second AP's import-tags when one of its tags is registered on the
first AP (the tag roamed). Before, the whole import was refused (409, all or nothing)."""

from __future__ import annotations

from sqlalchemy import Engine

from esl.db.models import LabelRow
from esl.pipeline.oepl_tags import AccessPointTag, register_access_point_tags
from gateways.protocol import generate_label_key
from tests.pipeline.small_world import World

NEW_TAG = "0000021EDBA7B394"
ROAMED_TAG = "0000021EDBA7B393"


async def test_the_other_tags_register_and_the_roamed_one_is_reported(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    # The roamed tag was registered by the first AP's import (tag ids are their MACs).
    first_key = generate_label_key()
    with world.sessions.begin() as session:
        register_access_point_tags(
            session,
            [AccessPointTag(mac=ROAMED_TAG, hw_type=179, model_id="2.9-bwr", key=first_key)],
            store="S01",
            gateway="gw1",
            now=world.clock.now,
        )
    # S01-ap2 never saw the roamed tag before, so its import gave it a fresh key.
    tags = [
        AccessPointTag(mac=ROAMED_TAG, hw_type=179, model_id="2.9-bwr", key=generate_label_key()),
        AccessPointTag(mac=NEW_TAG, hw_type=179, model_id="2.9-bwr", key=generate_label_key()),
    ]
    with world.sessions.begin() as session:
        registration = register_access_point_tags(
            session, tags, store="S01", gateway="S01-ap2", now=world.clock.now
        )
    assert registration.added == 1
    assert registration.skipped == [(ROAMED_TAG, "registered on gateway gw1")]
    with world.sessions() as session:
        new = session.get(LabelRow, NEW_TAG)
        assert new is not None
        assert (new.gateway, new.secret_key) == ("S01-ap2", tags[1].key)
        kept = session.get(LabelRow, ROAMED_TAG)
        assert kept is not None
        # Left where it is, with the key its frames verify with.
        assert (kept.gateway, kept.secret_key) == ("gw1", first_key)
