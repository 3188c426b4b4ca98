"""Label keys stay private: the store gateway's state file is its owner's alone, and no
record's text (a log line, a traceback) shows a key.

Found by review: `{store}-{gateway}.sqlite` was created with the process umask (0644
under the usual 022), so any local user could read the keys and sign for every label.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gateways.protocol import LabelProvision
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import open_local_state


def test_the_state_file_and_its_folder_are_private_whatever_the_umask(tmp_path: Path) -> None:
    key = bytes(range(32))
    path = tmp_path / "esl-gateway" / "S001-S001-ap1.sqlite"
    old = os.umask(0o022)
    try:
        state = open_local_state(path)
        state.add_labels(
            [
                LabelRecord(
                    label_id="0000021EDBA7B394",
                    address="0000021EDBA7B394",
                    model="2.9-bwr",
                    key=key,
                )
            ]
        )
        state.close()
    finally:
        os.umask(old)
    files = [path, *path.parent.glob(path.name + "-*")]  # the WAL beside it, if kept
    assert any(key in p.read_bytes() for p in files)  # the key is in them
    modes = {p.name: stat.filemode(p.stat().st_mode) for p in [path.parent, *files]}
    assert all(mode.endswith("------") for mode in modes.values()), modes


def test_a_label_key_is_never_in_a_records_text() -> None:
    # Reprs end up in log lines and tracebacks.
    key = bytes(range(32))
    record = LabelRecord(label_id="L-1", address="L-1", model="2.9-bwr", key=key)
    provision = LabelProvision(label_id="L-1", model_id="2.9-bwr", key=key)
    for text in (repr(record), repr(provision)):
        assert "L-1" in text
        assert repr(key) not in text
        assert key.hex() not in text
