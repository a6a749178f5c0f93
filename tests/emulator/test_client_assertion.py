"""Secretless sign-in against the emulator: the real azure-identity gets the function app's managed
identity token from the emulator's App Service identity endpoint, the real MSAL presents it as a
client assertion, and the token endpoint checks it like Entra does (managed_identity.py)."""

from __future__ import annotations

from typing import Any

import jwt
import msal
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools import demo_directory
from devtools.demo_directory import CONTOSO, FUNCTION_APP_IDENTITY, MANAGER
from shared.client_credential import CredentialUnavailable, ManagedIdentityAssertion
from tests.emulator.conftest import REDIRECT_URI

pytestmark = pytest.mark.integration

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE = "api://AzureADTokenExchange"


@pytest.fixture
def on_app_service(monkeypatch: pytest.MonkeyPatch, emulator) -> None:
    """What the Functions platform sets for an app with a managed identity, here the emulator."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", demo_directory.IDENTITY_HEADER)


def assertion_provider(emulator, client_id: str = FUNCTION_APP_IDENTITY.client_id):
    return ManagedIdentityAssertion(client_id, EXCHANGE, ca_bundle=str(emulator.ca_file))


def secretless_app(identity, emulator, cache: msal.TokenCache | None = None):
    return msal.ConfidentialClientApplication(
        demo_directory.APP.client_id,
        client_credential={"client_assertion": assertion_provider(emulator)},
        authority=f"{emulator.authority_host}/organizations",
        instance_discovery=False,
        http_client=identity.http,
        token_cache=cache,
    )


def test_azure_identity_gets_the_function_apps_identity_token(on_app_service, emulator):
    token = assertion_provider(emulator)()

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == f"{emulator.base_url}/{CONTOSO.tenant_id}/v2.0"
    assert claims["sub"] == claims["oid"] == FUNCTION_APP_IDENTITY.principal_id
    assert claims["aud"] == EXCHANGE
    assert claims["exp"] - claims["iat"] == 24 * 3600


def test_the_identity_token_is_reused_until_it_is_near_expiry(on_app_service, emulator, control):
    provider = assertion_provider(emulator)
    control.clear_requests()

    assert provider() == provider()

    calls = [r for r in control.requests() if r["path"] == "/msi/token"]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("client_id", "header", "why"),
    [
        (
            "00000000-1111-2222-3333-444444444444",
            demo_directory.IDENTITY_HEADER,
            "No User Assigned or Delegated Managed Identity found",
        ),
        (FUNCTION_APP_IDENTITY.client_id, "not-the-header", "X-IDENTITY-HEADER"),
    ],
)
def test_the_identity_endpoint_refuses_an_unknown_identity_or_header(
    monkeypatch, emulator, client_id, header, why
):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", header)

    with pytest.raises(CredentialUnavailable) as raised:
        assertion_provider(emulator, client_id)()

    assert client_id in str(raised.value)
    assert why in str(raised.value)


def test_msal_signs_in_and_refreshes_with_the_assertion_and_no_secret(
    on_app_service, identity, emulator, control
):
    cache = msal.SerializableTokenCache()
    app = secretless_app(identity, emulator, cache)
    flow = identity.begin(app, MANAGER.user_principal_name)

    result = app.acquire_token_by_auth_code_flow(flow, identity.authorize(flow))

    assert "access_token" in result, result
    assert identity.graph("/me", result["access_token"]).json()["id"] == MANAGER.object_id
    [account] = app.get_accounts()
    refreshed = app.acquire_token_silent_with_error(identity.scopes, account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]


def redeem(identity, emulator, **client_auth: str) -> Any:
    """A code redemption posted by hand, with exactly the client authentication given."""
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    code = identity.authorize(flow)["code"]
    return identity.http.post(
        f"{emulator.authority_host}/organizations/oauth2/v2.0/token",
        data={
            "client_id": demo_directory.APP.client_id,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow["code_verifier"],
            **client_auth,
        },
        timeout=10,
    )


def signed_elsewhere(claims: dict[str, Any]) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256")


def assert_entra_error(answer, status: int, error: str, code: int, text: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: {text}")
    assert {"trace_id", "correlation_id", "timestamp"} <= set(body)


def test_an_assertion_redeems_a_code_on_its_own(on_app_service, identity, emulator):
    answer = redeem(
        identity,
        emulator,
        client_assertion_type=JWT_BEARER,
        client_assertion=assertion_provider(emulator)(),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]


def test_an_expired_assertion_is_not_within_its_valid_time_range(
    on_app_service, identity, emulator, control
):
    assertion = assertion_provider(emulator)()
    control.advance_clock(24 * 3600 + 1)

    answer = redeem(
        identity, emulator, client_assertion_type=JWT_BEARER, client_assertion=assertion
    )

    assert_entra_error(
        answer, 401, "invalid_client", 700024, "Client assertion is not within its valid time range"
    )


@pytest.mark.parametrize(
    ("credentials", "code", "text"),
    [
        ([], 700211, "No matching federated identity record found for presented assertion issuer"),
        (
            [
                {
                    "name": "other",
                    "issuer_tenant_id": CONTOSO.tenant_id,
                    "subject": "6f3a0000-0000-4000-8000-000000000000",
                    "audiences": [EXCHANGE],
                }
            ],
            70021,
            "No matching federated identity record found for presented assertion. Assertion "
            "Issuer: '",
        ),
        (
            [
                {
                    "name": "usgov",
                    "issuer_tenant_id": CONTOSO.tenant_id,
                    "subject": FUNCTION_APP_IDENTITY.principal_id,
                    "audiences": ["api://AzureADTokenExchangeUSGov"],
                }
            ],
            700212,
            f"No matching federated identity record found for presented assertion audience "
            f"'{EXCHANGE}'",
        ),
    ],
    ids=["no_credential_for_the_issuer", "another_subject", "another_audience"],
)
def test_an_assertion_no_federated_credential_matches_is_refused(
    on_app_service, identity, emulator, control, credentials, code, text
):
    control.federated_credentials(credentials)

    answer = redeem(
        identity,
        emulator,
        client_assertion_type=JWT_BEARER,
        client_assertion=assertion_provider(emulator)(),
    )

    assert_entra_error(answer, 400, "invalid_request", code, text)


def test_an_assertion_signed_by_another_key_fails_signature_validation(
    on_app_service, identity, emulator
):
    genuine = jwt.decode(assertion_provider(emulator)(), options={"verify_signature": False})

    answer = redeem(
        identity,
        emulator,
        client_assertion_type=JWT_BEARER,
        client_assertion=signed_elsewhere(genuine),
    )

    assert_entra_error(
        answer, 401, "invalid_client", 700027, "Client assertion failed signature validation."
    )


@pytest.mark.parametrize(
    ("client_auth", "status", "error", "code", "text"),
    [
        (
            {"client_assertion_type": JWT_BEARER, "client_assertion": "not-a-jwt"},
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
        (
            {"client_assertion": "x.y.z"},
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_assertion_type'.",
        ),
        (
            {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                "client_assertion": "x.y.z",
            },
            400,
            "invalid_request",
            90023,
            "The client_assertion_type",
        ),
        (
            {
                "client_secret": demo_directory.APP.client_secret,
                "client_assertion_type": JWT_BEARER,
                "client_assertion": "x.y.z",
            },
            400,
            "invalid_request",
            90023,
            "The request presents both 'client_secret' and 'client_assertion'",
        ),
        (
            {},
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        ),
    ],
    ids=["not_a_jwt", "no_assertion_type", "saml_assertion", "secret_and_assertion", "neither"],
)
def test_a_malformed_or_doubled_client_authentication_is_refused(
    identity, emulator, client_auth, status, error, code, text
):
    answer = redeem(identity, emulator, **client_auth)
    assert_entra_error(answer, status, error, code, text)
