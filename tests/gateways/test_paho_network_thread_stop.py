"""Stopping paho's network thread after a DISCONNECT, in the interleaving paho loses.

paho's `loop_stop` checks its thread handle, then joins it; the network thread clears that
handle as it ends (eclipse-paho/paho.mqtt.python#872). A thread that ends between the two,
as one told to disconnect does, made `loop_stop` raise AttributeError: a simulated store
gateway closing at the end of a CI run did, and failed the run. The interleaving is forced
here, on a real broker, by holding the caller at `loop_stop`'s join until the thread, told
to stop by loop_stop itself, is gone.
"""

from __future__ import annotations

import linecache
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from gateways.mqtt.connection import new_paho_client
from gateways.mqtt.network_thread import stop_network_thread
from tests.fixtures.mosquitto import MosquittoProcess


def _started_client(broker: MosquittoProcess) -> tuple[mqtt.Client, threading.Thread]:
    client = new_paho_client(client_id="network-thread-stop", clean_session=True)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(5)
    (network_thread,) = (
        t for t in threading.enumerate() if t.name == "paho-mqtt-client-network-thread-stop"
    )
    return client, network_thread


def _disconnected_client(broker: MosquittoProcess) -> tuple[mqtt.Client, threading.Thread]:
    client, network_thread = _started_client(broker)
    client.disconnect()
    return client, network_thread


@contextmanager
def _joins_after(network_thread: threading.Thread) -> Iterator[None]:
    """Hold this thread at loop_stop's join until the network thread has ended."""

    def trace(frame: FrameType, event: str, _arg: Any) -> Callable[..., Any] | None:
        if frame.f_code.co_name != "loop_stop":
            return None
        if event == "line":
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            if "self._thread.join()" in line:
                network_thread.join(5)
        return trace

    tracing_before = sys.gettrace()  # a debugger's or coverage's, put back after
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(tracing_before)


def test_paho_alone_loses_the_race_this_test_forces(mosquitto: MosquittoProcess) -> None:
    """Once a paho release fixes #872 this fails: then stop_network_thread can go."""
    client, network_thread = _started_client(mosquitto)
    with _joins_after(network_thread), pytest.raises(AttributeError):
        client.loop_stop()
    assert not network_thread.is_alive()


def test_a_thread_that_ended_between_check_and_join_is_stopped_without_error(
    mosquitto: MosquittoProcess,
) -> None:
    client, network_thread = _started_client(mosquitto)
    with _joins_after(network_thread):
        stop_network_thread(client)
    assert not network_thread.is_alive()


def test_a_thread_told_to_disconnect_is_stopped_without_error(
    mosquitto: MosquittoProcess,
) -> None:
    client, network_thread = _disconnected_client(mosquitto)
    stop_network_thread(client)
    assert not network_thread.is_alive()
    assert not client.is_connected()


def test_a_connected_clients_thread_is_stopped_and_joined(mosquitto: MosquittoProcess) -> None:
    client, network_thread = _started_client(mosquitto)
    stop_network_thread(client)
    assert not network_thread.is_alive()
    client.disconnect()
