"""A store gateway killed with SIGKILL in the middle of a publication, and started again:
afterwards every label's panel, the controller's record and the due price agree.

Real parts: `esl sim gateway` in its own process (killed for real), a real Mosquitto, the
controller with the paho driver, SQLite. The panels are read from the simulator's own
storage after it stopped, and compared pixel for pixel with the reference render.
"""

from __future__ import annotations

import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from esl.db.models import LabelStateRow, OutboxRow
from firmware_sim.fleet import read_provisioning
from firmware_sim.images import ImageStore
from firmware_sim.label_store import LabelStateStore
from rendering.encoding import content_hash
from tests.support.chain import Chain
from tests.support.cli_process import quiet_esl_process
from tests.support.clock import wall_clock
from tests.support.pipeline import SKUS, expected_planes, publish_prices, register_and_bind
from tests.support.waiting import until

pytestmark = pytest.mark.integration

LABELS = 60
PRICES_A = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
PRICES_B = {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}


def _sim_gateway(chain: Chain, state_dir: Path) -> subprocess.Popen[bytes]:
    return quiet_esl_process(
        "sim",
        "gateway",
        "--store",
        "S01",
        "--gateway",
        "gw1",
        "--labels",
        str(LABELS),
        "--broker",
        chain.broker.url,
        "--state-dir",
        str(state_dir),
        "--report-check-ins",
        "--listening",
        "--check-in-interval",
        "1",
    )


def _acked_with(chain: Chain, hashes: set[str]) -> int:
    with chain.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(LabelStateRow)
                .where(LabelStateRow.confirmed_hash.in_(hashes))
            )
            or 0
        )


def _record_settled(chain: Chain, *, heard_after: datetime | None = None) -> bool:
    """Every label confirmed its desired content, reports showing it, nothing is open."""
    with chain.sessions() as session:
        open_rows = session.scalar(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.status.in_(("pending", "sent", "parked")))
        )
        states = session.execute(
            select(
                LabelStateRow.desired_hash,
                LabelStateRow.confirmed_hash,
                LabelStateRow.displayed_hash,
                LabelStateRow.last_seen,
            )
        ).all()
    return (
        open_rows == 0
        and len(states) == LABELS
        and all(
            desired is not None
            and desired == confirmed == displayed
            and (heard_after is None or (seen is not None and seen > heard_after))
            for desired, confirmed, displayed, seen in states
        )
    )


def _labels_acked_with(chain: Chain, hashes: set[str]) -> set[str]:
    with chain.sessions() as session:
        return set(
            session.scalars(
                select(LabelStateRow.label_id).where(LabelStateRow.confirmed_hash.in_(hashes))
            )
        )


def _frames_for(chain: Chain, labels: set[str], *, after_row: int) -> list[tuple[str, str]]:
    with chain.sessions() as session:
        return [
            (label_id, status)
            for label_id, status in session.execute(
                select(OutboxRow.label_id, OutboxRow.status).where(
                    OutboxRow.label_id.in_(sorted(labels)), OutboxRow.id > after_row
                )
            )
        ]


def _desired_hashes(chain: Chain) -> set[str]:
    with chain.sessions() as session:
        return {h for h in session.scalars(select(LabelStateRow.desired_hash)) if h}


async def test_a_store_gateway_killed_mid_publication_loses_no_panel(
    chain: Chain, tmp_path: Path
) -> None:
    state_dir = tmp_path / "sim"
    gateway = _sim_gateway(chain, state_dir)
    try:
        manifest = state_dir / "S01-gw1-labels.json"
        await until(manifest.exists, timeout_s=30, what="the provisioning file")
        provisions = read_provisioning(manifest)
        now = wall_clock()
        with chain.sessions.begin() as session:
            chain.bindings.update(
                register_and_bind(
                    session, provisions, store="S01", gateway="gw1", skus=SKUS, now=now
                )
            )
        publish_prices(chain.sessions, PRICES_A, now=wall_clock())
        await chain.start_controller(window=1)
        await until(lambda: _record_settled(chain), timeout_s=60, what="the first price")
        old_hashes = _desired_hashes(chain)

        publish_prices(chain.sessions, PRICES_B, now=wall_clock())
        await until(lambda: _desired_hashes(chain) - old_hashes, timeout_s=30, what="the new plan")
        new_hashes = _desired_hashes(chain) - old_hashes
        # Mid-publication: some labels acknowledged the new price, most have not yet.
        await until(
            lambda: _acked_with(chain, new_hashes) >= 5, timeout_s=30, what="the first acks"
        )
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=10)
        acked_before_the_crash = _labels_acked_with(chain, new_hashes)
        assert 5 <= len(acked_before_the_crash) < LABELS
        with chain.sessions() as session:
            last_row_at_the_crash = session.scalar(select(func.max(OutboxRow.id))) or 0

        restarted_at = wall_clock()
        gateway = _sim_gateway(chain, state_dir)
        await until(
            lambda: _record_settled(chain, heard_after=restarted_at),
            timeout_s=90,
            what="the record to settle with every label heard after the restart",
        )
        # The labels that took the new price before the kill came back showing it, by
        # the simulator's write-ahead: their check-ins agreed with the record, and
        # nothing was sent to them again (a repair by reconciliation would have been).
        assert _frames_for(chain, acked_before_the_crash, after_row=last_row_at_the_crash) == []
        assert chain.controller is not None
        assert chain.controller.dispatcher.counts.reconciled == 0
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=20) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait(timeout=10)

    # The panels, as the simulator stored them: panel == record == due, pixel for pixel.
    with LabelStateStore(state_dir / "S01-gw1.sqlite") as storage:
        labels = storage.load(images=ImageStore(), now=wall_clock())
    assert len(labels) == LABELS
    at = wall_clock()
    with chain.sessions() as session:
        for label in labels:
            state = session.get(LabelStateRow, label.label_id)
            assert state is not None
            assert label.shown is not None, label.label_id
            shown = content_hash(label.shown).hex()
            assert shown == state.confirmed_hash == state.desired_hash, label.label_id
            assert label.shown == expected_planes(
                session, label_id=label.label_id, sku=chain.bindings[label.label_id], at=at
            )
