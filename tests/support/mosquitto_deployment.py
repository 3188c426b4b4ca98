"""`esl mqtt config`'s files under a real Mosquitto, run as written: password file, ACL,
client id = username. `reconfigure` writes them again for other stores and reloads the
broker (SIGHUP), as an operator does after adding a store."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from esl.mqtt.mosquitto_config import WrittenConfig, gateways_from_counts, write_mosquitto_config
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import find_mosquitto, free_port
from tests.gateways.mqtt_harness import ROOT_ONLY_CONFIG

__all__ = ["Deployment", "deployed"]


class Deployment:
    def __init__(self, directory: Path, written: WrittenConfig, port: int) -> None:
        self.directory = directory
        self.written = written
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def login(self, username: str) -> BrokerEndpoint:
        accounts = {a.username: a.password for a in self.written.accounts.all}
        return BrokerEndpoint("127.0.0.1", self.port, username, accounts[username])

    def reconfigure(self, stores: Sequence[str]) -> None:
        """`esl mqtt config` again for `stores` (known passwords kept), then a reload."""
        self.written = _write(self.directory, stores, self.port)
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)


def _write(directory: Path, stores: Sequence[str], port: int) -> WrittenConfig:
    return write_mosquitto_config(
        directory / "conf",
        gateways_from_counts(stores, per_store=1),
        port=port,
        bind_address="127.0.0.1",
    )


@contextlib.asynccontextmanager
async def deployed(
    directory: Path,
    *,
    stores: Sequence[str] = ("S001", "S002"),
    without_store_logins: bool = False,
) -> AsyncIterator[Deployment]:
    """The generated configuration for `stores` (one gateway each) under a real Mosquitto;
    `without_store_logins`: as a broker configured before the controller heard each store
    on a login of its own."""
    port = free_port()
    written = _write(directory, stores, port)
    if without_store_logins:
        lines = written.passwords.read_text().splitlines(keepends=True)
        written.passwords.write_text(
            "".join(line for line in lines if not line.startswith("esl-controller."))
        )
    conf = written.conf
    if ROOT_ONLY_CONFIG:
        conf = directory / "as-root.conf"
        conf.write_text(written.conf.read_text() + ROOT_ONLY_CONFIG)
    binary = find_mosquitto()
    assert binary is not None
    deployment = Deployment(directory, written, port)
    deployment.process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.02)
        yield deployment
    finally:
        deployment.process.terminate()
        deployment.process.communicate(timeout=10)
