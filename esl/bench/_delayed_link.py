"""A network link with a round trip, on one machine (not a suite: the name starts with
"_"): a loopback TCP relay to a server that holds every byte `to_server_s` on its way
there and `to_client_s` on its way back, as a store gateway's link across a WAN to its
controller's broker. `esl bench gateways` measures the gateway's relay over it; the tests
watch what passes (`observe`).

It delays without limiting: bytes keep coming while earlier ones wait their time, each
direction in its order, so what a client sends without waiting for an answer arrives
as fast as it was sent, a round trip later. When one end closes, what is on its way to
the other still arrives, then that end is closed too (a gateway that loses power: the
packets it sent before are on the wire).

A test may also hold a direction (`hold`, `held`): nothing more is delivered that way
until it releases it, however long that takes, and then what waited goes in its order.
A test that needs messages kept from the broker while something else happens waits for
that and releases, rather than racing a long delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from enum import StrEnum
from types import TracebackType

__all__ = ["DelayedLink", "Direction"]

_HOST = "127.0.0.1"
_READ_BYTES = 65536
# How long `hold` and `release` wait for the link's thread to take them.
_SWITCH_TIMEOUT_S = 10.0


class Direction(StrEnum):
    TO_SERVER = "to server"
    TO_CLIENT = "to client"


# What passes, as it is delivered: (connection number, direction, bytes).
Observer = Callable[[int, Direction, bytes], None]


class DelayedLink:
    """A relay from `host`:`port` (loopback, a free port) to `server_host`:`server_port`,
    while in its `with` block. It runs in a thread of its own, so its timing does not
    wait on the caller's event loop; `observe` is called there, with each piece of bytes
    as it is delivered."""

    def __init__(
        self,
        server_host: str,
        server_port: int,
        *,
        to_server_s: float,
        to_client_s: float,
        observe: Observer | None = None,
    ) -> None:
        self._server = (server_host, server_port)
        self._delays = {Direction.TO_SERVER: to_server_s, Direction.TO_CLIENT: to_client_s}
        self._observe = observe
        self.host = _HOST
        self.port = 0
        self._numbers = itertools.count(1)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        # Per direction, set while it delivers (`hold`, `release`); made on the link's loop.
        self._open: dict[Direction, asyncio.Event] = {}
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="delayed-link", daemon=True)

    @property
    def round_trip_s(self) -> float:
        return sum(self._delays.values())

    def delay(self, *, to_server_s: float | None = None, to_client_s: float | None = None) -> None:
        """From now on, hold what is read in that direction this long (what waits already
        keeps its time; nothing overtakes it)."""
        if to_server_s is not None:
            self._delays[Direction.TO_SERVER] = to_server_s
        if to_client_s is not None:
            self._delays[Direction.TO_CLIENT] = to_client_s

    def hold(self, direction: Direction) -> None:
        """From its return on, nothing more is delivered in `direction` (what is read
        keeps coming in, and its delay still runs) until `release`."""
        self._switch(direction, hold=True)

    def release(self, direction: Direction) -> None:
        """Deliver again in `direction`: what waited goes at once, in its order (the
        rest when its delay is up)."""
        self._switch(direction, hold=False)

    @contextlib.contextmanager
    def held(self, direction: Direction) -> Iterator[None]:
        """`direction` held for the block, released at its end (a failing test too)."""
        self.hold(direction)
        try:
            yield
        finally:
            self.release(direction)

    def _switch(self, direction: Direction, *, hold: bool) -> None:
        """Done on the link's loop, between two deliveries: none is half under the old."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the link is not running (use it in its `with` block)")
        gate = self._open[direction]

        async def switch() -> None:
            if hold:
                gate.clear()
            else:
                gate.set()

        asyncio.run_coroutine_threadsafe(switch(), loop).result(_SWITCH_TIMEOUT_S)

    def __enter__(self) -> DelayedLink:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop already ended
                loop.call_soon_threadsafe(stop.set)
        self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as failure:  # reported to `__enter__`, not lost in a thread
            self._failure = failure
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for direction in Direction:
            self._open[direction] = asyncio.Event()
            self._open[direction].set()
        connections: set[asyncio.Task[None]] = set()

        def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.create_task(self._relay(next(self._numbers), reader, writer))
            connections.add(task)
            task.add_done_callback(connections.discard)

        server = await asyncio.start_server(relay, _HOST, 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)
            await server.wait_closed()

    async def _relay(
        self, number: int, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await asyncio.open_connection(*self._server)
        except OSError:
            client.close()
            return
        try:
            await asyncio.gather(
                self._carry(number, Direction.TO_SERVER, client_reader, server),
                self._carry(number, Direction.TO_CLIENT, server_reader, client),
            )
        finally:
            for end in (client, server):
                end.close()

    async def _carry(
        self,
        number: int,
        direction: Direction,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """One direction: each piece read is delivered its delay later, in its order; at
        the end of the stream, once all is delivered, the far end is closed."""
        loop = asyncio.get_running_loop()
        on_the_way: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def read() -> None:
            try:
                while chunk := await reader.read(_READ_BYTES):
                    on_the_way.put_nowait((loop.time() + self._delays[direction], chunk))
            except OSError:
                pass  # reset: the end of this direction, as a close
            finally:
                on_the_way.put_nowait(None)

        reading = asyncio.create_task(read())
        try:
            while (piece := await on_the_way.get()) is not None:
                due, chunk = piece
                await asyncio.sleep(max(0.0, due - loop.time()))
                gate = self._open[direction]
                while not gate.is_set():  # held (`hold`): until released, and not held again
                    await gate.wait()
                if self._observe is not None:
                    self._observe(number, direction, chunk)
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass  # the far end is gone: nothing more to deliver
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
            writer.close()
