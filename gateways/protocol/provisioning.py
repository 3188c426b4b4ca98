"""Which labels a gateway has, with their keys: the provisioning file, its one parser and
its one writer (`write_provisioning_file`, readable by its owner only).

The controller registers a label with its id, display model and a 32-byte key
(`generate_label_key`). A store gateway (or the firmware simulator) writes the labels it
associated; the controller imports the file, and both sides then hold the same keys, which
never cross MQTT. Both sides read the file with `parse_provisioning`.

File format (JSON, docs/protocol.md): {"store": "S001", "gateway": "G01",
    "labels": [{"label_id": "...", "model": "2.9-bwr", "key": "<64 hex>"}]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateways.protocol._wire import check_label_id
from gateways.protocol.errors import ProvisioningRejectedError
from gateways.protocol.keys import check_label_key
from rendering.display_models import get_display_model
from rendering.errors import RenderingError

__all__ = [
    "LabelProvision",
    "ProvisioningFile",
    "parse_provisioning",
    "provisioning_json",
    "write_provisioning_file",
]


@dataclass(frozen=True, slots=True)
class LabelProvision:
    """One label of a gateway: its id, display model and 32-byte key."""

    label_id: str
    model_id: str
    key: bytes = field(repr=False)  # never in a log line or a traceback

    def __post_init__(self) -> None:
        check_label_key(self.key)
        get_display_model(self.model_id)


@dataclass(frozen=True, slots=True)
class ProvisioningFile:
    store: str
    gateway: str
    labels: list[LabelProvision]


def provisioning_json(provisions: Iterable[LabelProvision], *, store: str, gateway: str) -> str:
    document = {
        "store": store,
        "gateway": gateway,
        "labels": [
            {"label_id": p.label_id, "model": p.model_id, "key": p.key.hex()} for p in provisions
        ],
    }
    return json.dumps(document, indent=1)


def write_provisioning_file(path: Path, text: str) -> None:
    """Write a provisioning file's `text` to `path` whole (through a temporary file next
    to it), readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a folder made for it
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # Created 0600, never world-readable for a moment: the file holds label keys.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    temporary.replace(path)


def parse_provisioning(text: str) -> ProvisioningFile:
    """Read a provisioning file, checking every entry; `ProvisioningRejectedError` lists
    every problem (label number, from 1, and reason)."""

    def rejected(
        reason: str, problems: list[dict[str, object]] | None = None
    ) -> ProvisioningRejectedError:
        return ProvisioningRejectedError(
            f"provisioning file rejected: {reason}", problems=problems or []
        )

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise rejected(f"not JSON ({error})") from None
    if not isinstance(document, dict):
        raise rejected("the file is a JSON object with store, gateway and labels")
    store, gateway, entries = document.get("store"), document.get("gateway"), document.get("labels")
    if not isinstance(store, str) or not store or not isinstance(gateway, str) or not gateway:
        raise rejected("'store' and 'gateway' must be non-empty strings")
    if not isinstance(entries, list):
        raise rejected("'labels' must be a list")
    problems: list[dict[str, object]] = []
    labels: list[LabelProvision] = []
    seen: set[str] = set()
    # Every label has its own key (docs/protocol.md): with one key shared, either label's
    # device signs answers the controller believes from the other, and a frame for one
    # verifies on the other. Key -> the first label given it.
    holders: dict[bytes, str] = {}
    for index, entry in enumerate(entries):
        try:
            provision = _provision(entry, seen)
        except (ValueError, TypeError, KeyError, RenderingError) as error:
            problems.append({"line": index + 1, "reason": str(error)})
            continue
        holder = holders.setdefault(provision.key, provision.label_id)
        if holder != provision.label_id:
            reason = f"label {provision.label_id} has the same key as label {holder}"
            problems.append({"line": index + 1, "reason": f"{reason}: each has its own key"})
            continue
        labels.append(provision)
    if problems:
        raise rejected(f"{len(problems)} of {len(entries)} labels are invalid", problems)
    return ProvisioningFile(store=store, gateway=gateway, labels=labels)


def _provision(entry: object, seen: set[str]) -> LabelProvision:
    if not isinstance(entry, dict):
        raise ValueError("each label is an object with label_id, model and key")
    label_id, model, key = entry.get("label_id"), entry.get("model"), entry.get("key")
    if not isinstance(label_id, str) or not isinstance(model, str) or not isinstance(key, str):
        raise ValueError("label_id, model and key must be strings")
    check_label_id(label_id)
    if label_id in seen:
        raise ValueError(f"label {label_id} appears twice")
    seen.add(label_id)
    get_display_model(model)  # an unknown model raises
    try:
        secret = bytes.fromhex(key)
    except ValueError:
        raise ValueError(f"label {label_id}: the key is not hexadecimal") from None
    check_label_key(secret)
    return LabelProvision(label_id=label_id, model_id=model, key=secret)
