"""Ledger instants of publications published ahead of their instant: the past ones are done.

From this revision a publication effective later than it was published has its instant
recorded like a scheduled one when it arrives (esl/services/ledger_instants.py): what
it wrote ahead is checked against what applies then (a promotion published since may
change it). Those whose instant passed before this revision keep their entries: they
get a `ledger_instants` row with no entries, so nothing records them again with a
catalogue that no longer stood at their instant.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_publications = sa.table(
    "publications",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("published_at", UtcDateTime()),
)
_queue = sa.table(
    "planning_queue",
    sa.column("publication_id", sa.Integer()),
    sa.column("effective_at", UtcDateTime()),
)
_instants = sa.table(
    "ledger_instants",
    sa.column("publication_id", sa.Integer()),
    sa.column("effective_at", UtcDateTime()),
    sa.column("recorded_at", UtcDateTime()),
    sa.column("entries", sa.Integer()),
)


def upgrade() -> None:
    now = datetime.now(UTC)
    bind = op.get_bind()
    passed = bind.execute(
        sa.select(_queue.c.publication_id, _queue.c.effective_at)
        .join(_publications, _publications.c.id == _queue.c.publication_id)
        .outerjoin(_instants, _instants.c.publication_id == _queue.c.publication_id)
        .where(
            _publications.c.kind != "scheduled",
            _queue.c.effective_at > _publications.c.published_at,
            _queue.c.effective_at <= now,
            _instants.c.publication_id.is_(None),
        )
    ).all()
    if passed:
        bind.execute(
            sa.insert(_instants),
            [
                {"publication_id": pid, "effective_at": at, "recorded_at": now, "entries": 0}
                for pid, at in passed
            ],
        )


def downgrade() -> None:
    # Rows without entries mark what this revision found done; later ones are real.
    op.execute(sa.text("DELETE FROM ledger_instants WHERE entries = 0"))
