"""OpenID discovery, the signing keys and the TLS every client must trust explicitly."""

import jwt
import pytest
import requests

from devtools import demo_directory
from devtools.demo_directory import CONTOSO, MANAGER

pytestmark = pytest.mark.integration


def test_multi_tenant_discovery_has_entras_tenantid_placeholder_issuer(emulator, http):
    base = emulator.authority_host
    document = http.get(f"{base}/organizations/v2.0/.well-known/openid-configuration").json()

    assert document["issuer"] == f"{base}/{{tenantid}}/v2.0"
    assert document["authorization_endpoint"] == f"{base}/organizations/oauth2/v2.0/authorize"
    assert document["token_endpoint"] == f"{base}/organizations/oauth2/v2.0/token"
    assert document["jwks_uri"] == f"{base}/organizations/discovery/v2.0/keys"
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"query", "form_post"} <= set(document["response_modes_supported"])
    assert "client_secret_post" in document["token_endpoint_auth_methods_supported"]
    assert {"openid", "profile", "offline_access"} <= set(document["scopes_supported"])


def test_tenant_discovery_names_the_tenant_by_id_even_when_asked_by_domain(emulator, http):
    base = emulator.authority_host
    document = http.get(f"{base}/{CONTOSO.domain}/v2.0/.well-known/openid-configuration").json()

    assert document["issuer"] == f"{base}/{CONTOSO.tenant_id}/v2.0"
    assert document["token_endpoint"] == f"{base}/{CONTOSO.tenant_id}/oauth2/v2.0/token"


def test_an_unknown_tenant_is_refused_like_entra_does(emulator, http):
    response = http.get(
        f"{emulator.authority_host}/11111111-2222-3333-4444-555555555555/v2.0/.well-known/"
        "openid-configuration",
        headers={"client-request-id": "my-correlation"},
    )

    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant '11111111-")
    assert body["correlation_id"] == "my-correlation"
    assert {"timestamp", "trace_id"} <= set(body)


def test_access_tokens_verify_against_the_published_keys(identity, http, emulator):
    _, result = identity.sign_in(MANAGER.user_principal_name)
    keys = http.get(f"{emulator.authority_host}/organizations/discovery/v2.0/keys").json()

    key = jwt.PyJWK(keys["keys"][0])
    claims = jwt.decode(
        result["access_token"],
        key,
        algorithms=["RS256"],
        audience=emulator.base_url,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert jwt.get_unverified_header(result["access_token"])["kid"] == keys["keys"][0]["kid"]
    assert claims["oid"] == MANAGER.object_id
    assert claims["tid"] == CONTOSO.tenant_id
    assert claims["upn"] == MANAGER.user_principal_name
    assert set(claims["scp"].split()) >= {"User.Read", "Calendars.ReadWrite"}
    assert claims["appid"] == demo_directory.APP.client_id
    assert claims["exp"] - claims["iat"] == 3600


def test_the_server_is_only_trusted_through_the_emulators_own_ca(emulator):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            f"{emulator.base_url}/organizations/v2.0/.well-known/openid-configuration",
            verify=True,
            timeout=10,
        )
    assert emulator.ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
    ok = requests.get(
        f"https://localhost:{emulator.port}/common/v2.0/.well-known/openid-configuration",
        verify=str(emulator.ca_file),
        timeout=10,
    )
    assert ok.status_code == 200
