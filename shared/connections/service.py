"""Use cases of a user's calendar connection: status, connect, callback, check, disconnect, the
reconnect reminders, and a Graph client on the user's behalf for the other services."""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from shared.caller import Caller
from shared.changes.feed import ChangeFeed
from shared.changes.outbox import pending
from shared.connections import views
from shared.connections.model import (
    CalendarStatus,
    Connection,
    MicrosoftAccount,
    ReconnectReason,
    add_months,
    calendar_status,
)
from shared.connections.repository import (
    AccountLink,
    AccountLinkRepository,
    ConnectionRepository,
    StoredConnection,
)
from shared.connections.sign_ins import SignInKind, SignIns, SignInStarted, with_query
from shared.directory import PeopleDirectory
from shared.errors import (
    NotConnected,
    OutlookSwitchedOff,
    OutlookUnavailable,
    ReconnectRequired,
    SignInUnavailable,
)
from shared.graph.client import GraphClient
from shared.graph.errors import GraphError
from shared.identity import (
    NOT_ASSIGNED_CODE,
    AccessToken,
    IdentityUnavailable,
    RefreshRefused,
    SignedIn,
    SignInFailed,
)
from shared.organisations.repository import OrgSettingsRepository
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.storage.keys import table_key
from shared.token_cipher import Sealed, TokenCipher, TokenCipherError

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/auth/callback"

_ADMIN_APPROVAL_CODES = {90094, 90095, 65005}  # admin consent needed / admin approval workflow
_CONSENT_DECLINED_CODES = {65004}
_MAILBOX_UNSUPPORTED_CODES = {"MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"}


class ConnectOutcome(StrEnum):
    """How a sign-in ended: the host app's page gets it as `?outlook=<outcome>`."""

    CONNECTED = "connected"
    CONSENT_DECLINED = "consent_declined"
    ADMIN_APPROVAL_REQUIRED = "admin_approval_required"
    ACCOUNT_ALREADY_LINKED = "account_already_linked"
    WRONG_TENANT = "wrong_tenant"
    MAILBOX_NOT_SUPPORTED = "mailbox_not_supported"
    SIGN_IN_EXPIRED = "sign_in_expired"
    DISABLED = "disabled"
    NOT_ASSIGNED = "not_assigned"  # the tenant limits the app to people it assigned
    SIGN_IN_FAILED = "sign_in_failed"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"


@dataclass(frozen=True)
class SignInFinished:
    outcome: ConnectOutcome
    connected: Connection | None = None  # the new connection, when the outcome is CONNECTED
    signed_in_as: MicrosoftAccount | None = None  # who signed in at Microsoft, once known


class ReminderOutcome(StrEnum):
    WARNED = "warned"
    EXPIRED = "expired"
    NOT_CONNECTED = "not connected"
    RENEWED_MEANWHILE = "renewed meanwhile"


@dataclass(frozen=True)
class ConnectionPolicy:
    public_base_url: str
    reconnect_months: int
    warning: timedelta


class Identity(Protocol):
    """The Microsoft identity platform, as the connection needs it (shared/identity.py)."""

    def begin_sign_in(self, redirect_uri: str, login_hint: str | None = None) -> dict[str, Any]: ...

    def complete_sign_in(self, flow: dict[str, Any], auth_response: dict[str, str]) -> SignedIn: ...

    def access_token(
        self, token_cache: str, home_account_id: str, *, force_refresh: bool = False
    ) -> AccessToken: ...

    def admin_consent_url(self, tenant: str, redirect_uri: str, state: str) -> str: ...


class GraphFactory(Protocol):
    """A Graph client with this access token; `renew_token` is called once if Graph says 401;
    `mailbox` (org, user): the requests share that mailbox's concurrency, and a Retry-After
    pauses that organisation's background work."""

    def __call__(
        self,
        access_token: Callable[[], str],
        renew_token: Callable[[], str] | None = None,
        *,
        mailbox: tuple[str, str] | None = None,
    ) -> GraphClient: ...


class OutlookAccess(Protocol):
    """How the other services reach a user's Outlook (ConnectionService)."""

    def syncs_for(self, org_id: str, user_id: str) -> bool: ...

    def graph_for(self, org_id: str, user_id: str) -> GraphClient: ...

    def teams_available(self, org_id: str, user_id: str) -> bool: ...


