"""Migration 0017 on a database with labels registered with pairing codes: each gets the
address its code names, and a second label at that address is refused from then on.
SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelRow
from gateways.ble.pairing_code import PairingCode
from tests.support.database import START

RANDOM = PairingCode(address="C0:FF:EE:00:00:01", confirm=bytes(16), random=bytes(16))
PUBLIC = PairingCode(address="00:1B:DC:00:00:02/P", confirm=bytes(16), random=bytes(16))


def _insert(engine: Engine, label_id: str, code: PairingCode | None) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO labels (id, store, model, secret_key, registered_at, pairing_code)"
                " VALUES (:id, 'S01', '2.9-bwr', :key, :at, :code)"
            ),
            {"id": label_id, "key": bytes(32), "at": START, "code": code and str(code)},
        )


def test_upgrading_gives_coded_labels_their_address_and_keeps_it_unique(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0016")
    _insert(seeded, "B-1", RANDOM)
    _insert(seeded, "B-2", PUBLIC)
    _insert(seeded, "L-3", None)

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        addresses = dict(iter(session.execute(select(LabelRow.id, LabelRow.pairing_address))))
    assert addresses == {"B-1": "C0:FF:EE:00:00:01", "B-2": "00:1B:DC:00:00:02", "L-3": None}
    with pytest.raises(IntegrityError), session_factory(seeded).begin() as session:
        session.add(
            LabelRow(
                id="B-4",
                store="S01",
                model="2.9-bwr",
                secret_key=bytes(32),
                registered_at=START,
                pairing_address="00:1B:DC:00:00:02",
            )
        )


def test_two_codes_naming_one_address_stop_the_upgrade_before_any_change(seeded: Engine) -> None:
    """Before 0017 only identical codes were refused. Two codes naming one address stop
    the upgrade with the labels named, before anything changed, so it runs again once
    one of them is corrected (on SQLite an added column would outlive a failed run)."""
    command.downgrade(migrations_config(seeded), "0016")
    other = PairingCode(address="C0:FF:EE:00:00:01/P", confirm=bytes(16), random=b"\1" * 16)
    _insert(seeded, "B-1", RANDOM)
    _insert(seeded, "B-2", other)

    with pytest.raises(RuntimeError, match=r"name one address .*C0:FF:EE:00:00:01: B-1, B-2"):
        upgrade_database(seeded)

    with seeded.begin() as connection:
        connection.execute(text("UPDATE labels SET pairing_code = NULL WHERE id = 'B-2'"))
    upgrade_database(seeded)
    with session_factory(seeded)() as session:
        row = session.get(LabelRow, "B-1")
        assert row is not None
        assert row.pairing_address == "C0:FF:EE:00:00:01"
