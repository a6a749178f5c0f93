"""Use cases of a user's calendar connection: status, connect, callback, check, disconnect."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.caller import Caller
from shared.connections.model import (
    Connection,
    MicrosoftAccount,
    ReconnectReason,
    add_months,
    status_view,
)
from shared.connections.repository import (
    AccountLink,
    AccountLinkRepository,
    ConnectionRepository,
    PendingSignIn,
    PendingSignInRepository,
    StoredConnection,
)
from shared.errors import BadRequest, Conflict, Forbidden, Unavailable
from shared.graph.client import GraphClient, GraphError
from shared.identity import IdentityClient, IdentityUnavailable, ReconnectRequired, SignInFailed
from shared.organisations.repository import OrgSettingsRepository
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.token_cipher import TokenCipher

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/auth/callback"
SIGN_IN_LIFETIME = timedelta(minutes=10)
MAX_RETURN_URL = 2048
MAX_STATE = 512  # ours are 32 random bytes, base64url

# Outcomes the host app's frontend can show after the redirect (query `outlook` / `error`).
CONNECTED = "connected"
CONSENT_DECLINED = "consent_declined"
ADMIN_APPROVAL_REQUIRED = "admin_approval_required"
ACCOUNT_ALREADY_LINKED = "account_already_linked"
WRONG_TENANT = "wrong_tenant"
MAILBOX_NOT_SUPPORTED = "mailbox_not_supported"
SIGN_IN_EXPIRED = "sign_in_expired"
CONNECTING_DISABLED = "disabled"
SIGN_IN_FAILED = "sign_in_failed"
TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"

_ADMIN_APPROVAL_CODES = {90094, 90095, 65005}  # admin consent needed / admin approval workflow
_CONSENT_DECLINED_CODES = {65004}
_MAILBOX_UNSUPPORTED_CODES = {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"}


@dataclass(frozen=True)
class ConnectionPolicy:
    public_base_url: str
    allowed_origins: tuple[str, ...]
    reconnect_months: int
    warning: timedelta


class GraphFactory(Protocol):
    """A Graph client with this access token; `renew_token` is called once if Graph says 401."""

    def __call__(
        self, access_token: Callable[[], str], renew_token: Callable[[], str] | None = None
    ) -> GraphClient: ...


class ConnectionHooks(Protocol):
    """Told when a connection is made and before it is removed (subscriptions, reminders)."""

    def connected(self, connection: Connection) -> None: ...

    def disconnecting(self, connection: Connection) -> None: ...


class ConnectionService:
    def __init__(
        self,
        *,
        policy: ConnectionPolicy,
        orgs: OrgSettingsRepository,
        connections: ConnectionRepository,
        links: AccountLinkRepository,
        sign_ins: PendingSignInRepository,
        identity: IdentityClient,
        graph: GraphFactory,
        cipher: TokenCipher,
        clock: Callable[[], datetime],
        hooks: ConnectionHooks | None = None,
    ) -> None:
        self.hooks = hooks
        self._policy = policy
        self._orgs = orgs
        self._connections = connections
        self._links = links
        self._sign_ins = sign_ins
        self._identity = identity
        self._graph = graph
        self._cipher = cipher
        self._clock = clock

    # --- status -------------------------------------------------------------------------------

    def status(self, caller: Caller) -> dict[str, Any]:
        allowed = self.outlook_allowed(caller.org_id)
        stored = self._connections.get(caller.org_id, caller.user_id)
        return status_view(
            stored.connection if stored else None,
            allowed=allowed,
            now=self._clock(),
            warning=self._policy.warning,
        )

    # --- connect ------------------------------------------------------------------------------

    def begin_connect(self, caller: Caller, return_url: str | None) -> dict[str, Any]:
        if not self.outlook_allowed(caller.org_id):
            raise Forbidden(
                "Your organisation has not enabled Outlook calendar sync.", code=CONNECTING_DISABLED
            )
        target = self.checked_return_url(return_url)
        try:
            flow = self._identity.begin_sign_in(self.redirect_uri, login_hint=caller.email)
        except IdentityUnavailable as error:
            raise Unavailable("Microsoft sign-in is unavailable; try again shortly.") from error
        expires_at = self._clock() + SIGN_IN_LIFETIME
        self._sign_ins.add(
            PendingSignIn(
                state=flow["state"],
                kind="connect",
                org_id=caller.org_id,
                user_id=caller.user_id,
                return_url=target,
                flow=self._cipher.seal(json.dumps(flow).encode(), _state_binding(flow["state"])),
                expires_at=expires_at,
            )
        )
        return {"authorizationUrl": flow["auth_uri"], "expiresAt": expires_at.isoformat()}

    @property
    def redirect_uri(self) -> str:
        return self._policy.public_base_url + CALLBACK_PATH

    def checked_return_url(self, return_url: str | None) -> str:
        """The host app's page to come back to; only the configured origins are allowed."""
        if not return_url:
            return self._policy.allowed_origins[0] + "/"
        try:
            parts = urlsplit(return_url)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            parts = urlsplit("")
        origin = f"{parts.scheme}://{parts.netloc}"
        if (
            len(return_url) > MAX_RETURN_URL
            or parts.scheme not in ("http", "https")
            or origin not in self._policy.allowed_origins
        ):
            raise BadRequest(
                f"returnUrl must be on one of the host app's origins (at most {MAX_RETURN_URL} "
                "characters).",
                code="return_url_not_allowed",
            )
        return return_url

    def take_sign_in(self, state: str | None, kind: str) -> PendingSignIn:
        """The pending sign-in for a callback's state: once only, and only while fresh."""
        if not state:
            raise BadRequest("The sign-in response has no state.", code="invalid_state")
        pending = self._sign_ins.take(state) if len(state) <= MAX_STATE else None
        if pending is None or pending.kind != kind:
            raise BadRequest(
                "This sign-in link has already been used or is unknown; start again.",
                code="invalid_state",
            )
        return pending

    def complete_connect(self, query: dict[str, str]) -> str:
        """Finish the OAuth redirect; answer the URL to send the browser back to."""
        pending = self.take_sign_in(query.get("state"), "connect")
        try:
            outcome = self._finish(pending, query)
        except IdentityUnavailable as error:
            logger.warning(
                "sign-in of %s/%s: identity platform unavailable: %s",
                pending.org_id,
                pending.user_id,
                error,
            )
            outcome = TEMPORARILY_UNAVAILABLE
        logger.info("sign-in of %s/%s: %s", pending.org_id, pending.user_id, outcome)
        return with_query(pending.return_url, {"outlook": outcome})

    def _finish(self, pending: PendingSignIn, query: dict[str, str]) -> str:
        if self._clock() >= pending.expires_at:
            return SIGN_IN_EXPIRED
        if "error" in query:
            return _authorization_error(query)
        org = self._orgs.get(pending.org_id).settings
        if not org.allow_outlook:
            return CONNECTING_DISABLED
        flow = json.loads(self._cipher.open(pending.flow, _state_binding(pending.state)))
        try:
            signed = self._identity.complete_sign_in(flow, query)
        except SignInFailed as failure:
            logger.info("code exchange refused: %s %s", failure.error, failure.codes)
            return _failure_outcome(failure.error, set(failure.codes))
        if org.tenant_id and signed.tenant_id.lower() != org.tenant_id.lower():
            return WRONG_TENANT
        graph = self._graph(lambda: signed.access_token)
        try:
            me = graph.get("me", {"$select": "id,displayName,userPrincipalName,mail"})
            graph.get("me/calendar", {"$select": "id"})
        except GraphError as error:
            if error.code in _MAILBOX_UNSUPPORTED_CODES:
                return MAILBOX_NOT_SUPPORTED
            if error.transient:
                return TEMPORARILY_UNAVAILABLE
            raise
        account = MicrosoftAccount(
            object_id=signed.object_id,
            tenant_id=signed.tenant_id,
            home_account_id=signed.home_account_id,
            user_principal_name=me.get("userPrincipalName") or signed.username,
            display_name=me.get("displayName") or signed.name,
        )
        return self._link_and_store(pending.org_id, pending.user_id, account, signed.token_cache)

    def _link_and_store(
        self, org_id: str, user_id: str, account: MicrosoftAccount, cache: str
    ) -> str:
        now = self._clock()
        link = self._links.claim(
            AccountLink(account.tenant_id, account.object_id, org_id, user_id), now
        )
        if (link.org_id, link.user_id) != (org_id, user_id):
            return ACCOUNT_ALREADY_LINKED
        previous = self._connections.get(org_id, user_id)
        if previous and previous.connection.account.object_id != account.object_id:
            old = previous.connection.account
            self._links.release(old.tenant_id, old.object_id)
        connection = Connection(
            org_id=org_id,
            user_id=user_id,
            account=account,
            connected_at=now,
            reconnect_by=add_months(now, self._policy.reconnect_months),
        )
        sealed = self._cipher.seal(cache.encode(), _row_binding(org_id, user_id))
        try:
            self._connections.put(connection, sealed, previous.etag if previous else None)
        except (ConcurrencyConflict, EntityAlreadyExists):
            return SIGN_IN_FAILED  # another sign-in of the same user finished at the same time
        if self.hooks is not None:
            try:
                if previous is not None:
                    self.hooks.disconnecting(previous.connection)
                self.hooks.connected(connection)
            except Exception:  # the connection stands; the maintenance timer catches up
                logger.exception("after connecting %s/%s", org_id, user_id)
        return CONNECTED

    # --- use ----------------------------------------------------------------------------------

    def connection_of(self, org_id: str, user_id: str) -> Connection | None:
        stored = self._connections.get(org_id, user_id)
        return stored.connection if stored else None

    def outlook_allowed(self, org_id: str) -> bool:
        return self._orgs.get(org_id).settings.allow_outlook

    def page_of_organisation(
        self, org_id: str, after: str, limit: int
    ) -> tuple[list[Connection], str | None]:
        return self._connections.page_of_organisation(org_id, after, limit)

    def syncs_for(self, org_id: str, user_id: str) -> bool:
        """Whether the user's conversations go to Outlook: the org allows it and they connected.

        A connection that must be reconnected still counts: its conversations wait as pending.
        """
        org = self._orgs.get(org_id).settings
        if not (org.allow_outlook and org.sync_conversations):
            return False
        return self._connections.get(org_id, user_id) is not None

    def access_token(self, org_id: str, user_id: str, *, force_refresh: bool = False) -> str:
        """A Graph token for the user; marks the connection for reconnecting when refresh fails.

        `force_refresh`: skip the cached access token (Graph refused it) and use the refresh token.

        Raises Forbidden when the organisation switched the integration off (connections are
        inert then), Conflict when the user is not connected or must reconnect.
        """
        if not self.outlook_allowed(org_id):
            raise Forbidden(
                "Outlook calendar sync is disabled for this organisation.", code="disabled"
            )
        stored = self._connections.get(org_id, user_id)
        if stored is None:
            raise Conflict("Connect your Outlook calendar first.", code="not_connected")
        connection = stored.connection
        if stored.token_cache is None or not connection.usable_at(self._clock()):
            raise Conflict("Reconnect your Outlook calendar.", code="reconnect_required")
        cache = self._cipher.open(stored.token_cache, _row_binding(org_id, user_id)).decode()
        try:
            token = self._identity.access_token(
                cache, connection.account.home_account_id, force_refresh=force_refresh
            )
        except ReconnectRequired as failure:
            self._mark_reconnect(stored, failure.reason, failure.detail)
            raise Conflict(
                "Reconnect your Outlook calendar.", code="reconnect_required"
            ) from failure
        except IdentityUnavailable as failure:
            raise Unavailable("Microsoft sign-in is unavailable; try again shortly.") from failure
        if token.token_cache is not None or self._cipher.needs_rewrap(stored.token_cache):
            self._save_cache(stored, token.token_cache or cache)
        return token.token

    def token_renewal(self, org_id: str, user_id: str) -> Callable[[], str]:
        """GraphClient's `renew_token` for this user: a forced refresh when Graph answers 401."""
        return lambda: self.access_token(org_id, user_id, force_refresh=True)

    def check(self, caller: Caller) -> dict[str, Any]:
        """Prove the connection works now: a token (refreshed if due) and a read of /me."""
        token = self.access_token(caller.org_id, caller.user_id)
        graph = self._graph(lambda: token, self.token_renewal(caller.org_id, caller.user_id))
        try:
            graph.get("me", {"$select": "id"})
        except GraphError as error:
            if error.transient:
                raise Unavailable("Microsoft Graph is unavailable; try again shortly.") from error
            raise
        return self.status(caller)

    def require_reconnect(
        self, org_id: str, user_id: str, reason: ReconnectReason, detail: str
    ) -> None:
        stored = self._connections.get(org_id, user_id)
        if stored is not None:
            self._mark_reconnect(stored, reason, detail)

    def _mark_reconnect(
        self, stored: StoredConnection, reason: ReconnectReason, detail: str
    ) -> None:
        logger.warning(
            "connection %s/%s needs reconnecting: %s",
            stored.connection.org_id,
            stored.connection.user_id,
            reason.value,
        )
        marked = replace(stored.connection, reconnect_reason=reason, reconnect_detail=detail)
        try:
            self._connections.put(marked, None, stored.etag)  # the dead refresh token goes too
        except ConcurrencyConflict:
            pass  # someone else changed it (a new connect): their state wins

    def _save_cache(self, stored: StoredConnection, cache: str) -> None:
        connection = stored.connection
        sealed = self._cipher.seal(
            cache.encode(), _row_binding(connection.org_id, connection.user_id)
        )
        try:
            self._connections.put(connection, sealed, stored.etag)
        except ConcurrencyConflict:
            pass  # a parallel refresh saved its own cache; either one is valid

    # --- disconnect ---------------------------------------------------------------------------

    def disconnect(self, caller: Caller) -> None:
        """Remove the tokens and the account link; conversations and other data stay."""
        stored = self._connections.get(caller.org_id, caller.user_id)
        if stored is None:
            return
        account = stored.connection.account
        if self.hooks is not None:
            self.hooks.disconnecting(stored.connection)
        self._connections.delete(caller.org_id, caller.user_id)
        link = self._links.get(account.tenant_id, account.object_id)
        if link and (link.org_id, link.user_id) == (caller.org_id, caller.user_id):
            self._links.release(account.tenant_id, account.object_id)
        logger.info("connection %s/%s removed", caller.org_id, caller.user_id)


def with_query(url: str, values: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode(query + list(values.items()))))


def _state_binding(state: str) -> str:
    return f"sign-in/{state}"


def _row_binding(org_id: str, user_id: str) -> str:
    return f"connection/{org_id}/{user_id}"


def _authorization_error(query: dict[str, str]) -> str:
    description = query.get("error_description", "")
    codes = {int(c) for c in _aadsts_codes(description)}
    return _failure_outcome(query.get("error", ""), codes)


def _failure_outcome(error: str, codes: set[int]) -> str:
    if codes & _ADMIN_APPROVAL_CODES:
        return ADMIN_APPROVAL_REQUIRED
    if codes & _CONSENT_DECLINED_CODES or error == "access_denied":
        return CONSENT_DECLINED
    if error == "consent_required":
        return ADMIN_APPROVAL_REQUIRED
    return SIGN_IN_FAILED


def _aadsts_codes(description: str) -> list[str]:
    import re

    return re.findall(r"AADSTS(\d+)", description)
