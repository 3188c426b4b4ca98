"""A label's unsigned refusal through `esl gateway ble`, as the controller takes it: one
the same frame may get past next time is retried and delivered; one it never can is
parked at once as refused by the gateway. On the real parts of test_gateway_process.py
(controller -> Mosquitto -> the gateway process -> bumble -> simulated labels).

A Bluetooth label sends no check-ins, so an update parked for good on a passing fault
would stay parked until newer content came.
"""

from __future__ import annotations

import pytest

from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus, ParkReason
from tests.gateways.ble.test_gateway_process import (  # noqa: F401 - fixtures
    START_TIMEOUT_S,
    BleChain,
    ble_chain,
)
from tests.support.clock import wall_clock
from tests.support.outbox import open_rows_of
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRICES = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}


def _reported(chain: BleChain, label_id: str) -> OutboxRow | None:
    """The label's update once the gateway's report on it was taken."""
    return next((row for row in open_rows_of(chain.sessions, label_id) if row.parked_detail), None)


async def test_a_browned_out_label_gets_the_price_when_tried_again(
    ble_chain: BleChain,  # noqa: F811 - the fixture
) -> None:
    chain = ble_chain
    weak = next(iter(chain.labels))
    firmware = chain.labels[weak].label
    full = firmware.battery_nv
    # Its radio still answers, its firmware cannot act: Error(Insufficient Battery),
    # unsigned, to the command for the frame.
    firmware.battery_nv = firmware.hardware.power.brownout_nv - 1
    publish_prices(chain.sessions, PRICES, now=wall_clock())
    chain.start_gateway()
    await chain.start_controller()

    await until(
        lambda: _reported(chain, weak) is not None,
        what="the gateway's report on the browned-out label taken",
        timeout_s=START_TIMEOUT_S,
    )
    row = _reported(chain, weak)
    assert row is not None
    assert row.parked_detail is not None
    assert "INSUFFICIENT_BATTERY" in row.parked_detail
    # Waiting for its retry, not parked for good.
    assert row.parked_reason != ParkReason.REFUSED_BY_GATEWAY
    assert row.status != OutboxStatus.PARKED

    firmware.battery_nv = full  # it recovered a little
    await chain.wait_converged()
    assert chain.labels[weak].label.shown == chain.due()[weak]


async def test_a_label_that_forgot_its_association_is_refused_by_the_gateway_at_once(
    ble_chain: BleChain,  # noqa: F811 - the fixture
) -> None:
    chain = ble_chain
    forgot = next(iter(chain.labels))
    chain.labels[forgot].esl_address = None  # Error(Invalid State) to every command
    publish_prices(chain.sessions, PRICES, now=wall_clock())
    chain.start_gateway()
    await chain.start_controller()

    await until(
        lambda: not set(chain.mismatches()) - {forgot},
        what="every other label converged",
        timeout_s=START_TIMEOUT_S,
    )
    await until(
        lambda: any(
            row.status == OutboxStatus.PARKED for row in open_rows_of(chain.sessions, forgot)
        ),
        what="the update of the label that forgot its association parked",
        timeout_s=START_TIMEOUT_S,
    )
    [row] = open_rows_of(chain.sessions, forgot)
    # On the gateway's first report, not after the controller's 40 attempts.
    assert row.parked_reason == ParkReason.REFUSED_BY_GATEWAY
    assert row.parked_detail is not None
    assert "INVALID_STATE" in row.parked_detail
    assert chain.labels[forgot].label.shown is None
