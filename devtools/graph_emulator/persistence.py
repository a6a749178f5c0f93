"""What survives an emulator restart: its stores' state, in one file under the state directory.

`make run` keeps Azurite's data from one run to the next, so the emulator keeps what the app's
stored connections rely on: the token-signing key, authorization codes, refresh tokens, consent,
mailboxes with their change feed, delta tokens and subscriptions. Faults, throttling, the request
log, webhook delivery modes and settings are a session's set-up and start clean. `make reset`
wipes both, so they start clean together.

A store takes part by implementing `Persistent` (or `PersistedFields`: it names the attributes
to keep, copied under the store's own `_lock`). The file is a pickle that this emulator wrote into
the developer's own state directory, never anything received; one that no longer loads (the
code changed) is set aside and the emulator starts from the seed, saying so.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

logger = logging.getLogger("devtools.graph_emulator")

FILE_NAME = "state.pickle"
_VERSION = 1
_SAVE_EVERY = 1.0  # seconds between looks for changes to save


@runtime_checkable
class Persistent(Protocol):
    def export_state(self) -> bytes: ...

    def import_state(self, data: bytes) -> None: ...


class PersistedFields:
    """Mixin for a store: the attributes named in `persisted` are saved and restored."""

    persisted: ClassVar[tuple[str, ...]] = ()
    _lock: Any

    def export_state(self) -> bytes:
        with self._lock:  # serialised under the lock: a consistent copy, never a torn one
            return pickle.dumps({name: getattr(self, name) for name in self.persisted})

    def import_state(self, data: bytes) -> None:
        values = pickle.loads(data)  # noqa: S301 - written by this emulator, see the docstring
        with self._lock:
            for name in self.persisted:
                setattr(self, name, values[name])


Stores = Callable[[], Mapping[str, Persistent]]


class StateFile:
    """Saves the stores when they changed (at most once a second, and at stop); loads at start."""

    def __init__(self, state_dir: Path, stores: Stores) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self._stores = stores
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> bool:
        """Restore the stores from the file; False when there is none or it was set aside."""
        if not self.path.exists():
            return False
        try:
            saved = pickle.loads(self.path.read_bytes())  # noqa: S301 - see the docstring
            if saved.get("version") != _VERSION:
                raise ValueError(f"format {saved.get('version')!r}, not {_VERSION}")
            stores = self._stores()
            for name, data in saved["stores"].items():
                if name in stores:
                    stores[name].import_state(data)
        except Exception as error:  # anything unreadable: start from the seed, loudly
            aside = self.path.with_suffix(".unreadable")
            os.replace(self.path, aside)
            logger.warning(
                "emulator state in %s could not be read (%s); starting from the seed. Connections "
                "stored in Azurite will need reconnecting: `make reset` starts both clean.",
                aside,
                error,
            )
            return False
        return True

    def changed(self) -> None:
        self._changed.set()

    def save(self) -> None:
        self._changed.clear()
        stores = {name: store.export_state() for name, store in self._stores().items()}
        data = pickle.dumps({"version": _VERSION, "stores": stores})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, self.path)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._save_changes, name="state-saver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.save()

    def _save_changes(self) -> None:
        while not self._stopping.wait(_SAVE_EVERY):
            if self._changed.is_set():
                try:
                    self.save()
                except Exception:
                    logger.exception("saving the emulator's state failed")
