"""An emulator started with `persist` comes back after a restart as it was left: same signing
key, sign-ins that still refresh, mailboxes, subscriptions; an unreadable file means a clean start.
"""

from collections.abc import Iterator
from pathlib import Path

import msal
import pytest

from devtools.demo_directory import MANAGER
from devtools.graph_emulator.app import EmulatorApp
from devtools.graph_emulator.control_client import EmulatorControl, trusting_session
from devtools.graph_emulator.persistence import FILE_NAME
from devtools.graph_emulator.server import GraphEmulator
from devtools.graph_emulator.state import EmulatorState
from devtools.stack import free_port
from tests.emulator.conftest import Identity
from tests.emulator.sync_support import Graph
from tests.emulator.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


class Restartable:
    """One emulator's state directory and port, served by a new GraphEmulator each start."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir, self.port = state_dir, free_port()
        self.running: GraphEmulator | None = None

    def start(self) -> GraphEmulator:
        self.running = GraphEmulator(state_dir=self.state_dir, port=self.port, persist=True)
        self.running.start()
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


@pytest.fixture
def emulator_home(tmp_path) -> Iterator[Restartable]:
    home = Restartable(tmp_path / "emulator")
    yield home
    home.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    endpoint = WebhookReceiver().start()
    yield endpoint
    endpoint.stop()


def test_after_a_restart_tokens_refresh_and_mailboxes_and_subscriptions_are_kept(
    emulator_home, receiver
):
    first = emulator_home.start()
    identity = Identity(first, trusting_session(first.ca_file))
    app, signed = identity.sign_in(MANAGER.user_principal_name)
    manager = Graph(identity.http, first.graph_base_url, signed["access_token"])
    event = manager.create_event("Planning")
    subscription = manager.subscribe(receiver).json()
    cache = app.token_cache.serialize()
    emulator_home.stop()

    second = emulator_home.start()
    identity = Identity(second, trusting_session(second.ca_file))
    assert identity.graph("/me", signed["access_token"]).status_code == 200, "same signing key"
    restored = msal.SerializableTokenCache()
    restored.deserialize(cache)
    app = identity.app(cache=restored)
    [account] = app.get_accounts()
    refreshed = app.acquire_token_silent_with_error(identity.scopes, account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    manager = Graph(identity.http, second.graph_base_url, refreshed["access_token"])
    kept = manager.call("GET", f"/me/events/{event['id']}")
    assert kept.status_code == 200, kept.text
    assert kept.json()["subject"] == "Planning"
    control = EmulatorControl(second.base_url, second.ca_file)
    assert [s["id"] for s in control.subscriptions()] == [subscription["id"]]


def test_an_unreadable_state_file_is_set_aside_and_the_emulator_starts_from_the_seed(
    emulator_home,
):
    emulator_home.state_dir.mkdir(parents=True)
    (emulator_home.state_dir / FILE_NAME).write_bytes(b"not a saved state")

    started = emulator_home.start()

    assert (emulator_home.state_dir / "state.unreadable").exists()
    assert EmulatorControl(started.base_url, started.ca_file).consents()["users"] == []


def test_without_persist_nothing_is_written(tmp_path):
    with GraphEmulator(state_dir=tmp_path, port=0) as emulator:
        Identity(emulator, trusting_session(emulator.ca_file)).sign_in(MANAGER.user_principal_name)
    assert not (tmp_path / FILE_NAME).exists()


def test_every_kept_store_can_be_saved_and_restored():
    """Stores change (other modules add fields): each one named for keeping must still save."""
    state = EmulatorState()
    EmulatorApp(state)  # every module registers its stores
    kept = state.persistent_stores()

    assert {"SigningKey", "RefreshTokenStore", "Mailboxes", "SubscriptionStore"} <= set(kept)
    for store in kept.values():
        store.import_state(store.export_state())
