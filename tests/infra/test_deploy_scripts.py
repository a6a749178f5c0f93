"""The deployment hooks and the Entra registration script, run with sh against a fake az.

They must create each secret once and never replace one, never put a secret on a command
line, register a multi-tenant app with this deployment's redirect URIs and the credential of
the configured mode (a federated credential trusting the app's managed identity, or a client
secret in Key Vault), survive a failure half way and Graph's eventual consistency, stop without
writing anything when the vault cannot be listed, and refuse a region without Flex Consumption
before anything is created.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.secrets import SecretName
from shared.token_cipher import TokenCipher
from tests.infra import fake_az
from tests.infra.conftest import INFRA, REPO

pytestmark = pytest.mark.infra

POSTPROVISION = INFRA / "scripts" / "postprovision.sh"
PREPROVISION = INFRA / "scripts" / "preprovision.sh"
REGISTER = INFRA / "entra" / "register-app.sh"
BASE = "https://func-abc123.azurewebsites.net"
OUTPUTS = {
    "AZURE_ENV_NAME": "test",
    "AZURE_KEY_VAULT_NAME": "kv-abc123",
    "AZURE_FUNCTION_APP_NAME": "func-abc123",
    "AZURE_RESOURCE_GROUP": "rg-test",
    "AZURE_SUBSCRIPTION_ID": "9d3c1f00-0000-4000-8000-00000000000a",
    "AUTH_CALLBACK_URL": f"{BASE}/api/auth/callback",
    "ADMIN_CONSENT_CALLBACK_URL": f"{BASE}/api/admin/consent/callback",
    "GRAPH_NOTIFICATION_URL": f"{BASE}/api/graph/notifications",
    "GRAPH_LIFECYCLE_URL": f"{BASE}/api/graph/lifecycle",
    "HEALTH_URL": f"{BASE}/api/health",
    "AZURE_LOCATION": "westeurope",
    "ENTRA_CLIENT_CREDENTIAL": "managed_identity",
    "AZURE_MANAGED_IDENTITY_PRINCIPAL_ID": "0b3c9d2e-7777-4a4a-8888-9f9f9f9f9f9f",
    "ENTRA_FEDERATION_ISSUER": "https://login.microsoftonline.com/72f988bf-0000-4000-8000-000000000001/v2.0",
    "ENTRA_TOKEN_EXCHANGE_AUDIENCE": "api://AzureADTokenExchange",
}
SECRET_MODE = {"ENTRA_CLIENT_CREDENTIAL": "secret"}


class Deployment:
    def __init__(self, root: Path, shell: str) -> None:
        self.shell = shell
        self.state = root / "state"
        self.state.mkdir()
        self.bin = root / "bin"
        self.bin.mkdir()
        for name in ("az", "azd"):
            launcher = self.bin / name
            command = f'exec "{sys.executable}" "{fake_az.__file__}" "$@"'
            launcher.write_text(f"#!/bin/sh\nFAKE_AZ_NAME={name} {command}\n")
            launcher.chmod(0o755)

    def run(self, script: Path, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.state),
            "FAKE_AZ_STATE": str(self.state),
            "KEY_VAULT_RETRY_SECONDS": "0",
            "GRAPH_RETRY_SECONDS": "0",
            **OUTPUTS,
            **env,
        }
        return subprocess.run(  # noqa: S603 - the POSIX shell and our own script
            [self.shell, str(script)],
            env=environ,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def calls(self) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def calls_to(self, *words: str) -> list[list[str]]:
        return [c for c in self.calls() if c[1 : 1 + len(words)] == list(words)]

    def secret(self, name: str) -> str:
        return (self.state / "secrets" / name).read_text()

    def secrets(self) -> set[str]:
        folder = self.state / "secrets"
        return {p.name for p in folder.iterdir()} if folder.exists() else set()

    def federated_credentials(self) -> list[dict[str, Any]]:
        path = self.state / "federated_credentials.json"
        return json.loads(path.read_text()) if path.exists() else []

    def azd_env(self) -> dict[str, str]:
        folder = self.state / "azd_env"
        return {p.name: p.read_text() for p in folder.iterdir()} if folder.exists() else {}


@pytest.fixture
def deployment(tmp_path: Path, shell: str) -> Deployment:
    return Deployment(tmp_path, shell)


def option(call: list[str], name: str) -> str | None:
    return call[call.index(name) + 1] if name in call else None


def test_first_run_in_managed_identity_mode_trusts_the_identity_and_makes_no_client_secret(
    deployment: Deployment,
) -> None:
    result = deployment.run(POSTPROVISION)
    assert result.returncode == 0, result.stderr

    assert deployment.secrets() == {
        "token-encryption-keys",
        "host-app-token-secret",
        "webhook-client-state-keys",
    }
    assert not deployment.calls_to("ad", "app", "credential", "reset")
    assert deployment.federated_credentials() == [
        {
            "name": f"function-app-{OUTPUTS['AZURE_MANAGED_IDENTITY_PRINCIPAL_ID']}",
            "issuer": OUTPUTS["ENTRA_FEDERATION_ISSUER"],
            "subject": OUTPUTS["AZURE_MANAGED_IDENTITY_PRINCIPAL_ID"],
            "audiences": ["api://AzureADTokenExchange"],
            "description": "The function app's user-assigned managed identity signs in as this "
            "app (no client secret).",
        }
    ]
    [create] = deployment.calls_to("ad", "app", "create")
    assert option(create, "--sign-in-audience") == "AzureADMultipleOrgs"
    assert deployment.azd_env() == {"ENTRA_CLIENT_ID": fake_az.APP_ID}


def test_the_client_id_is_recorded_before_anything_can_fail_and_a_rerun_finishes(
    deployment: Deployment,
) -> None:
    (deployment.state / "federated_credential_fails").write_text("")

    failed = deployment.run(REGISTER)

    assert failed.returncode != 0
    assert "Insufficient privileges" in failed.stderr
    recorded = deployment.azd_env()["ENTRA_CLIENT_ID"]
    assert recorded == fake_az.APP_ID
    (deployment.state / "federated_credential_fails").unlink()
    (deployment.state / "calls.jsonl").unlink()

    rerun = deployment.run(REGISTER, ENTRA_CLIENT_ID=recorded)

    assert rerun.returncode == 0, rerun.stderr
    assert not deployment.calls_to("ad", "app", "create"), "no second registration"
    assert len(deployment.federated_credentials()) == 1


def test_graphs_does_not_exist_answers_after_creating_are_waited_out(
    deployment: Deployment,
) -> None:
    (deployment.state / "graph_lag").write_text("3")

    result = deployment.run(REGISTER)

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("waiting for Microsoft Graph to know the new app registration") == 3
    assert len(deployment.federated_credentials()) == 1
    assert deployment.calls_to("ad", "sp", "create")


def test_graph_answering_does_not_exist_for_too_long_stops_the_script(
    deployment: Deployment,
) -> None:
    (deployment.state / "graph_lag").write_text("100")

    result = deployment.run(REGISTER, GRAPH_ATTEMPTS="3")

    assert result.returncode != 0
    assert "does not exist" in result.stderr
    assert deployment.azd_env() == {"ENTRA_CLIENT_ID": fake_az.APP_ID}


def test_a_second_run_keeps_the_federated_credential(deployment: Deployment) -> None:
    assert deployment.run(POSTPROVISION).returncode == 0
    (deployment.state / "calls.jsonl").unlink()

    result = deployment.run(POSTPROVISION, ENTRA_CLIENT_ID=fake_az.APP_ID)

    assert result.returncode == 0, result.stderr
    assert "trusts the managed identity" in result.stderr
    assert ", kept" in result.stderr
    assert not deployment.calls_to("ad", "app", "federated-credential", "create")
    assert not deployment.calls_to("ad", "app", "federated-credential", "update")
    assert len(deployment.federated_credentials()) == 1


def test_a_national_clouds_audience_replaces_the_credentials_audience(
    deployment: Deployment,
) -> None:
    assert deployment.run(REGISTER).returncode == 0
    usgov = "api://AzureADTokenExchangeUSGov"

    result = deployment.run(
        REGISTER, ENTRA_CLIENT_ID=fake_az.APP_ID, ENTRA_TOKEN_EXCHANGE_AUDIENCE=usgov
    )

    assert result.returncode == 0, result.stderr
    [credential] = deployment.federated_credentials()
    assert credential["audiences"] == [usgov]
    assert deployment.calls_to("ad", "app", "federated-credential", "update")


def test_first_run_in_secret_mode_creates_every_secret_and_the_registration(
    deployment: Deployment,
) -> None:
    result = deployment.run(POSTPROVISION, **SECRET_MODE)
    assert result.returncode == 0, result.stderr
    assert deployment.federated_credentials() == []

    assert deployment.secrets() == {name.value for name in SecretName} | {WEBHOOK_KEYS}
    cipher = TokenCipher.from_secret(deployment.secret("token-encryption-keys"))
    assert cipher.active_key_id.startswith("k")
    assert len(base64.b64decode(deployment.secret("host-app-token-secret"), validate=True)) == 48
    assert deployment.secret("entra-client-secret") == fake_az.CLIENT_SECRET

    [create] = deployment.calls_to("ad", "app", "create")
    assert option(create, "--sign-in-audience") == "AzureADMultipleOrgs"
    uris = (deployment.state / "redirect_uris").read_text().split()
    assert sorted(uris) == sorted(
        [OUTPUTS["AUTH_CALLBACK_URL"], OUTPUTS["ADMIN_CONSENT_CALLBACK_URL"]]
    )

    [patch] = [c for c in deployment.calls_to("rest") if "graph.microsoft.com" in str(c)]
    assert (
        option(patch, "--uri")
        == f"https://graph.microsoft.com/v1.0/applications(appId='{fake_az.APP_ID}')"
    )
    assert option(patch, "--body") == f"@{INFRA / 'entra' / 'app-registration.json'}"
    assert deployment.calls_to("ad", "sp", "create")

    [reset] = deployment.calls_to("ad", "app", "credential", "reset")
    assert "--append" in reset
    [client_secret_set] = [
        c for c in deployment.calls_to("keyvault", "secret", "set") if "entra-client-secret" in c
    ]
    assert option(client_secret_set, "--expires") == option(reset, "--end-date")

    assert ["azd", "env", "set", "ENTRA_CLIENT_ID", fake_az.APP_ID] in deployment.calls()
    [settings] = deployment.calls_to("functionapp", "config", "appsettings", "set")
    assert option(settings, "--settings") == f"ENTRA_CLIENT_ID={fake_az.APP_ID}"


WEBHOOK_KEYS = "webhook-client-state-keys"


def references_refreshed(deployment: Deployment) -> list[list[str]]:
    return [
        call
        for call in deployment.calls_to("rest")
        if (option(call, "--url") or "").endswith(
            f"/sites/{OUTPUTS['AZURE_FUNCTION_APP_NAME']}/config/configreferences/appsettings/"
            "refresh?api-version=2022-03-01"
        )
    ]


def test_the_webhook_keys_are_made_once_and_the_apps_reference_to_them_refreshed(
    deployment: Deployment,
) -> None:
    assert deployment.run(POSTPROVISION).returncode == 0

    keys = load_settings_value("WEBHOOK_CLIENT_STATE_KEYS", deployment.secret(WEBHOOK_KEYS))
    assert len(keys) == 1
    assert keys[0][0].startswith("w")
    [refresh] = references_refreshed(deployment)
    assert option(refresh, "--method") == "post"
    assert option(refresh, "--url").startswith(
        f"/subscriptions/{OUTPUTS['AZURE_SUBSCRIPTION_ID']}/resourceGroups/rg-test/"
    )


def load_settings_value(name: str, value: str) -> tuple[tuple[str, bytes], ...]:
    from shared.settings import load_settings
    from tests.infra.test_settings_coverage import AZURE_VALUES

    keys: tuple[tuple[str, bytes], ...] = load_settings(
        {**AZURE_VALUES, name: value}
    ).webhook_client_state_keys
    return keys


def test_no_secret_value_is_ever_on_a_command_line(deployment: Deployment) -> None:
    assert deployment.run(POSTPROVISION, **SECRET_MODE).returncode == 0
    argv = "\n".join(" ".join(call) for call in deployment.calls())
    for name in deployment.secrets():
        value = deployment.secret(name)
        assert value not in argv
        for part in value.split(":"):
            assert part not in argv
    set_calls = deployment.calls_to("keyvault", "secret", "set")
    assert set_calls
    assert all("--value" not in call for call in set_calls)


def test_a_second_run_keeps_every_secret_and_adds_its_redirect_uris(deployment: Deployment) -> None:
    assert deployment.run(POSTPROVISION, **SECRET_MODE).returncode == 0
    before = {name: deployment.secret(name) for name in deployment.secrets()}
    local = "http://localhost:7071/api/auth/callback"
    (deployment.state / "redirect_uris").write_text(f"{local}\n{OUTPUTS['AUTH_CALLBACK_URL']}")
    (deployment.state / "calls.jsonl").unlink()

    result = deployment.run(POSTPROVISION, ENTRA_CLIENT_ID=fake_az.APP_ID, **SECRET_MODE)

    assert result.returncode == 0, result.stderr
    assert {name: deployment.secret(name) for name in deployment.secrets()} == before
    assert not deployment.calls_to("keyvault", "secret", "set")
    assert not deployment.calls_to("ad", "app", "create")
    assert not deployment.calls_to("ad", "app", "credential", "reset")
    assert not deployment.calls_to("functionapp", "config", "appsettings", "set")
    assert not references_refreshed(deployment), "the webhook keys were there already"
    uris = (deployment.state / "redirect_uris").read_text().split()
    assert sorted(uris) == sorted(
        {local, OUTPUTS["AUTH_CALLBACK_URL"], OUTPUTS["ADMIN_CONSENT_CALLBACK_URL"]}
    )


def test_rotating_the_client_secret_adds_one_and_stores_it(deployment: Deployment) -> None:
    assert deployment.run(POSTPROVISION, **SECRET_MODE).returncode == 0
    (deployment.state / "secrets" / "entra-client-secret").write_text("old")
    (deployment.state / "calls.jsonl").unlink()

    result = deployment.run(
        REGISTER, ENTRA_CLIENT_ID=fake_az.APP_ID, ROTATE_CLIENT_SECRET="true", **SECRET_MODE
    )

    assert result.returncode == 0, result.stderr
    [reset] = deployment.calls_to("ad", "app", "credential", "reset")
    assert "--append" in reset
    assert deployment.secret("entra-client-secret") == fake_az.CLIENT_SECRET


def test_nothing_is_written_when_the_vault_cannot_be_listed(deployment: Deployment) -> None:
    (deployment.state / "list_fails").write_text("")

    result = deployment.run(POSTPROVISION, KEY_VAULT_ATTEMPTS="2")

    assert result.returncode != 0
    assert "Key Vault Secrets Officer" in result.stderr
    assert not deployment.calls_to("keyvault", "secret", "set")
    assert not deployment.calls_to("ad", "app", "create")


def test_jwks_mode_needs_no_host_app_secret(deployment: Deployment) -> None:
    result = deployment.run(
        POSTPROVISION, HOST_APP_JWKS_URL="https://app.example.com/.well-known/jwks.json"
    )
    assert result.returncode == 0, result.stderr
    assert "host-app-token-secret" not in deployment.secrets()


def test_the_registration_can_be_left_to_a_person(deployment: Deployment) -> None:
    result = deployment.run(POSTPROVISION, SKIP_ENTRA_APP_REGISTRATION="true")
    assert result.returncode == 0, result.stderr
    assert not deployment.calls_to("ad", "app", "create")
    assert "entra-client-secret" not in deployment.secrets()


@pytest.mark.parametrize("location", ["westeurope", "West Europe", "SwedenCentral"])
def test_a_region_with_flex_consumption_passes_the_pre_provision_check(
    deployment: Deployment, location: str
) -> None:
    result = deployment.run(PREPROVISION, AZURE_LOCATION=location)
    assert result.returncode == 0, result.stderr
    assert f"region {location} offers Flex Consumption" in result.stderr


def test_a_region_without_flex_consumption_stops_before_anything_is_created(
    deployment: Deployment,
) -> None:
    result = deployment.run(PREPROVISION, AZURE_LOCATION="westindia")

    assert result.returncode != 0
    assert "region westindia does not offer the Flex Consumption plan" in result.stderr
    assert "westeurope" in result.stderr
    assert [c[1:3] for c in deployment.calls()] == [
        ["functionapp", "list-flexconsumption-locations"]
    ]


def test_the_pre_provision_check_wants_a_region(deployment: Deployment) -> None:
    result = deployment.run(PREPROVISION, AZURE_LOCATION="")
    assert result.returncode != 0
    assert "AZURE_LOCATION is not set" in result.stderr


def test_the_scripts_are_posix_sh(shell: str) -> None:
    for script in [POSTPROVISION, PREPROVISION, REGISTER, INFRA / "scripts" / "lib.sh"]:
        result = subprocess.run(  # noqa: S603 - the POSIX shell, parsing our own script
            [shell, "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{script}: {result.stderr}"


def manifest() -> dict[str, Any]:
    return json.loads((INFRA / "entra" / "app-registration.json").read_text())


GRAPH = "00000003-0000-0000-c000-000000000000"
DELEGATED = {
    "e1fe6dd8-ba31-4d61-89e7-88639da4683d": "User.Read",
    "1ec239c2-d7c9-4623-a91a-a9775856bb36": "Calendars.ReadWrite",
    "7427e0e9-2fba-42fe-b0c0-848c9e6a8182": "offline_access",
    "37f7f235-527c-4136-accd-4a02d197296e": "openid",
    "14dad69e-099b-42c9-810b-d002981feec1": "profile",
}


def test_the_registration_is_multi_tenant_with_delegated_graph_permissions_only() -> None:
    app = manifest()
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    [graph] = app["requiredResourceAccess"]
    assert graph["resourceAppId"] == GRAPH
    assert {a["id"] for a in graph["resourceAccess"]} == set(DELEGATED)
    assert {a["type"] for a in graph["resourceAccess"]} == {"Scope"}  # no application permissions
    for permission_id, name in DELEGATED.items():
        assert f"{name} ({permission_id})" in app["notes"]


def test_the_app_asks_for_the_permissions_the_registration_lists() -> None:
    """shared/identity.py requests User.Read and Calendars.ReadWrite; MSAL adds offline_access,
    openid and profile. Tenant-wide consent covers what the registration lists, so the two
    must agree or signed-in users would meet a consent prompt their admin cannot pre-approve."""
    from shared.identity import graph_scopes

    requested = {
        scope.rsplit("/", 1)[1] for scope in graph_scopes("https://graph.microsoft.com/v1.0")
    }
    assert requested | {"offline_access", "openid", "profile"} == set(DELEGATED.values())
    guide = (REPO / "docs" / "admin-guide.md").read_text()
    for name in DELEGATED.values():
        assert f"`{name}`" in guide
