"""The outbox as a test reads it: rows still owed to labels, and each label's rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import OutboxRow
from esl.delivery_states import park_text

__all__ = ["OPEN_STATUSES", "open_outbox_rows", "open_rows_of", "outbox_by_label"]

# Rows still owed to a label: a parked one counts, so a test never passes on a stuck update.
OPEN_STATUSES = ("pending", "sent", "parked")


def open_outbox_rows(
    sessions: sessionmaker[Session], statuses: tuple[str, ...] = OPEN_STATUSES
) -> int:
    with sessions() as session:
        return len(
            session.scalars(select(OutboxRow.id).where(OutboxRow.status.in_(statuses))).all()
        )


def open_rows_of(sessions: sessionmaker[Session], label_id: str) -> list[OutboxRow]:
    """`label_id`'s rows still owed to it, read whole (left detached from their session)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxRow).where(
                    OutboxRow.label_id == label_id, OutboxRow.status.in_(OPEN_STATUSES)
                )
            )
        )


def outbox_by_label(
    sessions: sessionmaker[Session],
) -> dict[str, list[tuple[int, str, str | None]]]:
    """label -> its rows in sequence order: (sequence, status, why parked as users read it)."""
    query = select(
        OutboxRow.label_id,
        OutboxRow.sequence,
        OutboxRow.status,
        OutboxRow.parked_reason,
        OutboxRow.parked_detail,
    ).order_by(OutboxRow.label_id, OutboxRow.sequence)
    found: dict[str, list[tuple[int, str, str | None]]] = {}
    with sessions() as session:
        for label_id, sequence, status, reason, detail in session.execute(query):
            found.setdefault(label_id, []).append((sequence, status, park_text(reason, detail)))
    return found