class ConnectionService:
    def __init__(
        self,
        *,
        policy: ConnectionPolicy,
        orgs: OrgSettingsRepository,
        connections: ConnectionRepository,
        links: AccountLinkRepository,
        sign_ins: SignIns,
        identity: Identity,
        graph: GraphFactory,
        cipher: TokenCipher,
        schedule: WorkSchedule,
        feed: ChangeFeed,
        people: PeopleDirectory,
        clock: Callable[[], datetime],
    ) -> None:
        self._policy = policy
        self._orgs = orgs
        self._connections = connections
        self._links = links
        self._sign_ins = sign_ins
        self._identity = identity
        self._graph = graph
        self._cipher = cipher
        self._schedule = schedule
        self._feed = feed
        self._people = people
        self._clock = clock

    # --- status -------------------------------------------------------------------------------

    def status(self, caller: Caller) -> CalendarStatus:
        return calendar_status(
            self.connection_of(caller.org_id, caller.user_id),
            allowed=self.outlook_allowed(caller.org_id),
            now=self._clock(),
            warning=self._policy.warning,
        )

    # --- connect ------------------------------------------------------------------------------

    def begin_connect(self, caller: Caller, return_url: str | None) -> SignInStarted:
        if not self.outlook_allowed(caller.org_id):
            raise OutlookSwitchedOff(views.DISABLED_MESSAGE)
        target = self._sign_ins.return_url(return_url)
        try:
            flow = self._identity.begin_sign_in(self._redirect_uri, login_hint=caller.email)
        except IdentityUnavailable as error:
            raise SignInUnavailable(
                "Microsoft sign-in is unavailable; try again shortly."
            ) from error
        expires_at = self._sign_ins.begin(
            SignInKind.CONNECT,
            state=flow["state"],
            org_id=caller.org_id,
            user_id=caller.user_id,
            return_url=target,
            flow=flow,
        )
        return SignInStarted(flow["auth_uri"], expires_at)

    @property
    def _redirect_uri(self) -> str:
        return self._policy.public_base_url + CALLBACK_PATH

    def sign_in_returned(self, answer: dict[str, str]) -> str:
        """Microsoft's answer at the OAuth callback, in whatever browser signed in: where that
        browser goes next. Nothing is redeemed or linked here. The answer waits, sealed, for
        the user who started the sign-in to complete it (`complete_connect`) with the one-time
        code the browser carries back (`outlookCompletion`); a sign-in that already ended
        (expired, refused) goes back with its outcome (`outlook`)."""
        pending = self._sign_ins.take(answer.get("state"), SignInKind.CONNECT)
        if self._sign_ins.expired(pending):
            outcome = ConnectOutcome.SIGN_IN_EXPIRED
        elif "error" in answer:
            outcome = _failure_outcome(answer["error"], _entra_codes(answer))
        else:
            values = {"flow": self._sign_ins.flow_of(pending), "answer": answer}
            code = self._sign_ins.park(pending, SignInKind.CONNECT_ANSWER, values)
            return with_query(pending.return_url, {"outlookCompletion": code})
        logger.info("sign-in of %s/%s: %s", pending.org_id, pending.user_id, outcome)
        return with_query(pending.return_url, {"outlook": outcome})

    def complete_connect(self, caller: Caller, code: object) -> SignInFinished:
        """The host app completes the sign-in the caller started: the outcome, the account that
        signed in, and the connection when one was made. SignInNotYours for anyone else."""
        parked = self._sign_ins.redeem(code, SignInKind.CONNECT_ANSWER, caller)
        if parked.values is None:
            finished = SignInFinished(ConnectOutcome.SIGN_IN_EXPIRED)
        else:
            try:
                finished = self._finish(caller, parked.values["flow"], parked.values["answer"])
            except IdentityUnavailable as error:
                logger.warning(
                    "sign-in of %s/%s: identity platform unavailable: %s",
                    caller.org_id,
                    caller.user_id,
                    error,
                )
                finished = SignInFinished(ConnectOutcome.TEMPORARILY_UNAVAILABLE)
        logger.info("sign-in of %s/%s: %s", caller.org_id, caller.user_id, finished.outcome)
        return finished

    def _finish(
        self, caller: Caller, flow: dict[str, Any], answer: dict[str, str]
    ) -> SignInFinished:
        org = self._orgs.get(caller.org_id).settings
        if not org.allow_outlook:
            return SignInFinished(ConnectOutcome.DISABLED)
        try:
            signed = self._identity.complete_sign_in(flow, answer)
        except SignInFailed as failure:
            logger.info("code exchange refused: %s %s", failure.error, failure.codes)
            return SignInFinished(_failure_outcome(failure.error, set(failure.codes)))
        account = MicrosoftAccount(
            object_id=signed.object_id,
            tenant_id=signed.tenant_id,
            home_account_id=signed.home_account_id,
            user_principal_name=signed.username,
            display_name=signed.name,
        )
        if org.tenant_id and signed.tenant_id.lower() != org.tenant_id.lower():
            return SignInFinished(ConnectOutcome.WRONG_TENANT, signed_in_as=account)
        graph = self._graph(lambda: signed.access_token)
        try:
            me = graph.get("me", {"$select": "id,displayName,userPrincipalName,mail"})
            own_calendar = graph.get("me/calendar", {"$select": "id,allowedOnlineMeetingProviders"})
        except GraphError as error:
            if error.code in _MAILBOX_UNSUPPORTED_CODES:
                return SignInFinished(ConnectOutcome.MAILBOX_NOT_SUPPORTED, signed_in_as=account)
            if error.transient:
                return SignInFinished(ConnectOutcome.TEMPORARILY_UNAVAILABLE, signed_in_as=account)
            raise
        account = replace(
            account,
            user_principal_name=me.get("userPrincipalName") or signed.username,
            display_name=me.get("displayName") or signed.name,
            mail=me.get("mail") or "",
        )
        outcome, connection = self._link_and_store(
            caller.org_id, caller.user_id, account, signed.token_cache, _allows_teams(own_calendar)
        )
        return SignInFinished(outcome, connection, account)

    def _link_and_store(
        self, org_id: str, user_id: str, account: MicrosoftAccount, cache: str, teams: bool
    ) -> tuple[ConnectOutcome, Connection | None]:
        now = self._clock()
        link = self._links.claim(
            AccountLink(account.tenant_id, account.object_id, org_id, user_id), now
        )
        if (link.org_id, link.user_id) != (org_id, user_id):
            return ConnectOutcome.ACCOUNT_ALREADY_LINKED, None
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
            teams_available=teams,
            outbox=previous.connection.outbox if previous else (),  # told before it goes
        )
        sealed = self._cipher.seal(cache.encode(), _row_binding(org_id, user_id))
        try:
            etag = self._connections.put(connection, sealed, previous.etag if previous else None)
        except (ConcurrencyConflict, EntityAlreadyExists):
            # another sign-in of the same user finished at the same time
            return ConnectOutcome.SIGN_IN_FAILED, None
        self._publish(StoredConnection(connection, sealed, etag))
        if previous is not None:
            self._forget_reminders(previous.connection)
        self._people.connected(org_id, user_id, name=account.display_name, mail=account.mail)
        self._schedule.add(
            WorkKind.WARN_RECONNECT,
            connection.reconnect_by - self._policy.warning,
            _user_key(connection),
            OrgId=org_id,
            UserId=user_id,
        )
        return ConnectOutcome.CONNECTED, connection

    # --- use ----------------------------------------------------------------------------------

    def teams_available(self, org_id: str, user_id: str) -> bool:
        """Whether the user's calendar allows Teams meetings, as read when they connected."""
        connection = self.connection_of(org_id, user_id)
        return connection is None or connection.teams_available

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

    def graph_for(self, org_id: str, user_id: str) -> GraphClient:
        """Microsoft Graph on the user's behalf (OutlookNotUsable when it cannot be). A token
        Graph refuses (401) is refreshed once and the request tried again."""
        token = self.access_token(org_id, user_id)
        renewal = functools.partial(self.access_token, org_id, user_id, force_refresh=True)
        return self._graph(lambda: token, renewal, mailbox=(org_id, user_id))

    def access_token(self, org_id: str, user_id: str, *, force_refresh: bool = False) -> str:
        """A Graph token for the user; marks the connection for reconnecting when refresh fails.

        `force_refresh`: skip the cached access token (Graph refused it) and use the refresh token.
        OutlookSwitchedOff while the organisation has the integration off (connections are
        inert then), NotConnected or ReconnectRequired, SignInUnavailable when Microsoft's
        identity platform cannot be reached.
        """
        if not self.outlook_allowed(org_id):
            raise OutlookSwitchedOff("Outlook calendar sync is disabled for this organisation.")
        stored = self._connections.get(org_id, user_id)
        if stored is None:
            raise NotConnected("Connect your Outlook calendar first.")
        stored = self._publish(stored)  # what a process that died after marking it left
        connection = stored.connection
        if stored.token_cache is None or not connection.usable_at(self._clock()):
            raise ReconnectRequired("Reconnect your Outlook calendar.")
        cache, sealed_the_old_way = self._open_cache(stored.token_cache, org_id, user_id)
        try:
            token = self._identity.access_token(
                cache, connection.account.home_account_id, force_refresh=force_refresh
            )
        except RefreshRefused as failure:
            self._mark_reconnect(stored, failure.reason, failure.detail)
            raise ReconnectRequired("Reconnect your Outlook calendar.") from failure
        except IdentityUnavailable as failure:
            raise SignInUnavailable(
                "Microsoft sign-in is unavailable; try again shortly."
            ) from failure
        rewrap = self._cipher.needs_rewrap(stored.token_cache) or sealed_the_old_way
        if token.token_cache is not None or rewrap:
            self._save_cache(stored, token.token_cache or cache)
        return token.token

    def check(self, caller: Caller) -> CalendarStatus:
        """Prove the connection works now: a token (refreshed if due) and a read of /me and of
        the calendar, which also brings what the app keeps of them up to date (a new `mail`,
        Teams allowed or not; connections made before either was kept get them here)."""
        graph = self.graph_for(caller.org_id, caller.user_id)
        try:
            me = graph.get("me", {"$select": "id,displayName,mail"})
            own_calendar = graph.get("me/calendar", {"$select": "id,allowedOnlineMeetingProviders"})
        except GraphError as error:
            if error.transient:
                raise OutlookUnavailable(
                    "Microsoft Graph is unavailable; try again shortly.", error.retry_after
                ) from error
            raise
        self._refresh_profile(caller, me.get("mail") or "", _allows_teams(own_calendar))
        return self.status(caller)

    def _refresh_profile(self, caller: Caller, mail: str, teams: bool) -> None:
        stored = self._connections.get(caller.org_id, caller.user_id)
        if stored is None:
            return
        connection = stored.connection
        if (connection.account.mail, connection.teams_available) == (mail, teams):
            self._people.connected(
                caller.org_id, caller.user_id, name=connection.account.display_name, mail=mail
            )  # idempotent: heals a directory write that failed at connect time
            return
        account = replace(connection.account, mail=mail)
        updated = replace(connection, account=account, teams_available=teams)
        try:
            self._connections.put(updated, stored.token_cache, stored.etag)
        except ConcurrencyConflict:
            return  # changed meanwhile (a refresh saved its cache): the next check does it
        self._people.connected(
            caller.org_id, caller.user_id, name=account.display_name, mail=account.mail
        )

    def _mark_reconnect(
        self, stored: StoredConnection, reason: ReconnectReason, detail: str
    ) -> None:
        logger.warning(
            "connection %s/%s needs reconnecting: %s",
            stored.connection.org_id,
            stored.connection.user_id,
            reason.value,
        )
        connection = stored.connection
        told = pending([connection.user_id], views.reconnect_required_entry(reason))
        marked = replace(
            connection,
            reconnect_reason=reason,
            reconnect_detail=detail,
            outbox=(*connection.outbox, told),
        )
        try:
            # the dead refresh token goes too; the entry is written with the mark (an outbox)
            etag = self._connections.put(marked, None, stored.etag)
        except ConcurrencyConflict:
            return  # someone else changed it (a new connect, or marked it first): theirs wins
        # Once: only the write that marked it tells the user; later uses raise before refreshing
        # A process that dies right after the write leaves the entry for the next reader.
        self._publish(StoredConnection(marked, None, etag))

    def _publish(self, stored: StoredConnection) -> StoredConnection:
        """Record the feed entries the connection's last write left waiting, then clear them
        (guarded: if it was written meanwhile, they are recorded again later, same ids)."""
        connection = stored.connection
        if not connection.outbox:
            return stored
        self._feed.publish(connection.org_id, connection.outbox)
        cleared = replace(connection, outbox=())
        try:
            etag = self._connections.put(cleared, stored.token_cache, stored.etag)
        except ConcurrencyConflict:
            return stored
        return StoredConnection(cleared, stored.token_cache, etag)

    def _open_cache(self, sealed: Sealed, org_id: str, user_id: str) -> tuple[str, bool]:
        """The user's token cache, and whether it was sealed the old way (to seal again)."""
        try:
            return self._cipher.open(sealed, _row_binding(org_id, user_id)).decode(), False
        except TokenCipherError:
            # Sealed before bindings were built by table_key: "connection/<org>/<user>", which
            # two pairs of ids can share ("a/b" + "c", "a" + "b/c"). Read, and sealed anew.
            legacy = f"connection/{org_id}/{user_id}"
            return self._cipher.open(sealed, legacy).decode(), True

    def _save_cache(self, stored: StoredConnection, cache: str) -> None:
        connection = stored.connection
        sealed = self._cipher.seal(
            cache.encode(), _row_binding(connection.org_id, connection.user_id)
        )
        try:
            self._connections.put(connection, sealed, stored.etag)
        except ConcurrencyConflict:
            pass  # a parallel refresh saved its own cache; either one is valid

    # --- the reconnect date (the maintenance timer) -------------------------------------------

    def warn_if_due(self, org_id: str, user_id: str) -> ReminderOutcome:
        """Tell the user (change feed) that the connection must be renewed by its reconnect
        date, and have the timer enforce that date."""
        connection = self.connection_of(org_id, user_id)
        if connection is None or connection.needs_reconnect:
            return ReminderOutcome.NOT_CONNECTED
        # Recorded again if the process dies before the expiry is scheduled: the same id then.
        entry = views.expiring_soon_entry(connection)
        key = json.dumps([org_id, user_id, entry["kind"], entry["reconnectBy"]])
        self._feed.record(org_id, user_id, entry | {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, key))})
        self._schedule.add(
            WorkKind.EXPIRE_CONNECTION,
            connection.reconnect_by,
            _user_key(connection),
            OrgId=org_id,
            UserId=user_id,
        )
        return ReminderOutcome.WARNED

    def expire_if_due(self, org_id: str, user_id: str) -> ReminderOutcome:
        """Past its reconnect date, the connection must be reconnected: tokens go, user told."""
        stored = self._connections.get(org_id, user_id)
        if stored is not None:
            stored = self._publish(stored)  # what a process that died after marking it left
        if stored is None or stored.connection.needs_reconnect:
            return ReminderOutcome.NOT_CONNECTED
        if stored.connection.reconnect_by > self._clock():
            return ReminderOutcome.RENEWED_MEANWHILE
        self._mark_reconnect(stored, ReconnectReason.RECONNECT_DUE, "reconnect date passed")
        return ReminderOutcome.EXPIRED

    def _forget_reminders(self, connection: Connection) -> None:
        key = _user_key(connection)
        warn_at = connection.reconnect_by - self._policy.warning
        self._schedule.remove(WorkKind.WARN_RECONNECT, warn_at, key)
        self._schedule.remove(WorkKind.EXPIRE_CONNECTION, connection.reconnect_by, key)

    # --- disconnect ---------------------------------------------------------------------------

    def disconnect(self, caller: Caller) -> None:
        """Remove the tokens and the account link; conversations and other data stay."""
        stored = self._connections.get(caller.org_id, caller.user_id)
        if stored is None:
            return
        account = stored.connection.account
        self._forget_reminders(stored.connection)
        self._connections.delete(caller.org_id, caller.user_id)
        link = self._links.get(account.tenant_id, account.object_id)
        if link and (link.org_id, link.user_id) == (caller.org_id, caller.user_id):
            self._links.release(account.tenant_id, account.object_id)
        logger.info("connection %s/%s removed", caller.org_id, caller.user_id)


