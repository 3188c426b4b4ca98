"""`esl gateway oepl ...` from the command line: the emulated AP as its own process,
`import-tags` registering its tags, and the gateway refusing to start half-configured."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelRow
from tests.esl.conftest import seed_reference_data
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def emulated_ap() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "oepl", "emulate-ap",
         "--tags", "4", "--port", str(port), "--check-in-s", "0.05"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/get_db", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_import_tags_registers_every_tag_with_its_model_and_a_private_key_file(
    emulated_ap: str, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'esl.sqlite'}"
    engine = create_engine_for(database)
    upgrade_database(engine)
    with session_factory(engine).begin() as session:
        seed_reference_data(session)
    keys = tmp_path / "S01-ap1-labels.json"
    arguments = ["gateway", "oepl", "import-tags", "--store", "S01", "--gateway", "S01-ap1"]
    result = CliRunner().invoke(
        app,
        [*arguments, "--ap", emulated_ap, "--provisioning", str(keys)],
        env={"ESL_DATABASE_URL": database},
    )
    assert result.exit_code == 0, result.output
    assert "4 labels for S01/S01-ap1 (4 new)" in result.stdout
    with session_factory(engine)() as session:
        labels = session.execute(select(LabelRow.id, LabelRow.model, LabelRow.gateway)).all()
    engine.dispose()
    assert sorted(labels) == [(f"00000258{n:08X}", "2.9-bwr", "S01-ap1") for n in range(1, 5)]
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600


def test_the_gateway_will_not_start_without_store_gateway_ap_and_broker() -> None:
    result = CliRunner().invoke(app, ["gateway", "oepl", "--store", "S01"])
    assert result.exit_code == 2
    assert "missing --gateway, --ap, --broker" in result.output
