"""How the app proves itself to Entra ID: a client secret, or no secret at all.

- `secret`: the app registration's client secret (`entra-client-secret`), which expires and has to
  be rotated.
- `managed_identity`: the app registration trusts the function app's user-assigned managed
  identity through a federated identity credential (issuer `https://login.microsoftonline.com/
  {tenant}/v2.0`, subject the identity's principal id, audience `api://AzureADTokenExchange`). A
  token the identity gets for that audience is the client assertion MSAL sends wherever it would
  send the secret: code redemption and refresh alike. Nothing to store or rotate.
  Source: learn.microsoft.com/entra/workload-id/workload-identity-federation-config-app-trust-
  managed-identity ("Update your application code to request an access token").

The identity's token comes from azure-identity's ManagedIdentityCredential: in Azure Functions
from the platform's identity endpoint (IDENTITY_ENDPOINT and IDENTITY_HEADER, which the platform
sets), locally from the Graph emulator playing that endpoint (devtools/stack.py sets the same two
variables). Its MSAL cache hands back the same token until five minutes before it expires.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.secrets import SecretName, SecretProvider, SecretUnavailable
from shared.settings import ClientCredentialMode, ClientCredentialSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

# MSAL's ConfidentialClientApplication(client_credential=...): a secret, or a dict whose
# "client_assertion" is a callable MSAL invokes for each token request it sends (MSAL Python
# 1.39, application.py, "Supporting raw assertion obtained from elsewhere").
MsalClientCredential = str | dict[str, Any]


class CredentialUnavailable(Exception):
    """The app's own credential could not be had just now; the message says why, never a value."""


class ManagedIdentityAssertion:
    """A callable for MSAL: the managed identity's token for the token-exchange audience."""

    def __init__(
        self,
        client_id: str,
        audience: str,
        *,
        ca_bundle: str | None = None,
        credential: TokenCredential | None = None,
        **transport_options: Any,
    ) -> None:
        self._client_id = client_id
        self._scope = f"{audience}/.default"
        self._ca_bundle = ca_bundle
        self._options = transport_options
        self._credential = credential
        self._lock = threading.Lock()

    def __call__(self) -> str:
        from azure.core.exceptions import AzureError

        try:
            return self._managed_identity().get_token(self._scope).token
        except (AzureError, ValueError) as error:
            raise CredentialUnavailable(
                f"the managed identity {self._client_id} gave no token for {self._scope}: "
                f"{type(error).__name__}: {_first_line(error)}"
            ) from error

    def _managed_identity(self) -> TokenCredential:
        with self._lock:
            if self._credential is None:
                # Imported here so that importing the app does no credential work.
                from azure.identity import ManagedIdentityCredential

                options = dict(self._options)
                if self._ca_bundle:
                    options["connection_verify"] = self._ca_bundle  # the emulator's CA, locally
                self._credential = ManagedIdentityCredential(client_id=self._client_id, **options)
            return self._credential


def msal_client_credential(
    settings: ClientCredentialSettings,
    secrets: SecretProvider,
    *,
    ca_bundle: str | None = None,
    **transport_options: Any,
) -> MsalClientCredential:
    """What MSAL signs in with, in the configured mode (SecretUnavailable in secret mode)."""
    if settings.mode is ClientCredentialMode.SECRET:
        return secrets.get(SecretName.ENTRA_CLIENT_SECRET)
    client_id = settings.managed_identity_client_id
    if not client_id:  # load_settings refuses managed_identity without it
        raise CredentialUnavailable("ENTRA_MANAGED_IDENTITY_CLIENT_ID is not set")
    return {
        "client_assertion": ManagedIdentityAssertion(
            client_id,
            settings.token_exchange_audience,
            ca_bundle=ca_bundle,
            **transport_options,
        )
    }


def credential_problems(
    settings: ClientCredentialSettings, secrets: SecretProvider, *, ca_bundle: str | None = None
) -> list[str]:
    """Why the configured credential cannot be had now (empty when it can): for GET /api/health.

    One attempt, no retries and short timeouts, so the probe answers quickly. In managed identity
    mode the probe keeps one credential per identity, whose cache answers until the token is
    near expiry: a probe every few seconds does not ask the platform's identity endpoint each
    time (that endpoint throttles callers).
    """
    try:
        if settings.mode is ClientCredentialMode.SECRET:
            secrets.get(SecretName.ENTRA_CLIENT_SECRET)
            return []
        client_id = settings.managed_identity_client_id
        if not client_id:  # load_settings refuses managed_identity without it
            raise CredentialUnavailable("ENTRA_MANAGED_IDENTITY_CLIENT_ID is not set")
        # Keyed by the endpoint too: the credential is bound to the one it was built for.
        endpoint = os.environ.get("IDENTITY_ENDPOINT")
        _probe_assertion(client_id, settings.token_exchange_audience, ca_bundle, endpoint)()
    except (CredentialUnavailable, SecretUnavailable) as error:
        return [str(error)]
    return []


@functools.lru_cache(maxsize=4)
def _probe_assertion(
    client_id: str, audience: str, ca_bundle: str | None, _endpoint: str | None
) -> Callable[[], str]:
    return ManagedIdentityAssertion(
        client_id,
        audience,
        ca_bundle=ca_bundle,
        retry_total=0,
        connection_timeout=3,
        read_timeout=3,
    )


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:300]
