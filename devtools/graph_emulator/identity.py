"""The Microsoft identity platform's v2 endpoints, as MSAL for Python 1.39 uses them.

- `GET /{tenant}/v2.0/.well-known/openid-configuration`, `GET /{tenant}/discovery/v2.0/keys`
- `GET|POST /{tenant}/oauth2/v2.0/authorize`: auth code + PKCE; `login_hint` signs that seeded
  user in (consenting for them), without it a page lists the seeded accounts
- `POST /{tenant}/oauth2/v2.0/token`: `authorization_code` and `refresh_token` grants, client
  secret in the body or HTTP Basic, or a client assertion from the app's managed identity
  (managed_identity.py)
- `GET /msi/token`: App Service's managed identity endpoint (managed_identity.py)
- `GET /{tenant}/v2.0/adminconsent`: tenant-wide admin consent
- `GET /{tenant}/oauth2/v2.0/logout`, `GET /common/discovery/instance`, `GET /error?code=`

`{tenant}` is `organizations`, `common`, a tenant id or a tenant's verified domain.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator import managed_identity, pages, sts_errors
from devtools.graph_emulator.consent import (
    AdminConsentOutcome,
    GraphResource,
    ScopeRequest,
    SignInOutcome,
    admin_only,
    parse_scopes,
)
from devtools.graph_emulator.directory import DirectoryUser, Tenant
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.sts_errors import StsError, Trace
from devtools.graph_emulator.tokens import (
    AUTHORIZATION_CODE_LIFETIME,
    AuthorizationCode,
    Issuance,
    b64url,
    client_info,
    mint_access_token,
    mint_id_token,
)
from devtools.graph_emulator.web import html_response, json_response, loopback_origins, origin

MULTI_TENANT = ("organizations", "common")
_PROMPTS = {"login", "none", "consent", "select_account", "create"}
_RESPONSE_MODES = {"query", "fragment", "form_post"}
_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}

_SIGN_IN_OUTCOMES = {
    SignInOutcome.CONSENT_DECLINED: sts_errors.consent_declined,
    SignInOutcome.ADMIN_APPROVAL_REQUIRED: sts_errors.admin_approval_required,
    SignInOutcome.SERVER_ERROR: lambda: StsError(
        "server_error",
        50000,
        "There was an error issuing a token or an issue with our sign-in service.",
    ),
}


@dataclass(frozen=True)
class Authority:
    segment: str  # as written in the path
    tenant: Tenant | None  # None for organizations/common

    @property
    def label(self) -> str:
        return self.tenant.tenant_id if self.tenant else self.segment


class IdentityApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._map = Map(
            [
                Rule("/", endpoint="index"),
                Rule("/error", endpoint="error_lookup"),
                Rule("/common/discovery/instance", endpoint="instance_discovery"),
                Rule("/msi/token", endpoint="managed_identity_token"),
                Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery"),
                Rule("/<tenant>/discovery/v2.0/keys", endpoint="jwks"),
                Rule(
                    "/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET", "POST"]
                ),
                Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["GET", "POST"]),
                Rule("/<tenant>/v2.0/adminconsent", endpoint="admin_consent"),
                Rule("/<tenant>/adminconsent", endpoint="admin_consent"),
                Rule("/<tenant>/oauth2/v2.0/logout", endpoint="logout", methods=["GET", "POST"]),
            ],
            strict_slashes=False,
        )

    def handle(self, request: Request) -> Response:
        trace = Trace(
            trace_id=str(uuid.uuid4()),
            correlation_id=request.headers.get("client-request-id") or str(uuid.uuid4()),
            at=self._state.clock.now_utc(),
        )
        fault = self._state.faults.take(request.method, request.path, after_the_work=False)
        if fault is not None:
            response = self._json_error(request, fault.sts_error(), trace)
            response.headers.update(fault.headers())
            return response
        try:
            endpoint, values = self._map.bind("emulator").match(request.path, request.method)
        except HTTPException as error:
            return html_response(pages.error_page(f"{error.code} {error.name}"), error.code or 404)
        handler = getattr(self, f"_{endpoint}")
        return handler(request, trace, **values)

    # --- discovery ------------------------------------------------------------------------

    def _index(self, request: Request, trace: Trace) -> Response:
        base = origin(request)
        return json_response(
            {
                "authority_host": base,
                "graph_base_url": f"{base}/v1.0",
                "openid_configuration": (
                    f"{base}/organizations/v2.0/.well-known/openid-configuration"
                ),
                "control_api": f"{base}/_emulator/directory",
            }
        )

    def _discovery(self, request: Request, trace: Trace, tenant: str) -> Response:
        try:
            authority = self._authority(tenant)
        except StsError as error:
            return self._json_error(request, error, trace)
        base = origin(request)
        path = f"{base}/{authority.tenant.tenant_id if authority.tenant else authority.segment}"
        issuer_tenant = authority.tenant.tenant_id if authority.tenant else "{tenantid}"
        host = request.host
        return json_response(
            {
                "token_endpoint": f"{path}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{path}/discovery/v2.0/keys",
                "response_modes_supported": sorted(_RESPONSE_MODES),
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{issuer_tenant}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{path}/oauth2/v2.0/authorize",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{path}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "oid",
                    "email",
                ],
                "code_challenge_methods_supported": ["S256", "plain"],
                "tenant_region_scope": "EU" if authority.tenant else None,
                "cloud_instance_name": host,
                "cloud_graph_host_name": host,
                "msgraph_host": host,
            }
        )

    def _jwks(self, request: Request, trace: Trace, tenant: str) -> Response:
        try:
            authority = self._authority(tenant)
        except StsError as error:
            return self._json_error(request, error, trace)
        issuer_tenant = authority.tenant.tenant_id if authority.tenant else "{tenantid}"
        issuer = f"{origin(request)}/{issuer_tenant}/v2.0"
        return json_response({"keys": [self._state.signing_key.jwk(issuer)]})

    def _instance_discovery(self, request: Request, trace: Trace) -> Response:
        """What MSAL asks when `instance_discovery=` names this server's discovery URL."""
        endpoint = urlsplit(request.args.get("authorization_endpoint", ""))
        tenant = (endpoint.path.strip("/").split("/") or ["organizations"])[0] or "organizations"
        host = endpoint.hostname or request.host.rpartition(":")[0]
        return json_response(
            {
                "tenant_discovery_endpoint": f"{origin(request)}/{tenant}/v2.0/.well-known/"
                "openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                ],
            }
        )

    def _managed_identity_token(self, request: Request, trace: Trace) -> Response:
        state = self._state
        return managed_identity.identity_endpoint(
            request,
            state.signing_key,
            state.clock.now(),
            state.settings.managed_identity_token_lifetime,
        )

    def _error_lookup(self, request: Request, trace: Trace) -> Response:
        code = request.args.get("code", "")
        return html_response(pages.error_page(f"AADSTS{code}: see Microsoft's error reference."))

    def _logout(self, request: Request, trace: Trace, tenant: str) -> Response:
        target = request.values.get("post_logout_redirect_uri")
        if target:
            return Response(status=302, headers={"Location": target})
        return html_response(pages.error_page("You signed out of your account."))

    # --- authorize ------------------------------------------------------------------------

    def _authorize(self, request: Request, trace: Trace, tenant: str) -> Response:
        params = {k: v for k, v in request.values.items(multi=False)}
        try:
            authority = self._authority(tenant)
            redirect_uri = self._checked_client_and_redirect(params, authority)
        except StsError as error:
            return self._error_page(error, trace)
        state = params.get("state")
        mode = params.get("response_mode", "query")
        if mode not in _RESPONSE_MODES:
            return self._redirect_error(
                redirect_uri,
                "query",
                state,
                trace,
                StsError(
                    "invalid_request",
                    70007,
                    f"The app returned an unsupported value of "
                    f"response_mode '{params['response_mode']}'.",
                ),
            )
        try:
            user, scopes, prompt = self._checked_authorization_request(request, params, authority)
        except StsError as error:
            return self._redirect_error(redirect_uri, mode, state, trace, error)
        if user is None:
            notice = None
            hint = params.get("login_hint")
            if hint:
                notice = (
                    f"AADSTS50034: The user account {hint} does not exist in the "
                    f"'{authority.label}' directory. To sign into this application, the account "
                    "must be added to the directory."
                )
            if prompt == "none":
                return self._redirect_error(
                    redirect_uri,
                    mode,
                    state,
                    trace,
                    StsError(
                        "login_required",
                        50058,
                        "A silent sign-in request was sent but no user is signed in.",
                    ),
                )
            params.pop("login_hint", None)
            return self._picker(request, params, authority, notice)
        if authority.tenant and user.tenant_id != authority.tenant.tenant_id:
            return self._error_page(self._not_in_tenant(user, authority.tenant), trace)
        try:
            self._check_assigned(user)
        except StsError as error:
            # Entra shows AADSTS50105 on its own page: the browser is not sent back to the app,
            # which only sees that the person never returned (assignment.py).
            return self._error_page(error, trace)

        outcome = self._state.consents.take_next_sign_in(user.object_id)
        if outcome is not None:
            return self._redirect_error(
                redirect_uri, mode, state, trace, _SIGN_IN_OUTCOMES[outcome]()
            )
        try:
            self._ensure_consent(user, scopes, prompt)
        except StsError as error:
            return self._redirect_error(redirect_uri, mode, state, trace, error)

        now = self._state.clock.now()
        code = self._state.codes.issue(
            AuthorizationCode(
                client_id=self._state.app.client_id,
                redirect_uri=redirect_uri,
                user=user,
                scopes=scopes,
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method", "plain"),
                nonce=params.get("nonce"),
                expires_at=now + AUTHORIZATION_CODE_LIFETIME,
                auth_time=now if params.get("max_age") is not None else None,
            )
        )
        answer = {"code": code}
        if params.get("client_info") == "1":
            answer["client_info"] = client_info(user)
        if state is not None:
            answer["state"] = state
        answer["session_state"] = str(uuid.uuid4())
        return self._redirect(redirect_uri, mode, answer)

    def _checked_client_and_redirect(self, params: dict[str, str], authority: Authority) -> str:
        """Errors here are shown on Entra's own page: the redirect URI is not trusted yet."""
        client_id = params.get("client_id")
        if not client_id:
            raise sts_errors.missing_parameter("client_id")
        if client_id != self._state.app.client_id:
            raise sts_errors.unknown_client(client_id, authority.label)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise StsError("invalid_request", 900971, "No reply address provided.")
        if not redirect_uri_allowed(redirect_uri, self._state.settings.redirect_uris):
            raise sts_errors.redirect_uri_mismatch(redirect_uri, client_id)
        return redirect_uri

    def _checked_authorization_request(
        self, request: Request, params: dict[str, str], authority: Authority
    ) -> tuple[DirectoryUser | None, ScopeRequest, str | None]:
        response_type = params.get("response_type")
        if not response_type:
            raise sts_errors.missing_parameter("response_type")
        if set(response_type.split()) != {"code"}:
            raise StsError(
                "unsupported_response_type",
                700054 if "id_token" in response_type else 70005,
                f"response_type '{response_type}' is not enabled for the application.",
            )
        raw_scope = params.get("scope")
        if not raw_scope:
            raise sts_errors.missing_parameter("scope")
        scopes = self._parse_scopes(request, raw_scope, authority)
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if method and method not in ("S256", "plain"):
            raise StsError(
                "invalid_request", 501491, f"Invalid code_challenge_method '{method}': use S256."
            )
        if method and not challenge:
            raise sts_errors.missing_parameter("code_challenge")
        if challenge and not 43 <= len(challenge) <= 128:
            raise StsError("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
        prompt = params.get("prompt")
        if prompt and prompt not in _PROMPTS:
            raise StsError("invalid_request", 90023, f"Invalid prompt value '{prompt}'.")
        hint = params.get("login_hint")
        user = self._state.directory.user_by_sign_in_name(hint) if hint else None
        return user, scopes, prompt

    def _ensure_consent(
        self, user: DirectoryUser, scopes: ScopeRequest, prompt: str | None
    ) -> None:
        """Consent as the signed-in user would: accept, unless only an admin may grant it."""
        consents, client_id = self._state.consents, self._state.app.client_id
        granted = consents.granted(user.tenant_id, user.object_id, client_id)
        missing = scopes.permissions if prompt == "consent" else scopes.permissions - granted
        if not missing:
            return
        blocked = admin_only(missing) or not consents.user_consent_allowed(user.tenant_id)
        if blocked and not user.tenant_admin:
            raise sts_errors.admin_approval_required()
        if prompt == "none":
            raise StsError(
                "interaction_required",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{client_id}' named '{self._state.app.display_name}'. Send an interactive "
                "authorization request for this user and resource.",
            )
        consents.grant_user(user.tenant_id, user.object_id, client_id, missing)

    def _picker(
        self, request: Request, params: dict[str, str], authority: Authority, notice: str | None
    ) -> Response:
        directory = self._state.directory
        users = directory.users(authority.tenant.tenant_id if authority.tenant else None)
        names = {t.tenant_id: t.name for t in directory.tenants()}
        return html_response(pages.account_picker(request.base_url, params, users, names, notice))

    # --- token ------------------------------------------------------------------------------

    def _token(self, request: Request, trace: Trace, tenant: str) -> Response:
        try:
            if request.method != "POST":
                raise StsError(
                    "invalid_request",
                    900561,
                    f"The endpoint only accepts POST, OPTIONS "
                    f"requests. Received a {request.method} request.",
                )
            authority = self._authority(tenant)
            form = {k: v for k, v in request.form.items(multi=False)}
            grant_type = form.get("grant_type")
            if not grant_type:
                raise sts_errors.missing_parameter("grant_type")
            self._authenticate_client(request, form, authority)
            if grant_type == "authorization_code":
                body = self._redeem_code(request, form, authority)
            elif grant_type == "refresh_token":
                body = self._redeem_refresh_token(request, form, authority)
            else:
                raise StsError(
                    "unsupported_grant_type",
                    70003,
                    f"The app requested an unsupported grant type '{grant_type}'.",
                )
        except StsError as error:
            return self._json_error(request, error, trace)
        return json_response(body, headers=_NO_STORE | {"client-request-id": trace.correlation_id})

    def _authenticate_client(
        self, request: Request, form: dict[str, str], authority: Authority
    ) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = unquote_plus(request.authorization.username or "") or client_id
            secret = unquote_plus(request.authorization.password or "") or secret
        if not client_id:
            raise sts_errors.missing_parameter("client_id")
        app = self._state.app
        if client_id != app.client_id:
            raise sts_errors.unknown_client(client_id, authority.label)
        if form.get("client_assertion"):
            if secret:
                # One authentication method a request (RFC 6749 section 2.3); Entra documents no
                # code of its own for this, so the generic InvalidRequest one.
                raise StsError(
                    "invalid_request",
                    90023,
                    "The request presents both 'client_secret' and 'client_assertion'; "
                    "send only one.",
                )
            managed_identity.check_client_assertion(
                form,
                self._state.federated_credentials.all(),
                self._state.signing_key,
                origin(request),
                self._state.clock.now(),
            )
            return
        if not secret:
            raise StsError(
                "invalid_client",
                7000218,
                "The request body must contain the following "
                "parameter: 'client_assertion' or 'client_secret'.",
                status=401,
            )
        if secret != app.client_secret:
            raise StsError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value, not the client secret ID, "
                f"for a secret added to app '{app.client_id}'.",
                status=401,
            )

    def _redeem_code(
        self, request: Request, form: dict[str, str], authority: Authority
    ) -> dict[str, Any]:
        code = form.get("code")
        if not code:
            raise sts_errors.missing_parameter("code")
        now = self._state.clock.now()
        grant = self._state.codes.find(code, now)
        self._check_tenant(authority, grant.user)
        self._check_assigned(grant.user)  # un-assigned between authorize and redemption
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise sts_errors.missing_parameter("redirect_uri")
        if redirect_uri != grant.redirect_uri:
            raise StsError(
                "invalid_grant",
                500112,
                f"The reply address '{redirect_uri}' does not match the "
                f"reply address '{grant.redirect_uri}' provided when requesting Authorization "
                "code.",
            )
        if grant.code_challenge and not _pkce_matches(
            form.get("code_verifier"), grant.code_challenge, grant.code_challenge_method
        ):
            raise StsError(
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
        if not self._state.codes.consume(code):
            self._state.codes.find(code, now)  # raises: redeemed a moment ago
        return self._token_body(
            request, grant.user, grant.scopes, form, nonce=grant.nonce, auth_time=grant.auth_time
        )

    def _redeem_refresh_token(
        self, request: Request, form: dict[str, str], authority: Authority
    ) -> dict[str, Any]:
        token = form.get("refresh_token")
        if not token:
            raise sts_errors.missing_parameter("refresh_token")
        state, app = self._state, self._state.app
        grant = state.refresh_tokens.redeem(token, app.client_id, state.clock.now())
        self._check_tenant(authority, grant.user)
        self._check_assigned(grant.user)
        scopes = (
            self._parse_scopes(request, form["scope"], authority)
            if form.get("scope")
            else grant.scopes
        )
        granted = state.consents.granted(grant.user.tenant_id, grant.user.object_id, app.client_id)
        if not granted or not scopes.permissions <= granted:
            raise sts_errors.consent_missing(app.client_id, app.display_name)
        return self._token_body(request, grant.user, scopes, form, nonce=None, auth_time=None)

    def _token_body(
        self,
        request: Request,
        user: DirectoryUser,
        scopes: ScopeRequest,
        form: dict[str, str],
        *,
        nonce: str | None,
        auth_time: float | None,
    ) -> dict[str, Any]:
        state, app = self._state, self._state.app
        granted = state.consents.granted(user.tenant_id, user.object_id, app.client_id)
        lifetime = state.settings.access_token_lifetime
        issuance = Issuance(
            user=user,
            client_id=app.client_id,
            app_name=app.display_name,
            scopes=scopes,
            granted=granted,
            nonce=nonce,
            now=state.clock.now(),
            access_token_lifetime=lifetime,
            auth_time=auth_time,
        )
        issuer_host = origin(request)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": answered_scope(granted, scopes.oidc),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": mint_access_token(state.signing_key, issuance, issuer_host),
        }
        if "offline_access" in scopes.oidc:
            body["refresh_token"] = state.refresh_tokens.issue(
                app.client_id, user, scopes, issuance.now
            )
        if "openid" in scopes.oidc:
            body["id_token"] = mint_id_token(state.signing_key, issuance, issuer_host)
        if form.get("client_info") == "1":
            body["client_info"] = client_info(user)
        return body

    # --- admin consent ------------------------------------------------------------------------

    def _admin_consent(self, request: Request, trace: Trace, tenant: str) -> Response:
        params = {k: v for k, v in request.args.items(multi=False)}
        try:
            authority = self._authority(tenant)
            redirect_uri = self._checked_client_and_redirect(params, authority)
        except StsError as error:
            return self._error_page(error, trace)
        state = params.get("state")

        def answer(values: dict[str, str]) -> Response:
            ordered = {"admin_consent": "True", **values}
            if state is not None:
                ordered["state"] = state
            return self._redirect(redirect_uri, "query", ordered)

        try:
            raw_scope = params.get("scope")
            if not raw_scope:
                raise sts_errors.missing_parameter("scope")
            scopes = self._parse_scopes(request, raw_scope, authority)
        except StsError as error:
            return answer(sts_errors.redirect_error_params(error, trace))

        admin = self._signing_in_admin(params.get("login_hint"), authority)
        if admin is None:
            directory = self._state.directory
            admins = [u for u in directory.users() if u.tenant_admin]
            names = {t.tenant_id: t.name for t in directory.tenants()}
            params.pop("login_hint", None)
            return html_response(
                pages.account_picker(
                    request.base_url, params, admins, names, heading="Sign in as an administrator"
                )
            )
        if authority.tenant and admin.tenant_id != authority.tenant.tenant_id:
            return self._error_page(self._not_in_tenant(admin, authority.tenant), trace)
        if not admin.tenant_admin:
            return answer(
                sts_errors.redirect_error_params(
                    StsError(
                        "access_denied",
                        90093,
                        "Calling principal cannot consent due to lack of permissions.",
                    ),
                    trace,
                )
            )
        outcome = self._state.consents.take_next_admin_consent(admin.tenant_id)
        if outcome is AdminConsentOutcome.DECLINED:
            declined = StsError(
                "consent_required",
                65004,
                "The resource owner or authorization server denied the request.",
            )
            return answer(sts_errors.redirect_error_params(declined, trace))
        self._state.consents.grant_tenant(
            admin.tenant_id, self._state.app.client_id, scopes.permissions
        )
        return answer(
            {
                "tenant": admin.tenant_id,
                "scope": " ".join(sorted(scopes.spell(p) for p in scopes.permissions)),
            }
        )

    def _signing_in_admin(self, hint: str | None, authority: Authority) -> DirectoryUser | None:
        directory = self._state.directory
        if hint:
            return directory.user_by_sign_in_name(hint)
        if authority.tenant:
            return next(
                (u for u in directory.users(authority.tenant.tenant_id) if u.tenant_admin), None
            )
        return None

    # --- shared -------------------------------------------------------------------------------

    def _authority(self, segment: str) -> Authority:
        if segment.lower() in MULTI_TENANT:
            return Authority(segment.lower(), None)
        tenant = self._state.directory.tenant(segment)
        if tenant is None:
            raise sts_errors.tenant_not_found(segment)
        return Authority(segment, tenant)

    def _parse_scopes(self, request: Request, raw: str, authority: Authority) -> ScopeRequest:
        graph = GraphResource.for_origins(*loopback_origins(request))
        return parse_scopes(raw, graph, self._state.app, authority.label)

    def _check_tenant(self, authority: Authority, user: DirectoryUser) -> None:
        if authority.tenant and authority.tenant.tenant_id != user.tenant_id:
            raise StsError(
                "invalid_grant",
                700005,
                "Provided Authorization Code is intended to use against "
                "other tenant, thus rejected.",
            )

    def _check_assigned(self, user: DirectoryUser) -> None:
        state = self._state
        groups = state.directory.groups_of(user.object_id)
        if not state.assignments.allows(user.tenant_id, user.object_id, groups):
            raise sts_errors.not_assigned(
                state.app.display_name, state.app.client_id, user.user_principal_name or user.mail
            )

    def _not_in_tenant(self, user: DirectoryUser, tenant: Tenant) -> StsError:
        home = self._state.directory.tenant(user.tenant_id)
        return StsError(
            "invalid_request",
            50020,
            f"User account '{user.user_principal_name}' from identity provider "
            f"'https://sts.windows.net/{home.tenant_id if home else user.tenant_id}/' does not "
            f"exist in tenant '{tenant.name}' and cannot access the application "
            f"'{self._state.app.client_id}'({self._state.app.display_name}) in that tenant. The "
            "account needs to be added as an external user in the tenant first. Sign out and "
            "sign in again with a different Azure Active Directory user account.",
        )

    def _json_error(self, request: Request, error: StsError, trace: Trace) -> Response:
        return json_response(
            sts_errors.token_error_body(error, trace, origin(request)),
            status=error.status,
            headers=_NO_STORE | {"client-request-id": trace.correlation_id},
        )

    def _error_page(self, error: StsError, trace: Trace) -> Response:
        return html_response(
            pages.error_page(sts_errors.error_description(error, trace)), status=400
        )

    def _redirect_error(
        self, redirect_uri: str, mode: str, state: str | None, trace: Trace, error: StsError
    ) -> Response:
        params = sts_errors.redirect_error_params(error, trace)
        if state is not None:
            params["state"] = state
        return self._redirect(redirect_uri, mode, params)

    def _redirect(self, redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
        if mode == "form_post":
            return html_response(pages.form_post(redirect_uri, params))
        parts = urlsplit(redirect_uri)
        if mode == "fragment":
            location = urlunsplit(parts._replace(fragment=urlencode(params)))
        else:
            query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
            location = urlunsplit(parts._replace(query=urlencode(query)))
        return Response(status=302, headers={"Location": location})


def redirect_uri_allowed(uri: str, registered: tuple[str, ...]) -> bool:
    """Exact match, `*` wildcards, and Entra's exception: any port for http loopback URIs."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        return False
    for candidate in registered:
        if "*" in candidate:
            host = urlsplit(candidate.replace("*", "0")).hostname
            if fnmatchcase(uri, candidate) and parts.hostname == host:
                return True
        elif uri == candidate:
            return True
        elif parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"):
            other = urlsplit(candidate)
            if (other.scheme, other.hostname, other.path or "/") == (
                "http",
                parts.hostname,
                parts.path or "/",
            ):
                return True
    return False


def _pkce_matches(verifier: str | None, challenge: str, method: str) -> bool:
    if not verifier:
        return False
    if method == "S256":
        return b64url(hashlib.sha256(verifier.encode("ascii")).digest()) == challenge
    return verifier == challenge


def answered_scope(granted: frozenset[str] | set[str], oidc: frozenset[str] | set[str]) -> str:
    """The token response's `scope` as Entra writes it for Microsoft Graph: every permission the
    user granted, in short form whatever resource prefix the request used, then the OpenID
    scopes (`email` comes with `openid`), e.g. "Calendars.ReadWrite User.Read profile openid
    email". MSAL caches the access token under these names (its `target`), so a client asking
    with prefixed names finds it only if it allows for that (v2-oauth2-auth-code-flow: `scope`,
    "the scopes that the access_token is valid for"; the short form is what Entra sends for
    Graph, e.g. microsoft-authentication-library-for-python #450)."""
    named = [n for n in ("profile", "openid") if n in oidc]
    if "openid" in oidc:
        named.append("email")
    return " ".join(sorted(granted) + named)
