"""`esl gateway ble associate`: configure the kit's labels from the store and record them.

    kit = read_kit(path, store="S01", gateway="S01-ble1")    # refuses a file others can read
    outcomes = await associate_kit(kit, addresses={...}, discover=..., client_factory=...)
    post_inventory(controller, api_key, kit=kit, outcomes=outcomes)

A label is only associated when it advertises the ESL Service (it does so until an access
point configures it), so a second run skips what the first one did. A label whose
displays disagree with its registered model is reported and not posted: the controller
would refuse the whole batch for it (docs/ble.md "Association").
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from esl.cli.controller_api import post_to_controller
from esl.services.ble_inventory import KitLabel
from esl.text_files import read_utf8_text
from gateways.ble.association import associate_label
from gateways.ble.control_point import EslAddress
from gateways.ble.errors import PairingCodeError
from gateways.ble.inventory import Discover, LabelInventoryRecord
from gateways.ble.link import DEFAULT_CONNECT_POLICY, ClientFactory, ConnectPolicy
from gateways.ble.pairing_code import PairingCode, bare_address
from pricing.errors import EslError

__all__ = [
    "AssociationKit",
    "KitEntry",
    "Outcome",
    "associate_kit",
    "post_inventory",
    "private_file_text",
    "read_kit",
]


def private_file_text(path: Path) -> str:
    """The text of a secret file (a password, an API key, a kit of label keys); a file
    that its group or others can read is refused, as is a missing one."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise typer.BadParameter(f"{path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise typer.BadParameter(
            f"{path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
        )
    return read_utf8_text(path)


@dataclass(frozen=True, slots=True)
class KitEntry(KitLabel):
    """A kit label as the controller made it, and the label's Bluetooth address where the
    kit names one (else `--address` or nothing: the label is then reported, not skipped)."""

    address: str | None


@dataclass(frozen=True, slots=True)
class AssociationKit:
    store: str
    gateway: str
    labels: tuple[KitEntry, ...]


def _kit_entry(x: dict[str, Any]) -> KitEntry:
    code = None if x.get("pairing_code") is None else PairingCode.parse(str(x["pairing_code"]))
    address = x.get("address")
    if address is not None and not isinstance(address, str):
        raise TypeError(f"{x['label_id']}'s address {address!r} is not text")
    if code is not None and address is not None and not code.names(address):
        raise ValueError(f"{x['label_id']}'s address {address} is not its pairing code's")
    return KitEntry(
        label_id=str(x["label_id"]),
        model=str(x["model"]),
        width=int(x["width"]),
        height=int(x["height"]),
        esl_address=EslAddress(esl_id=int(x["esl_id"]), group=int(x["esl_group"])),
        key=bytes.fromhex(x["key"]),
        pairing_code=code,
        # A label registered with its printed code is found by the address it names.
        address=address or (None if code is None else code.address),
    )


def read_kit(path: Path, *, store: str, gateway: str) -> AssociationKit:
    """The kit the controller made (`POST .../ble/association-kit`), for this store and
    gateway only."""
    text = private_file_text(path)
    try:
        body = json.loads(text)
        kit = AssociationKit(
            store=str(body["store"]),
            gateway=str(body["gateway"]),
            labels=tuple(_kit_entry(x) for x in body["labels"]),
        )
    except (ValueError, KeyError, TypeError, PairingCodeError) as error:
        raise typer.BadParameter(f"{path} is not an association kit ({error})") from None
    if (kit.store, kit.gateway) != (store, gateway):
        raise typer.BadParameter(
            f"{path} is the kit of {kit.store}/{kit.gateway}, not {store}/{gateway}"
        )
    return kit


@dataclass(frozen=True, slots=True)
class Outcome:
    """One kit label: associated (`record`) or not, and why."""

    label_id: str
    address: str | None
    record: LabelInventoryRecord | None = None
    reason: str = ""


def _size_refusal(entry: KitEntry, record: LabelInventoryRecord) -> str:
    sizes = {(d.width, d.height) for d in record.displays}
    if (entry.width, entry.height) in sizes:
        return ""
    reported = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)) or "no display"
    return (
        f"registered as {entry.model} ({entry.width}x{entry.height}) but reports {reported}: "
        "not recorded; correct its model at the controller, unassociate it, and run again"
    )


