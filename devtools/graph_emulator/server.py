"""Start and stop the emulator: one threaded HTTPS server on 127.0.0.1, in a background thread.

emulator = GraphEmulator(state_dir=Path(".stack/emulator"), port=0)
emulator.start()                      # returns once it listens
emulator.base_url                     # https://127.0.0.1:54321 (= authority_host)
emulator.graph_base_url               # https://127.0.0.1:54321/v1.0
emulator.ca_file                      # trust this (and only this) in clients
emulator.stop()

With `persist=True` its state is kept in `state_dir` across restarts (persistence.py); with a
`clock_file`, its clock is the local stack's shared one (devtools/clock.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from devtools.clock import ClockFile
from devtools.graph_emulator.app import EmulatorApp
from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.persistence import StateFile
from devtools.graph_emulator.schema import load_schema
from devtools.graph_emulator.state import EmulatorSettings, EmulatorState
from devtools.graph_emulator.tls import create_tls_files, server_ssl_context

logger = logging.getLogger("devtools.graph_emulator")
HOST = "127.0.0.1"


class EmulatorBroken(RuntimeError):
    """The emulator cannot do its job (its Graph schema does not load): refuse to start."""


class _RequestHandler(WSGIRequestHandler):
    timeout = 60  # seconds a silent connection (e.g. a stalled TLS handshake) may hold a thread
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only (never the query: it can carry codes); at debug level.
        path = getattr(self, "path", "").split("?", 1)[0]
        logger.debug("%s %s -> %s", getattr(self, "command", "-"), path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        # A client that does not trust the CA aborts the handshake: its problem, not ours.
        level = logging.DEBUG
        if type == "error":
            level = logging.INFO if message.startswith("SSL error") else logging.ERROR
        logger.log(level, message, *args)


class GraphEmulator:
    def __init__(
        self,
        state_dir: Path,
        port: int = 0,
        *,
        redirect_uris: Sequence[str] | None = None,
        access_token_lifetime: int = 3600,
        clock_file: Path | None = None,
        persist: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._requested_port = port
        defaults = EmulatorSettings()
        self.state = EmulatorState(
            settings=EmulatorSettings(
                access_token_lifetime=access_token_lifetime,
                redirect_uris=tuple(redirect_uris) if redirect_uris else defaults.redirect_uris,
            ),
            clock=EmulatorClock(ClockFile(clock_file) if clock_file else None),
        )
        self._saved = StateFile(self.state_dir, self.state.persistent_stores) if persist else None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_file = self.state_dir / "ca.pem"
        self.port = port

    @property
    def base_url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def authority_host(self) -> str:
        return self.base_url

    @property
    def graph_base_url(self) -> str:
        return f"{self.base_url}/v1.0"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        try:
            load_schema()  # a broken schema stops the start, not the first event written
        except Exception as error:
            raise EmulatorBroken(f"Graph's v1.0 schema does not load: {error}") from error
        tls = create_tls_files(self.state_dir)
        app = EmulatorApp(self.state)  # every module's stores exist from here on
        if self._saved is not None:
            self._saved.load()
            app = _noting_changes(app, self._saved)
        try:
            server = make_server(
                HOST,
                self._requested_port,
                app,
                threaded=True,
                request_handler=_RequestHandler,
            )
        except SystemExit as error:  # werkzeug exits when the port is taken
            raise OSError(f"cannot listen on {HOST}:{self._requested_port}") from error
        # TLS is added here rather than through make_server(ssl_context=...) so the handshake
        # happens in each connection's own thread, not in the accept loop where a silent client
        # would stall everyone.
        context = server_ssl_context(tls)
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        server.ssl_context = context
        self._server = server
        self.port = server.port
        self.ca_file = tls.ca_file
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"graph-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()  # the socket already listens: connections queue until accepted
        if self._saved is not None:
            self._saved.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if self._saved is not None:
            self._saved.stop()

    def __enter__(self) -> GraphEmulator:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _noting_changes(app: EmulatorApp, saved: StateFile) -> Any:
    """The app, telling the state file after each request that something may have changed."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            return app(environ, start_response)
        finally:
            saved.changed()

    return serve
