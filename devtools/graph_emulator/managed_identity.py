"""Secretless sign-in: managed identity tokens, and the client assertions Entra accepts them as.

Two parts of Microsoft's platform, played by the emulator so the real azure-identity and MSAL code
paths run locally:

- App Service's identity endpoint, `GET /msi/token?api-version=2019-08-01&resource=...&client_id=`
  with the `X-IDENTITY-HEADER` header (learn.microsoft.com/azure/app-service/
  overview-managed-identity#rest-endpoint-reference). azure-identity's ManagedIdentityCredential
  calls it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set, as they are in Azure Functions.
  The token is what Entra issues a managed identity: iss `{host}/{tenant}/v2.0`, sub and oid its
  principal id, aud the requested resource.
- The token endpoint's check of a client assertion (`client_assertion_type`
  `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, RFC 7523 section 2.2) against the app
  registration's federated identity credentials (learn.microsoft.com/entra/workload-id/
  workload-identity-federation-config-app-trust-managed-identity): issuer, subject and audience
  compared exactly (case-sensitive, no wildcards), the signature checked against the issuer's
  keys, `nbf`/`exp` against the clock with no leeway (Entra documents none; the stricter reading).
  Failures carry Entra's codes: AADSTS700211 (no credential has the assertion's issuer), AADSTS70021
  (none has its issuer and subject), AADSTS700212 (none lists its audience), AADSTS700027
  (signature), AADSTS700024 (not within its valid time range), AADSTS50027 (not a JWT).
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from devtools import demo_directory
from devtools.demo_directory import FederatedCredential, ManagedIdentity
from devtools.graph_emulator.sts_errors import StsError
from devtools.graph_emulator.tokens import SigningKey
from devtools.graph_emulator.web import json_response, origin

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
API_VERSION = "2019-08-01"
IDENTITIES: tuple[ManagedIdentity, ...] = (demo_directory.FUNCTION_APP_IDENTITY,)


class FederatedCredentials:
    """The app registration's federated identity credentials; the control API can replace them."""

    def __init__(self, seed: tuple[FederatedCredential, ...]) -> None:
        self._seed = seed
        self._credentials = seed
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._credentials = self._seed

    def all(self) -> tuple[FederatedCredential, ...]:
        with self._lock:
            return self._credentials

    def replace(self, credentials: tuple[FederatedCredential, ...]) -> None:
        if len(credentials) > 20:  # "A maximum of 20 federated identity credentials"
            raise ValueError("an application takes at most 20 federated identity credentials")
        with self._lock:
            self._credentials = credentials


# --- the identity endpoint ------------------------------------------------------------------


def identity_endpoint(request: Request, key: SigningKey, now: float, lifetime: int) -> Response:
    """App Service's `/msi/token`: a token for the identity `client_id` names."""
    if request.headers.get("X-IDENTITY-HEADER") != demo_directory.IDENTITY_HEADER:
        return _endpoint_error(401, "The X-IDENTITY-HEADER header is missing or wrong.")
    if request.args.get("api-version") != API_VERSION:
        return _endpoint_error(400, f"api-version must be {API_VERSION}.")
    resource = request.args.get("resource")
    if not resource:
        return _endpoint_error(400, "The resource parameter is required.")
    identity = _identity(request.args)
    if identity is None:
        return _endpoint_error(
            400,
            "No User Assigned or Delegated Managed Identity found for specified "
            "ClientId/ResourceId/PrincipalId.",
        )
    issued = int(now)
    expires = issued + lifetime
    token = key.sign(
        {
            "aud": resource,
            "iss": f"{origin(request)}/{identity.tenant_id}/v2.0",
            "sub": identity.principal_id,
            "oid": identity.principal_id,
            "tid": identity.tenant_id,
            "azp": identity.client_id,
            "appid": identity.client_id,
            "idtyp": "app",
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "uti": uuid.uuid4().hex,
            "ver": "2.0",
        }
    )
    return json_response(
        {
            "access_token": token,
            "expires_on": str(expires),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": identity.client_id,
        }
    )


def _identity(args: Any) -> ManagedIdentity | None:
    """Only a user-assigned identity named by client_id or principal id: the function app has no
    system-assigned one, and a federated credential can only trust a user-assigned identity."""
    client_id, object_id = args.get("client_id"), args.get("object_id") or args.get("principal_id")
    return next(
        (
            identity
            for identity in IDENTITIES
            if (client_id and client_id.lower() == identity.client_id)
            or (object_id and object_id.lower() == identity.principal_id)
        ),
        None,
    )


def _endpoint_error(status: int, message: str) -> Response:
    return json_response({"statusCode": status, "message": message}, status=status)


# --- client assertions at the token endpoint --------------------------------------------------


def check_client_assertion(
    form: dict[str, str],
    credentials: tuple[FederatedCredential, ...],
    key: SigningKey,
    issuer_host: str,
    now: float,
) -> None:
    """Raise Entra's error unless the assertion matches a federated credential and holds now."""
    assertion_type = form.get("client_assertion_type")
    if not assertion_type:
        raise StsError(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_assertion_type'.",
        )
    if assertion_type != JWT_BEARER:
        raise StsError(
            "invalid_request",
            90023,
            f"The client_assertion_type '{assertion_type}' is not supported; use '{JWT_BEARER}'.",
        )
    claims = _unverified_claims(form["client_assertion"])
    issuer, subject, audiences = claims.get("iss"), claims.get("sub"), _audiences(claims)
    trusted = [c for c in credentials if f"{issuer_host}/{c.issuer_tenant_id}/v2.0" == issuer]
    if not trusted:
        raise StsError(
            "invalid_request",
            700211,
            f"No matching federated identity record found for presented assertion issuer "
            f"'{issuer}'. Please note that the matching is done using a case-sensitive "
            "comparison. Please check your federated identity credential Subject, Audience and "
            "Issuer against the presented assertion.",
        )
    about = [c for c in trusted if c.subject == subject]
    if not about:
        raise StsError(
            "invalid_request",
            70021,
            f"No matching federated identity record found for presented assertion. Assertion "
            f"Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: "
            f"'{','.join(audiences)}'.",
        )
    if not any(set(audiences) & set(c.audiences) for c in about):
        raise StsError(
            "invalid_request",
            700212,
            f"No matching federated identity record found for presented assertion audience "
            f"'{','.join(audiences)}'.",
        )
    try:  # the issuer is the emulator itself: its JWKS key signs managed identity tokens
        key.verify_signature(form["client_assertion"])
    except jwt.PyJWTError as error:
        raise StsError(
            "invalid_client", 700027, "Client assertion failed signature validation.", status=401
        ) from error
    not_before, expires = claims.get("nbf", claims.get("iat", 0)), claims.get("exp", 0)
    if not (not_before <= now < expires):
        raise StsError(
            "invalid_client",
            700024,
            f"Client assertion is not within its valid time range. Current time: {_iso(now)}, "
            f"assertion valid from {_iso(not_before)}, expiry time of assertion {_iso(expires)}. "
            "Review the documentation at "
            "https://docs.microsoft.com/azure/active-directory/develop/"
            "active-directory-certificate-credentials .",
            status=401,
        )


def _unverified_claims(assertion: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise StsError("invalid_request", 50027, "JWT token is invalid or malformed.") from error
    return claims


def _audiences(claims: dict[str, Any]) -> list[str]:
    audience = claims.get("aud")
    if isinstance(audience, list):
        return [str(a) for a in audience]
    return [str(audience)] if audience else []


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
