import pytest

from shared.settings import (
    ClientCredentialMode,
    ClientCredentialSettings,
    SettingsError,
    load_settings,
)

VALID = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "APP_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
    "ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "HOST_APP_ORIGINS": "https://app.example.com, http://localhost:3000",
    "HOST_APP_TOKEN_ISSUER": "https://app.example.com",
    "HOST_APP_TOKEN_AUDIENCE": "calendar-sync",
    "WEBHOOK_CLIENT_STATE_KEYS": "w2:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,"
    "w1:dGVzdC13ZWJob29rLWNsaWVudC1zdGF0ZS1rZXktMzI=",
}


def problems_for(environ: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ)
    return raised.value.problems


def test_minimal_environment_gets_global_cloud_defaults():
    settings = load_settings(VALID)
    assert settings.entra_authority == "https://login.microsoftonline.com/organizations"
    assert settings.graph_base_url == "https://graph.microsoft.com/v1.0"
    assert settings.host_app_origins == ("https://app.example.com", "http://localhost:3000")
    assert settings.reconnect_interval_months == 9
    assert settings.key_vault_url is None
    assert settings.storage.connection_string == "UseDevelopmentStorage=true"


def test_every_missing_setting_is_named_in_one_error():
    problems = problems_for({})
    for name in (
        "AzureWebJobsStorage",
        "APP_PUBLIC_BASE_URL",
        "ENTRA_CLIENT_ID",
        "HOST_APP_ORIGINS",
        "HOST_APP_TOKEN_ISSUER",
        "HOST_APP_TOKEN_AUDIENCE",
        "WEBHOOK_CLIENT_STATE_KEYS",
    ):
        assert any(p.startswith(name) for p in problems), name
    assert "- ENTRA_CLIENT_ID is missing" in str(SettingsError(problems))


def test_malformed_values_are_named_with_what_is_wrong():
    problems = problems_for(
        {
            **VALID,
            "APP_PUBLIC_BASE_URL": "http://calendar.example.com",
            "GRAPH_BASE_URL": "graph.microsoft.com",
            "RECONNECT_INTERVAL_MONTHS": "nine",
            "RECONNECT_WARNING_DAYS": "0",
            "MAINTENANCE_SCHEDULE": "*/5 * * * *",
            "HOST_APP_ORIGINS": "https://app.example.com/path",
        }
    )
    assert len(problems) == 6
    assert any("APP_PUBLIC_BASE_URL must use https outside loopback" in p for p in problems)
    assert any(p.startswith("GRAPH_BASE_URL must be an absolute") for p in problems)
    assert any(p.startswith("RECONNECT_INTERVAL_MONTHS must be a whole number") for p in problems)
    assert any(p.startswith("RECONNECT_WARNING_DAYS must be between 1 and 180") for p in problems)
    assert any(p.startswith("MAINTENANCE_SCHEDULE must be an NCRONTAB") for p in problems)
    assert any(p.startswith("HOST_APP_ORIGINS must list origins") for p in problems)


def test_unresolved_key_vault_reference_is_rejected_by_name():
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x/)"
    problems = problems_for({**VALID, "ENTRA_CLIENT_ID": reference})
    assert problems == [
        "ENTRA_CLIENT_ID is an unresolved Key Vault reference: give the app's identity the "
        "'Key Vault Secrets User' role on the vault and check the secret URI"
    ]


def test_identity_based_storage_derives_endpoints_from_the_account_name():
    environ = {k: v for k, v in VALID.items() if k != "AzureWebJobsStorage"}
    environ |= {
        "AzureWebJobsStorage__accountName": "stcalsync",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "abc",
    }
    storage = load_settings(environ).storage
    assert storage.uses_identity
    assert storage.table_endpoint == "https://stcalsync.table.core.windows.net"
    assert storage.queue_endpoint == "https://stcalsync.queue.core.windows.net"
    assert storage.managed_identity_client_id == "abc"


