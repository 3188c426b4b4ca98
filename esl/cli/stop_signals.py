"""How a long-running `esl` command (a store gateway, an emulator, the serving demo) hears
that systemd or Ctrl-C wants it stopped: an event, so it stops between steps and closes
what it holds instead of dying mid-write."""

from __future__ import annotations

import asyncio
import signal

__all__ = ["stop_on_signals"]


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets (call it inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
