"""Whole-second instants written by the old bulk writer, stored as ORM queries bind them.

Before this revision esl/db/bulk.py handed SQLite's driver the datetime itself, which
stores a whole second as `2026-03-02 09:00:00` (19 characters) where SQLAlchemy writes
and every query binds `2026-03-02 09:00:00.000000`. SQLite compares the text, so such a
row fell outside `at >= 09:00` and `at == 09:00`. This pads those values; PostgreSQL
stores timestamptz and never had the problem. Idempotent: padded values are 26 long.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:50:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Every UtcDateTime column at revision 0011 (frozen here: later models may differ).
_INSTANT_COLUMNS: dict[str, tuple[str, ...]] = {
    "controller_leases": ("started_at", "heartbeat_at"),
    "controller_workers": ("started_at", "heartbeat_at"),
    "gateway_states": ("changed_at",),
    "label_contents": ("resolved_at", "recorded_at"),
    "label_templates": ("updated_at",),
    "products": ("on_sale_since",),
    "publications": ("created_at", "effective_at", "validated_at", "published_at"),
    "rendered_contents": ("created_at",),
    "security_events": ("at",),
    "store_leases": ("taken_at", "heartbeat_at"),
    "planned_publication_stores": ("planned_at",),
    "planned_publications": ("planned_at",),
    "planning_queue": ("effective_at", "queued_at"),
    "promotions": ("valid_from", "valid_until"),
    "api_keys": ("created_at", "revoked_at"),
    "ledger_entries": ("effective_at", "recorded_at"),
    "price_rules": ("valid_from", "valid_until"),
    "console_sessions": ("created_at", "expires_at", "revoked_at"),
    "labels": ("registered_at",),
    "ble_label_inventory": ("associated_at",),
    "label_acknowledgements": ("at",),
    "label_actions": ("requested_at", "sent_at", "answered_at"),
    "label_bindings": ("bound_at", "unbound_at"),
    "label_states": ("desired_display_at", "last_seen", "claim_label_time"),
    "label_vitals": ("at",),
    "outbox": ("display_at", "not_before", "sent_at", "created_at", "settled_at"),
}
_WHOLE_SECOND_LENGTH = len("2026-03-02 09:00:00")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _INSTANT_COLUMNS.items():
        for column in columns:
            op.execute(
                text(
                    f'UPDATE "{table}" SET "{column}" = "{column}" || \'.000000\' '
                    f'WHERE length("{column}") = {_WHOLE_SECOND_LENGTH}'
                )
            )


def downgrade() -> None:
    # The padded form is what SQLAlchemy itself writes: nothing to undo.
    pass
