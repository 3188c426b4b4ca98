"""Several transports as one: the controller drives a whole chain through one `Gateway`.

A chain rarely has a single transport. One store has an MQTT gateway in its back office,
another has labels within reach of this machine's Bluetooth adapters, a third has both.
`GatewayGroup` routes every downlink to the member that serves its (store, gateway) and
merges the members' events into one stream, so the pipeline's window, retries and
ordering stay written once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence

from gateways.base import Downlink, Gateway, GatewayEvent, UnheardStore
from gateways.errors import GatewayError

__all__ = ["GatewayGroup", "UnroutableDownlinkError"]


class UnroutableDownlinkError(GatewayError):
    """No member of the group serves the downlink's store gateway."""

    code = "unroutable_downlink"

    def __init__(self, *, store: str, gateway: str) -> None:
        super().__init__(
            f"no transport serves gateway {gateway!r} of store {store!r}",
            store=store,
            gateway=gateway,
        )


class GatewayGroup(Gateway):
    """One `Gateway` over several, keyed by the (store, gateway) each one serves.

    A member may serve several keys (one MQTT driver serves every store gateway on its
    broker): pass it under each key; it is started, stopped and read once.
    """

    def __init__(self, members: Mapping[tuple[str, str], Gateway]) -> None:
        if not members:
            raise ValueError("a gateway group needs at least one member")
        self._routes = dict(members)
        self._members: list[Gateway] = []
        for member in members.values():
            if all(member is not known for known in self._members):
                self._members.append(member)
        self._events: asyncio.Queue[GatewayEvent | None] = asyncio.Queue()
        self._readers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for member in self._members:
            await member.start()
        self._readers = [asyncio.create_task(self._read(m)) for m in self._members]

    async def stop(self) -> None:
        for member in self._members:
            await member.stop()
        for reader in self._readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._readers = []
        self._events.put_nowait(None)

    async def _read(self, member: Gateway) -> None:
        async for event in member.events():
            self._events.put_nowait(event)

    async def send(self, downlink: Downlink) -> None:
        member = self._routes.get((downlink.store, downlink.gateway))
        if member is None:
            raise UnroutableDownlinkError(store=downlink.store, gateway=downlink.gateway)
        await member.send(downlink)

    async def send_all(self, downlinks: Sequence[Downlink]) -> list[GatewayError | None]:
        """Each member takes its own frames as one batch."""
        outcomes: list[GatewayError | None] = [None] * len(downlinks)
        batches: dict[int, tuple[Gateway, list[int]]] = {}
        for index, downlink in enumerate(downlinks):
            member = self._routes.get((downlink.store, downlink.gateway))
            if member is None:
                outcomes[index] = UnroutableDownlinkError(
                    store=downlink.store, gateway=downlink.gateway
                )
                continue
            batches.setdefault(id(member), (member, []))[1].append(index)
        results = await asyncio.gather(
            *(
                member.send_all([downlinks[i] for i in indexes])
                for member, indexes in batches.values()
            )
        )
        for (_, indexes), member_outcomes in zip(batches.values(), results, strict=True):
            for index, outcome in zip(indexes, member_outcomes, strict=True):
                outcomes[index] = outcome
        return outcomes

    async def events(self) -> AsyncIterator[GatewayEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    @property
    def max_in_flight(self) -> int:
        return sum(member.max_in_flight for member in self._members)

    @property
    def dropped_uplinks(self) -> Mapping[str, int]:
        dropped: Counter[str] = Counter()
        for member in self._members:
            dropped.update(member.dropped_uplinks)
        return dict(dropped)

    @property
    def unheard_stores(self) -> Mapping[str, UnheardStore]:
        return {
            store: unheard
            for member in self._members
            for store, unheard in member.unheard_stores.items()
        }
