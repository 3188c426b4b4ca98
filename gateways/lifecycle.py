"""`async with` for anything that is started and stopped: entering starts it, leaving stops it.

Transports, the embedded broker and the emulated access point all run this way; the pair
of methods is written here once. No I/O of its own, so the simulator may use it too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["StartedInContext"]


class StartedInContext(ABC):
    __slots__ = ()

    @abstractmethod
    async def start(self) -> None:
        """Begin running; `async with` calls it on entry."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop running; `async with` calls it on exit, also when the body raised."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
