"""The local host: one process serving the app's HTTP, timer and queue functions together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from devtools.localhost.catalog import Catalog, QueueFunction, TimerFunction, build_catalog
from devtools.localhost.cors import CorsMiddleware, CorsPolicy
from devtools.localhost.hostconfig import HostConfig
from devtools.localhost.http_server import FunctionsWsgiApp
from devtools.localhost.invoker import Invocation
from devtools.localhost.queues import (
    QueueBroker,
    QueueListener,
    SettledObserver,
    poison_queue_name,
)
from devtools.localhost.timers import TimerRunner
from shared.storage.account import StorageAccount

logger = logging.getLogger("localhost")


class LocalHost:
    def __init__(
        self,
        app: Any,
        *,
        config: HostConfig,
        environ: Mapping[str, str],
        storage: StorageAccount | None,
        port: int = 7071,
        bind: str = "127.0.0.1",
        on_queue_settled: SettledObserver | None = None,
        cors: CorsPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._on_queue_settled = on_queue_settled
        self.catalog: Catalog = build_catalog(app, config.route_prefix, environ)
        self._config = config
        self._storage = storage
        self._stopping = threading.Event()
        needs_queues = bool(self.catalog.queues or self.catalog.output_queue_names())
        if needs_queues and storage is None:
            raise ValueError("the app uses queues: the local host needs AzureWebJobsStorage")
        self._broker = QueueBroker(storage) if storage is not None else None
        self._timers = {
            t.name.lower(): TimerRunner(t, self._deliver, self._stopping, clock)
            for t in self.catalog.timers
        }
        self._listeners: list[QueueListener] = []
        wsgi: Any = FunctionsWsgiApp(self.catalog, self._deliver, self.invoke_by_name)
        if cors is not None:
            wsgi = CorsMiddleware(wsgi, cors)
        self._server: BaseWSGIServer = make_server(bind, port, wsgi, threaded=True)
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="http", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._broker is not None and self._storage is not None:
            queue_names = {q.queue_name for q in self.catalog.queues}
            self._broker.ensure_queues(
                queue_names
                | {poison_queue_name(name) for name in queue_names}
                | self.catalog.output_queue_names()
            )
            self._listeners = [
                QueueListener(
                    q,
                    self._broker,
                    self._storage,
                    self._config.queues,
                    self._stopping,
                    self._on_queue_settled,
                )
                for q in self.catalog.queues
            ]
        self._server_thread.start()
        for runner in self._timers.values():
            runner.start()
        for listener in self._listeners:
            listener.start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server_thread.join()
        self._server.server_close()
        for runner in self._timers.values():
            runner.join()
        for listener in self._listeners:
            listener.join()

    def invoke_by_name(self, name: str, input_text: str) -> bool:
        """Run a timer or queue function now, as `POST /admin/functions/{name}` does in Azure."""
        entry = self.catalog.by_name(name)
        if isinstance(entry, TimerFunction):
            self._timers[entry.name.lower()].fire()
            return True
        if isinstance(entry, QueueFunction) and self._broker is not None:
            self._broker.send(entry.queue_name, [input_text])
            return True
        return False

    def _deliver(self, invocation: Invocation) -> None:
        for queue_name, messages in invocation.queue_messages.items():
            if self._broker is None:
                raise RuntimeError("queue output without storage")
            self._broker.send(queue_name, messages)

    def describe(self) -> list[str]:
        """One line per function, in the style of Core Tools' start-up listing."""
        prefix = f"{self.base_url}/{self._config.route_prefix}".rstrip("/")
        lines = [
            f"{f.name}: [{','.join(sorted(f.methods))}] {prefix}/{f.route.template.strip('/')}"
            for f in self.catalog.http
        ]
        lines += [f"{t.name}: timerTrigger ({t.schedule})" for t in self.catalog.timers]
        lines += [f"{q.name}: queueTrigger ({q.queue_name})" for q in self.catalog.queues]
        return lines
