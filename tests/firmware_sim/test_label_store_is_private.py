"""The firmware simulator's label store holds every simulated label's key: it is its
owner's alone, whatever the umask.

Found by review: `LabelStateStore` (`$STATE_DIR/{store}-{gateway}.sqlite`, what `esl sim`
and the simulated store gateway keep their labels in) was created with the process
umask, 0644 in a 0755 folder under the usual 022, so any local user could read every
label's key and sign frames the simulated labels take, and answers the controller
believes. The controller's database (tests/esl/test_controller_database_is_private.py)
and the store gateway's state file (tests/gateways/test_store_gateway_state_file.py) had
been made private; the simulator's store had not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_sim.hardware import hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import SimulatedLabel
from firmware_sim.label_store import LabelStateStore
from firmware_sim.simulation import SiteConfig, open_simulated_gateway
from rendering.display_models import get_display_model
from tests.support.file_modes import file_modes, private, usual_umask  # noqa: F401 - fixture

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
KEY = bytes(range(32))


def _label() -> SimulatedLabel:
    hardware = hardware_for(get_display_model("2.9-bwr"))
    return SimulatedLabel(label_id="L-1", hardware=hardware, key=KEY, now=T0)


@pytest.mark.usefixtures("usual_umask")
def test_the_label_store_its_write_ahead_log_and_its_folder_are_their_owners_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sim" / "S001-gw1.sqlite"
    with LabelStateStore(path) as store:
        store.save([_label()], images=ImageStore())
        # Open: the -wal and -shm files are there, the key in one of them.
        files = [path, *path.parent.glob(path.name + "-*")]
        assert len(files) == 3, files
        assert any(KEY in p.read_bytes() for p in files)
        modes = file_modes(path.parent, *files)
    assert private(modes), modes


@pytest.mark.usefixtures("usual_umask")
def test_a_simulated_site_keeps_its_labels_for_its_owner_only(tmp_path: Path) -> None:
    # What `esl sim` opens: the site's folder, label store and provisioning manifest.
    config = SiteConfig(store="S001", gateway="gw1", state_dir=tmp_path / "state", label_count=3)
    site = open_simulated_gateway(config, now=T0)
    try:
        state = config.state_dir
        modes = file_modes(state, *sorted(state.iterdir()))
    finally:
        site.close()
    assert config.state_path.name in modes
    assert private(modes), modes


@pytest.mark.usefixtures("usual_umask")
def test_a_label_store_left_readable_by_others_is_made_its_owners_only_when_opened(
    tmp_path: Path,
) -> None:
    # A store written before this rule, 0644 beside its WAL, as the umask made them.
    path = tmp_path / "S001-gw1.sqlite"
    with LabelStateStore(path) as store:
        store.save([_label()], images=ImageStore())
    for written in (path, *path.parent.glob(path.name + "-*")):
        written.chmod(0o644)
    with LabelStateStore(path) as store:
        (label,) = store.load(images=ImageStore(), now=T0)
        modes = file_modes(path, *path.parent.glob(path.name + "-*"))
    assert label.label_id == "L-1"
    assert private(modes), modes
