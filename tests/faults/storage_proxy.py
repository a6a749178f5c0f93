"""A loopback TCP proxy in front of Azurite that a test can take down: storage failing for real.

While down, every open connection is reset and every new one is accepted and reset at once, so
the Azure SDK sees what it sees when a storage endpoint is unreachable (its own retries included);
up again, connections pass through untouched. No mocks: the app talks to Azurite through it.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from urllib.parse import urlsplit

from devtools.azurite import AzuriteEndpoints

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset, not a FIN


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down = False
        self._stopping = False
        threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True).start()

    def down(self) -> None:
        with self._lock:
            self._down = True
            for connection in list(self._open):
                _reset(connection)
            self._open.clear()

    def up(self) -> None:
        with self._lock:
            self._down = False

    def stop(self) -> None:
        self._stopping = True
        self.down()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self._target)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        pair = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    pair[source].sendall(data)
        except (OSError, ValueError):  # reset by down(), or closed by either side
            return
        finally:
            with self._lock:
                self._open.difference_update((client, server))
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.close()


class StorageProxy:
    """Azurite's queue and table endpoints behind proxies that go down and up together."""

    def __init__(self, azurite: AzuriteEndpoints) -> None:
        self._proxies = {
            name: TcpProxy(_address(getattr(azurite, name))) for name in ("queue", "table")
        }
        self.endpoints = AzuriteEndpoints(
            blob=azurite.blob,
            queue=f"http://127.0.0.1:{self._proxies['queue'].port}",
            table=f"http://127.0.0.1:{self._proxies['table'].port}",
        )

    def down(self) -> None:
        for proxy in self._proxies.values():
            proxy.down()

    def up(self) -> None:
        for proxy in self._proxies.values():
            proxy.up()

    def stop(self) -> None:
        for proxy in self._proxies.values():
            proxy.stop()


def _address(endpoint: str) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _reset(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        connection.close()
