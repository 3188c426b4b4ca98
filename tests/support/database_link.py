"""The network between one controller and its PostgreSQL server, as a loopback TCP relay a
test can cut and restore: the database gone for that controller alone, while every other
client (another worker, the test) still reaches it.

`cut()` is a partition as the controller lives it. Its connections go silent: what it
sends is taken (its kernel sees it acknowledged) and never answered, and a new connection
opens and then hears nothing either; no error reaches it until the link is back, its
database work hangs meanwhile. The server, though, sees each of its sessions end at once
(as one configured with TCP keepalives soon would) and rolls back what they had open, so
no lock of theirs holds up the other workers. `restore()` heals it: each connection held
through the cut is reset (the server's answer to the first packet it sends again), and
new ones reach the server.

`cut(refused=True)` is a database host that answers but has no server: every connection
is reset at once, and so is each new one until `restore()`; the controller's work fails
at every try.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, field

from sqlalchemy import make_url

__all__ = ["DatabaseLink"]

_HOST = "127.0.0.1"
_TICK_S = 0.05


@dataclass(eq=False)
class _Connection:
    client: socket.socket
    upstream: socket.socket | None = None
    # Through a cut: silent until `restore()` resets it.
    severed: bool = False
    relaying: threading.Thread | None = field(default=None, repr=False)


class DatabaseLink:
    """A relay from a loopback port to the server of `database_url`; `url` is that
    database reached through it."""

    def __init__(self, database_url: str) -> None:
        self._target = make_url(database_url)
        self._listener = socket.create_server((_HOST, 0))
        self._listener.settimeout(_TICK_S)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._is_cut = self._refused = False
        self._closed = threading.Event()
        self._accepting = threading.Thread(target=self._accept, name="database-link", daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return self._target.set(host=_HOST, port=self.port).render_as_string(hide_password=False)

    def cut(self, *, refused: bool = False) -> None:
        """From now on nothing passes: each connection's server session ends, and the
        connection falls silent (`refused`: is reset)."""
        with self._lock:
            self._is_cut = True
            self._refused = refused
            for connection in self._connections:
                connection.severed = True
            relays = [c.relaying for c in self._connections if c.relaying is not None]
        for relay in relays:
            relay.join()
        if refused:
            with self._lock:
                severed, self._connections = self._connections, []
            for connection in severed:
                _reset(connection.client)

    def restore(self) -> None:
        """Connections held through the cut are reset; new ones reach the server."""
        with self._lock:
            self._is_cut = self._refused = False
            severed = [c for c in self._connections if c.severed]
            self._connections = [c for c in self._connections if not c.severed]
        for connection in severed:
            _reset(connection.client)

    def close(self) -> None:
        self._closed.set()
        self._accepting.join()
        self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.severed = True
            if connection.relaying is not None:
                connection.relaying.join()
            _reset(connection.client)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection = _Connection(client)
            with self._lock:
                if self._refused:
                    _reset(client)
                    continue
                self._connections.append(connection)
                if self._is_cut:
                    connection.severed = True
                    continue
            try:
                connection.upstream = socket.create_connection(
                    (self._target.host, self._target.port or 5432), timeout=5
                )
            except OSError:
                self._drop(connection)
                continue
            connection.relaying = threading.Thread(
                target=self._relay, args=(connection,), name="database-link-relay", daemon=True
            )
            connection.relaying.start()

    def _relay(self, connection: _Connection) -> None:
        upstream = connection.upstream
        assert upstream is not None
        other = {connection.client: upstream, upstream: connection.client}
        with selectors.DefaultSelector() as selector:
            for end in other:
                selector.register(end, selectors.EVENT_READ)
            while not connection.severed and not self._closed.is_set():
                for key, _ in selector.select(_TICK_S):
                    if connection.severed:
                        break
                    try:
                        chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if chunk:
                            other[key.fileobj].sendall(chunk)  # type: ignore[index]
                            continue
                    except OSError:
                        pass
                    # One side closed: so does the other, and the relay ends.
                    self._drop(connection)
                    return
        # Severed: the server's session ends, the client's is left silent.
        upstream.close()

    def _drop(self, connection: _Connection) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        for end in (connection.client, connection.upstream):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()


def _reset(client: socket.socket) -> None:
    """Close with a reset, not an orderly end: what a server that forgot the
    connection answers."""
    with contextlib.suppress(OSError):
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
