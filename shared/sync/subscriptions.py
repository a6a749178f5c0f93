"""Graph subscriptions on each connected user's events: created, renewed, reauthorized, removed.

subscriptions: PartitionKey = subscription id, RowKey = "subscription" -> org, user, the hash of
its clientState (the secret itself is only ever in Graph and in transit), the id of the key that
signed it (none: made before clientStates were signed, shared/sync/client_state.py), expiry.
A renewal is scheduled well before expiry; one that Graph no longer knows is recreated, and the
mailbox is resynchronised since changes may have been missed meanwhile. Graph never changes a
clientState, so one not signed with the current key is recreated at its renewal instead.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeGuard

from shared.conversations.time_zones import parse_timestamp
from shared.graph.errors import GraphError
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.entities import EntityStore
from shared.storage.keys import table_key
from shared.sync.client_state import ClientStateKeys, client_state_hash

if TYPE_CHECKING:
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)

LIFETIME = timedelta(minutes=10_070)  # Outlook's maximum is 10,080 minutes (under 7 days)
RENEW_BEFORE = timedelta(days=2)
NOTIFICATIONS_PATH = "/api/graph/notifications"
LIFECYCLE_PATH = "/api/graph/lifecycle"
_ROW = "subscription"


@dataclass(frozen=True)
class Subscription:
    id: str
    org_id: str
    user_id: str
    client_state_hash: str
    expires_at: datetime
    client_state_key_id: str | None = None  # None: a random clientState from before the MAC


def is_text(value: Any) -> TypeGuard[str]:
    """A string that can be stored and hashed: JSON can carry lone surrogates, UTF-8 cannot."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


class SubscriptionRepository:
    """Point reads by subscription id, cached in-process: a webhook must answer in milliseconds."""

    def __init__(self, table: EntityStore) -> None:
        self._table = table
        self._cache: dict[str, Subscription | None] = {}
        self._lock = threading.Lock()

    def get(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            if subscription_id in self._cache and self._cache[subscription_id] is not None:
                return self._cache[subscription_id]
        stored = self._table.get(table_key(subscription_id), _ROW)
        found = None
        if stored is not None:
            p = stored.properties
            found = Subscription(
                subscription_id,
                p["OrgId"],
                p["UserId"],
                p["ClientStateHash"],
                p["ExpiresAt"],
                p.get("ClientStateKeyId") or None,
            )
            with self._lock:
                self._cache[subscription_id] = found
        return found

    def cached(self, subscription_id: str) -> Subscription | None:
        """The subscription if this process has read or written it, with no storage call."""
        with self._lock:
            return self._cache.get(subscription_id)

    def put(self, subscription: Subscription) -> None:
        properties = {
            "OrgId": subscription.org_id,
            "UserId": subscription.user_id,
            "ClientStateHash": subscription.client_state_hash,
            "ExpiresAt": subscription.expires_at,
            "ClientStateKeyId": subscription.client_state_key_id or "",
        }
        self._table.upsert(table_key(subscription.id), _ROW, properties)
        with self._lock:
            self._cache[subscription.id] = subscription

    def remove(self, subscription_id: str) -> None:
        self._table.delete(table_key(subscription_id), _ROW)
        with self._lock:
            self._cache.pop(subscription_id, None)


def client_state_matches(subscription: Subscription, presented: Any) -> bool:
    if not is_text(presented):
        return False
    return hmac.compare_digest(client_state_hash(presented), subscription.client_state_hash)


class SubscriptionManager:
    def __init__(
        self,
        *,
        repository: SubscriptionRepository,
        schedule: WorkSchedule,
        keys: ClientStateKeys,
        public_base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._keys = keys
        self._schedule = schedule
        self._base = public_base_url
        self._clock = clock

    def create(self, graph: GraphClient, org_id: str, user_id: str) -> Subscription:
        client_state = self._keys.mint()
        expires = self._clock() + LIFETIME
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": self._base + NOTIFICATIONS_PATH,
            "lifecycleNotificationUrl": self._base + LIFECYCLE_PATH,
            "resource": "me/events",
            "expirationDateTime": _graph_time(expires),
            "clientState": client_state,
        }
        created = graph.request("POST", "subscriptions", body=body)
        expires_at = _parse_time(created.get("expirationDateTime")) or expires
        subscription = Subscription(
            created["id"],
            org_id,
            user_id,
            client_state_hash(client_state),
            expires_at,
            self._keys.signing_key_id,
        )
        self._repository.put(subscription)
        self._schedule.add(
            WorkKind.RENEW_SUBSCRIPTION, *_renewal(subscription), OrgId=subscription.org_id
        )
        logger.info("subscription %s created for %s/%s", subscription.id, org_id, user_id)
        return subscription

    def signed_with_current_key(self, subscription: Subscription) -> bool:
        """Whether its clientState is signed with the key that signs now: if not (an older key,
        or a random clientState from before signing), renewing it means recreating it."""
        return subscription.client_state_key_id == self._keys.signing_key_id

    def renew(self, graph: GraphClient, subscription: Subscription) -> Subscription | None:
        """The renewed subscription, or None when Graph no longer knows it (recreate, resync)."""
        expires = self._clock() + LIFETIME
        try:
            body = {"expirationDateTime": _graph_time(expires)}
            renewed = graph.request("PATCH", f"subscriptions/{subscription.id}", body=body)
        except GraphError as error:
            if error.status == 404:
                self.forget(subscription)
                return None
            raise
        new_expiry = _parse_time(renewed.get("expirationDateTime")) or expires
        updated = replace(subscription, expires_at=new_expiry)
        self._schedule.remove(WorkKind.RENEW_SUBSCRIPTION, *_renewal(subscription))
        self._repository.put(updated)
        self._schedule.add(WorkKind.RENEW_SUBSCRIPTION, *_renewal(updated), OrgId=updated.org_id)
        return updated

    def reauthorize(self, graph: GraphClient, subscription: Subscription) -> bool:
        try:
            graph.request("POST", f"subscriptions/{subscription.id}/reauthorize", body={})
        except GraphError as error:
            if error.status == 404:
                self.forget(subscription)
                return False
            raise
        return True

    def delete(self, graph: GraphClient | None, subscription_id: str) -> None:
        subscription = self._repository.get(subscription_id)
        if graph is not None:
            try:
                graph.request("DELETE", f"subscriptions/{subscription_id}")
            except GraphError as error:
                if error.status != 404:
                    logger.warning(
                        "subscription %s not deleted in Graph: %s", subscription_id, error
                    )
        if subscription is not None:
            self.forget(subscription)

    def forget(self, subscription: Subscription) -> None:
        self._schedule.remove(WorkKind.RENEW_SUBSCRIPTION, *_renewal(subscription))
        self._repository.remove(subscription.id)


def _renewal(subscription: Subscription) -> tuple[datetime, str]:
    """When the timer renews the subscription, and its work item's key."""
    return subscription.expires_at - RENEW_BEFORE, table_key(subscription.id)


def _graph_time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _parse_time(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None
