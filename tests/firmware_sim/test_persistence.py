"""A restarted simulator keeps what every label displayed, its key and its sequence."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from esl.cli import app
from firmware_sim.fleet import read_provisioning
from firmware_sim.hardware import hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import SimulatedLabel
from firmware_sim.label_store import LabelStateStore
from firmware_sim.simulation import SiteConfig, open_simulated_gateway
from gateways.protocol import (
    LabelFrame,
    ReasonCode,
    Unassociate,
    build_image_update,
    decode_response,
    encode_frame,
)
from rendering.display_models import get_display_model
from rendering.encoding import content_hash, image_from_planes
from tests.firmware_sim.shelf_images import price_label

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PRICE_A = price_label("4,99 zł")


def _config(tmp_path: Path) -> SiteConfig:
    return SiteConfig(
        store="S001", gateway="gw1", state_dir=tmp_path, label_count=5, check_in_interval_s=5
    )


def test_a_restarted_site_shows_the_same_images_and_still_rejects_replays(tmp_path: Path) -> None:
    site = open_simulated_gateway(_config(tmp_path), now=T0)
    provisions = {p.label_id: p for p in read_provisioning(site.config.manifest_path)}
    assert len(provisions) == 5
    label_id = "S001-gw1-00003"
    key = provisions[label_id].key
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    frame = encode_frame(LabelFrame(label_id=label_id, sequence=1, command=update), key=key)
    site.gateway.submit(frame, now=T0)
    acks = [
        decode_response(u, key=key) for u in site.gateway.advance(now=T0 + timedelta(seconds=6))
    ]
    assert [a.reason for a in acks] == [ReasonCode.SUCCESS]
    site.close()

    again = open_simulated_gateway(_config(tmp_path), now=T0 + timedelta(minutes=1))
    label = again.gateway.labels[label_id]
    assert label.shown == PRICE_A
    assert label.last_sequence == 1
    replay = label.receive(frame, now=T0 + timedelta(minutes=2))
    assert replay is not None
    # The very same frame is recognised and answered as before; it is not shown again.
    assert decode_response(replay, key=key).displayed_hash == content_hash(PRICE_A)
    assert label.refreshes == 1
    again.close()


def test_esl_sim_display_writes_the_pixels_a_label_shows(tmp_path: Path) -> None:
    site = open_simulated_gateway(_config(tmp_path), now=T0)
    label = site.gateway.labels["S001-gw1-00001"]
    key = {p.label_id: p.key for p in read_provisioning(site.config.manifest_path)}[label.label_id]
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    label.receive(
        encode_frame(LabelFrame(label_id=label.label_id, sequence=1, command=update), key=key),
        now=T0,
    )
    site.close()
    output = tmp_path / "display.png"
    result = CliRunner().invoke(
        app,
        ["sim", "display", "S001-gw1-00001", "--state-dir", str(tmp_path), "-o", str(output)],
    )
    assert result.exit_code == 0, result.output
    shown = Image.open(io.BytesIO(output.read_bytes())).convert("RGB").tobytes()
    palette = get_display_model("2.9-bwr").palette
    assert shown == image_from_planes(PRICE_A, palette=palette).convert("RGB").tobytes()


def test_esl_sim_display_names_a_missing_label(tmp_path: Path) -> None:
    open_simulated_gateway(_config(tmp_path), now=T0).close()
    result = CliRunner().invoke(app, ["sim", "display", "nope", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no label 'nope'" in result.output


def test_a_label_s_new_image_is_on_disk_before_its_answer_leaves_the_gateway(
    tmp_path: Path,
) -> None:
    """Write-ahead: a gateway process killed right after an answer left (no save, no
    close) still has the acknowledged image when it starts again."""
    site = open_simulated_gateway(_config(tmp_path), now=T0)
    label_id = "S001-gw1-00002"
    key = {p.label_id: p.key for p in read_provisioning(site.config.manifest_path)}[label_id]
    update = build_image_update(PRICE_A, model_id="2.9-bwr")
    frame = encode_frame(LabelFrame(label_id=label_id, sequence=1, command=update), key=key)
    site.gateway.submit(frame, now=T0)
    answers = site.advance(now=T0 + timedelta(seconds=6))
    assert [decode_response(a, key=key).reason for a in answers] == [ReasonCode.SUCCESS]
    # The crash: this process's `site` is never saved nor closed. A new one reads the file.
    again = open_simulated_gateway(_config(tmp_path), now=T0 + timedelta(minutes=1))
    assert again.gateway.labels[label_id].shown == PRICE_A
    assert again.gateway.labels[label_id].last_sequence == 1
    again.close()
    site.storage.close()


def test_a_label_unassociated_then_restarted_keeps_counting_under_its_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "labels.sqlite"
    hardware = hardware_for(get_display_model("2.9-bwr"))
    key = bytes(range(32))
    label = SimulatedLabel(label_id="L-1", hardware=hardware, key=key, now=T0)
    images = ImageStore()
    old_price = encode_frame(
        LabelFrame("L-1", 1, build_image_update(PRICE_A, model_id="2.9-bwr")), key=key
    )
    assert label.receive(old_price, now=T0) is not None
    unassociate = encode_frame(LabelFrame("L-1", 2, Unassociate()), key=key)
    assert label.receive(unassociate, now=T0 + timedelta(seconds=30)) is not None
    assert not label.associated
    with LabelStateStore(path) as store:
        store.save([label], images=images)
    with LabelStateStore(path) as store:
        (restarted,) = store.load(images=ImageStore(), now=T0 + timedelta(minutes=1))
    restarted.associate(key, now=T0 + timedelta(minutes=1))  # the same key, from the kit
    replay = restarted.receive(old_price, now=T0 + timedelta(minutes=2))
    assert replay is not None
    assert decode_response(replay, key=key).reason is ReasonCode.STALE_SEQUENCE


def test_a_state_file_from_before_the_counter_key_column_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    with sqlite3.connect(path) as db:  # the table as files written before it had the column
        db.execute(
            "CREATE TABLE labels (label_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, key BLOB, "
            "last_sequence INTEGER NOT NULL, last_mac BLOB NOT NULL, last_response BLOB NOT "
            "NULL, battery_nv INTEGER NOT NULL, shown_hash BLOB, shown_page INTEGER NOT NULL, "
            "page_hashes BLOB NOT NULL, scheduled_page INTEGER, scheduled_at_ms INTEGER NOT "
            "NULL, clock_offset_ms INTEGER NOT NULL, last_contact_ms INTEGER NOT NULL, "
            "busy_until_ms INTEGER NOT NULL, led_until_ms INTEGER NOT NULL, rssi_dbm INTEGER "
            "NOT NULL, temperature_tenths_c INTEGER NOT NULL, refreshes INTEGER NOT NULL)"
        )
        db.execute(
            "INSERT INTO labels VALUES ('L-1', '2.9-bwr', ?, 7, x'', x'', 1, NULL, 0, ?, NULL, "
            "0, 0, 0, 0, 0, -60, 210, 0)",
            (bytes(range(32)), bytes(16 * hardware_for(get_display_model("2.9-bwr")).pages)),
        )
    with LabelStateStore(path) as store:
        (label,) = store.load(images=ImageStore(), now=T0)
    assert label.last_sequence == 7
    label.associate(bytes(range(32)), now=T0)  # its counter was kept under this key
    assert label.last_sequence == 7
