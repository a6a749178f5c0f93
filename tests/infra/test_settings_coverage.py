"""Every setting and secret the code reads is set by the templates or scripts, or documented
as set by hand, and what the templates set is what the app can start with."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any

import pytest

from shared.secrets import SecretName
from shared.settings import SettingsError, load_settings
from tests.infra.conftest import INFRA, REPO, Templates
from tests.infra.template_checks import app_settings

pytestmark = pytest.mark.infra

DEPLOY_DOC = REPO / "docs" / "deploy.md"

# The app settings of app/function-app.bicep with values as Azure gives them.
AZURE_VALUES = {
    "AzureWebJobsStorage__accountName": "stabc123",
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": "6c1e1d3a-0000-4000-8000-000000000001",
    "AzureWebJobsStorage__blobServiceUri": "https://stabc123.blob.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://stabc123.queue.core.windows.net/",
    "AzureWebJobsStorage__tableServiceUri": "https://stabc123.table.core.windows.net/",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=0;IngestionEndpoint=https://x/",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=6c1e1d3a;Authorization=AAD",
    "AZURE_CLIENT_ID": "6c1e1d3a-0000-4000-8000-000000000001",
    "KEY_VAULT_URL": "https://kv-abc123.vault.azure.net/",
    "APP_PUBLIC_BASE_URL": "https://func-abc123.azurewebsites.net",
    "ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "ENTRA_CLIENT_CREDENTIAL": "managed_identity",
    "ENTRA_MANAGED_IDENTITY_CLIENT_ID": "6c1e1d3a-0000-4000-8000-000000000001",
    "ENTRA_TOKEN_EXCHANGE_AUDIENCE": "api://AzureADTokenExchange",
    "ENTRA_AUTHORITY_HOST": "https://login.microsoftonline.com",
    "ENTRA_TENANT": "organizations",
    "GRAPH_BASE_URL": "https://graph.microsoft.com/v1.0",
    "HOST_APP_ORIGINS": "https://app.example.com,https://admin.example.com",
    "HOST_APP_TOKEN_ISSUER": "https://app.example.com",
    "HOST_APP_TOKEN_AUDIENCE": "outlook-calendar-sync",
    "HOST_APP_JWKS_URL": "",
    "RECONNECT_INTERVAL_MONTHS": "9",
    "RECONNECT_WARNING_DAYS": "30",
    "MAINTENANCE_SCHEDULE": "0 */10 * * * *",
    # A Key Vault reference in the templates; the platform gives the app the secret's value.
    "WEBHOOK_CLIENT_STATE_KEYS": "w20260101:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
}
# Read by libraries rather than shared/settings.py: azure-identity's DefaultAzureCredential; the
# managed identity endpoint the Functions platform sets (IDENTITY_ENDPOINT, IDENTITY_HEADER) is
# not an app setting at all.
READ_BY_LIBRARIES = {"AZURE_CLIENT_ID"}


class Recording(dict[str, str]):
    """An environment that remembers which names were looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)


def names_the_code_reads() -> set[str]:
    """Settings load_settings looks up, in Azure (identity) mode and in local mode."""
    azure = Recording(AZURE_VALUES)
    load_settings(azure)
    local = Recording({})
    with contextlib.suppress(SettingsError):  # missing settings: which names it looked up matters
        load_settings(local)
    return azure.read | local.read | READ_BY_LIBRARIES


def test_the_values_above_are_the_templates_settings(templates: Templates) -> None:
    assert set(AZURE_VALUES) == set(app_settings(templates))


def test_the_app_starts_with_what_the_templates_set() -> None:
    settings = load_settings(AZURE_VALUES)
    assert settings.storage.uses_identity
    assert settings.storage.managed_identity_client_id == AZURE_VALUES["AZURE_CLIENT_ID"]
    assert settings.storage.table_endpoint == "https://stabc123.table.core.windows.net"
    assert settings.key_vault_url == "https://kv-abc123.vault.azure.net"
    assert settings.host_app_jwks_url is None
    assert settings.tls_ca_bundle is None
    assert settings.entra_credential.mode.value == "managed_identity"
    assert settings.entra_credential.managed_identity_client_id == AZURE_VALUES["AZURE_CLIENT_ID"]


def test_every_setting_the_code_reads_is_set_or_documented(templates: Templates) -> None:
    doc = DEPLOY_DOC.read_text()
    set_by_templates = set(app_settings(templates))
    for name in sorted(names_the_code_reads() - set_by_templates):
        assert f"`{name}`" in doc, (
            f"{name} is read by the app, not set by the templates, not in {DEPLOY_DOC.name}"
        )


def test_every_setting_the_templates_set_is_documented(templates: Templates) -> None:
    doc = DEPLOY_DOC.read_text()
    for name in sorted(app_settings(templates)):
        assert f"`{name}`" in doc, (
            f"{name} is set by the templates but not described in {DEPLOY_DOC.name}"
        )


def test_every_secret_is_written_to_key_vault_by_a_script() -> None:
    scripts = "\n".join(
        path.read_text()
        for path in [INFRA / "scripts" / "postprovision.sh", INFRA / "entra" / "register-app.sh"]
    )
    written = set(re.findall(r"ensure_secret ([a-z-]+)", scripts))
    written |= set(re.findall(r'put_secret "\$vault" ([a-z-]+)', scripts))
    assert {name.value for name in SecretName} <= written
    doc = DEPLOY_DOC.read_text()
    for name in SecretName:
        assert f"`{name.value}`" in doc
