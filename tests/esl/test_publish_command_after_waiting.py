"""`esl publish` on PostgreSQL published at an instant read before it waited for the price
writers' lock (4ab588d moved the read from before validating to just before
`publish_publication`, which then waits on the lock); the clock is now read once the lock
is held. Found by a reviewer. A price file recorded by the writer
it waited for lies after that instant: it is planned again as a price written ahead, and
its ledger entry (a price the shelf charged) is deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select, text

from esl.db.engine import session_factory
from esl.db.locks import lock_price_writes
from esl.db.models import LedgerEntryRow, PublicationRow
from esl.imports.by_kind import import_file
from tests.support.database import ON_POSTGRESQL, START, database_url

HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
ROOT = Path(__file__).resolve().parents[2]


def _waiting(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


@ON_POSTGRESQL
def test_a_price_file_recorded_while_esl_publish_waits_for_the_lock_keeps_its_entry(
    seeded: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(seeded)
    with sessions() as session, session.begin():
        import_file(
            session,
            "prices",
            HEADER + "MLK-1,national,,,3.49,PLN,,\n",
            currency="PLN",
            imported_by="pos",
            now=START,
            title="monday.csv",
        )
    body = {"title": "milk", "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.19"}]}
    path = tmp_path / "milk.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ESL_DATABASE_URL": database_url(seeded),
        "ESL_DATA_DIR": str(tmp_path / "data"),
        "ESL_CURRENCY": "PLN",
    }
    with sessions() as writer, writer.begin():
        lock_price_writes(writer)  # another upload is being written
        command = subprocess.Popen(
            [sys.executable, "-c", "from esl.cli import main; main()", "publish", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not _waiting(seeded):
            assert command.poll() is None, command.communicate()
            assert time.monotonic() < deadline, "esl publish never waited"
            time.sleep(0.05)
        time.sleep(0.2)
        uploaded_at = datetime.now(UTC)
        import_file(
            writer,
            "prices",
            HEADER + "MLK-1,national,,,3.29,PLN,,\n",
            currency="PLN",
            imported_by="pos",
            now=uploaded_at,
            title="upload.csv",
        )
    out, err = command.communicate(timeout=60)
    assert command.returncode == 0, (out, err)
    number = json.loads(out.strip().splitlines()[-1])["id"]
    with sessions() as session:
        shelf = [
            (row.effective_at, row.amount)
            for row in session.scalars(
                select(LedgerEntryRow)
                .where(
                    LedgerEntryRow.sku == "MLK-1",
                    LedgerEntryRow.channel == "store",
                    LedgerEntryRow.store == "S01",
                )
                .order_by(LedgerEntryRow.effective_at)
            )
        ]
        published = session.get(PublicationRow, number)
        assert published is not None
        published_at = published.published_at
    assert [amount for _, amount in shelf] == [Decimal("3.49"), Decimal("3.29"), Decimal("3.19")], (
        f"upload at {uploaded_at}, published at {published_at}: {shelf}"
    )
    assert published_at is not None
    assert published_at >= uploaded_at
