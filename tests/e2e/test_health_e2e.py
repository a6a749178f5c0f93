"""GET /api/health and start-up failures, through the local host's HTTP port."""

import subprocess
import sys

import pytest
import requests

from tests.conftest import app_settings
from tests.e2e.conftest import PROJECT_ROOT, start_local_host, stop_local_host

pytestmark = pytest.mark.e2e


def test_health_is_200_when_everything_is_usable(local_host):
    answer = requests.get(f"{local_host.base_url}/api/health", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["status"] == "healthy"


def test_health_is_503_and_names_the_failing_part(azurite, tmp_path):
    environ = app_settings(azurite.connection_string)
    del environ["TOKEN_ENCRYPTION_KEYS"]
    host = start_local_host(environ, tmp_path)
    try:
        answer = requests.get(f"{host.base_url}/api/health", timeout=10)
    finally:
        assert stop_local_host(host) == 0
    assert answer.status_code == 503
    body = answer.json()
    assert body["checks"]["secrets"]["problems"] == ["secret TOKEN_ENCRYPTION_KEYS is not set"]
    assert "test-client-secret" not in answer.text


def test_unknown_routes_answer_404(local_host):
    assert requests.get(f"{local_host.base_url}/api/no-such-thing", timeout=10).status_code == 404


def test_the_host_refuses_to_start_and_names_every_missing_setting(tmp_path):
    result = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "devtools.localhost",
            "--port",
            "0",
            "--settings",
            str(tmp_path / "absent.json"),
        ],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "ENTRA_CLIENT_ID": "@Microsoft.KeyVault(SecretUri=x)"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    for problem in (
        "AzureWebJobsStorage is missing",
        "APP_PUBLIC_BASE_URL is missing",
        "ENTRA_CLIENT_ID is an unresolved Key Vault reference",
        "HOST_APP_TOKEN_AUDIENCE is missing",
    ):
        assert problem in result.stderr
