"""The app's typed settings, read once from environment variables (Azure app settings).

Every problem is collected before failing, so one start-up message names each missing or
malformed setting instead of making the operator fix them one deploy at a time.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from shared.keyring import parse_keys

KEY_VAULT_REFERENCE_PREFIX = "@Microsoft.KeyVault("
STORAGE_SETTING = "AzureWebJobsStorage"

T = TypeVar("T")


class SettingsError(Exception):
    """The environment cannot run the app; `problems` names each setting at fault."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "The app's settings are not usable:\n" + "\n".join(f"- {p}" for p in problems)
        )


@dataclass(frozen=True)
class StorageSettings:
    """Either a connection string (Azurite, or a key-based account) or identity-based endpoints."""

    connection_string: str | None = None
    table_endpoint: str | None = None
    queue_endpoint: str | None = None
    managed_identity_client_id: str | None = None

    @property
    def uses_identity(self) -> bool:
        return self.connection_string is None


class ClientCredentialMode(StrEnum):
    """How the app proves itself to Entra when it redeems a code or refreshes a token."""

    SECRET = "secret"  # noqa: S105 - a mode's name: the client secret (entra-client-secret)
    MANAGED_IDENTITY = "managed_identity"  # a client assertion from the app's managed identity


# The audience a managed identity token must carry to be accepted as a client assertion, by the
# cloud's sign-in host (learn.microsoft.com/entra/workload-id/
# workload-identity-federation-config-app-trust-managed-identity): any other host (the emulator
# included) is taken for the global service.
TOKEN_EXCHANGE_AUDIENCES = {
    "login.microsoftonline.us": "api://AzureADTokenExchangeUSGov",
    "login.chinacloudapi.cn": "api://AzureADTokenExchangeChina",
}
GLOBAL_TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 - an audience


