"""The Microsoft identity platform through MSAL: sign-in (auth code + PKCE) and silent refresh.

One adapter over one SDK. Each call builds a ConfidentialClientApplication around the user's own
token cache (MSAL's recommended shape for web apps); a process-wide `http_cache` keeps MSAL from
fetching the authority's metadata again on every request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import msal
import requests

from shared.client_credential import CredentialUnavailable, MsalClientCredential
from shared.connections.model import ReconnectReason
from shared.http_session import EnvironmentOnceSession

_HTTP_TIMEOUT_SECONDS = 10

# AADSTS codes that tell why a refresh failed; any other invalid_grant (700082 expired for
# inactivity, 700084, 70008) means the sign-in has expired.
_REVOKED_CODES = {50173, 50133, 50140, 50132, 50089}  # password change, revoked, session expired
_CONSENT_CODES = {65001, 65004, 65002}
# The tenant requires assignment to the app and the user is not assigned (Entra's
# reference-error-codes: AADSTS50105). Whatever `error` it comes with (invalid_grant, or
# unauthorized_client as some reports show), it is about the user, never the app's credential.
NOT_ASSIGNED_CODE = 50105
_OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
# The token endpoint refusing the app itself (its secret or client assertion), not the user:
# an operator's problem (docs/deploy.md, Troubleshooting), never a reason to reconnect. Entra
# sends some of these as invalid_request: no federated credential matches the assertion
# (70021, 700211, 700212, 700213), or as invalid_client: a wrong or expired secret (7000215,
# 7000222), an assertion out of its time range or wrongly signed (700024, 700027).
_CLIENT_REFUSED_ERRORS = {"invalid_client", "unauthorized_client"}
_CLIENT_CREDENTIAL_CODES = {70021, 700211, 700212, 700213, 700024, 700027, 7000215, 7000222}


@dataclass(frozen=True)
class SignedIn:
    object_id: str
    tenant_id: str
    home_account_id: str
    username: str
    name: str
    access_token: str
    token_cache: str  # serialized MSAL cache: to be sealed before it is stored


@dataclass(frozen=True)
class AccessToken:
    token: str
    token_cache: str | None  # the serialized cache when MSAL changed it (refresh), else None


class SignInFailed(Exception):
    """The authorization response or the code exchange failed; codes are Entra's own."""

    def __init__(self, error: str, description: str, codes: list[int]) -> None:
        self.error, self.description, self.codes = error, description, codes
        super().__init__(f"{error}: {description}")


class RefreshRefused(Exception):
    """The identity platform refused to refresh: the user must sign in (connect) again."""

    def __init__(self, reason: ReconnectReason, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason.value}: {detail}")


class IdentityUnavailable(Exception):
    """The identity platform could not be reached or failed on its side: try again later."""


def trusting_session(ca_bundle: str | None) -> requests.Session:
    """A session that trusts `ca_bundle` (the emulator's CA) when one is configured, and reads
    the environment's proxies and CA bundle once per origin otherwise (shared/http_session.py)."""
    return EnvironmentOnceSession(ca_bundle)


def graph_scopes(graph_base_url: str) -> list[str]:
    """Delegated Graph permissions, qualified with the cloud's Graph resource.

    `offline_access` (for the refresh token) is added by MSAL itself; naming it is an error there.
    """
    parts = urlsplit(graph_base_url)
    resource = f"{parts.scheme}://{parts.netloc}"
    return [f"{resource}/User.Read", f"{resource}/Calendars.ReadWrite"]


class GraphTokenCache(msal.SerializableTokenCache):
    """MSAL's serializable cache that also files access tokens under the qualified Graph scopes
    the app asks with. Entra answers Graph's permissions in short form ("User.Read"), MSAL keeps
    that answer as the token's target, and a lookup by "https://graph.microsoft.com/User.Read"
    would never find it: every call would cost a refresh."""

    def __init__(self, graph_resource: str) -> None:
        super().__init__()
        self._graph_resource = graph_resource

    def add(self, event: dict[str, Any], **kwargs: Any) -> None:
        answered = list(event.get("scope") or [])
        short = [s for s in answered if "/" not in s and s.lower() not in _OIDC_SCOPES]
        if short:
            qualified = [f"{self._graph_resource}/{s}" for s in short]
            event = {**event, "scope": answered + qualified}
        super().add(event, **kwargs)


