"""`esl_frames_parked{reason}` carries the reasons docs/operations.md lists (`offline`,
`flat_battery`, `rejected`, ...), without their detail: an alert rule written from the
docs on reason="flat_battery" matches a frame parked for a flat battery, and a label's
refusal code or a frame's size does not split a reason into series of its own. Before,
the label was the text `esl health` shows: "flat battery", "rejected: BAD_MAC",
"undeliverable: larger than the broker's packet limit of 263168 bytes"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from esl.db.models import LabelRow, OutboxRow
from esl.delivery_states import OutboxStatus, ParkReason
from tests.pipeline.controller_report import metrics_text
from tests.support.clock import wall_clock

# What the pipeline parks with: a reason, and for some a detail.
PARKED = [
    (ParkReason.FLAT_BATTERY, None),
    (ParkReason.REJECTED, "BAD_MAC"),
    (ParkReason.REJECTED, "INVALID_OPCODE"),
    (ParkReason.UNDELIVERABLE, "larger than the broker's packet limit of 263168 bytes"),
    (ParkReason.TAMPERED, "altered on every attempt"),
    (ParkReason.REFUSED_BY_GATEWAY, "not in this gateway's label file at 12:01 UTC"),
]


def _park(engine: Engine) -> None:
    now = wall_clock()
    with sessionmaker(engine).begin() as session:
        for index, _ in enumerate(PARKED):
            session.add(
                LabelRow(
                    id=f"L-{index}",
                    store="S01",
                    model="2.9-bwr",
                    secret_key=b"k" * 32,
                    registered_at=now,
                )
            )
        session.flush()
        for index, (reason, detail) in enumerate(PARKED):
            session.add(
                OutboxRow(
                    label_id=f"L-{index}",
                    store="S01",
                    gateway="gw1",
                    sequence=1,
                    content_hash="h" * 32,
                    base_hash=None,
                    display_at=None,
                    payload=b"x",
                    status=OutboxStatus.PARKED.value,
                    attempts=5,
                    not_before=now,
                    parked_reason=reason.value,
                    parked_detail=detail,
                    parked_at=now,
                    created_at=now,
                )
            )


def test_parked_frames_are_counted_by_the_documented_reason(engine: Engine) -> None:
    _park(engine)
    text = metrics_text(engine, Path("/nonexistent"), renew_every=timedelta(seconds=10))
    parked = sorted(line for line in text.splitlines() if line.startswith("esl_frames_parked{"))
    assert parked == [
        'esl_frames_parked{reason="busy"} 0.0',
        'esl_frames_parked{reason="flat_battery"} 1.0',
        'esl_frames_parked{reason="offline"} 0.0',
        'esl_frames_parked{reason="refused_by_gateway"} 1.0',
        'esl_frames_parked{reason="rejected"} 2.0',
        'esl_frames_parked{reason="tampered_in_transit"} 1.0',
        'esl_frames_parked{reason="undeliverable"} 1.0',
    ]


def test_every_reason_is_listed_in_the_docs() -> None:
    """docs/operations.md names each value an alert can match."""
    docs = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    (row,) = [line for line in docs.splitlines() if line.startswith("| `esl_frames_parked")]
    for reason in ParkReason:
        assert f"`{reason.value.replace(' ', '_')}`" in row, reason