@dataclass(frozen=True)
class ClientCredentialSettings:
    mode: ClientCredentialMode
    managed_identity_client_id: str | None  # the user-assigned identity the app registration trusts
    token_exchange_audience: str


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    public_base_url: str
    entra_client_id: str
    entra_credential: ClientCredentialSettings
    entra_authority_host: str
    entra_tenant: str
    graph_base_url: str
    key_vault_url: str | None
    host_app_origins: tuple[str, ...]
    host_app_token_issuer: str
    host_app_token_audience: str
    host_app_jwks_url: str | None
    reconnect_interval_months: int
    reconnect_warning_days: int
    maintenance_schedule: str
    tls_ca_bundle: str | None
    # Signs and checks the clientState of Graph subscriptions (shared/sync/client_state.py).
    # A setting, not a Key Vault secret read by the app: the webhook checks it per request.
    webhook_client_state_keys: tuple[tuple[str, bytes], ...]

    @property
    def entra_authority(self) -> str:
        return f"{self.entra_authority_host}/{self.entra_tenant}"


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings or raise SettingsError listing every problem found."""
    read = _Reader(environ)
    authority_host = read.optional(
        "ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com", _https_base_url
    )
    settings = Settings(
        storage=_storage_settings(read),
        public_base_url=read.required("APP_PUBLIC_BASE_URL", _base_url, ""),
        entra_client_id=read.required("ENTRA_CLIENT_ID", _non_blank, ""),
        entra_credential=_client_credential_settings(read, authority_host),
        entra_authority_host=authority_host,
        entra_tenant=read.optional("ENTRA_TENANT", "organizations", _tenant),
        graph_base_url=read.optional(
            "GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0", _https_base_url
        ),
        key_vault_url=read.optional("KEY_VAULT_URL", None, _https_base_url),
        host_app_origins=read.required("HOST_APP_ORIGINS", _origins, ()),
        host_app_token_issuer=read.required("HOST_APP_TOKEN_ISSUER", _non_blank, ""),
        host_app_token_audience=read.required("HOST_APP_TOKEN_AUDIENCE", _non_blank, ""),
        host_app_jwks_url=read.optional("HOST_APP_JWKS_URL", None, _https_base_url),
        reconnect_interval_months=read.optional(
            "RECONNECT_INTERVAL_MONTHS", 9, _int_between(1, 24)
        ),
        reconnect_warning_days=read.optional("RECONNECT_WARNING_DAYS", 30, _int_between(1, 180)),
        maintenance_schedule=read.optional("MAINTENANCE_SCHEDULE", "0 */10 * * * *", _ncrontab),
        tls_ca_bundle=read.optional("TLS_CA_BUNDLE", None, _non_blank),
        webhook_client_state_keys=read.required("WEBHOOK_CLIENT_STATE_KEYS", _key_list, ()),
    )
    if read.problems:
        raise SettingsError(read.problems)
    return settings


class _Reader:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or not value.strip():
            return None
        if value.strip().startswith(KEY_VAULT_REFERENCE_PREFIX):
            self.problems.append(
                f"{name} is an unresolved Key Vault reference: give the app's identity the "
                "'Key Vault Secrets User' role on the vault and check the secret URI"
            )
            return None
        return value.strip()

    def required(self, name: str, parse: Callable[[str], T], placeholder: T) -> T:
        """The parsed value; when it is missing or malformed, the problem is noted and
        `placeholder` stands in until load_settings raises SettingsError."""
        value = self.raw(name)
        if value is None:
            if not any(p.startswith(f"{name} ") for p in self.problems):
                self.problems.append(f"{name} is missing")
            return placeholder
        return self._parse(name, value, parse, placeholder)

    def optional(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        value = self.raw(name)
        return default if value is None else self._parse(name, value, parse, default)

    def _parse(self, name: str, value: str, parse: Callable[[str], T], placeholder: T) -> T:
        try:
            return parse(value)
        except ValueError as error:
            self.problems.append(f"{name} {error}")
            return placeholder


def _storage_settings(read: _Reader) -> StorageSettings:
    connection_string = read.raw(STORAGE_SETTING)
    if connection_string:
        return StorageSettings(connection_string=connection_string)
    account = read.raw(f"{STORAGE_SETTING}__accountName")
    table = read.optional(f"{STORAGE_SETTING}__tableServiceUri", None, _https_base_url)
    queue = read.optional(f"{STORAGE_SETTING}__queueServiceUri", None, _https_base_url)
    if account:
        table = table or f"https://{account}.table.core.windows.net"
        queue = queue or f"https://{account}.queue.core.windows.net"
    if not (table and queue):
        read.problems.append(
            f"{STORAGE_SETTING} is missing: set a connection string, or "
            f"{STORAGE_SETTING}__accountName (or __tableServiceUri and __queueServiceUri) "
            "for a managed identity"
        )
        return StorageSettings()
    return StorageSettings(
        table_endpoint=table,
        queue_endpoint=queue,
        managed_identity_client_id=read.raw(f"{STORAGE_SETTING}__clientId"),
    )


def _client_credential_settings(
    read: _Reader, authority_host: str | None
) -> ClientCredentialSettings:
    mode = read.optional("ENTRA_CLIENT_CREDENTIAL", ClientCredentialMode.SECRET, _credential_mode)
    client_id = read.raw("ENTRA_MANAGED_IDENTITY_CLIENT_ID")
    if mode is ClientCredentialMode.MANAGED_IDENTITY and not client_id:
        read.problems.append(
            "ENTRA_MANAGED_IDENTITY_CLIENT_ID is missing: ENTRA_CLIENT_CREDENTIAL=managed_identity "
            "needs the client id of the user-assigned identity the app registration trusts"
        )
    host = urlsplit(authority_host or "").hostname or ""
    default_audience = TOKEN_EXCHANGE_AUDIENCES.get(host, GLOBAL_TOKEN_EXCHANGE_AUDIENCE)
    return ClientCredentialSettings(
        mode=mode,
        managed_identity_client_id=client_id,
        token_exchange_audience=read.optional(
            "ENTRA_TOKEN_EXCHANGE_AUDIENCE", default_audience, _non_blank
        ),
    )


def _credential_mode(value: str) -> ClientCredentialMode:
    try:
        return ClientCredentialMode(value)
    except ValueError:
        choices = ", ".join(mode.value for mode in ClientCredentialMode)
        raise ValueError(f"must be one of {choices}, got {value!r}") from None


def _non_blank(value: str) -> str:
    return value


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(value: str) -> str:
    """An absolute URL without trailing slash; plain http only on loopback (local runs)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http(s) URL, got {value!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"must use https outside loopback, got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"must not have a query or fragment, got {value!r}")
    return value.rstrip("/")


def _https_base_url(value: str) -> str:
    url = _base_url(value)
    if not url.startswith("https://"):
        raise ValueError(f"must be an https URL, got {value!r}")
    return url


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(_base_url(origin))
        if parts.path:
            raise ValueError(f"must list origins (scheme://host[:port]) only, got {origin!r}")
    if not origins:
        raise ValueError("must list at least one origin")
    return origins


def _key_list(value: str) -> tuple[tuple[str, bytes], ...]:
    try:
        return tuple(parse_keys(value))
    except ValueError as error:
        raise ValueError(f"must be kid:base64-of-32-bytes[,kid:...]: {error}") from None


def _tenant(value: str) -> str:
    if "/" in value or " " in value:
        raise ValueError(f"must be a tenant id, a domain, 'organizations' or 'common': {value!r}")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"must be a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}, got {number}")
        return number

    return parse


def _ncrontab(value: str) -> str:
    if len(value.split()) != 6:
        raise ValueError(
            f"must be an NCRONTAB expression with six fields (second first), got {value!r}"
        )
    return value
