"""Brokers and event helpers shared by the MQTT tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from datetime import UTC, datetime

from gateways.base import Gateway, GatewayEvent

__all__ = ["ROOT_ONLY_CONFIG", "FixedClock", "events_until", "events_within"]

# Mosquitto started as root drops to user "mosquitto", which cannot read pytest's private
# temporary directories (password and ACL files live there); as root, stay root.
ROOT_ONLY_CONFIG = "user root\n" if os.geteuid() == 0 else ""


class FixedClock:
    """A clock that always says the same instant, so tests can check stamps exactly."""

    def __init__(self, at: datetime = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def events_until(
    gateway: Gateway,
    done: Callable[[GatewayEvent], bool],
    *,
    timeout_s: float = 10.0,
) -> list[GatewayEvent]:
    """Events up to and including the first for which `done` holds; fail after the timeout."""
    seen: list[GatewayEvent] = []

    async def collect() -> None:
        async for event in gateway.events():
            seen.append(event)
            if done(event):
                return
        raise AssertionError(f"events ended before the awaited one: {seen}")

    try:
        await asyncio.wait_for(collect(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"awaited event did not come within {timeout_s} s: {seen}") from None
    return seen


async def events_within(gateway: Gateway, seconds: float) -> list[GatewayEvent]:
    """Whatever arrives in the next `seconds` (for proving that something does not arrive)."""
    seen: list[GatewayEvent] = []

    async def collect() -> None:
        async for event in gateway.events():
            seen.append(event)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), seconds)
    return seen
