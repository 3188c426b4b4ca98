"""`esl gateway oepl import-tags`: register an OpenEPaperLink AP's tags as labels.

Each tag whose type maps to one of our display models becomes a label (its id is the
tag's MAC) with a fresh random key; the controller stores the key with the label, and
the store gateway gets it from the provisioning file written here (mode 0600, the
format of docs/protocol.md plus each label's radio `address`). Tags of a type without a
model are reported with the reason and left alone. Running it again adds only new tags:
a label already in the file keeps its key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from esl.pipeline.provisioning import register_provisioned_labels
from firmware_sim.fleet import LabelProvision
from gateways.oepl import AccessPointDriver
from gateways.protocol import generate_label_key

__all__ = ["TagImport", "import_access_point_tags", "write_gateway_provisioning"]


@dataclass
class TagImport:
    labels: list[LabelProvision] = field(default_factory=list)  # every label in the file
    added: int = 0  # labels new to the controller
    skipped: list[tuple[str, str]] = field(default_factory=list)  # MAC, why


async def import_access_point_tags(
    sessions: sessionmaker[Session],
    driver: AccessPointDriver,
    *,
    store: str,
    gateway: str,
    provisioning: Path,
    now: datetime,
) -> TagImport:
    known: dict[str, LabelProvision] = {}
    if provisioning.exists():
        document = json.loads(provisioning.read_text(encoding="utf-8"))
        for entry in document["labels"]:
            known[entry["label_id"]] = LabelProvision(
                label_id=entry["label_id"], model_id=entry["model"], key=bytes.fromhex(entry["key"])
            )
    result = TagImport()
    for record in await driver.inventory():
        match = await driver.model_of(record)
        if match.model_id is None:
            result.skipped.append((record.mac, match.reason))
            continue
        held = known.get(record.mac)
        if held is None or held.model_id != match.model_id:
            known[record.mac] = LabelProvision(
                label_id=record.mac, model_id=match.model_id, key=generate_label_key()
            )
    result.labels = list(known.values())
    write_gateway_provisioning(provisioning, result.labels, store=store, gateway=gateway)
    with sessions.begin() as session:
        result.added = register_provisioned_labels(
            session, result.labels, store=store, gateway=gateway, now=now
        )
    return result


def write_gateway_provisioning(
    path: Path, labels: list[LabelProvision], *, store: str, gateway: str
) -> None:
    """The gateway's provisioning file: docs/protocol.md's format plus each label's radio
    `address` (an OEPL tag's MAC, which is also its label id)."""
    document = {
        "store": store,
        "gateway": gateway,
        "labels": [
            {"label_id": p.label_id, "address": p.label_id, "model": p.model_id, "key": p.key.hex()}
            for p in labels
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # Created 0600, never world-readable for a moment: the file holds label keys.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=1))
    temporary.replace(path)
