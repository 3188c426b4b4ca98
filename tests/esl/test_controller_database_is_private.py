"""The controller's SQLite database holds every label's key: it is its owner's alone.

Found by review: `esl db upgrade` created `$ESL_DATA_DIR/esl.sqlite` (and the folder)
with the process umask, 0644 in a 0755 folder under the usual 022, so any local user of
the controller's host could read `labels.secret_key` and sign frames and answers for
every label of every store. The store gateway's state file was made private for the same
reason (tests/gateways/test_store_gateway_state_file.py); the controller's was not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import create_engine_for
from tests.support.file_modes import file_modes, private, usual_umask  # noqa: F401 - fixture


@pytest.mark.usefixtures("usual_umask")
def test_db_upgrade_creates_the_database_and_its_folder_for_their_owner_only(
    bare: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("ESL_DATA_DIR", str(data))
    assert bare.invoke(app, ["db", "upgrade"]).exit_code == 0
    database = data / "esl.sqlite"
    modes = file_modes(data, database)
    assert private(modes), modes


@pytest.mark.usefixtures("usual_umask")
def test_the_write_ahead_log_beside_the_database_is_its_owners_only_too(tmp_path: Path) -> None:
    database = tmp_path / "data" / "esl.sqlite"
    engine = create_engine_for(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE labels (id TEXT, secret_key BLOB)"))
            connection.execute(
                text("INSERT INTO labels VALUES ('L-1', :key)"), {"key": bytes(range(32))}
            )
        with engine.connect() as connection:  # open: the -wal and -shm files are there
            files = [database, *database.parent.glob(database.name + "-*")]
            assert len(files) == 3, files
            modes = file_modes(database.parent, *files)
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    assert private(modes), modes


@pytest.mark.usefixtures("usual_umask")
def test_a_database_left_readable_by_others_is_made_its_owners_only_when_opened(
    cli: CliRunner, tmp_path: Path
) -> None:
    # A database created before this rule, 0644 as the umask made it.
    database = tmp_path / "data" / "esl.sqlite"
    database.chmod(0o644)
    assert cli.invoke(app, ["db", "current"]).exit_code == 0
    modes = file_modes(database)
    assert private(modes), modes