async def associate_kit(
    kit: AssociationKit,
    *,
    addresses: Mapping[str, str],
    discover: Discover,
    client_factory: ClientFactory,
    clock: Callable[[], datetime],
    scan_s: float = 5.0,
    policy: ConnectPolicy = DEFAULT_CONNECT_POLICY,
) -> list[Outcome]:
    """Scan, then associate each kit label found advertising at its address (from
    `addresses`, else the kit's), one at a time; every label gets an outcome."""
    # By the scan's spelling of each address: a public one may be given with or without
    # its `/P`, and is connected to as the scan reported it.
    scanned = await discover(scan_s)
    advertising = {bare_address(label.address): label.address for label in scanned}
    outcomes = []
    for entry in kit.labels:
        address = addresses.get(entry.label_id) or entry.address
        if address is None:
            seen = ", ".join(sorted(advertising.values())) or "none"
            outcomes.append(
                Outcome(
                    entry.label_id,
                    None,
                    reason=f"no BLE address: pass --address {entry.label_id}=ADDR "
                    f"(advertising now: {seen})",
                )
            )
            continue
        if bare_address(address) not in advertising:
            outcomes.append(
                Outcome(
                    entry.label_id,
                    address,
                    reason="not advertising for association: already associated, or out of range",
                )
            )
            continue
        address = advertising[bare_address(address)]
        try:
            record = await associate_label(
                address,
                esl_address=entry.esl_address,
                label_key=entry.key,
                at=clock(),
                client_factory=client_factory,
                policy=policy,
            )
        except EslError as error:
            outcomes.append(Outcome(entry.label_id, address, reason=error.message))
            continue
        why = _size_refusal(entry, record)
        outcomes.append(Outcome(entry.label_id, address, None if why else record, why))
    return outcomes


def _record_json(
    label_id: str, record: LabelInventoryRecord, *, paired_with_code: bool
) -> dict[str, object]:
    return {
        "paired_with_code": paired_with_code,
        "label_id": label_id,
        "address": record.address,
        "esl_id": record.esl_address.esl_id,
        "esl_group": record.esl_address.group,
        "displays": [
            {"width": d.width, "height": d.height, "display_type": int(d.display_type)}
            for d in record.displays
        ],
        "max_image_index": record.max_image_index,
        "leds": [{"srgb": x.srgb, "colour_bits": x.colour_bits} for x in record.leds],
        "associated_at": record.associated_at.isoformat(),
    }


def post_inventory(
    controller: str,
    api_key: str,
    *,
    kit: AssociationKit,
    outcomes: list[Outcome],
    paired_with_code: Collection[str] = (),
) -> dict[str, str]:
    """`POST /api/v1/stores/{store}/ble/inventory` with the associated labels (saying which
    were paired with their printed code); each refused label's reason (empty when all
    were recorded). Unreachable: BadParameter."""
    posted = [x.label_id for x in outcomes if x.record is not None]
    body = {
        "gateway": kit.gateway,
        "labels": [
            _record_json(x.label_id, x.record, paired_with_code=x.label_id in paired_with_code)
            for x in outcomes
            if x.record is not None
        ],
    }
    status, answer = post_to_controller(
        controller,
        f"/stores/{kit.store}/ble/inventory",
        body,
        api_key=api_key,
        option="--controller",
    )
    if status == 200:
        return {}
    general = f"HTTP {status}: {answer.get('message')}"
    reasons = {
        str(p["label_id"]): str(p["reason"])
        for p in answer.get("problems", [])
        if p.get("label_id") is not None
    }
    return {label_id: reasons.get(label_id, general) for label_id in posted}
