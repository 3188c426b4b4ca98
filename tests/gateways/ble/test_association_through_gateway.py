"""Associating BLE labels through the store's gateway, on real parts: the controller's API
(uvicorn, SQLite) makes the kit, `esl gateway ble associate` runs as its own process with
bumble's host stack on an HCI controller over TCP, and the labels are simulated Bluetooth
ESL labels (bumble peripherals with the label firmware) living in this test's process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app as cli_app
from esl.cli.ble_association import AssociationKit, KitEntry, associate_kit, read_kit
from esl.db.ble_models import BleLabelInventoryRow
from esl.db.engine import session_factory
from esl.db.models import LabelRow
from esl.services.ble_inventory import KIT_LIFETIME
from esl.services.keys import Role, create_key
from esl.settings import Settings
from firmware_sim.ble import BleLabel
from firmware_sim.ble.bumble_air import BumbleAir
from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.ble.control_point import EslAddress
from gateways.ble.inventory import esl_key_material
from gateways.ble.pairing_code import PairingCode
from gateways.protocol import LabelState
from rendering.display_models import get_display_model
from tests.gateways.ble.ble_store import FAST, address_of, key_of, label_id_of, make_store
from tests.support.api import AppSwitch
from tests.support.cli_process import ROOT
from tests.support.clock import Clock, wall_clock
from tests.support.database import START, database_url

pytestmark = [pytest.mark.integration]

STORE = "S01"
GATEWAY = "S01-ble1"
# A subprocess imports bumble, bleak and httpx on a loaded 2-core machine: generous.
PROCESS_TIMEOUT_S = 180.0


class Controller:
    def __init__(
        self, client: httpx.Client, keys: dict[str, str], engine: Engine, clock: Clock
    ) -> None:
        self.client = client
        self.keys = keys
        self.engine = engine
        self.clock = clock
        self.url = str(client.base_url)

    def post(self, path: str, body: object, *, role: str = "admin") -> httpx.Response:
        return self.client.post(f"/api/v1{path}", json=body, headers={"X-API-Key": self.keys[role]})

    def register(
        self, *label_ids: str, store: str = STORE, pairing_code: str | None = None
    ) -> None:
        for label_id in label_ids:
            label = {"id": label_id, "store": store, "model": "2.9-bwr"}
            if pairing_code is not None:
                label["pairing_code"] = pairing_code
            assert self.post("/labels", label).status_code == 201

    def inventory(self) -> dict[str, BleLabelInventoryRow]:
        with session_factory(self.engine)() as session:
            rows = session.scalars(select(BleLabelInventoryRow)).all()
            return {row.label_id: row for row in rows}

    def label_gateway(self, label_id: str) -> str | None:
        with session_factory(self.engine)() as session:
            row = session.get(LabelRow, label_id)
            assert row is not None
            return row.gateway

    def label_key(self, label_id: str) -> bytes:
        with session_factory(self.engine)() as session:
            row = session.get(LabelRow, label_id)
            assert row is not None
            return bytes(row.secret_key)


@pytest.fixture
def controller(
    engine: Engine, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> Iterator[Controller]:
    keys: dict[str, str] = {}
    with session_factory(engine)() as session, session.begin():
        for role, store in ((Role.ADMIN, None), (Role.STORE, STORE), (Role.STORE, "S02")):
            _, keys[store or role.value] = create_key(
                session, name=f"{role}-{store}", role=role, store=store, now=START
            )
    switch, url = http_server
    clock = Clock()
    switch.app = create_app(Settings(data_dir=tmp_path, currency="PLN"), engine=engine, clock=clock)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Controller(client, keys, engine, clock)
    switch.app = None


def unassociated_label(index: int, *, model_id: str = "2.9-bwr") -> BleLabel:
    hardware = hardware_for(get_display_model(model_id))
    label = SimulatedLabel(label_id=f"L{index}", hardware=hardware, key=None, now=wall_clock())
    return BleLabel(address=address_of(index), label=label, key=None)


def write_private(path: Path, text: str, *, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


async def run_associate(tmp_path: Path, hci_port: int, url: str, *args: str) -> tuple[int, str]:
    # A process of its own, as on the installer's box; this loop keeps serving the labels.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from esl.cli import main; main()", "gateway", "ble", "associate",
        "--store", STORE, "--gateway", GATEWAY, "--controller", url,
        "--api-key-file", str(tmp_path / "store.key"), "--kit", str(tmp_path / "kit.json"),
        "--backend", "bumble",
        "--hci", f"tcp-client:127.0.0.1:{hci_port}", "--scan", "5", *args,
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT_S)
    assert process.returncode is not None
    return process.returncode, output.decode()


@pytest.mark.slow
async def test_the_installer_associates_the_kit_and_the_controller_records_it(
    controller: Controller, tmp_path: Path
) -> None:
    # L3 is registered as a 2.9" label but is a 2.13" one: reported, never recorded.
    labels = [
        unassociated_label(1),
        unassociated_label(2),
        unassociated_label(3, model_id="2.13-bwr"),
    ]
    air = BumbleAir(labels, clock=wall_clock)
    # L2 was registered with the code printed on it (scanned at goods receipt): the kit
    # carries it, and the installer pairs out of band without being told its address.
    controller.register("L1", "L3")
    controller.register("L2", pairing_code=str(air.pairing_code(address_of(2))))
    kit = controller.post(
        f"/stores/{STORE}/ble/association-kit",
        {"gateway": GATEWAY, "label_ids": ["L1", "L2", "L3"]},
    )
    assert kit.status_code == 200, kit.text
    kit_body = kit.json()
    kit_body["labels"][0]["address"] = address_of(1)  # the kit may carry an address
    assert kit_body["labels"][1]["pairing_code"] == str(air.pairing_code(address_of(2)))
    kit_path = write_private(tmp_path / "kit.json", json.dumps(kit_body))
    write_private(tmp_path / "store.key", controller.keys[STORE] + "\n")
    await air.start()  # the labels are powered on, looking for an access point
    server = await air.serve_hci(port=0)
    port = int(server.sockets[0].getsockname()[1])
    # L3's code, scanned by the installer, gives its address and pairs out of band.
    pairs = ["--pairing-code", f"L3={air.pairing_code(address_of(3))}"]
    try:
        code, output = await run_associate(tmp_path, port, controller.url, *pairs)
        rows_after_first = {
            i: (r.address, r.esl_group, r.esl_id) for i, r in controller.inventory().items()
        }
        again, output_again = await run_associate(
            tmp_path, port, controller.url, *pairs, "--remove-kit"
        )
    finally:
        server.close()

    assert code == 1, output  # one label of three was not recorded
    assert (
        f"recorded L1 at {address_of(1)} as ESL 0/0 "
        "(paired Just Works: no protection against a man in the middle)"
    ) in output
    assert f"recorded L2 at {address_of(2)} as ESL 0/1 (paired with its printed code)" in output
    assert [air.authenticated_pairings(address_of(i)) for i in (1, 2, 3)] == [0, 1, 1]
    assert "failed L3" in output
    assert "registered as 2.9-bwr (296x128) but reports 250x122" in output
    assert "2 of 3 labels associated and recorded" in output
    assert rows_after_first == {
        "L1": (address_of(1), 0, 0),
        "L2": (address_of(2), 0, 1),
    }
    for index in (1, 2):
        ble = labels[index - 1]
        key = controller.label_key(f"L{index}")
        assert ble.esl_address == EslAddress(esl_id=index - 1)
        assert (ble.ap_sync_key, ble.response_key) == esl_key_material(key)
        assert ble.label.state(now=wall_clock()) is LabelState.CONFIGURED
    # A second run changes nothing: the associated labels no longer offer themselves.
    assert again == 1, output_again
    for label_id in ("L1", "L2", "L3"):
        assert f"failed {label_id}" in output_again
    assert "not advertising for association" in output_again
    assert "0 of 3 labels associated and recorded" in output_again
    assert kit_path.exists()  # not every label is recorded: the kit is kept, and said so
    assert f"{kit_path} holds the labels' keys" in output_again
    assert {i: (r.address, r.esl_group, r.esl_id) for i, r in controller.inventory().items()} == (
        rows_after_first
    )
    # The gateway's labels file now lists them (no keys in it).
    out = tmp_path / "ble.json"
    exported = CliRunner().invoke(
        cli_app,
        [
            "gateway",
            "ble",
            "export-labels",
            "--store",
            STORE,
            "--gateway",
            GATEWAY,
            "--out",
            str(out),
        ],
        env={"ESL_DATABASE_URL": database_url(controller.engine), "ESL_DATA_DIR": str(tmp_path)},
    )
    assert exported.exit_code == 0, exported.output
    listed = json.loads(out.read_text())
    assert "key" not in out.read_text()
    assert [(x["label_id"], x["address"], x["esl_id"]) for x in listed["labels"]] == [
        ("L1", address_of(1), 0),
        ("L2", address_of(2), 1),
    ]


def test_a_kit_others_can_read_is_refused_before_any_radio_work(
    controller: Controller, tmp_path: Path
) -> None:
    controller.register("L1")
    kit = controller.post(
        f"/stores/{STORE}/ble/association-kit", {"gateway": GATEWAY, "label_ids": ["L1"]}
    ).json()
    kit_path = write_private(tmp_path / "kit.json", json.dumps(kit), mode=0o644)
    key_path = write_private(tmp_path / "store.key", controller.keys[STORE])

    result = CliRunner().invoke(
        cli_app,
        ["gateway", "ble", "associate", "--store", STORE, "--gateway", GATEWAY,
         "--kit", str(kit_path), "--controller", controller.url, "--api-key-file", str(key_path),
         "--backend", "bumble", "--hci", "tcp-client:127.0.0.1:9"],
    )  # fmt: skip

    assert result.exit_code == 2, result.output
    assert "readable by others (mode 644)" in result.output
    assert controller.inventory() == {}


@pytest.mark.parametrize(
    ("backend", "code", "said"),
    [
        (
            ["--backend", "bumble", "--hci", "tcp-client:127.0.0.1:9"],
            "L1=eslpair:081b010000eeffc0",
            "--pairing-code for L1: unreadable pairing code: AD structure at byte 0",
        ),
        (
            [],
            "L1=eslpair:081b010000eeffc001" + "1122" + "00" * 16 + "1123" + "00" * 16,
            "--pairing-code needs --backend bumble",
        ),
    ],
    ids=["damaged", "platform-backend"],
)
def test_a_pairing_code_is_read_and_its_backend_checked_before_any_radio_work(
    controller: Controller, tmp_path: Path, backend: list[str], code: str, said: str
) -> None:
    controller.register("L1")
    kit = controller.post(
        f"/stores/{STORE}/ble/association-kit", {"gateway": GATEWAY, "label_ids": ["L1"]}
    ).json()
    kit_path = write_private(tmp_path / "kit.json", json.dumps(kit))
    key_path = write_private(tmp_path / "store.key", controller.keys[STORE])

    result = CliRunner().invoke(
        cli_app,
        ["gateway", "ble", "associate", "--store", STORE, "--gateway", GATEWAY,
         "--kit", str(kit_path), "--controller", controller.url, "--api-key-file", str(key_path),
         "--pairing-code", code, *backend],
    )  # fmt: skip

    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.replace("│", " ").split()), result.output
    assert controller.inventory() == {}


def test_a_label_registered_with_a_pairing_code_is_never_paired_just_works(
    controller: Controller, tmp_path: Path
) -> None:
    """The platform backend cannot pair out of band: it is refused for such a label before
    any radio work, rather than pairing it Just Works, which the code exists to prevent."""
    code = PairingCode(address=address_of(1), confirm=bytes(16), random=bytes(range(16)))
    controller.register("L1", pairing_code=str(code))
    kit = controller.post(
        f"/stores/{STORE}/ble/association-kit", {"gateway": GATEWAY, "label_ids": ["L1"]}
    ).json()
    kit_path = write_private(tmp_path / "kit.json", json.dumps(kit))
    key_path = write_private(tmp_path / "store.key", controller.keys[STORE])
    command = ["gateway", "ble", "associate", "--store", STORE, "--gateway", GATEWAY,
               "--kit", str(kit_path), "--controller", controller.url,
               "--api-key-file", str(key_path)]  # fmt: skip

    platform = CliRunner().invoke(cli_app, command)
    elsewhere = CliRunner().invoke(
        cli_app,
        [*command, "--address", "L1=C0:FF:EE:00:00:09", "--backend", "bumble", "--hci",
         "tcp-client:127.0.0.1:9"],
    )  # fmt: skip

    assert platform.exit_code == 2, platform.output
    said = " ".join(platform.output.replace("│", " ").split())
    assert "L1: registered with a pairing code, so paired out of band only" in said
    assert elsewhere.exit_code == 2, elsewhere.output
    said = " ".join(elsewhere.output.replace("│", " ").split())
    assert f"is not the address its pairing code names ({address_of(1)})" in said
    assert controller.inventory() == {}


def test_a_kit_whose_address_is_not_its_pairing_codes_is_refused(tmp_path: Path) -> None:
    code = PairingCode(address=address_of(1), confirm=bytes(16), random=bytes(range(16)))
    entry = {"label_id": "L1", "model": "2.9-bwr", "width": 296, "height": 128, "esl_id": 0,
             "esl_group": 0, "key": "00" * 32, "pairing_code": str(code)}  # fmt: skip
    body = {"store": STORE, "gateway": GATEWAY, "labels": [entry]}
    path = write_private(tmp_path / "kit.json", json.dumps(body))
    assert read_kit(path, store=STORE, gateway=GATEWAY).labels[0].address == address_of(1)
    entry["address"] = address_of(2)
    write_private(path, json.dumps(body))
    with pytest.raises(typer.BadParameter, match="is not its pairing code's"):
        read_kit(path, store=STORE, gateway=GATEWAY)
    entry["address"] = 17  # a hand-edited kit: refused with the reason, not a traceback
    write_private(path, json.dumps(body))
    with pytest.raises(typer.BadParameter, match="L1's address 17 is not text"):
        read_kit(path, store=STORE, gateway=GATEWAY)


def test_the_kit_is_for_admins_and_refuses_labels_it_cannot_associate(
    controller: Controller,
) -> None:
    controller.register("L1", "L2")
    controller.register("X1", store="S02")
    body = {"gateway": GATEWAY, "label_ids": ["L1", "L2"]}

    as_store = controller.post(f"/stores/{STORE}/ble/association-kit", body, role=STORE)
    refused = controller.post(
        f"/stores/{STORE}/ble/association-kit",
        {"gateway": GATEWAY, "label_ids": ["L1", "X1", "NOPE"]},
    )
    kit = controller.post(f"/stores/{STORE}/ble/association-kit", body)

    assert as_store.status_code == 403  # the kit holds keys
    assert refused.status_code == 422
    assert {p["label_id"]: p["reason"] for p in refused.json()["error"]["problems"]} == {
        "X1": f"label X1 is in store S02, not {STORE}",
        "NOPE": "no label NOPE",
    }
    assert kit.status_code == 200
    assert [(x["label_id"], x["esl_group"], x["esl_id"]) for x in kit.json()["labels"]] == [
        ("L1", 0, 0),
        ("L2", 0, 1),
    ]
    assert bytes.fromhex(kit.json()["labels"][0]["key"]) == controller.label_key("L1")


def test_two_kits_for_one_gateway_never_give_one_address_twice(
    controller: Controller,
) -> None:
    controller.register("L1", "L2", "L3")

    def kit(*label_ids: str) -> list[tuple[str, int, int]]:
        body = {"gateway": GATEWAY, "label_ids": list(label_ids)}
        answer = controller.post(f"/stores/{STORE}/ble/association-kit", body)
        assert answer.status_code == 200, answer.text
        return [(x["label_id"], x["esl_group"], x["esl_id"]) for x in answer.json()["labels"]]

    # Two installers, two kits, before either label is associated: two addresses.
    assert kit("L1") == [("L1", 0, 0)]
    assert kit("L2") == [("L2", 0, 1)]
    # A lost kit asked for again: the same address, not a third one.
    assert kit("L1", "L3") == [("L1", 0, 0), ("L3", 0, 2)]
    # A label associated at another kit's address is refused, and nothing is recorded.
    path = f"/stores/{STORE}/ble/inventory"
    squatter = controller.post(path, {"gateway": GATEWAY, "labels": [_record("L2", 0)]})
    assert squatter.status_code == 422
    assert squatter.json()["error"]["problems"] == [
        {"label_id": "L2", "reason": f"ESL address 0/0 on {GATEWAY} is reserved for L1 by its kit"}
    ]
    assert controller.inventory() == {}
    recorded = controller.post(path, {"gateway": GATEWAY, "labels": [_record("L1", 0)]})
    assert recorded.status_code == 200, recorded.text
    # A day later L2's and L3's kits have expired: their addresses are free again, and an
    # associated label keeps its own.
    controller.clock.advance(KIT_LIFETIME)
    assert kit("L3", "L2") == [("L3", 0, 1), ("L2", 0, 2)]


def _record(
    label_id: str, esl_id: int, *, width: int = 296, height: int = 128
) -> dict[str, object]:
    return {
        "label_id": label_id,
        "address": address_of(esl_id + 1),
        "esl_id": esl_id,
        "esl_group": 0,
        "displays": [{"width": width, "height": height, "display_type": 2}],
        "max_image_index": 3,
        "leds": [{"srgb": True, "colour_bits": 3}],
        "associated_at": START.isoformat(),
    }


def test_the_inventory_records_all_labels_or_none_with_each_reason(
    controller: Controller,
) -> None:
    controller.register("L1", "L2", "L3")
    path = f"/stores/{STORE}/ble/inventory"
    mixed = {
        "gateway": GATEWAY,
        "labels": [_record("L1", 0), _record("L2", 1, width=250, height=122), _record("L3", 0)],
    }

    refused = controller.post(path, mixed, role=STORE)
    other_store = controller.post(
        path, {"gateway": GATEWAY, "labels": [_record("L1", 0)]}, role="S02"
    )

    assert refused.status_code == 422
    reasons = {p["label_id"]: p["reason"] for p in refused.json()["error"]["problems"]}
    assert reasons == {
        "L2": "label L2 is registered as 2.9-bwr (296x128) but reports 250x122",
        "L3": f"ESL address 0/0 on {GATEWAY} is L1's",
    }
    assert other_store.status_code == 403
    assert controller.inventory() == {}

    good = {"gateway": GATEWAY, "labels": [_record("L1", 0), _record("L2", 1)]}
    recorded = controller.post(path, good, role=STORE)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["recorded"] == ["L1", "L2"]
    assert {i: (r.esl_group, r.esl_id) for i, r in controller.inventory().items()} == {
        "L1": (0, 0),
        "L2": (0, 1),
    }
    # Recorded labels are now driven by that gateway.
    assert controller.label_gateway("L1") == GATEWAY
    assert controller.label_gateway("L3") is None
    # Associated labels are not handed out again.
    again = controller.post(
        f"/stores/{STORE}/ble/association-kit", {"gateway": GATEWAY, "label_ids": ["L1", "L3"]}
    )
    assert again.status_code == 422
    assert again.json()["error"]["problems"] == [
        {
            "label_id": "L1",
            "reason": "label L1 is already associated (unassociate it first: "
            "`esl label unassociate L1`)",
        }
    ]


def test_a_label_with_a_pairing_code_is_recorded_only_if_paired_with_it_at_its_address(
    controller: Controller,
) -> None:
    """The controller, not only the installer's tool, keeps the code's promise: a record
    of a coded label that paired Just Works (an older tool, a hand-made request) or
    somewhere else than the code's address is refused, and nothing is recorded."""
    coded = PairingCode(address=address_of(1), confirm=bytes(range(16)), random=bytes(16))
    public = PairingCode(address="00:1B:DC:00:00:02/P", confirm=bytes(16), random=bytes(16))
    controller.register("L1", pairing_code=str(coded))
    controller.register("L2", pairing_code=str(public))
    path = f"/stores/{STORE}/ble/inventory"

    def post(*labels: dict[str, object]) -> httpx.Response:
        return controller.post(path, {"gateway": GATEWAY, "labels": list(labels)}, role=STORE)

    just_works = post(_record("L1", 0))
    elsewhere = post(_record("L1", 0) | {"paired_with_code": True, "address": address_of(3)})

    assert just_works.status_code == elsewhere.status_code == 422
    assert just_works.json()["error"]["problems"] == [
        {
            "label_id": "L1",
            "reason": "label L1 is registered with a pairing code but was paired without it "
            "(Just Works): associate it again with the code (--backend bumble)",
        }
    ]
    assert elsewhere.json()["error"]["problems"][0]["reason"] == (
        f"label L1 was associated at {address_of(3)}, not at the address its pairing code "
        f"names ({address_of(1)})"
    )
    assert controller.inventory() == {}
    # Another label associated at the coded label's address (a mistyped --address, a tool
    # pairing Just Works): the device there is L1, which would then hold L3's key.
    controller.register("L3")
    impostor = post(_record("L3", 2) | {"address": address_of(1).lower()})
    assert impostor.status_code == 422
    assert impostor.json()["error"]["problems"][0]["reason"] == (
        f"label L3 was associated at {address_of(1).lower()}, the address label L1's "
        "pairing code names: associate L3 at its own address"
    )
    # A public address reported by a scan without its `/P` is still the code's address.
    recorded = post(
        _record("L1", 0) | {"paired_with_code": True, "address": address_of(1).lower()},
        _record("L2", 1) | {"paired_with_code": True, "address": "00:1b:dc:00:00:02"},
    )
    assert recorded.status_code == 200, recorded.text
    assert sorted(controller.inventory()) == ["L1", "L2"]


