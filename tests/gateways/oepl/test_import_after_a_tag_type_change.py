"""`esl gateway oepl import-tags` run again after a registered tag's type changed at the
AP (the AP now serves that MAC as a 2.9" BWY instead of a 2.9" BWR: the tag reflashed,
or the AP's tag-type definitions updated).

docs/gateways.md (Setting up a store): "Running it again adds new tags and keeps the keys
of known ones". Before, the import gave the changed tag a fresh key, wrote it (and the
new model) into the gateway's provisioning file, and only then asked the controller,
which refused (409, keys are never replaced): the import failed, and the gateway's file
no longer held the key the controller signs that label's frames with. Once the gateway
reloaded its file, every frame for the label failed its MAC check: a label that worked
was cut off by an import that was refused. Now the tag is skipped with the reason (as a
tag registered on another gateway is), its key and model stay in the file, and the
other tags are imported.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.models import LabelRow
from esl.pipeline.oepl_tags import TagImport, import_access_point_tags
from firmware_sim.oepl_ap.access_point import EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from tests.support.oepl import tag_mac

STORE, GATEWAY = "S01", "S01-ap1"
HW_29_BWY = 0xB4


async def _import(served: ServedAccessPoint, engine: Engine, provisioning: Path) -> TagImport:
    driver = AccessPointDriver(
        AccessPointClient(served.url), timings=DriverTimings(poll_s=0.02, confirm_timeout_s=3.0)
    )
    try:
        return await import_access_point_tags(
            session_factory(engine), driver, store=STORE, gateway=GATEWAY,
            provisioning=provisioning, now=datetime.now(UTC),
        )  # fmt: skip
    finally:
        await driver.close()


def _file(provisioning: Path) -> dict[str, tuple[str, str]]:
    document = json.loads(provisioning.read_text(encoding="utf-8"))
    return {entry["label_id"]: (entry["model"], entry["key"]) for entry in document["labels"]}


def _controller(engine: Engine) -> dict[str, tuple[str, str]]:
    with session_factory(engine)() as session:
        return {
            label.id: (label.model, label.secret_key.hex())
            for label in session.query(LabelRow).all()
        }


async def test_a_reimport_after_a_tag_type_change_keeps_the_key_and_reports_the_tag(
    served_ap: ServedAccessPoint, engine: Engine, tmp_path: Path
) -> None:
    provisioning = tmp_path / f"{GATEWAY}-labels.json"
    await _import(served_ap, engine, provisioning)
    mac = tag_mac(1)
    before = _controller(engine)
    assert _file(provisioning)[mac] == before[mac]
    assert before[mac][0] == "2.9-bwr"

    # The AP now lists that MAC as another tag type of the same size, and a new tag joined.
    served_ap.ap.tags.pop(mac)
    served_ap.ap.add_tag(EmulatedTag(mac=mac, hw_type=HW_29_BWY), now=time.time())
    newcomer = "0000025800000099"
    served_ap.ap.add_tag(EmulatedTag(mac=newcomer, hw_type=0xB3), now=time.time())

    again = await _import(served_ap, engine, provisioning)

    assert again.added == 1  # the new tag
    reasons = dict(again.skipped)
    assert reasons[mac].startswith(
        "the AP now serves it as 2.9-bwy (tag type B4), the label is a 2.9-bwr: key and model kept"
    )
    after = _controller(engine)
    # The gateway's file and the controller agree on the label: its key and model.
    assert _file(provisioning)[mac] == after[mac] == before[mac]
    assert _file(provisioning)[newcomer] == after[newcomer]
    assert after[newcomer][0] == "2.9-bwr"


async def test_the_tags_new_model_is_taken_once_the_operator_puts_it_in_the_file(
    served_ap: ServedAccessPoint, engine: Engine, tmp_path: Path
) -> None:
    """docs/gateways.md: when the tag really is another panel now, the operator changes
    the model of its entry in the provisioning file and runs import-tags again."""
    provisioning = tmp_path / f"{GATEWAY}-labels.json"
    await _import(served_ap, engine, provisioning)
    mac = tag_mac(1)
    key = _controller(engine)[mac][1]
    served_ap.ap.tags.pop(mac)
    served_ap.ap.add_tag(EmulatedTag(mac=mac, hw_type=HW_29_BWY), now=time.time())
    document = json.loads(provisioning.read_text(encoding="utf-8"))
    for entry in document["labels"]:
        if entry["label_id"] == mac:
            entry["model"] = "2.9-bwy"
    provisioning.write_text(json.dumps(document), encoding="utf-8")

    again = await _import(served_ap, engine, provisioning)

    assert mac not in dict(again.skipped)
    assert [(c.label_id, c.old_model, c.new_model) for c in again.remodelled] == [
        (mac, "2.9-bwr", "2.9-bwy")
    ]
    assert _file(provisioning)[mac] == _controller(engine)[mac] == ("2.9-bwy", key)
