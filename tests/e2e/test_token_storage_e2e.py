"""What is stored for a connection: no readable token, and keys that rotate without reconnecting."""

import base64

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from devtools.stack import free_port
from shared.storage import names
from shared.storage.account import StorageAccount
from tests.e2e.conftest import start_local_host, stop_local_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(host_app: HostApp, storage: StorageAccount):
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    yield host_app
    host_app.call("DELETE", "me/calendar", EMPLOYEE_ALEX)


def stored_connection(storage: StorageAccount, app: HostApp) -> dict:
    return storage.table(names.CONNECTIONS_TABLE).get_entity(app.org_id, EMPLOYEE_ALEX.host_user_id)


def test_the_stored_connection_holds_no_readable_token(app, storage):
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    entity = stored_connection(storage, app)
    everything = repr(dict(entity)).encode() + bytes(entity["TokenCache"])
    for readable in (b"eyJ", b"refresh_token", b"RefreshToken", b"AccessToken", b"secret"):
        assert readable not in everything
    assert EMPLOYEE_ALEX.user_principal_name.encode() not in bytes(entity["TokenCache"])
    assert entity["TokenKeyId"] == "k1"


def test_a_rotated_key_still_reads_caches_written_with_the_previous_key(
    app, storage, emulator, host_environment, tmp_path
):
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    old_keys = host_environment["TOKEN_ENCRYPTION_KEYS"]
    new_key = base64.b64encode(b"a-brand-new-32-byte-key-for-k2!!").decode()
    rotated = {**host_environment, "TOKEN_ENCRYPTION_KEYS": f"k2:{new_key},{old_keys}"}
    port = free_port()
    rotated["APP_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    host = start_local_host(rotated, tmp_path, port)
    try:
        after_rotation = HostApp(host.base_url, app.emulator_url, emulator.ca_file, rotated)
        after_rotation.org_id = app.org_id
        checked = after_rotation.call("POST", "me/calendar/check", EMPLOYEE_ALEX)
    finally:
        stop_local_host(host)
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "connected"
    assert stored_connection(storage, app)["TokenKeyId"] == "k2", "rewritten with the new key"
