"""Label states: the latest-signed word of a label not believed as its newest, and its panel.

A label reset to factory (its count back at 0, its key kept, a blank panel) checks in
with a word older, by its count, than the claim held, yet signed later on its clock. An
acknowledgement the label signed before the reset, held up at a store gateway and relayed
after that check-in, ranks above the claim held by its sequence and was believed: the
record confirmed the new price on a blank shelf and the audit said `match`, although the
controller had heard the label's clock read later, on a blank panel. `later_word_*` keep
that word (its clock reading, the panel it showed, when it arrived) until a believed word
passes it, so an answer signed before it, showing another panel, is weighed as an older
check-in instead (`esl.pipeline.answer_acceptance.signed_before_a_later_word`). Labels
known before have none.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_states", sa.Column("later_word_label_time", UtcDateTime(), nullable=True))
    op.add_column("label_states", sa.Column("later_word_hash", sa.String(32), nullable=True))
    op.add_column("label_states", sa.Column("later_word_heard_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_states") as batch:
        batch.drop_column("later_word_heard_at")
        batch.drop_column("later_word_hash")
        batch.drop_column("later_word_label_time")
