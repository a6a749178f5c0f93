"""The composition root: settings, secrets, storage and services, built once per process, lazily.

Nothing here runs at import; the first request builds what it needs, so a cold start pays only
for what that request uses, and a settings problem is answered (naming each setting in the log
and in /api/health) then. The object graph has no cycles: each service gets what it uses, and
the use cases that span services (shared/lifecycle.py) sit above them. Graph's webhooks need
only `webhooks`, which reads no secret, builds no MSAL client and, for subscriptions whose
clientState carries our MAC, touches no storage.

Tests pass fakes for the seams: the tables, Graph's HTTP session and the identity platform.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from shared.availability.service import AvailabilityService
from shared.caller import HostTokenVerifier
from shared.changes.feed import ChangeFeed
from shared.client_credential import msal_client_credential
from shared.connections.repository import (
    AccountLinkRepository,
    ConnectionRepository,
    PendingSignInRepository,
)
from shared.connections.service import ConnectionPolicy, ConnectionService, Identity
from shared.connections.sign_ins import SignIns
from shared.conversations.repository import ConversationRepository, EventIndex, RecordRepository
from shared.conversations.service import ConversationService
from shared.directory import PeopleDirectory
from shared.graph.client import GraphClient, HttpSession
from shared.graph.gate import MailboxGate
from shared.identity import IdentityClient, trusting_session
from shared.lifecycle import ConnectionLifecycle
from shared.organisations.repository import OrgSettingsRepository
from shared.organisations.service import OrganisationService
from shared.schedule import WorkSchedule
from shared.secrets import SecretName, SecretProvider, secret_provider
from shared.settings import Settings, load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityStore, EntityTable
from shared.storage.keys import table_key
from shared.storage.queues import QueueWorkQueue, WorkQueue
from shared.sync.client_state import ClientStateKeys
from shared.sync.dispatch import MaintenanceTimer, MaintenanceWorker
from shared.sync.mailboxes import MailboxStates
from shared.sync.maintenance import MaintenanceService
from shared.sync.notifications import NotificationInbox
from shared.sync.pauses import TenantPauses
from shared.sync.service import MailboxSync
from shared.sync.subscriptions import SubscriptionManager, SubscriptionRepository
from shared.sync.watch import MailboxWatcher
from shared.sync.worker import SyncWorker
from shared.token_cipher import TokenCipher

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Tables(Protocol):
    """Where the entity tables come from: the storage account, or fakes in unit tests."""

    def table(self, name: str) -> EntityStore: ...


class AccountTables:
    def __init__(self, storage: StorageAccount) -> None:
        self._storage = storage

    def table(self, name: str) -> EntityStore:
        return EntityTable(self._storage.table(name))


class AppServices:
    def __init__(
        self,
        settings: Settings,
        secrets: SecretProvider,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        tables: Tables | None = None,
        graph_session: HttpSession | None = None,
        identity: Identity | None = None,
        work_queue: WorkQueue | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock = clock
        self._sleep = sleep  # Graph's Retry-After waits (tests move their clock instead)
        self._tables = tables or AccountTables(StorageAccount(settings.storage))
        self._graph_session = graph_session or trusting_session(settings.tls_ca_bundle)
        self._identity = identity
        self._msal_http_cache: dict[Any, Any] = {}
        self._work_queue = work_queue

    # --- adapters -----------------------------------------------------------------------------

    def _table(self, name: str) -> EntityStore:
        return self._tables.table(name)

    @cached_property
    def cipher(self) -> TokenCipher:
        return TokenCipher.from_secret(self.secrets.get(SecretName.TOKEN_ENCRYPTION_KEYS))

    @cached_property
    def identity(self) -> Identity:
        if self._identity is not None:
            return self._identity
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
        self,
        access_token: Callable[[], str],
        renew_token: Callable[[], str] | None = None,
        *,
        mailbox: tuple[str, str] | None = None,
    ) -> GraphClient:
        gate = on_throttled = None
        if mailbox is not None:
            org_id, user_id = mailbox
            gate = functools.partial(self.mailbox_gate.slot, table_key(org_id, user_id))
            on_throttled = functools.partial(self._pause_tenant, org_id)
        return GraphClient(
            self.settings.graph_base_url,
            access_token,
            renew_token=renew_token,
            session=self._graph_session,
            sleep=self._sleep,
            gate=gate,
            on_throttled=on_throttled,
        )

    def _pause_tenant(self, org_id: str, seconds: float) -> None:
        try:
            self.tenant_pauses.pause(org_id, seconds)
        except Exception:  # the Graph error is what the caller must see, not this
            logger.warning("organisation %s: pause not stored", org_id, exc_info=True)

    @cached_property
    def mailbox_gate(self) -> MailboxGate:
        return MailboxGate()

    @cached_property
    def work_queue(self) -> WorkQueue:
        if self._work_queue is None:
            self._work_queue = QueueWorkQueue(
                StorageAccount(self.settings.storage).queue(names.MAINTENANCE_WORK_QUEUE)
            )
        return self._work_queue

    @cached_property
    def client_state_keys(self) -> ClientStateKeys:
        return ClientStateKeys(self.settings.webhook_client_state_keys)

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

    # --- stores shared by several services ----------------------------------------------------

    @cached_property
    def orgs(self) -> OrgSettingsRepository:
        return OrgSettingsRepository(self._table(names.ORG_SETTINGS_TABLE))

    @cached_property
    def schedule(self) -> WorkSchedule:
        return WorkSchedule(self._table(names.SCHEDULE_TABLE))

    @cached_property
    def tenant_pauses(self) -> TenantPauses:
        return TenantPauses(self._table(names.SCHEDULE_TABLE), self.clock)

    @cached_property
    def changes(self) -> ChangeFeed:
        return ChangeFeed(self._table(names.CHANGES_TABLE), self.clock)

    @cached_property
    def subscriptions(self) -> SubscriptionRepository:
        return SubscriptionRepository(self._table(names.SUBSCRIPTIONS_TABLE))

    @cached_property
    def mailboxes(self) -> MailboxStates:
        return MailboxStates(self._table(names.MAILBOX_SYNC_TABLE))

    @cached_property
    def sign_ins(self) -> SignIns:
        return SignIns(
            pending=PendingSignInRepository(self._table(names.AUTH_STATES_TABLE)),
            cipher=self.cipher,
            allowed_origins=self.settings.host_app_origins,
            clock=self.clock,
        )

    # --- services -----------------------------------------------------------------------------

    @cached_property
    def connections(self) -> ConnectionService:
        return ConnectionService(
            policy=ConnectionPolicy(
                public_base_url=self.settings.public_base_url,
                reconnect_months=self.settings.reconnect_interval_months,
                warning=timedelta(days=self.settings.reconnect_warning_days),
            ),
            orgs=self.orgs,
            connections=ConnectionRepository(self._table(names.CONNECTIONS_TABLE)),
            links=AccountLinkRepository(self._table(names.ACCOUNT_LINKS_TABLE)),
            sign_ins=self.sign_ins,
            identity=self.identity,
            graph=self.graph,
            cipher=self.cipher,
            schedule=self.schedule,
            feed=self.changes,
            people=self.people,
            clock=self.clock,
        )

    @cached_property
    def organisations(self) -> OrganisationService:
        return OrganisationService(
            orgs=self.orgs,
            sign_ins=self.sign_ins,
            identity=self.identity,
            public_base_url=self.settings.public_base_url,
            clock=self.clock,
        )

    @cached_property
    def conversations(self) -> ConversationService:
        return ConversationService(
            repository=ConversationRepository(
                self._table(names.CONVERSATIONS_TABLE),
                self._table(names.CONVERSATION_INDEX_TABLE),
                self._table(names.IDEMPOTENCY_TABLE),
            ),
            records=RecordRepository(self._table(names.CONVERSATION_RECORDS_TABLE)),
            events=EventIndex(self._table(names.EVENT_INDEX_TABLE)),
            schedule=self.schedule,
            outlook=self.connections,
            feed=self.changes,
            app_origin=self.settings.host_app_origins[0],
            clock=self.clock,
        )

    @cached_property
    def availability(self) -> AvailabilityService:
        return AvailabilityService(self.connections, self.people)

    @cached_property
    def people(self) -> PeopleDirectory:
        return PeopleDirectory(self._table(names.PEOPLE_TABLE))

    @cached_property
    def webhooks(self) -> NotificationInbox:
        """What Graph's webhooks need, and nothing more: no secret, no MSAL, milliseconds."""
        return NotificationInbox(self.subscriptions, self.client_state_keys, self.clock)

    @cached_property
    def mailbox_sync(self) -> MailboxSync:
        return MailboxSync(
            mailboxes=self.mailboxes,
            conversations=self.conversations,
            outlook=self.connections,
            schedule=self.schedule,
            clock=self.clock,
        )

    @cached_property
    def subscription_manager(self) -> SubscriptionManager:
        return SubscriptionManager(
            repository=self.subscriptions,
            schedule=self.schedule,
            keys=self.client_state_keys,
            public_base_url=self.settings.public_base_url,
            clock=self.clock,
        )

    @cached_property
    def watcher(self) -> MailboxWatcher:
        return MailboxWatcher(
            outlook=self.connections,
            mailboxes=self.mailboxes,
            subscriptions=self.subscriptions,
            manager=self.subscription_manager,
            mailbox_sync=self.mailbox_sync,
            schedule=self.schedule,
            clock=self.clock,
        )

    @cached_property
    def sync_worker(self) -> SyncWorker:
        return SyncWorker(
            mailbox_sync=self.mailbox_sync, watcher=self.watcher, subscriptions=self.subscriptions
        )

    @cached_property
    def lifecycle(self) -> ConnectionLifecycle:
        return ConnectionLifecycle(
            connections=self.connections,
            organisations=self.organisations,
            watcher=self.watcher,
            conversations=self.conversations,
        )

    @cached_property
    def maintenance(self) -> MaintenanceService:
        """What each kind of work item does (a registry other areas add their kinds to)."""
        return MaintenanceService(
            schedule=self.schedule,
            watcher=self.watcher,
            mailbox_sync=self.mailbox_sync,
            conversations=self.conversations,
            connections=self.connections,
            clock=self.clock,
        )

    @cached_property
    def maintenance_timer(self) -> MaintenanceTimer:
        return MaintenanceTimer(
            schedule=self.schedule,
            handlers=self.maintenance.handlers,
            pauses=self.tenant_pauses,
            queue=self.work_queue,
            clock=self.clock,
        )

    @cached_property
    def maintenance_worker(self) -> MaintenanceWorker:
        return MaintenanceWorker(
            schedule=self.schedule,
            handlers=self.maintenance.handlers,
            pauses=self.tenant_pauses,
            queue=self.work_queue,
            timer=self.maintenance_timer,
            clock=self.clock,
        )


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