def _allows_teams(own_calendar: dict[str, Any]) -> bool:
    """Whether the calendar may hold Teams meetings (calendar resource:
    allowedOnlineMeetingProviders); a calendar that does not say is taken to allow them."""
    providers = own_calendar.get("allowedOnlineMeetingProviders")
    return not isinstance(providers, list) or "teamsForBusiness" in providers


def _user_key(connection: Connection) -> str:
    return table_key(connection.org_id, connection.user_id)


def _row_binding(org_id: str, user_id: str) -> str:
    """What a user's sealed token cache is bound to: their row, by its unambiguous key."""
    return "connection:" + table_key(org_id, user_id)


def _entra_codes(answer: dict[str, str]) -> set[int]:
    """The AADSTS codes in an error answer's description (Entra's codes have up to 7 digits)."""
    description = answer.get("error_description", "")[:4000]
    return {int(code) for code in re.findall(r"AADSTS(\d{1,9})\b", description)}


def _failure_outcome(error: str, codes: set[int]) -> ConnectOutcome:
    if NOT_ASSIGNED_CODE in codes:
        return ConnectOutcome.NOT_ASSIGNED
    if codes & _ADMIN_APPROVAL_CODES:
        return ConnectOutcome.ADMIN_APPROVAL_REQUIRED
    if codes & _CONSENT_DECLINED_CODES or error == "access_denied":
        return ConnectOutcome.CONSENT_DECLINED
    if error == "consent_required":
        return ConnectOutcome.ADMIN_APPROVAL_REQUIRED
    return ConnectOutcome.SIGN_IN_FAILED
