"""Which labels a simulated gateway has, with their keys: the provisioning file.

A simulated gateway either reads the file the controller wrote (`read_provisioning`), or
makes a fleet of its own and writes the file for the controller to import. The file's
format, `LabelProvision` and the one parser both sides use live in
`gateways.protocol.provisioning`; `LabelProvision` is re-exported here for the simulator's
callers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from firmware_sim.hardware import hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import SimulatedLabel
from gateways.protocol import (
    LabelProvision,
    derive_label_key,
    generate_label_key,
    parse_provisioning,
    provisioning_json,
    write_provisioning_file,
)
from rendering.display_models import get_display_model

__all__ = [
    "LabelProvision",
    "build_labels",
    "make_fleet",
    "read_provisioning",
    "site_prefix",
    "write_provisioning",
]


def site_prefix(store: str, gateway: str) -> str:
    """What label ids and state files of a gateway start with: `{store}-{gateway}`, or
    the gateway id alone when it already names its store (`S001-gw1`, the default)."""
    return gateway if gateway.startswith(f"{store}-") else f"{store}-{gateway}"


def make_fleet(
    *,
    store: str,
    gateway: str,
    count: int,
    model_id: str = "2.9-bwr",
    secret: bytes | None = None,
) -> list[LabelProvision]:
    """`count` labels named `{site_prefix}-00001`...; keys random, or derived from `secret`."""
    provisions = []
    prefix = site_prefix(store, gateway)
    for number in range(1, count + 1):
        label_id = f"{prefix}-{number:05d}"
        key = generate_label_key() if secret is None else derive_label_key(secret, label_id)
        provisions.append(LabelProvision(label_id=label_id, model_id=model_id, key=key))
    return provisions


def write_provisioning(
    path: Path, provisions: Iterable[LabelProvision], *, store: str, gateway: str
) -> None:
    write_provisioning_file(path, provisioning_json(provisions, store=store, gateway=gateway))


def read_provisioning(path: Path) -> list[LabelProvision]:
    """The labels of a provisioning file, read by the same strict parser as the
    controller's (`ProvisioningRejectedError` lists every bad entry)."""
    return parse_provisioning(path.read_text(encoding="utf-8")).labels


def build_labels(
    provisions: Sequence[LabelProvision],
    *,
    now: datetime,
    images: ImageStore,
    seed: int = 0,
) -> list[SimulatedLabel]:
    """Fresh, associated labels; radio strength and temperature vary per label, seeded."""
    rng = random.Random(seed)
    hardware = {}
    labels = []
    for provision in provisions:
        if provision.model_id not in hardware:
            hardware[provision.model_id] = hardware_for(get_display_model(provision.model_id))
        labels.append(
            SimulatedLabel(
                label_id=provision.label_id,
                hardware=hardware[provision.model_id],
                key=provision.key,
                now=now,
                images=images,
                rssi_dbm=rng.randint(-92, -48),
                temperature_tenths_c=rng.randint(40, 240),  # chiller cabinets to warm aisles
            )
        )
    return labels
