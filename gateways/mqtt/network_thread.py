"""Stopping paho's network thread (`loop_start`'s), shared by every threaded paho client."""

from __future__ import annotations

import threading

import paho.mqtt.client as paho


def stop_network_thread(client: paho.Client) -> None:
    """`client.loop_stop()`: end paho's network thread and wait for it, without paho's race.

    loop_stop checks the thread handle, then joins it, and the thread clears the handle as
    it ends (eclipse-paho/paho.mqtt.python#872, open): a thread ending in between, as one
    told to disconnect does, made it raise AttributeError. The handle is taken first, so the
    thread is joined whichever wins.
    """
    # paho offers no other handle on it; read leniently, so a paho that renamed it
    # still stops (by its loop_stop alone, race and all).
    network_thread: threading.Thread | None = getattr(client, "_thread", None)
    try:
        client.loop_stop()
    except AttributeError:
        if network_thread is None or getattr(client, "_thread", None) is not None:
            raise
        network_thread.join()
