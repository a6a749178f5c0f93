"""Errors of the Microsoft identity platform (Entra's STS) in the shapes Entra sends them.

Token endpoint: JSON `error`, `error_description` ("AADSTSnnnn: ...\\r\\nTrace ID: ...\\r\\n
Correlation ID: ...\\r\\nTimestamp: ..."), `error_codes`, `timestamp`, `trace_id`,
`correlation_id`, `error_uri`, and `suberror` for some. Authorization endpoint: the same
`error`/`error_description` as query parameters of the redirect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class StsError(Exception):
    error: str  # the OAuth error, e.g. invalid_grant
    code: int  # the AADSTS number
    message: str
    status: int = 400
    suberror: str | None = None  # token endpoint only, e.g. consent_required
    error_subcode: str | None = None  # authorization redirect only, e.g. cancel

    def __str__(self) -> str:
        return f"{self.error}: AADSTS{self.code}: {self.message}"


@dataclass(frozen=True)
class Trace:
    """What Entra stamps on every error: its own trace id, the caller's correlation id, a time."""

    trace_id: str
    correlation_id: str
    at: datetime

    @property
    def timestamp(self) -> str:
        return self.at.strftime("%Y-%m-%d %H:%M:%SZ")


def error_description(error: StsError, trace: Trace) -> str:
    return (
        f"AADSTS{error.code}: {error.message}\r\nTrace ID: {trace.trace_id}\r\n"
        f"Correlation ID: {trace.correlation_id}\r\nTimestamp: {trace.timestamp}"
    )


def token_error_body(error: StsError, trace: Trace, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "error": error.error,
        "error_description": error_description(error, trace),
        "error_codes": [error.code],
        "timestamp": trace.timestamp,
        "trace_id": trace.trace_id,
        "correlation_id": trace.correlation_id,
        "error_uri": f"{base_url}/error?code={error.code}",
    }
    if error.suberror:
        body["suberror"] = error.suberror
    return body


def redirect_error_params(error: StsError, trace: Trace) -> dict[str, str]:
    params = {"error": error.error}
    if error.error_subcode:
        params["error_subcode"] = error.error_subcode
    params["error_description"] = error_description(error, trace)
    return params


# --- the errors the emulator raises, by Entra's codes --------------------------------------


def missing_parameter(name: str) -> StsError:
    return StsError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def tenant_not_found(tenant: str) -> StsError:
    return StsError(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
        "signing into the correct cloud. Check with your subscription administrator, this may "
        "happen if there are no active subscriptions for the tenant.",
    )


def unknown_client(client_id: str, tenant: str) -> StsError:
    return StsError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You may have sent your authentication "
        "request to the wrong tenant.",
    )


def redirect_uri_mismatch(redirect_uri: str, client_id: str) -> StsError:
    return StsError(
        "invalid_request",
        50011,
        f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
        f"URIs configured for the application '{client_id}'. Make sure the redirect URI sent in "
        "the request matches one added to your application in the Azure portal. Navigate to "
        "https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
    )


def invalid_scope(scope: str) -> StsError:
    return StsError(
        "invalid_scope",
        70011,
        f"The provided value for the input parameter 'scope' is not valid. The scope '{scope}' "
        "does not exist.",
    )


def unknown_resource(resource: str, tenant: str) -> StsError:
    return StsError(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}. "
        "This can happen if the application has not been installed by the administrator of the "
        "tenant or consented to by any user in the tenant. You might have sent your "
        "authentication request to the wrong tenant.",
    )


def consent_declined() -> StsError:
    return StsError(
        "access_denied",
        65004,
        "User declined to consent to access the app.",
        error_subcode="cancel",
    )


def admin_approval_required() -> StsError:
    return StsError("consent_required", 90094, "The grant requires admin permission.")


def consent_missing(client_id: str, app_name: str) -> StsError:
    return StsError(
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{app_name}'. Send an interactive authorization request for this "
        "user and resource.",
        suberror="consent_required",
    )


def not_assigned(app_name: str, client_id: str, user_name: str) -> StsError:
    """The tenant requires assignment and the user is neither assigned nor a direct member of an
    assigned group (reference-error-codes: AADSTS50105 EntitlementGrantsNotFound; the wording is
    Entra's sign-in page's)."""
    return StsError(
        "invalid_grant",
        50105,
        f"Your administrator has configured the application {app_name} ('{client_id}') to block "
        "users unless they are specifically granted ('assigned') access to the application. The "
        f"signed in user '{user_name}' is blocked because they are not a direct member of a "
        "group with access, nor had access directly assigned by an administrator. Please "
        "contact your administrator to assign access to this application.",
    )
