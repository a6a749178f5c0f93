"""Secrets: from Key Vault when a vault URL is set, otherwise from environment variables.

A secret is named once, in Key Vault form (`entra-client-secret`); its environment form is the
upper-case underscore spelling (`ENTRA_CLIENT_SECRET`), so local runs and Azure read the same name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Protocol

from shared.settings import KEY_VAULT_REFERENCE_PREFIX


class SecretName(StrEnum):
    ENTRA_CLIENT_SECRET = "entra-client-secret"  # noqa: S105 - secret names, not secrets
    TOKEN_ENCRYPTION_KEYS = "token-encryption-keys"  # noqa: S105
    HOST_APP_TOKEN_SECRET = "host-app-token-secret"  # noqa: S105

    @property
    def environment_name(self) -> str:
        return self.value.upper().replace("-", "_")


class SecretUnavailable(Exception):
    """A secret could not be read; the message names it and says why, never its value."""


# HS256 wants a key at least as long as its hash (RFC 7518, section 3.2): a shorter shared secret
# is refused as if it were missing, in health and on every request.
MIN_SIGNING_SECRET_BYTES = 32


def _usable(name: SecretName, shown_as: str, value: str) -> str:
    if name is SecretName.HOST_APP_TOKEN_SECRET and len(value.encode()) < MIN_SIGNING_SECRET_BYTES:
        raise SecretUnavailable(
            f"secret {shown_as} is shorter than {MIN_SIGNING_SECRET_BYTES} bytes (HS256 needs "
            "at least as many as its hash, RFC 7518 section 3.2)"
        )
    return value


class SecretProvider(Protocol):
    def get(self, name: SecretName) -> str: ...


class _Secret(Protocol):
    @property
    def value(self) -> str | None: ...


class SecretReader(Protocol):
    """Key Vault's SecretClient, as far as reading a secret goes."""

    def get_secret(self, name: str) -> _Secret: ...


class EnvironmentSecrets:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: SecretName) -> str:
        value = self._environ.get(name.environment_name, "").strip()
        if not value:
            raise SecretUnavailable(f"secret {name.environment_name} is not set")
        if value.startswith(KEY_VAULT_REFERENCE_PREFIX):
            raise SecretUnavailable(
                f"secret {name.environment_name} is an unresolved Key Vault reference"
            )
        return _usable(name, name.environment_name, value)


class KeyVaultSecrets:
    """Reads secrets from Key Vault with the app's managed identity, caching each for a while.

    The cache keeps the hot path off the vault (Key Vault throttles per vault) while a rotated
    secret still reaches every instance within `ttl_seconds`.
    """

    def __init__(
        self,
        vault_url: str,
        *,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        client: SecretReader | None = None,
    ) -> None:
        self._vault_url = vault_url
        self._ttl = ttl_seconds
        self._clock = clock
        self._client = client
        self._cache: dict[SecretName, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: SecretName) -> str:
        with self._lock:
            cached = self._cache.get(name)
            if cached and self._clock() - cached[0] < self._ttl:
                return cached[1]
        value = _usable(name, name.value, self._fetch(name))
        with self._lock:
            self._cache[name] = (self._clock(), value)
        return value

    def _fetch(self, name: SecretName) -> str:
        from azure.core.exceptions import AzureError

        try:
            secret = self._secret_client().get_secret(name.value)
        except AzureError as error:
            raise SecretUnavailable(
                f"secret {name.value} could not be read from {self._vault_url}: "
                f"{type(error).__name__}"
            ) from error
        value = (secret.value or "").strip()  # a secret set by hand often ends in a newline
        if not value:
            raise SecretUnavailable(f"secret {name.value} in {self._vault_url} is empty")
        return value

    def _secret_client(self) -> SecretReader:
        if self._client is None:
            # Imported here so that importing the app does no credential or network work.
            from azure.identity import DefaultAzureCredential
            from azure.keyvault.secrets import SecretClient

            self._client = SecretClient(self._vault_url, DefaultAzureCredential())
        return self._client


def secret_provider(key_vault_url: str | None, environ: Mapping[str, str]) -> SecretProvider:
    return KeyVaultSecrets(key_vault_url) if key_vault_url else EnvironmentSecrets(environ)