class IdentityClient:
    def __init__(
        self,
        *,
        client_id: str,
        client_credential: MsalClientCredential,
        authority: str,
        graph_base_url: str,
        ca_bundle: str | None = None,
        http_cache: dict[Any, Any] | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_credential = client_credential
        self._authority = authority
        self.scopes = graph_scopes(graph_base_url)
        self._graph_resource = self.scopes[0].rsplit("/", 1)[0]
        self._session = trusting_session(ca_bundle)
        self._http_cache = http_cache if http_cache is not None else {}

    def _app(
        self, cache: msal.SerializableTokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        try:
            return msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._client_credential,
                authority=self._authority,
                token_cache=cache,
                http_client=self._session,
                timeout=_HTTP_TIMEOUT_SECONDS,
                http_cache=self._http_cache,
                instance_discovery=False,  # the authority comes from settings (any cloud)
            )
        except (requests.RequestException, ValueError) as error:
            raise IdentityUnavailable(
                f"authority metadata unavailable: {type(error).__name__}"
            ) from error

    def begin_sign_in(self, redirect_uri: str, login_hint: str | None = None) -> dict[str, Any]:
        """MSAL's auth-code flow (state, nonce, PKCE verifier): keep it server side, sealed.

        form_post (MSAL's recommendation): the browser posts the code and state to the callback,
        so they never appear in a URL, a request log or Azure's request telemetry."""
        flow: dict[str, Any] = self._app().initiate_auth_code_flow(
            self.scopes,
            redirect_uri=redirect_uri,
            login_hint=login_hint,
            prompt="select_account",
            response_mode="form_post",
        )
        return flow

    def complete_sign_in(self, flow: dict[str, Any], auth_response: dict[str, str]) -> SignedIn:
        cache = GraphTokenCache(self._graph_resource)
        try:
            with _token_endpoint():
                result = self._app(cache).acquire_token_by_auth_code_flow(flow, auth_response)
        except ValueError as error:  # MSAL: state mismatch or a response to another flow
            raise SignInFailed("invalid_state", str(error), []) from error
        if _client_refused_in(result) and not _not_assigned(result):
            raise _client_refused(result)
        if "error" in result:
            raise SignInFailed(
                result["error"], result.get("error_description", ""), result.get("error_codes", [])
            )
        claims = result.get("id_token_claims", {})
        client_info = _client_info(result)
        return SignedIn(
            object_id=claims.get("oid", client_info.get("uid", "")),
            tenant_id=claims.get("tid", client_info.get("utid", "")),
            home_account_id=f"{client_info.get('uid')}.{client_info.get('utid')}",
            username=claims.get("preferred_username", ""),
            name=claims.get("name", ""),
            access_token=result["access_token"],
            token_cache=cache.serialize(),
        )

    def access_token(
        self, token_cache: str, home_account_id: str, *, force_refresh: bool = False
    ) -> AccessToken:
        """A valid access token from the cache, refreshing it with the refresh token if needed
        (always, with `force_refresh`: Graph refused the cached one)."""
        cache = GraphTokenCache(self._graph_resource)
        cache.deserialize(token_cache)
        app = self._app(cache)
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == home_account_id), None
        )
        if account is None:
            raise RefreshRefused(ReconnectReason.SIGN_IN_EXPIRED, "no cached account")
        with _token_endpoint():
            result = app.acquire_token_silent_with_error(
                self.scopes, account, force_refresh=force_refresh
            )
        if not result:
            raise RefreshRefused(ReconnectReason.SIGN_IN_EXPIRED, "no refresh token cached")
        if "error" in result:
            raise _refresh_failure(result)
        return AccessToken(
            result["access_token"], cache.serialize() if cache.has_state_changed else None
        )

    def admin_consent_url(self, tenant: str, redirect_uri: str, state: str) -> str:
        """The v2 tenant-wide admin-consent request for the app's permissions."""
        authority_host = self._authority.rsplit("/", 1)[0]
        query = urlencode(
            {
                "client_id": self._client_id,
                "scope": f"{self._graph_resource}/.default",
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{authority_host}/{tenant}/v2.0/adminconsent?{query}"


@contextmanager
def _token_endpoint() -> Iterator[None]:
    """A call to the token endpoint: unreachable, or no client credential to send, is the
    identity platform being unavailable (try again later), never the user's fault."""
    try:
        yield
    except requests.RequestException as error:
        raise IdentityUnavailable(f"token endpoint unreachable: {type(error).__name__}") from error
    except CredentialUnavailable as error:
        raise IdentityUnavailable(f"the app's client credential: {error}") from error


def _client_info(result: dict[str, Any]) -> dict[str, Any]:
    import base64

    raw = result.get("client_info")
    if not raw:
        return {}
    try:
        info: dict[str, Any] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        return info
    except ValueError:
        return {}


def _not_assigned(result: dict[str, Any]) -> bool:
    return NOT_ASSIGNED_CODE in set(result.get("error_codes") or [])


def _refresh_failure(result: dict[str, Any]) -> Exception:
    error = result.get("error", "")
    codes = set(result.get("error_codes") or [])
    detail = f"{error} {sorted(codes)}".strip()
    if _not_assigned(result):
        return RefreshRefused(ReconnectReason.NOT_ASSIGNED, detail)
    if _client_refused_in(result):
        return _client_refused(result)
    if error == "invalid_grant":
        if codes & _REVOKED_CODES:
            return RefreshRefused(ReconnectReason.ACCESS_REVOKED, detail)
        if codes & _CONSENT_CODES or result.get("suberror") == "consent_required":
            return RefreshRefused(ReconnectReason.CONSENT_REQUIRED, detail)
        return RefreshRefused(ReconnectReason.SIGN_IN_EXPIRED, detail)
    if error in ("interaction_required", "consent_required", "login_required"):
        return RefreshRefused(ReconnectReason.CONSENT_REQUIRED, detail)
    return IdentityUnavailable(f"token refresh failed: {detail}")


def _client_refused_in(result: dict[str, Any]) -> bool:
    codes = set(result.get("error_codes") or [])
    return result.get("error") in _CLIENT_REFUSED_ERRORS or bool(codes & _CLIENT_CREDENTIAL_CODES)


def _client_refused(result: dict[str, Any]) -> IdentityUnavailable:
    """Entra refused the app's secret or client assertion, e.g. AADSTS7000215 (wrong secret),
    AADSTS700024 (assertion expired), AADSTS70021 or AADSTS700211 (no federated credential
    matches the assertion): the first line of Entra's description says which."""
    description = (result.get("error_description") or "").splitlines()
    return IdentityUnavailable(
        f"the app's client credential was refused: {result.get('error')} "
        f"{result.get('error_codes') or []} {description[0] if description else ''}".strip()
    )
