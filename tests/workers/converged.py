"""Waits for the stores the worker processes serve to settle: every frame acknowledged,
every label's record confirming what it must show, then every panel showing it."""

from __future__ import annotations

from sqlalchemy import func, select

from esl.db.models import LabelStateRow, OutboxRow
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.waiting import until
from tests.workers.database import STORES

__all__ = ["every_label_settled", "wait_every_panel_due"]


def every_label_settled(chain: Chain, *, labels_per_store: int) -> bool:
    """Every frame acknowledged and every label's record confirmed what it must show
    (read from the database: cheap enough to poll on a loaded machine)."""
    with chain.sessions() as session:
        open_frames = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "acked")
        )
        confirmed = session.scalar(
            select(func.count())
            .select_from(LabelStateRow)
            .where(LabelStateRow.desired_hash == LabelStateRow.confirmed_hash)
        )
    return open_frames == 0 and confirmed == len(STORES) * labels_per_store


async def wait_every_panel_due(chain: Chain, *, labels_per_store: int, settle_s: float) -> None:
    """Settled within `settle_s`, then every panel shows the reference render of what is
    due (the simulated stores run in the test's process: slow on a loaded machine)."""
    await until(
        lambda: every_label_settled(chain, labels_per_store=labels_per_store),
        what="every frame acknowledged",
        timeout_s=settle_s,
    )
    await chain.wait_converged(wall_clock(), timeout_s=120)