async def test_each_kit_label_gets_an_outcome_and_only_associated_ones_a_record() -> None:
    store = make_store(3, associated=False)
    store.label(2).faults.refuse_connections = FAST.attempts  # out of reach for every try
    entries = tuple(
        KitEntry(
            label_id=label_id_of(i),
            model="2.9-bwr",
            width=296,
            height=128,
            esl_address=EslAddress(esl_id=i),
            key=key_of(label_id_of(i)),
            pairing_code=None,
            address=None,
        )
        for i in (1, 2, 3)
    )
    kit = AssociationKit(store=STORE, gateway=GATEWAY, labels=entries)

    outcomes = await associate_kit(
        kit,
        addresses={label_id_of(1): address_of(1), label_id_of(2): address_of(2)},
        discover=store.air.discover,
        client_factory=store.client_factory,
        clock=store.clock,
        scan_s=1.0,
        policy=FAST,
    )

    first, second, third = outcomes
    assert first.record is not None
    assert first.record.esl_address == EslAddress(esl_id=1)
    assert store.label(1).esl_address == EslAddress(esl_id=1)
    assert second.record is None
    assert second.reason.startswith(f"cannot connect to {address_of(2)} after 3 attempt(s)")
    assert store.label(2).esl_address is None
    assert third.record is None
    assert third.reason.startswith(f"no BLE address: pass --address {label_id_of(3)}=ADDR")
    assert address_of(3) in third.reason  # it was advertising: the installer can pick it
