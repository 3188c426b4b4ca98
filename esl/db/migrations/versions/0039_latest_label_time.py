"""Label states: the latest the label's clock ever read in an answer it signed.

An acknowledgement older than the claim held by its sequence but signed after it by the
label's clock was taken for a label whose count went back (reset to factory, given an old
frame). A label's clock goes back too, when a SetClock or NTP on an OpenEPaperLink stand-in
gateway's host sets it right: an answer captured while it ran fast, replayed after, looked
signed later, and the record forgot a correct panel and sent a full image. `latest_label_time`
is the bound such a capture cannot pass: only an answer signed after every clock reading the
label ever signed proves its count went back. Labels known before have none (the claim held
stands in for it until their next answer).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 05:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_states", sa.Column("latest_label_time", UtcDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("label_states", "latest_label_time")
