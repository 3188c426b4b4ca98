"""Unassociating a BLE label: asked for, it waits for the label (its identification
screen, then a signed Unassociate: tests/gateways/ble/test_unassociate_over_ble.py);
forced, or once the label confirmed, the controller forgets its key and its inventory
row, keeps its history, and a kit may associate it again. Before, the kit refused an
associated label with "unassociate it first" and nothing could do that."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from esl.api.routes.ble_association import AssociatedLabelIn
from esl.cli import app
from esl.db.ble_models import BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LabelBindingRow, LabelRow, LabelStateRow, OutboxRow
from esl.delivery_states import OutboxStatus
from esl.pipeline.ble_unassociation import NOT_CONFIRMED
from esl.pipeline.label_actions import answer_label_actions
from esl.services.ble_inventory import record_ble_associations
from gateways.protocol import BasicStateFlag, LabelState, Opcode
from tests.support.api import Api
from tests.support.ble_inventory import DEVICE, GATEWAY, associated, post_inventory
from tests.support.database import START, seed_reference_data
from tests.support.label_answers import synchronized_answer


def _kit(api: Api, label_id: str) -> Any:
    return api.client.post(
        "/api/v1/stores/S01/ble/association-kit",
        json={"gateway": GATEWAY, "label_ids": [label_id]},
        headers=api.headers("admin"),
    )


def _key(api: Api, label_id: str) -> bytes:
    with session_factory(api.engine)() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        return bytes(label.secret_key)


def _sent_frame(api: Api, label_id: str) -> None:
    """A frame on its way to the label, signed with its key: history to keep."""
    with session_factory(api.engine).begin() as session:
        session.add(
            OutboxRow(
                label_id=label_id,
                store="S01",
                gateway=GATEWAY,
                sequence=1,
                content_hash="00" * 16,
                payload=b"frame",
                status=OutboxStatus.SENT.value,
                attempts=1,
                not_before=START,
                created_at=START,
            )
        )


def test_an_unassociated_label_is_forgotten_and_can_be_associated_again(api: Api) -> None:
    api.add_labels({"L-1": "S01", "L-2": "S01"})
    assert _kit(api, "L-1").status_code == 200
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    _sent_frame(api, "L-1")
    old_key = _key(api, "L-1")
    assert _kit(api, "L-1").status_code == 422  # "already associated (unassociate it first)"

    gone = api.client.delete(
        "/api/v1/stores/S01/ble/inventory/L-1?force=true", headers=api.headers("store")
    )

    assert gone.status_code == 200, gone.text
    assert gone.json()["detail"] == (
        f"unassociated from {DEVICE} (ESL 0/0 on {GATEWAY}) without the device; its key is "
        "forgotten (the device keeps its old key until its own timeout and its last image "
        "for good: retire the label if it is gone)"
    )
    with session_factory(api.engine)() as session:
        assert session.get(BleLabelInventoryRow, "L-1") is None
        label = session.get(LabelRow, "L-1")
        assert label is not None
        assert label.gateway is None  # nothing is planned for it until associated again
        # History kept: the frame (signed with the forgotten key, so superseded) and the
        # unassociation among its actions, with who asked.
        assert session.scalars(select(OutboxRow.status)).all() == [OutboxStatus.SUPERSEDED]
        (action,) = session.scalars(select(LabelActionRow)).all()
        assert (action.label_id, action.action, action.requested_by) == (
            "L-1",
            "unassociate",
            "store-key",
        )
    assert _key(api, "L-1") != old_key  # the key the device and the old kit hold
    # The device is no longer L-1's: another label may be recorded there ...
    assert post_inventory(api, associated("L-2", DEVICE, 1)).status_code == 200
    # ... and L-1 gets a kit again, with its new key.
    kit = _kit(api, "L-1")
    assert kit.status_code == 200, kit.text
    assert kit.json()["labels"][0]["key"] == _key(api, "L-1").hex()


def test_unassociating_asks_the_label_first_and_forgets_nothing_until_it_confirmed(
    api: Api,
) -> None:
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    bound = api.client.post(
        "/api/v1/labels/L-1/bind", json={"code": "MLK-1"}, headers=api.headers("store")
    )
    assert bound.status_code < 300, bound.text
    old_key = _key(api, "L-1")
    path = "/api/v1/stores/S01/ble/inventory/L-1"

    asked = api.client.delete(path, headers=api.headers("store"))
    again = api.client.delete(path, headers=api.headers("admin"))

    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "requested"
    assert again.json()["action_id"] == asked.json()["action_id"]  # the one under way
    with session_factory(api.engine)() as session:
        assert session.get(BleLabelInventoryRow, "L-1") is not None
        binding = session.scalars(select(LabelBindingRow)).one()
        assert binding.unbound_at is not None  # no price is planned for it any more
    assert _key(api, "L-1") == old_key
    # Staff cannot ask for it as a plain label action: it needs a BLE association.
    plain = api.client.post("/api/v1/labels/L-1/unassociate", headers=api.headers("store"))
    assert plain.status_code in (404, 405)


def test_unassociating_is_for_the_stores_staff_and_says_what_is_not_there(api: Api) -> None:
    api.add_labels({"L-1": "S01", "L-9": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    path = "/api/v1/stores/S01/ble/inventory/L-1"

    assert api.client.delete(path, headers=api.headers("pricing")).status_code == 403
    assert api.client.delete(path, headers=api.headers("auditor")).status_code == 403
    assert api.client.delete("/api/v1/stores/S01/ble/inventory/L-1").status_code == 401
    elsewhere = api.client.delete(
        "/api/v1/stores/S02/ble/inventory/L-1", headers=api.headers("admin")
    )
    assert elsewhere.status_code == 404
    never = api.client.delete("/api/v1/stores/S01/ble/inventory/L-9", headers=api.headers("admin"))
    assert never.status_code == 404
    assert never.json()["error"]["message"] == "no BLE association of label L-9"
    with session_factory(api.engine)() as session:
        assert session.get(BleLabelInventoryRow, "L-1") is not None


def test_esl_label_unassociate_from_the_shell(cli: CliRunner, tmp_path: Path) -> None:
    # The shell's own SQLite file (`cli`): the command opens the database as `esl` does.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    try:
        with session_factory(engine).begin() as session:
            seed_reference_data(session)
            session.add(
                LabelRow(
                    id="L-1",
                    store="S01",
                    model="2.9-bwr",
                    secret_key=bytes(32),
                    registered_at=START,
                )
            )
            session.flush()
            record_ble_associations(
                session,
                store="S01",
                gateway=GATEWAY,
                records={"L-1": AssociatedLabelIn(**associated("L-1", DEVICE, 0)).record()},
                now=START,
            )

        # No controller runs here: asked, the label never confirms, and the shell says so.
        waited = cli.invoke(app, ["label", "unassociate", "L-1", "--wait", "0.3"])
        done = cli.invoke(app, ["label", "unassociate", "L-1", "--force"])
        again = cli.invoke(app, ["label", "unassociate", "L-1"])

        assert waited.exit_code == 1
        assert "no answer in 0.3 s (requested)" in waited.output
        assert done.exit_code == 0, done.output
        assert done.stdout.startswith(
            f"L-1 unassociated from {DEVICE} (ESL 0/0 on {GATEWAY}) without the device; "
            "its key is forgotten"
        )
        assert again.exit_code == 1
        assert "no BLE association of label L-1" in again.output
        with session_factory(engine)() as session:
            assert session.get(BleLabelInventoryRow, "L-1") is None
            first, forced = session.scalars(select(LabelActionRow)).all()
            assert (first.status, forced.status) == ("failed", "answered")
            assert forced.requested_by == "cli"
    finally:
        engine.dispose()


def test_the_unassociation_is_read_back_as_one_of_the_labels_actions(api: Api) -> None:
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    gone = api.client.delete(
        "/api/v1/stores/S01/ble/inventory/L-1?force=true", headers=api.headers("store")
    )
    assert gone.status_code == 200, gone.text
    with session_factory(api.engine)() as session:
        (action_id,) = session.scalars(select(LabelActionRow.id)).all()

    # Before: a 500, the action's kind not among those the response model knew.
    read = api.client.get(f"/api/v1/labels/L-1/actions/{action_id}", headers=api.headers("admin"))

    assert read.status_code == 200, read.text
    assert (read.json()["action"], read.json()["status"]) == ("unassociate", "answered")
    assert read.json()["detail"] == gone.json()["detail"]


def test_a_confirmation_arriving_after_the_timeout_still_forgets_the_key(api: Api) -> None:
    # The label deleted its key when it took Unassociate; its answer came in after the
    # action was reported unanswered (a slow relay). The controller must not keep a key
    # and an association the device no longer has: frames signed with it reach nobody,
    # and a kit refuses the label as "already associated".
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    old_key = _key(api, "L-1")
    asked = api.client.delete("/api/v1/stores/S01/ble/inventory/L-1", headers=api.headers("store"))
    assert asked.status_code == 202, asked.text
    action_id = asked.json()["action_id"]
    with session_factory(api.engine).begin() as session:
        action = session.get(LabelActionRow, action_id)
        assert action is not None
        # Unassociate was signed with sequence 7 and sent; no answer in time.
        action.sequence, action.status, action.detail = 7, "unanswered", NOT_CONFIRMED
    late = dataclasses.replace(
        synchronized_answer(
            "L-1", 7, label_time=START, displayed_hash=None, opcode=Opcode.UNASSOCIATE
        ),
        state=LabelState.UNASSOCIATED,
        flags=BasicStateFlag.NONE,
    )

    with session_factory(api.engine).begin() as session:
        answer_label_actions(session, [(action_id, late, START)])

    with session_factory(api.engine)() as session:
        assert session.get(BleLabelInventoryRow, "L-1") is None
        action = session.get(LabelActionRow, action_id)
        assert action is not None
        assert (action.status, action.reason) == ("answered", "SUCCESS")
    assert _key(api, "L-1") != old_key


def test_the_screen_step_waits_for_a_frame_of_the_screen_acknowledged_since_the_request(
    api: Api,
) -> None:
    # The record alone says the label shows its identification screen (it did before it
    # was bound), but the price frame of its binding may still be in the air: superseded
    # by the screen's planning, the label may yet draw it. Unassociate sent now would
    # leave that price on the keyless panel for good; only the screen's own frame,
    # acknowledged after the request (so after any frame before it), proves the panel.
    from esl.db.models import LabelStateRow
    from esl.pipeline.ble_unassociation import begin_unassociation, settle_unassociation_screen

    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    screen = "ab" * 16
    asked = api.client.delete("/api/v1/stores/S01/ble/inventory/L-1", headers=api.headers("store"))
    action_id = asked.json()["action_id"]
    _sent_frame(api, "L-1")  # the price frame of its binding, sequence 1, in the air
    with session_factory(api.engine).begin() as session:
        session.add(
            LabelStateRow(
                label_id="L-1",
                last_sequence=1,
                binding_id=None,
                desired_key="identification",
                desired_hash=screen,
                confirmed_hash=screen,
                displayed_hash=screen,
            )
        )
    with session_factory(api.engine).begin() as session:
        action = session.get(LabelActionRow, action_id)
        assert action is not None
        begin_unassociation(session, action, now=START)
        settle_unassociation_screen(session, action, now=START)
        assert action.status == "sent"  # before: requested, Unassociate signed at once
        session.add(
            OutboxRow(
                label_id="L-1",
                store="S01",
                gateway=GATEWAY,
                sequence=2,
                content_hash=screen,
                payload=b"screen",
                status=OutboxStatus.ACKED.value,
                attempts=1,
                not_before=START,
                created_at=START,
            )
        )
        session.flush()
        settle_unassociation_screen(session, action, now=START)
        assert action.status == "requested"


def test_a_label_recorded_at_another_device_is_believed_to_show_nothing(api: Api) -> None:
    # A second copy of a kit (same key) used on another device records the label there.
    # What the first device reported is nothing the new one shows: kept, planning would
    # take the price as already on its panel and send the blank device nothing.
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200
    with session_factory(api.engine).begin() as session:
        session.add(
            LabelStateRow(label_id="L-1", confirmed_hash="ab" * 16, displayed_hash="ab" * 16)
        )
    again = post_inventory(api, associated("L-1", "C0:FF:EE:00:00:09", 0))
    assert again.status_code == 200, again.text
    with session_factory(api.engine)() as session:
        state = session.get(LabelStateRow, "L-1")
        assert state is not None
        assert (state.confirmed_hash, state.displayed_hash) == (None, None)
    # Recorded again at the same device (a refreshed record), what it showed stands.
    with session_factory(api.engine).begin() as session:
        state = session.get(LabelStateRow, "L-1")
        assert state is not None
        state.confirmed_hash = state.displayed_hash = "cd" * 16
    assert post_inventory(api, associated("L-1", "C0:FF:EE:00:00:09", 0)).status_code == 200
    with session_factory(api.engine)() as session:
        state = session.get(LabelStateRow, "L-1")
        assert state is not None
        assert state.displayed_hash == "cd" * 16
