"""The Mosquitto broker of the benchmarks that run the controller (not a suite: the name
starts with "_")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from esl.mqtt.mosquitto_process import find_mosquitto, running_mosquitto
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["bench_broker"]


@contextmanager
def bench_broker(suite: str, *, extra_config: str = "") -> Iterator[BrokerEndpoint]:
    """A Mosquitto on loopback for `esl bench <suite>` (`extra_config`: more lines of its
    configuration), stopped on exit; where none is installed, an error that says how to
    install it."""
    binary = find_mosquitto()
    if binary is None:
        raise RuntimeError(f"the {suite} benchmark needs mosquitto (apt-get install mosquitto)")
    with running_mosquitto(binary, extra_config=extra_config) as endpoint:
        yield endpoint
