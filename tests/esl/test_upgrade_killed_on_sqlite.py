"""`esl db upgrade` killed in the middle of a migration on SQLite (the operator's Ctrl-C
... kill -9, the host rebooted, the disk full) must leave the database at a revision it can
be upgraded from: PostgreSQL rolls the migration back whole. On SQLite the DDL of the
migration under way (0037's CREATE TABLE product_versions) was committed on its own, the
revision not: every later `esl db upgrade` fails with "unexpected OperationalError: table
product_versions already exists ... report it", and `esl run` refuses the database (not
at head) for good."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from esl.db.engine import create_engine_for, migrations_config, upgrade_database

# The upgrade runs in a process killed right after 0037's own statements ran, before the
# revision is stamped and committed: as a kill at that point of a long copy does.
KILLED_UPGRADE = textwrap.dedent(
    """
    import os, signal, sys
    import alembic.script
    from esl.db.engine import create_engine_for, migrations_config, upgrade_database

    engine = create_engine_for(sys.argv[1])
    scripts = alembic.script.ScriptDirectory.from_config(migrations_config(engine))
    module = scripts.get_revision("0037").module
    real_upgrade = module.upgrade

    def upgrade_then_killed():
        real_upgrade()
        os.kill(os.getpid(), signal.SIGKILL)

    module.upgrade = upgrade_then_killed
    alembic.script.ScriptDirectory.from_config = classmethod(lambda cls, *a, **k: scripts)
    upgrade_database(engine)
    """
)


def test_an_upgrade_killed_in_a_migration_can_be_run_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'esl.sqlite'}"
    engine = create_engine_for(url)
    upgrade_database(engine, "0036")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO products (sku, name, brand, gtin, category, vat_rate, "
                "net_content, net_unit, perishable, on_sale_since, unit_price_per_100) "
                "VALUES ('MLK-1', 'Milk', 'B', '5901234123457', 'dairy', '0.05', '1', 'l', "
                "1, '2026-01-01 00:00:00.000000', 0)"
            )
        )
    engine.dispose()

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_UPGRADE, url],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr

    engine = create_engine_for(url)
    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        tables = set(sa.inspect(connection).get_table_names())
    # At a clean revision: 0036 without 0037's table, or 0037 with it.
    assert (revision, "product_versions" in tables) in {("0036", False), ("0037", True)}, (
        f"killed upgrade left revision {revision} with product_versions present: "
        f"{'product_versions' in tables}"
    )
    # And the operator's next `esl db upgrade` finishes it.
    head = ScriptDirectory.from_config(migrations_config(engine)).get_current_head()
    assert upgrade_database(engine) == head
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT sku FROM product_versions")).all()
    assert versions == [("MLK-1",)]


def test_an_upgrade_failing_in_a_migration_changes_nothing_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration that fails after its DDL ran (the disk full as 0037 copies the products)
    rolls back whole on SQLite too, as docs/database.md promises: the database stays at
    0036 without product_versions, and the next upgrade goes through."""
    url = f"sqlite:///{tmp_path / 'esl.sqlite'}"
    engine = create_engine_for(url)
    upgrade_database(engine, "0036")
    scripts = ScriptDirectory.from_config(migrations_config(engine))
    module = scripts.get_revision("0037").module
    real_upgrade = module.upgrade

    def upgrade_then_disk_full() -> None:
        real_upgrade()
        raise sa.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(module, "upgrade", upgrade_then_disk_full)
    monkeypatch.setattr(ScriptDirectory, "from_config", classmethod(lambda cls, *a, **k: scripts))
    with pytest.raises(sa.exc.OperationalError, match="disk is full"):
        upgrade_database(engine)

    with engine.connect() as connection:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        tables = set(sa.inspect(connection).get_table_names())
    assert (revision, "product_versions" in tables) == ("0036", False)

    monkeypatch.setattr(module, "upgrade", real_upgrade)
    assert upgrade_database(engine) == scripts.get_current_head()
