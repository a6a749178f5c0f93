"""Whether this instance can serve: settings parse, secrets resolve, the app's Entra credential
(client secret or managed identity assertion) can be had, tables and queues answer.

The report names what is wrong (setting names, table names, secret names) and never a value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.client_credential import credential_problems
from shared.secrets import (
    EnvironmentSecrets,
    KeyVaultSecrets,
    SecretName,
    SecretProvider,
    SecretUnavailable,
)
from shared.settings import Settings, SettingsError, StorageSettings, load_settings
from shared.storage import names
from shared.storage.account import StorageAccount

# Health must answer quickly even when storage is unreachable: no retries, short timeouts.
_PROBE_OPTIONS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 3, "read_timeout": 3}
_PROBE_KEY = "health-probe"


@dataclass(frozen=True)
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)  # shown beside the status, never secret

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class HealthReport:
    checks: list[Check]

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "healthy" if self.healthy else "unhealthy",
            "checks": {
                check.name: {
                    "status": "ok" if check.ok else "failing",
                    **check.facts,
                    "problems": check.problems,
                }
                for check in self.checks
            },
        }


def check_health(environ: Mapping[str, str]) -> HealthReport:
    try:
        settings = load_settings(environ)
    except SettingsError as error:
        return HealthReport([Check("settings", error.problems)])
    secrets = (
        _vault(settings.key_vault_url) if settings.key_vault_url else EnvironmentSecrets(environ)
    )
    credential = settings.entra_credential
    return HealthReport(
        [
            Check("settings"),
            Check("secrets", _secret_problems(settings, secrets)),
            Check(
                "entra_credential",
                credential_problems(credential, secrets, ca_bundle=settings.tls_ca_bundle),
                {"mode": credential.mode.value},
            ),
            Check("storage", _storage_problems(_storage(settings.storage))),
        ]
    )


@functools.cache
def _vault(url: str) -> KeyVaultSecrets:
    """One client per vault for the process's probes (and its cache keeps them off the vault)."""
    return KeyVaultSecrets(url)


@functools.cache
def _storage(settings: StorageSettings) -> StorageAccount:
    return StorageAccount(settings)


def required_secrets(settings: Settings) -> list[SecretName]:
    """The secrets besides the Entra credential (its own check, whichever the mode)."""
    wanted = [SecretName.TOKEN_ENCRYPTION_KEYS]
    if settings.host_app_jwks_url is None:
        wanted.append(SecretName.HOST_APP_TOKEN_SECRET)
    return wanted


def _secret_problems(settings: Settings, secrets: SecretProvider) -> list[str]:
    problems = []
    for name in required_secrets(settings):
        try:
            secrets.get(name)
        except SecretUnavailable as error:
            problems.append(str(error))
    return problems


def _storage_problems(storage: StorageAccount) -> list[str]:
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    problems = []
    try:
        for table in names.TABLES:
            try:
                storage.table(table).get_entity(_PROBE_KEY, _PROBE_KEY, **_PROBE_OPTIONS)
            except ResourceNotFoundError as error:
                if getattr(error, "error_code", None) == "TableNotFound":
                    problems.append(f"table {table} does not exist")
        for queue in names.QUEUES:
            try:
                storage.queue(queue).get_queue_properties(**_PROBE_OPTIONS)
            except ResourceNotFoundError:
                problems.append(f"queue {queue} does not exist")
    except HttpResponseError as error:
        code = getattr(error, "error_code", None)
        problems.append(f"storage refused the request: {error.status_code} {code}")
    except AzureError as error:
        problems.append(f"storage is unreachable: {type(error).__name__}")
    return problems
