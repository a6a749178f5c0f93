"""The app's HTTP sessions honour the environment's proxy settings, read once per origin
(shared/http_session.py): Graph, the identity platform and storage all go through them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.http_session import EnvironmentOnceSession
from shared.settings import StorageSettings
from shared.storage.account import StorageAccount

ACCOUNT_KEY = "a2V5"  # base64 of "key": any key signs, nothing checks it


class Recorder(ThreadingHTTPServer):
    """A loopback HTTP server that answers 200 and keeps each request line's target."""

    def __init__(self) -> None:
        self.targets: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:
                self.targets.append(handler.path)
                handler.send_response(200)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            do_PUT = do_POST = do_PATCH = do_GET

            def log_message(handler, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[Recorder]:
    yield from _serving()


@pytest.fixture
def origin() -> Iterator[Recorder]:
    yield from _serving()


def _serving() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_a_proxy_set_in_the_environment_carries_the_requests(monkeypatch, proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)

    answer = EnvironmentOnceSession().get("http://graph.example.test/v1.0/me", timeout=5)

    assert answer.status_code == 200
    assert proxy.targets == ["http://graph.example.test/v1.0/me"]


def test_hosts_in_no_proxy_are_called_directly(monkeypatch, proxy, origin):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    assert EnvironmentOnceSession().get(f"{origin.url}/direct", timeout=5).status_code == 200

    assert origin.targets == ["/direct"]
    assert proxy.targets == []


def test_the_environment_is_read_once_per_origin(monkeypatch, proxy):
    """As on a Functions instance, whose app settings change only with a restart: the first
    request to an origin decides, later changes to the environment do not."""
    session = EnvironmentOnceSession()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    session.get("http://graph.example.test/first", timeout=5)
    monkeypatch.setenv("NO_PROXY", "graph.example.test")

    session.get("http://graph.example.test/second", timeout=5)

    assert proxy.targets == [
        "http://graph.example.test/first",
        "http://graph.example.test/second",
    ]


def test_a_trusted_ca_bundle_turns_the_environment_off(monkeypatch, proxy, origin):
    """Locally the emulator's CA is configured, and the emulator is on loopback: no proxy."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)

    EnvironmentOnceSession(trusted_ca="/nonexistent/ca.pem").get(f"{origin.url}/x", timeout=5)

    assert origin.targets == ["/x"]
    assert proxy.targets == []


def test_storage_requests_go_through_the_environments_proxy(monkeypatch, proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={ACCOUNT_KEY};"
        "TableEndpoint=http://acct.table.example.test;QueueEndpoint=http://acct.queue.example.test"
    )
    account = StorageAccount(StorageSettings(connection_string=connection_string))

    # The proxy's empty 200 is no answer the SDKs can read: where the requests went is the point.
    with contextlib.suppress(Exception):
        account.table("connections").get_entity("p", "r")
    with contextlib.suppress(Exception):
        account.queue("graph-notifications").send_message("hello")

    assert [target.split("?")[0] for target in proxy.targets] == [
        "http://acct.table.example.test/connections(PartitionKey='p',RowKey='r')",
        "http://acct.queue.example.test/graph-notifications/messages",
    ]
