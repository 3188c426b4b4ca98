"""Instants written by esl/db/bulk.py compare, filter and sort exactly like ORM-written ones.

On SQLite an instant is text, so `at >= T` is a string comparison: a row stored as
`09:00:00` while queries bind `09:00:00.000000` would fall outside `at >= 09:00`. The
acknowledgement history and the label states are written through bulk.py, so such a
row would be an acknowledged label missing from "acknowledged since" and from history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows, update_rows
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelAcknowledgementRow, LabelRow, LabelStateRow, core_table
from tests.support.database import seeded_sqlite_engine

WHOLE = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
# Label id -> when it acknowledged: whole seconds and fractions on both sides of WHOLE.
ACKED_AT = {
    "L-before": WHOLE - timedelta(seconds=1),
    "L-fraction-before": WHOLE - timedelta(microseconds=1),
    "L-whole": WHOLE,
    "L-half": WHOLE + timedelta(microseconds=500_000),
    "L-next": WHOLE + timedelta(seconds=1),
}
SINCE_WHOLE = {"L-whole", "L-half", "L-next"}
IN_TIME_ORDER = list(ACKED_AT)


def _register_labels(session: Session, ids: list[str]) -> None:
    # The columns every revision has: one test writes at an older one.
    session.execute(
        insert(core_table(LabelRow)),
        [
            {"id": i, "store": "S01", "model": "2.9-bwr", "secret_key": bytes(32),
             "registered_at": WHOLE}
            for i in ids
        ],
    )  # fmt: skip


def _acknowledgement(label_id: str, at: datetime) -> dict[str, object]:
    return {
        "label_id": label_id,
        "sequence": 1,
        "reason": "shown",
        "displayed_hash": "h",
        "acked_hash": "h",
        "at": at,
    }


def _state(label_id: str, last_seen: datetime) -> dict[str, object]:
    return {"label_id": label_id, "last_sequence": 0, "can_schedule": True, "last_seen": last_seen}


def _acked_ids(session: Session, *conditions: object) -> list[str]:
    row = LabelAcknowledgementRow
    query = select(row.label_id).where(*conditions).order_by(row.at, row.id)  # type: ignore[arg-type]
    return list(session.scalars(query))


def test_bulk_written_acknowledgements_answer_range_equality_and_order_like_orm_ones(
    seeded: Engine,
) -> None:
    bulk_ids = list(ACKED_AT)
    orm_ids = [f"{i}-orm" for i in ACKED_AT]
    with session_factory(seeded)() as session, session.begin():
        _register_labels(session, bulk_ids + orm_ids)
        # Written in reverse so the order below comes from the instants, not the ids.
        insert_rows(
            session,
            core_table(LabelAcknowledgementRow),
            [_acknowledgement(i, ACKED_AT[i]) for i in reversed(bulk_ids)],
        )
        session.add_all(
            LabelAcknowledgementRow(**_acknowledgement(f"{i}-orm", ACKED_AT[i]))
            for i in reversed(bulk_ids)
        )

    at = LabelAcknowledgementRow.at
    with session_factory(seeded)() as session:
        bulk = LabelAcknowledgementRow.label_id.in_(bulk_ids)
        orm = LabelAcknowledgementRow.label_id.in_(orm_ids)
        assert set(_acked_ids(session, bulk, at >= WHOLE)) == SINCE_WHOLE
        assert _acked_ids(session, bulk, at == WHOLE) == ["L-whole"]
        assert _acked_ids(session, bulk, at <= WHOLE) == [
            "L-before",
            "L-fraction-before",
            "L-whole",
        ]
        assert _acked_ids(session, bulk, at > WHOLE) == ["L-half", "L-next"]
        assert _acked_ids(session, bulk) == IN_TIME_ORDER
        # Both writers interleave by instant: each bulk row sorts with its ORM twin.
        both = [i.removesuffix("-orm") for i in _acked_ids(session, bulk | orm)]
        assert both == [i for i in IN_TIME_ORDER for _ in range(2)]
        assert {i.removesuffix("-orm") for i in _acked_ids(session, orm, at >= WHOLE)} == (
            SINCE_WHOLE
        )
        pairs = session.execute(select(LabelAcknowledgementRow.label_id, at).where(bulk))
        assert dict(iter(pairs)) == ACKED_AT


def test_bulk_updated_label_states_are_found_by_instant_filters(seeded: Engine) -> None:
    ids = list(ACKED_AT)
    table = core_table(LabelStateRow)
    with session_factory(seeded)() as session, session.begin():
        _register_labels(session, ids)
        # Inserted a day early, then moved by update_rows to the instants under test.
        insert_rows(session, table, [_state(i, WHOLE - timedelta(days=1)) for i in ids])
        update_rows(
            session,
            table,
            key="label_id",
            rows=[{"label_id": i, "last_seen": ACKED_AT[i]} for i in ids],
        )

    seen = LabelStateRow.last_seen
    with session_factory(seeded)() as session:
        since = select(LabelStateRow.label_id).where(seen >= WHOLE).order_by(seen)
        assert list(session.scalars(since)) == ["L-whole", "L-half", "L-next"]
        exactly = select(LabelStateRow.label_id).where(seen == WHOLE)
        assert list(session.scalars(exactly)) == ["L-whole"]
        assert list(session.scalars(select(LabelStateRow.label_id).order_by(seen))) == IN_TIME_ORDER


def test_upgrading_pads_whole_seconds_the_old_bulk_writer_stored_on_sqlite(
    tmp_path: Path,
) -> None:
    with seeded_sqlite_engine(tmp_path) as engine:
        command.downgrade(migrations_config(engine), "0011")
        with session_factory(engine)() as session, session.begin():
            _register_labels(session, list(ACKED_AT))
            # What bulk.py stored before 0012: the driver's own text, no microseconds
            # for a whole second.
            for label_id, at in ACKED_AT.items():
                session.execute(
                    text(
                        "INSERT INTO label_acknowledgements"
                        " (label_id, sequence, reason, at) VALUES (:label, 1, 'shown', :at)"
                    ),
                    {"label": label_id, "at": at.replace(tzinfo=None).isoformat(" ")},
                )
        with session_factory(engine)() as session:
            missed = _acked_ids(session, LabelAcknowledgementRow.at >= WHOLE)
            assert set(missed) == SINCE_WHOLE - {"L-whole"}

        upgrade_database(engine)

        at = LabelAcknowledgementRow.at
        with session_factory(engine)() as session:
            assert set(_acked_ids(session, at >= WHOLE)) == SINCE_WHOLE
            assert _acked_ids(session, at == WHOLE) == ["L-whole"]
            assert _acked_ids(session) == IN_TIME_ORDER
            pairs = session.execute(select(LabelAcknowledgementRow.label_id, at))
            assert dict(iter(pairs)) == ACKED_AT


def test_an_instant_repeated_over_many_rows_and_zones_is_stored_as_the_orm_binds_it(
    seeded: Engine,
) -> None:
    # bulk.py converts each distinct instant once; rows sharing it (the same instant
    # written in another zone too) must all be found by the ORM's own comparisons.
    warsaw = timezone(timedelta(hours=1))
    ids = [f"L-{n}" for n in range(30)]
    with session_factory(seeded)() as session, session.begin():
        _register_labels(session, ids)
        insert_rows(
            session,
            core_table(LabelAcknowledgementRow),
            [
                _acknowledgement(i, WHOLE.astimezone(warsaw) if n % 2 else WHOLE)
                for n, i in enumerate(ids)
            ]
            + [_acknowledgement("L-0", WHOLE + timedelta(seconds=1))],
        )
    with session_factory(seeded)() as session:
        assert sorted(_acked_ids(session, LabelAcknowledgementRow.at == WHOLE)) == sorted(ids)
        later = LabelAcknowledgementRow.at > WHOLE
        assert _acked_ids(session, later) == ["L-0"]


def test_bulk_writes_the_text_an_orm_write_stores_for_any_instant_and_refuses_naive_ones(
    seeded: Engine,
) -> None:
    # bulk.py formats SQLite instants itself (faster than SQLAlchemy's chain): the stored
    # text must be the ORM's, whatever the zone the instant was given in.
    warsaw = timezone(timedelta(hours=1))
    instants = {
        "L-whole-warsaw": datetime(2026, 3, 2, 10, 0, 0, tzinfo=warsaw),
        "L-fraction-warsaw": datetime(2026, 3, 2, 10, 0, 0, 1, tzinfo=warsaw),
        "L-early-year": datetime(999, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC),
    }
    with session_factory(seeded)() as session, session.begin():
        _register_labels(session, [*instants, *(f"{i}-orm" for i in instants)])
        insert_rows(
            session,
            core_table(LabelAcknowledgementRow),
            [_acknowledgement(i, at) for i, at in instants.items()],
        )
        session.add_all(
            LabelAcknowledgementRow(**_acknowledgement(f"{i}-orm", at))
            for i, at in instants.items()
        )
    with seeded.connect() as connection:
        rows = connection.execute(text("SELECT label_id, at FROM label_acknowledgements"))
        stored = dict(iter(rows))
    if seeded.dialect.name == "sqlite":  # text there; PostgreSQL stores a timestamp
        assert stored["L-whole-warsaw"] == "2026-03-02 09:00:00.000000"
    for label_id in instants:
        assert stored[label_id] == stored[f"{label_id}-orm"]
    with (
        session_factory(seeded)() as session,
        session.begin(),
        pytest.raises(ValueError, match="naive datetime"),
    ):
        insert_rows(
            session,
            core_table(LabelAcknowledgementRow),
            [_acknowledgement("L-whole-warsaw", datetime(2026, 3, 2, 9, 0, 0))],
        )