def test_national_cloud_storage_takes_explicit_service_uris():
    environ = {k: v for k, v in VALID.items() if k != "AzureWebJobsStorage"}
    environ |= {
        "AzureWebJobsStorage__tableServiceUri": "https://st.table.core.chinacloudapi.cn",
        "AzureWebJobsStorage__queueServiceUri": "https://st.queue.core.chinacloudapi.cn",
        "ENTRA_AUTHORITY_HOST": "https://login.chinacloudapi.cn",
        "GRAPH_BASE_URL": "https://microsoftgraph.chinacloudapi.cn/v1.0/",
    }
    settings = load_settings(environ)
    assert settings.storage.table_endpoint == "https://st.table.core.chinacloudapi.cn"
    assert settings.entra_authority == "https://login.chinacloudapi.cn/organizations"
    assert settings.graph_base_url == "https://microsoftgraph.chinacloudapi.cn/v1.0"


def test_authority_and_graph_must_be_https_even_on_loopback():
    problems = problems_for({**VALID, "ENTRA_AUTHORITY_HOST": "http://127.0.0.1:7443"})
    assert problems == ["ENTRA_AUTHORITY_HOST must be an https URL, got 'http://127.0.0.1:7443'"]


def test_the_client_secret_is_the_default_credential():
    credential = load_settings(VALID).entra_credential
    assert credential.mode is ClientCredentialMode.SECRET
    assert credential.token_exchange_audience == "api://AzureADTokenExchange"


@pytest.mark.parametrize(
    ("authority_host", "audience"),
    [
        ("https://login.microsoftonline.com", "api://AzureADTokenExchange"),
        ("https://login.microsoftonline.us", "api://AzureADTokenExchangeUSGov"),
        ("https://login.chinacloudapi.cn", "api://AzureADTokenExchangeChina"),
        ("https://127.0.0.1:7443", "api://AzureADTokenExchange"),
    ],
)
def test_managed_identity_mode_takes_the_clouds_token_exchange_audience(authority_host, audience):
    settings = load_settings(
        {
            **VALID,
            "ENTRA_AUTHORITY_HOST": authority_host,
            "ENTRA_CLIENT_CREDENTIAL": "managed_identity",
            "ENTRA_MANAGED_IDENTITY_CLIENT_ID": "6c1e1d3a-0000-4000-8000-000000000001",
        }
    )
    assert settings.entra_credential == ClientCredentialSettings(
        mode=ClientCredentialMode.MANAGED_IDENTITY,
        managed_identity_client_id="6c1e1d3a-0000-4000-8000-000000000001",
        token_exchange_audience=audience,
    )


def test_the_token_exchange_audience_can_be_set():
    settings = load_settings({**VALID, "ENTRA_TOKEN_EXCHANGE_AUDIENCE": "api://Other"})
    assert settings.entra_credential.token_exchange_audience == "api://Other"


def test_managed_identity_mode_names_the_identity_it_needs_and_unknown_modes_are_refused():
    assert problems_for({**VALID, "ENTRA_CLIENT_CREDENTIAL": "managed_identity"}) == [
        "ENTRA_MANAGED_IDENTITY_CLIENT_ID is missing: ENTRA_CLIENT_CREDENTIAL=managed_identity "
        "needs the client id of the user-assigned identity the app registration trusts"
    ]
    assert problems_for({**VALID, "ENTRA_CLIENT_CREDENTIAL": "certificate"}) == [
        "ENTRA_CLIENT_CREDENTIAL must be one of secret, managed_identity, got 'certificate'"
    ]


def test_the_webhook_keys_are_listed_first_one_signing():
    keys = load_settings(VALID).webhook_client_state_keys
    assert [kid for kid, _ in keys] == ["w2", "w1"]
    assert all(len(key) == 32 for _, key in keys)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("w1", "expected kid:base64key"),
        ("w1:c2hvcnQ=", "must be 32 bytes, got 5"),
        (
            "w1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=,w1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
            "listed twice",
        ),
    ],
)
def test_webhook_keys_that_cannot_sign_are_named_without_their_value(value, says):
    (problem,) = problems_for({**VALID, "WEBHOOK_CLIENT_STATE_KEYS": value})
    assert problem.startswith("WEBHOOK_CLIENT_STATE_KEYS must be kid:base64")
    assert says in problem
    assert "MDEy" not in problem
