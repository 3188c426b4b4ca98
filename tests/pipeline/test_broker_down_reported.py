"""The broker stops while the controller runs: no label can be updated. The status
file and the health API say the store is not heard (docs/pipeline.md, "A store the
controller cannot hear": "or has lost its link"), and stop saying so once the broker
is back, after which a price change reaches the shelf again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from esl.pipeline.controller_status import controller_status_path, read_controller_status
from esl.settings import Settings
from tests.pipeline.controller_report import controller_health
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices
from tests.support.waiting import until


async def test_a_broker_down_for_a_while_is_reported_and_the_report_clears(
    chain: Chain,
    tmp_path: Path,
) -> None:
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    chain.add_store("S01", labels=4)
    await chain.start_gateway("S01")
    status_path = controller_status_path(tmp_path)
    chain.controller_status_path = status_path
    await chain.start_controller()
    await chain.wait_converged(wall_clock())

    def unheard() -> dict[str, object] | None:
        status = read_controller_status(status_path)
        return None if status is None else dict(status.stores_unheard)

    await until(lambda: unheard() == {}, what="every store heard", timeout_s=10)
    settings = Settings.defaults().model_copy(
        update={"data_dir": tmp_path, "controller_lease_renew_s": 1.0}
    )
    chain.mosquitto.stop()
    try:
        await until(lambda: bool(unheard()), what="the store reported unheard", timeout_s=15)
        health = await controller_health(settings, chain.engine)
        unheard_now = health["stores_unheard"]
        assert isinstance(unheard_now, dict), health
        assert "S01" in unheard_now, health
        await asyncio.sleep(3)
    finally:
        chain.mosquitto.start()
    await until(lambda: unheard() == {}, what="the report cleared", timeout_s=30)
    publish_prices(
        chain.sessions, {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}, now=wall_clock()
    )
    await chain.wait_converged(wall_clock())
