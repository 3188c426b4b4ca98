"""Registering a gateway's provisioning file: keys are shared, never silently replaced."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.models import LabelRow
from esl.errors import ConflictError, NotFoundError
from esl.pipeline import register_provisioned_labels
from firmware_sim.fleet import make_fleet
from tests.pipeline.small_world import T0


def test_labels_are_registered_once_with_their_keys(engine: Engine) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=3)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        assert register_provisioned_labels(session, fleet, store="S01", gateway="gw1", now=T0) == 3
    with sessions.begin() as session:
        assert register_provisioned_labels(session, fleet, store="S01", gateway="gw1", now=T0) == 0
        label = session.get(LabelRow, fleet[0].label_id)
        assert label is not None
        assert label.secret_key == fleet[0].key
        assert label.gateway == "gw1"


def test_another_key_another_store_or_an_unknown_store_is_refused(engine: Engine) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=1)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        register_provisioned_labels(session, fleet, store="S01", gateway="gw1", now=T0)
    rekeyed = [dataclasses.replace(fleet[0], key=bytes(32))]
    with pytest.raises(ConflictError), sessions.begin() as session:
        register_provisioned_labels(session, rekeyed, store="S01", gateway="gw1", now=T0)
    with pytest.raises(ConflictError), sessions.begin() as session:
        register_provisioned_labels(session, fleet, store="S02", gateway="gw1", now=T0)
    with pytest.raises(NotFoundError), sessions.begin() as session:
        register_provisioned_labels(session, fleet, store="S99", gateway="gw9", now=T0)


def test_two_stores_with_a_gateway_named_gw1_are_told_how_to_fix_it(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        register_provisioned_labels(
            session,
            make_fleet(store="S01", gateway="gw1", count=1),
            store="S01",
            gateway="gw1",
            now=T0,
        )
    second = make_fleet(store="S02", gateway="gw1", count=1)
    with pytest.raises(ConflictError) as caught, sessions.begin() as session:
        register_provisioned_labels(session, second, store="S02", gateway="gw1", now=T0)
    message = str(caught.value)
    assert "gateway id gw1 already serves store S01" in message
    assert "esl sim gateway --store S02 --gateway S02-gw1" in message
    # Done as the message says (the default names include the store), both stores work.
    fixed = make_fleet(store="S02", gateway="S02-gw1", count=1)
    assert fixed[0].label_id == "S02-gw1-00001"
    with sessions.begin() as session:
        assert (
            register_provisioned_labels(session, fixed, store="S02", gateway="S02-gw1", now=T0) == 1
        )
