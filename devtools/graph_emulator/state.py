"""Everything the emulator remembers, in one place, and how to go back to the seed.

Each store guards itself with its own lock; this object only holds them together. Modules added
later (events, subscriptions, ...) register their stores here so `reset()` covers them too, and
those that are `Persistent` are kept across restarts (persistence.py).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from devtools import demo_directory
from devtools.demo_directory import RegisteredApp
from devtools.graph_emulator.assignment import AssignmentStore
from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.consent import ConsentStore
from devtools.graph_emulator.directory import Directory
from devtools.graph_emulator.faults import FaultInjector
from devtools.graph_emulator.managed_identity import FederatedCredentials
from devtools.graph_emulator.persistence import Persistent
from devtools.graph_emulator.request_log import RequestLog
from devtools.graph_emulator.throttle import MailboxThrottle
from devtools.graph_emulator.tokens import CodeStore, RefreshTokenStore, SigningKey


class Resettable(Protocol):
    def reset(self) -> None: ...


@dataclass(frozen=True)
class EmulatorSettings:
    access_token_lifetime: int = 3600  # seconds; Entra's default is 60-90 minutes
    redirect_uris: tuple[str, ...] = demo_directory.APP.default_redirect_uris
    managed_identity_token_lifetime: int = 24 * 3600  # managed identity tokens live about a day

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token_lifetime": self.access_token_lifetime,
            "redirect_uris": list(self.redirect_uris),
            "managed_identity_token_lifetime": self.managed_identity_token_lifetime,
        }


class EmulatorState:
    def __init__(
        self,
        *,
        settings: EmulatorSettings | None = None,
        app: RegisteredApp = demo_directory.APP,
        clock: EmulatorClock | None = None,
    ) -> None:
        self.clock = clock or EmulatorClock()
        self.directory = Directory.seeded()
        self.app = app
        self.signing_key = SigningKey()
        self.codes = CodeStore()
        self.refresh_tokens = RefreshTokenStore()
        self.consents = ConsentStore()
        self.assignments = AssignmentStore()
        self.federated_credentials = FederatedCredentials(app.federated_credentials)
        self.faults = FaultInjector()
        self.throttle = MailboxThrottle(self.clock)
        self.requests = RequestLog()
        self._initial_settings = settings or EmulatorSettings()
        self._settings = self._initial_settings
        self._settings_lock = threading.Lock()
        self._stores: list[Resettable] = [
            self.clock,
            self.codes,
            self.refresh_tokens,
            self.consents,
            self.assignments,
            self.directory,
            self.federated_credentials,
            self.faults,
            self.throttle,
            self.requests,
        ]

    def register_store(self, store: Resettable) -> None:
        """Let a later module's store go back to the seed with everything else."""
        self._stores.append(store)

    def persistent_stores(self) -> Mapping[str, Persistent]:
        """The stores kept across restarts, by class name (the key in the state file)."""
        stores = (self.signing_key, *self._stores)
        return {type(s).__name__: s for s in stores if isinstance(s, Persistent)}

    def reset(self) -> None:
        for store in self._stores:
            store.reset()
        with self._settings_lock:
            self._settings = self._initial_settings

    @property
    def settings(self) -> EmulatorSettings:
        with self._settings_lock:
            return self._settings

    def update_settings(self, **changes: Any) -> EmulatorSettings:
        with self._settings_lock:
            self._settings = replace(self._settings, **changes)
            return self._settings
