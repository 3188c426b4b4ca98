"""The simulated store gateways of `esl bench pipeline`, in a process of their own.

    python -m esl.bench._pipeline_gateways BROKER_URL STATE_DIR SPEED CHECK_IN_S LISTENING \
        STORE:GATEWAY...

Each gateway reads its provisioning file (written by the benchmark) from STATE_DIR,
connects, and relays until stdin closes. "ready" is printed once every gateway is
online. The clock runs SPEED times faster than the wall clock, so a panel refresh and a
check-in interval cost a fraction of real time. LISTENING is 1 when labels take frames
as they arrive (else at their next check-in). Not a suite: the name starts with "_".
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from firmware_sim.mqtt_gateway import MqttStoreGateway, parse_broker_url
from firmware_sim.simulation import SiteConfig, open_simulated_gateway


async def _main(argv: list[str]) -> None:
    broker_url, state_dir, speed, check_in_s, listening, *pairs = argv
    origin, start = time.monotonic(), datetime.now(UTC)

    def clock() -> datetime:
        return start + timedelta(seconds=(time.monotonic() - origin) * float(speed))

    broker = parse_broker_url(broker_url)
    runners = []
    for pair in pairs:
        store, gateway = pair.split(":")
        directory = Path(state_dir)
        config = SiteConfig(
            store=store,
            gateway=gateway,
            state_dir=directory,
            provisioning_file=directory / f"{store}-{gateway}-provisioning.json",
            check_in_interval_s=float(check_in_s),
            listening=listening == "1",
        )
        site = open_simulated_gateway(config, now=clock())
        # The controller is measured, not the simulator's persistence.
        runners.append(
            MqttStoreGateway(site, broker, clock=clock, save_every_s=3600, write_ahead=False)
        )
    tasks = [asyncio.create_task(runner.run()) for runner in runners]
    for runner in runners:
        await runner.wait_connected(30)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for runner in runners:
        runner.stop()
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
