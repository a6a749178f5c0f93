from dataclasses import dataclass

import pytest
from azure.core.exceptions import ClientAuthenticationError

from shared.secrets import (
    EnvironmentSecrets,
    KeyVaultSecrets,
    SecretName,
    SecretUnavailable,
    secret_provider,
)


def test_environment_secrets_use_the_upper_case_form_of_the_vault_name():
    secrets = EnvironmentSecrets({"ENTRA_CLIENT_SECRET": "s3cret"})
    assert secrets.get(SecretName.ENTRA_CLIENT_SECRET) == "s3cret"
    with pytest.raises(SecretUnavailable, match="TOKEN_ENCRYPTION_KEYS is not set"):
        secrets.get(SecretName.TOKEN_ENCRYPTION_KEYS)


def test_an_unresolved_key_vault_reference_is_not_taken_for_the_secret():
    secrets = EnvironmentSecrets(
        {"HOST_APP_TOKEN_SECRET": "@Microsoft.KeyVault(VaultName=kv;SecretName=x)"}
    )
    with pytest.raises(SecretUnavailable, match="unresolved Key Vault reference"):
        secrets.get(SecretName.HOST_APP_TOKEN_SECRET)


@dataclass
class _Secret:
    value: str


class _VaultDouble:
    """Stands in for azure.keyvault.secrets.SecretClient: the vault cannot be reached here."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: list[str] = []

    def get_secret(self, name: str) -> _Secret:
        self.reads.append(name)
        if name not in self.values:
            raise ClientAuthenticationError("no access")
        return _Secret(self.values[name])


def test_key_vault_secrets_are_cached_then_reread_after_the_ttl():
    now = [0.0]
    vault = _VaultDouble({"entra-client-secret": "v1"})
    secrets = KeyVaultSecrets(
        "https://kv.vault.azure.net", ttl_seconds=60, clock=lambda: now[0], client=vault
    )
    assert secrets.get(SecretName.ENTRA_CLIENT_SECRET) == "v1"
    vault.values["entra-client-secret"] = "v2"
    now[0] = 59
    assert secrets.get(SecretName.ENTRA_CLIENT_SECRET) == "v1"
    now[0] = 61
    assert secrets.get(SecretName.ENTRA_CLIENT_SECRET) == "v2"
    assert vault.reads == ["entra-client-secret", "entra-client-secret"]


def test_key_vault_values_lose_the_trailing_newline_of_a_hand_set_secret():
    vault = _VaultDouble({"entra-client-secret": "s3cret\n"})
    assert (
        KeyVaultSecrets("https://kv.vault.azure.net", client=vault).get(
            SecretName.ENTRA_CLIENT_SECRET
        )
        == "s3cret"
    )


@pytest.mark.parametrize("value", ["x", "a" * 31, "\u00e9" * 15])
def test_a_host_app_signing_secret_shorter_than_32_bytes_is_refused_wherever_it_is(value):
    vault = _VaultDouble({"host-app-token-secret": value})
    for secrets in (
        EnvironmentSecrets({"HOST_APP_TOKEN_SECRET": value}),
        KeyVaultSecrets("https://kv.vault.azure.net", client=vault),
    ):
        with pytest.raises(SecretUnavailable, match="shorter than 32 bytes") as raised:
            secrets.get(SecretName.HOST_APP_TOKEN_SECRET)
        assert value not in str(raised.value)
    enough = EnvironmentSecrets({"HOST_APP_TOKEN_SECRET": "\u00e9" * 16})  # 32 bytes of UTF-8
    assert enough.get(SecretName.HOST_APP_TOKEN_SECRET) == "\u00e9" * 16


def test_key_vault_failures_name_the_secret_but_never_a_value():
    secrets = KeyVaultSecrets("https://kv.vault.azure.net", client=_VaultDouble({}))
    with pytest.raises(SecretUnavailable) as raised:
        secrets.get(SecretName.HOST_APP_TOKEN_SECRET)
    assert str(raised.value) == (
        "secret host-app-token-secret could not be read from https://kv.vault.azure.net: "
        "ClientAuthenticationError"
    )


def test_the_vault_is_used_only_when_its_url_is_set():
    assert isinstance(secret_provider(None, {}), EnvironmentSecrets)
    assert isinstance(secret_provider("https://kv.vault.azure.net", {}), KeyVaultSecrets)
