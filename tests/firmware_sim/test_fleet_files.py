"""Simulated gateways' names and provisioning files: unique across stores, private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from firmware_sim.fleet import make_fleet, read_provisioning, site_prefix, write_provisioning


def test_label_ids_and_files_name_the_store_once() -> None:
    assert site_prefix("S001", "S001-gw1") == "S001-gw1"  # the default gateway id
    assert site_prefix("S001", "gw1") == "S001-gw1"  # an id without its store
    assert make_fleet(store="S002", gateway="S002-gw1", count=1)[0].label_id == "S002-gw1-00001"


def test_a_provisioning_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    fleet = make_fleet(store="S001", gateway="S001-gw1", count=2)
    path = tmp_path / "S001-gw1-labels.json"
    previous = os.umask(0)
    try:
        write_provisioning(path, fleet, store="S001", gateway="S001-gw1")
        write_provisioning(path, fleet, store="S001", gateway="S001-gw1")  # rewritten
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_provisioning(path) == fleet
