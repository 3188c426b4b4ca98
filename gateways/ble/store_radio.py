"""Bluetooth ESL labels as a store gateway process's radio (`esl gateway ble`).

    labels = read_ble_gateway_labels(path, store="S001", gateway="S001-ble1")
    radio = BleStoreRadio(BleLabelRadio([entry.address for entry in labels], ...))

A Bluetooth ESL label holds its own key: it verifies each frame and signs its answer, so
the process relays bytes (`gateways.store_gateway.relay`) and this gateway holds no
label keys at all. Its labels file says only where each label is: label id, display
model, BLE address and the ESL ID association gave it.

    {"store": "S001", "gateway": "S001-ble1",
     "labels": [{"label_id": "S001-0001", "model": "2.9-bwr",
                 "address": "C0:FF:EE:00:00:01", "esl_id": 1}]}

`esl gateway ble export-labels` writes it from the controller's BLE inventory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateways.ble.errors import BleConnectError, BleError, FrameWaitingError
from gateways.ble.esl_service import BROADCAST_ESL_ID
from gateways.ble.inventory import BleLabelAddress
from gateways.ble.radio import BleLabelRadio
from gateways.protocol import ProvisioningRejectedError, check_label_id
from gateways.store_gateway.radio import LabelHealth, RadioError, SelfSigningRadio
from rendering.display_models import get_display_model
from rendering.errors import RenderingError

__all__ = [
    "BleGatewayLabel",
    "BleStoreRadio",
    "ble_gateway_labels_json",
    "read_ble_gateway_labels",
]

# A random static address (what ESLs use) or a public one written with a `/P` suffix.
_ADDRESS: Final = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}(/P)?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class BleGatewayLabel:
    """One label this gateway drives: where it is on the air, and its panel."""

    label_id: str
    model: str
    address: str
    esl_id: int

    @property
    def on_air(self) -> BleLabelAddress:
        return BleLabelAddress(self.label_id, address=self.address, esl_id=self.esl_id)


def ble_gateway_labels_json(labels: Iterable[BleGatewayLabel], *, store: str, gateway: str) -> str:
    document = {
        "store": store,
        "gateway": gateway,
        "labels": [
            {"label_id": x.label_id, "model": x.model, "address": x.address, "esl_id": x.esl_id}
            for x in labels
        ],
    }
    return json.dumps(document, indent=1)


def read_ble_gateway_labels(path: Path, *, store: str, gateway: str) -> list[BleGatewayLabel]:
    """The labels file of this gateway, every entry checked; `ProvisioningRejectedError`
    lists every problem (label number, from 1, and reason) and none is used."""

    def rejected(reason: str, problems: list[dict[str, object]] | None = None) -> Exception:
        return ProvisioningRejectedError(f"{path}: {reason}", problems=problems or [])

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise rejected(f"cannot read it ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("labels"), list):
        raise rejected("the file is a JSON object with store, gateway and labels")
    if (document.get("store"), document.get("gateway")) != (store, gateway):
        found = f"{document.get('store')}/{document.get('gateway')}"
        raise rejected(f"the file is for gateway {found}, not {store}/{gateway}")
    labels: list[BleGatewayLabel] = []
    problems: list[dict[str, object]] = []
    ids: set[str] = set()
    addresses: set[str] = set()
    for number, entry in enumerate(document["labels"], start=1):
        try:
            label = _entry(entry)
            if label.label_id in ids:
                raise ValueError(f"label {label.label_id} appears twice")
            if label.address.upper() in addresses:
                raise ValueError(f"address {label.address} appears twice")
        except (ValueError, TypeError, RenderingError) as error:
            problems.append({"line": number, "reason": str(error)})
            continue
        ids.add(label.label_id)
        addresses.add(label.address.upper())
        labels.append(label)
    if problems:
        listed = "; ".join(f"label {p['line']}: {p['reason']}" for p in problems[:5])
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        count = f"{len(problems)} of {len(document['labels'])} labels are invalid"
        raise rejected(f"{count} ({listed}{more})", problems)
    return labels


def _entry(entry: object) -> BleGatewayLabel:
    if not isinstance(entry, dict):
        raise ValueError("each label is an object with label_id, model, address and esl_id")
    label_id, model = entry.get("label_id"), entry.get("model")
    address, esl_id = entry.get("address"), entry.get("esl_id")
    if not (isinstance(label_id, str) and isinstance(model, str) and isinstance(address, str)):
        raise ValueError("label_id, model and address must be strings")
    check_label_id(label_id)
    get_display_model(model)  # an unknown model raises
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"label {label_id}: {address!r} is not a BLE address")
    if isinstance(esl_id, bool) or not isinstance(esl_id, int) or not 0 <= esl_id < 0xFF:
        raise ValueError(f"label {label_id}: esl_id must be 0..{BROADCAST_ESL_ID - 1}")
    return BleGatewayLabel(label_id=label_id, model=model, address=address, esl_id=esl_id)


class BleStoreRadio(SelfSigningRadio):
    """`BleLabelRadio` behind the store gateway's radio interface: its errors become
    `RadioError`s, final only when sending the same frame again cannot succeed
    (`BleError.final`: a refusal listed in `gateways.ble.esl_service`, an unknown label).
    What may pass (out of reach, a browned-out or busy label, radio noise, another
    device's transfer) is not: the controller retries it and, in the end, parks it as
    offline, which "within reach again" revives."""

    def __init__(self, radio: BleLabelRadio) -> None:
        self.radio = radio

    async def open(self) -> None:
        await self.radio.start()

    async def exchange(self, label_id: str, frame: bytes) -> bytes:
        try:
            return await self.radio.exchange(label_id, frame)
        except BleConnectError as error:
            raise _out_of_range(error, label_id) from None
        except BleError as error:
            raise _radio_error(error, label_id, final=error.final) from None

    async def reach(self, label_id: str) -> bytes | None:
        # The ESL Ping without a frame: one short connection, answered with the Basic
        # State (unsigned), so it proves only that the label is on the air. A frame this
        # radio sent that the label holds whole is carried out first: its signed answer
        # is returned, and it says what the panel now shows.
        try:
            return (await self.radio.ping(label_id)).signed_response
        except FrameWaitingError:
            # It answered (a GATT read) and holds a frame the controller will send again
            # once told the label is back: reached, and the frame kept for that.
            return None
        except BleError as error:
            if error.carried_out_answer is not None:
                return error.carried_out_answer  # it answered that frame: reached
            if isinstance(error, BleConnectError):
                raise _out_of_range(error, label_id) from None
            raise _radio_error(error, label_id, final=False) from None

    async def health(self) -> dict[str, LabelHealth]:
        # Associated labels do not advertise for us between frames (a real access point
        # reaches them by periodic advertising); they report battery, signal and
        # temperature in the answers they sign, which the controller verifies.
        return {}

    async def close(self) -> None:
        await self.radio.stop()


def _out_of_range(error: BleConnectError, label_id: str) -> RadioError:
    attempts = error.fields.get("attempts")
    tries = attempts if isinstance(attempts, int) and attempts > 0 else 1
    return RadioError(
        address=str(error.fields.get("address", label_id)),
        reason=f"out of range after {tries} attempt{'s' if tries > 1 else ''}",
        final=False,
        attempts=min(tries, 0xFF),
    )


def _radio_error(error: BleError, label_id: str, *, final: bool) -> RadioError:
    address = str(error.fields.get("address", label_id))
    return RadioError(address=address, reason=error.message, final=final)
