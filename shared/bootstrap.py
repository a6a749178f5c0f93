"""The composition root: settings, secrets, storage and services, built once per process, lazily.

Nothing here runs at import; the first request builds what it needs, so a cold start pays only
for what that request uses, and a settings problem is reported (naming each setting) then.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from shared.availability import AvailabilityService
from shared.caller import HostTokenVerifier
from shared.client_credential import msal_client_credential
from shared.connections.model import Connection
from shared.connections.repository import (
    AccountLinkRepository,
    ConnectionRepository,
    PendingSignInRepository,
)
from shared.connections.service import ConnectionPolicy, ConnectionService
from shared.conversations.repository import (
    ConversationRepository,
    EventIndex,
    RecordRepository,
)
from shared.conversations.service import ConversationService
from shared.graph.client import GraphClient
from shared.identity import IdentityClient, trusting_session
from shared.organisations.repository import OrgSettingsRepository
from shared.organisations.service import OrganisationService
from shared.secrets import SecretName, SecretProvider, secret_provider
from shared.settings import Settings, load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.changes import ChangeFeed
from shared.sync.maintenance import ConnectionLifecycle, MaintenanceService
from shared.sync.schedule import WorkSchedule
from shared.sync.service import SyncService
from shared.sync.subscriptions import SubscriptionManager, SubscriptionRepository
from shared.token_cipher import TokenCipher


def utc_now() -> datetime:
    return datetime.now(UTC)


class AppServices:
    def __init__(
        self,
        settings: Settings,
        secrets: SecretProvider,
        *,
        clock: Callable[[], datetime] = utc_now,
        storage: StorageAccount | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock = clock
        self.storage = storage or StorageAccount(settings.storage)
        self._msal_http_cache: dict[Any, Any] = {}
        self._graph_session = trusting_session(settings.tls_ca_bundle)

    def table(self, name: str) -> EntityTable:
        return EntityTable(self.storage.table(name))

    @cached_property
    def cipher(self) -> TokenCipher:
        return TokenCipher.from_secret(self.secrets.get(SecretName.TOKEN_ENCRYPTION_KEYS))

    @cached_property
    def identity(self) -> IdentityClient:
        return IdentityClient(
            client_id=self.settings.entra_client_id,
            client_credential=msal_client_credential(
                self.settings.entra_credential, self.secrets, ca_bundle=self.settings.tls_ca_bundle
            ),
            authority=self.settings.entra_authority,
            graph_base_url=self.settings.graph_base_url,
            ca_bundle=self.settings.tls_ca_bundle,
            http_cache=self._msal_http_cache,
        )

    def graph(
        self, access_token: Callable[[], str], renew_token: Callable[[], str] | None = None
    ) -> GraphClient:
        return GraphClient(
            self.settings.graph_base_url,
            access_token,
            renew_token=renew_token,
            session=self._graph_session,
            ca_bundle=self.settings.tls_ca_bundle,
        )

    @cached_property
    def host_tokens(self) -> HostTokenVerifier:
        settings = self.settings
        if settings.host_app_jwks_url:
            import jwt

            return HostTokenVerifier(
                issuer=settings.host_app_token_issuer,
                audience=settings.host_app_token_audience,
                jwks_client=jwt.PyJWKClient(settings.host_app_jwks_url, cache_keys=True),
            )
        return HostTokenVerifier(
            issuer=settings.host_app_token_issuer,
            audience=settings.host_app_token_audience,
            secret=self.secrets.get(SecretName.HOST_APP_TOKEN_SECRET),
        )

    @cached_property
    def orgs(self) -> OrgSettingsRepository:
        return OrgSettingsRepository(self.table(names.ORG_SETTINGS_TABLE))

    @cached_property
    def sign_ins(self) -> PendingSignInRepository:
        return PendingSignInRepository(self.table(names.AUTH_STATES_TABLE))

    @cached_property
    def connections(self) -> ConnectionService:
        return ConnectionService(
            policy=ConnectionPolicy(
                public_base_url=self.settings.public_base_url,
                allowed_origins=self.settings.host_app_origins,
                reconnect_months=self.settings.reconnect_interval_months,
                warning=timedelta(days=self.settings.reconnect_warning_days),
            ),
            orgs=self.orgs,
            connections=ConnectionRepository(self.table(names.CONNECTIONS_TABLE)),
            links=AccountLinkRepository(self.table(names.ACCOUNT_LINKS_TABLE)),
            sign_ins=self.sign_ins,
            identity=self.identity,
            graph=self.graph,
            cipher=self.cipher,
            clock=self.clock,
            hooks=_LazyLifecycle(self),
        )

    @cached_property
    def conversations(self) -> ConversationService:
        origin = self.settings.host_app_origins[0]
        return ConversationService(
            repository=ConversationRepository(
                self.table(names.CONVERSATIONS_TABLE),
                self.table(names.CONVERSATION_INDEX_TABLE),
                self.table(names.IDEMPOTENCY_TABLE),
            ),
            records=RecordRepository(self.table(names.CONVERSATION_RECORDS_TABLE)),
            events=EventIndex(self.table(names.EVENT_INDEX_TABLE)),
            schedule=self.schedule,
            connections=self.connections,
            graph=self.graph,
            app_link=lambda conversation_id: f"{origin}/conversations/{conversation_id}",
            clock=self.clock,
        )

    @cached_property
    def schedule(self) -> WorkSchedule:
        return WorkSchedule(self.table(names.SCHEDULE_TABLE))

    @cached_property
    def availability(self) -> AvailabilityService:
        return AvailabilityService(self.connections, self.graph)

    @cached_property
    def changes(self) -> ChangeFeed:
        return ChangeFeed(self.table(names.CHANGES_TABLE), self.clock)

    @cached_property
    def sync(self) -> SyncService:
        subscriptions = SubscriptionRepository(self.table(names.SUBSCRIPTIONS_TABLE))
        conversations = self.conversations
        service = SyncService(
            connections=self.connections,
            conversations=conversations,
            conversation_repository=conversations.repository,
            events=conversations.events,
            mailboxes=self.table(names.MAILBOX_SYNC_TABLE),
            subscriptions=subscriptions,
            manager=SubscriptionManager(
                repository=subscriptions,
                schedule=self.schedule,
                public_base_url=self.settings.public_base_url,
                clock=self.clock,
            ),
            changes=self.changes,
            graph=self.graph,
            clock=self.clock,
        )
        return service

    @cached_property
    def lifecycle(self) -> ConnectionLifecycle:
        warning = timedelta(days=self.settings.reconnect_warning_days)
        return ConnectionLifecycle(self.sync, self.schedule, warning, self.clock)

    @cached_property
    def maintenance(self) -> MaintenanceService:
        return MaintenanceService(
            schedule=self.schedule,
            sync=self.sync,
            conversations=self.conversations,
            connections=self.connections,
            changes=self.changes,
            clock=self.clock,
        )

    @cached_property
    def organisations(self) -> OrganisationService:
        return OrganisationService(
            orgs=self.orgs,
            connections=self.connections,
            sign_ins=self.sign_ins,
            identity=self.identity,
            cipher=self.cipher,
            public_base_url=self.settings.public_base_url,
            clock=self.clock,
            switched_on=lambda org_id: self.lifecycle.organisation_switched_on(org_id),
        )


class _LazyLifecycle:
    """Connection hooks that build the sync services only when a connection actually changes."""

    def __init__(self, app: AppServices) -> None:
        self._app = app

    def connected(self, connection: Connection) -> None:
        self._app.lifecycle.connected(connection)

    def disconnecting(self, connection: Connection) -> None:
        self._app.lifecycle.disconnecting(connection)


_lock = threading.Lock()
_services: AppServices | None = None
_clock: Callable[[], datetime] = utc_now


def use_clock(clock: Callable[[], datetime]) -> None:
    """The clock the services are built with, for a development host (a clock a person can
    move); it must be called before the first request. Deployed, nothing calls it."""
    global _clock
    with _lock:
        if _services is not None:
            raise RuntimeError("use_clock() comes before the services are built")
        _clock = clock


def services(environ: Mapping[str, str] = os.environ) -> AppServices:
    """The process's services; raises SettingsError (naming each problem) if it cannot start."""
    global _services
    with _lock:
        if _services is None:
            settings = load_settings(environ)
            secrets = secret_provider(settings.key_vault_url, environ)
            _services = AppServices(settings, secrets, clock=_clock)
        return _services
