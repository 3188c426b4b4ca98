"""Label actions sent via a named gateway: the probe of a label heard via another one.

A label carried into another store gateway's range that got a new battery on the way
restarts its clock: its check-ins via the new gateway are older, by its clock, than the
claim the controller holds, as a replay's are, so they never moved it there
(`esl/pipeline/label_moves.py`) and its updates went via the old gateway for ever. The
controller now asks it for a ping via the gateway that relayed the check-in: only the
label can answer a sequence signed after it, and that answer moves it.
`label_actions.via_gateway` names that gateway (NULL: the label's own, as before).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_actions", sa.Column("via_gateway", sa.String(64), nullable=True))


def downgrade() -> None:
    # Not a batch (table copy) on SQLite: label_action_frames refers to label_actions,
    # so dropping the table for the copy fails; SQLite drops a plain column in place.
    op.drop_column("label_actions", "via_gateway")
