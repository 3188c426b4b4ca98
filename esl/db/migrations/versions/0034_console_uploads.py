"""Console uploads: a previewed file kept on the server until it is published.

"Publish now" sent the previewed file back as a form field, which Starlette's form parser
cuts at 1 MiB: a chain's price file (42,000 rows, 1.1 MB) previewed and then failed with
the API's JSON error. The preview now stores the file, tied to the console session and
expiring, and the form names it by id and SHA-256 digest. Nothing to backfill.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_uploads",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("console_session_id", _SERIAL, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["console_session_id"],
            ["console_sessions.id"],
            name=op.f("fk_console_uploads_console_session_id_console_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_uploads")),
    )
    op.create_index(
        "ix_console_uploads_console_session_id", "console_uploads", ["console_session_id"]
    )
    op.create_index("ix_console_uploads_expires_at", "console_uploads", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_uploads_expires_at", table_name="console_uploads")
    op.drop_index("ix_console_uploads_console_session_id", table_name="console_uploads")
    op.drop_table("console_uploads")
